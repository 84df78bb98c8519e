//! SLOWLOG storage: the last `slowlog-max-len` commands that took longer than
//! `slowlog-log-slower-than` microseconds, newest first, with Redis's entry shape. The
//! command layer (`cmd::slowlog`) decides what to log and formats replies.
//!
//! The threshold is an atomic read after every command; the mutex is taken only for a
//! command that crossed it (or by SLOWLOG itself).

use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

/// Redis `SLOWLOG_ENTRY_MAX_ARGC`: more arguments are summarised in the last one.
pub const MAX_ARGC: usize = 32;
/// Redis `SLOWLOG_ENTRY_MAX_STRING`: longer arguments are cut with a note.
pub const MAX_STRING: usize = 128;

#[derive(Debug, Clone)]
pub struct Entry {
    pub id: u64,
    /// Unix seconds when the command ran.
    pub time: u64,
    pub micros: u64,
    pub args: Vec<Bytes>,
    /// `ip:port` of the client.
    pub peer: String,
    pub name: Bytes,
}

#[derive(Debug)]
pub struct SlowLog {
    /// `slowlog-log-slower-than`, microseconds; negative = off, 0 = every command.
    pub threshold_us: AtomicI64,
    /// `slowlog-max-len`.
    pub max_len: AtomicU64,
    next_id: AtomicU64,
    entries: Mutex<VecDeque<Entry>>,
}

impl Default for SlowLog {
    fn default() -> Self {
        SlowLog {
            threshold_us: AtomicI64::new(10_000),
            max_len: AtomicU64::new(128),
            next_id: AtomicU64::new(0),
            entries: Mutex::default(),
        }
    }
}

/// Arguments as Redis's `slowlogCreateEntry` keeps them.
pub fn trim_args(args: &[Bytes]) -> Vec<Bytes> {
    let keep = args.len().min(MAX_ARGC);
    let mut out = Vec::with_capacity(keep);
    for (i, a) in args.iter().take(keep).enumerate() {
        if keep == MAX_ARGC && i == MAX_ARGC - 1 && args.len() > MAX_ARGC {
            out.push(Bytes::from(format!(
                "... ({} more arguments)",
                args.len() - MAX_ARGC + 1
            )));
        } else if a.len() > MAX_STRING {
            let mut s = a[..MAX_STRING].to_vec();
            s.extend_from_slice(format!("... ({} more bytes)", a.len() - MAX_STRING).as_bytes());
            out.push(Bytes::from(s));
        } else {
            out.push(a.clone());
        }
    }
    out
}

impl SlowLog {
    /// Whether a command that took `micros` is logged.
    pub fn wants(&self, micros: u64) -> bool {
        let t = self.threshold_us.load(Relaxed);
        t >= 0 && micros >= t as u64
    }

    pub fn push(&self, mut entry: Entry) {
        entry.id = self.next_id.fetch_add(1, Relaxed);
        let max = self.max_len.load(Relaxed) as usize;
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.push_front(entry);
        entries.truncate(max);
    }

    /// The newest `count` entries (all if `None`).
    pub fn newest(&self, count: Option<usize>) -> Vec<Entry> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let n = count.unwrap_or(entries.len()).min(entries.len());
        entries.iter().take(n).cloned().collect()
    }

    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn reset(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// After CONFIG SET slowlog-max-len: Redis trims at once.
    pub fn set_max_len(&self, max: u64) {
        self.max_len.store(max, Relaxed);
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .truncate(max as usize);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_argument_lists_and_strings_are_cut_as_redis_does() {
        let args: Vec<Bytes> = (0..40).map(|i| Bytes::from(format!("a{i}"))).collect();
        let t = trim_args(&args);
        assert_eq!(t.len(), 32);
        assert_eq!(&t[31][..], b"... (9 more arguments)");
        let t = trim_args(&[Bytes::from(vec![b'x'; 130])]);
        assert_eq!(&t[0][128..], b"... (2 more bytes)");
    }
}
