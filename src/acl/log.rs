//! ACL LOG: the most recent denials, newest first, at most `acllog-max-len` entries.
//! A denial equal to a recent entry (same reason, context, object and user, within 60
//! seconds) bumps that entry's count and moves it to the front instead of adding one
//! (acl.c `addACLLogEntry`, `ACL_LOG_GROUPING_MAX_TIME_DELTA`).

use bytes::Bytes;
use std::collections::VecDeque;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const GROUPING_WINDOW_MS: u64 = 60_000;

/// What was denied (the `reason` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Command,
    Key,
    Channel,
    Auth,
}

impl Reason {
    pub fn word(self) -> &'static str {
        match self {
            Reason::Command => "command",
            Reason::Key => "key",
            Reason::Channel => "channel",
            Reason::Auth => "auth",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub count: u64,
    pub reason: Reason,
    /// `toplevel` or `multi`.
    pub context: &'static str,
    pub object: Bytes,
    pub username: Bytes,
    /// CLIENT LIST line of the client, at the latest denial.
    pub client_info: String,
    pub entry_id: u64,
    pub created_ms: u64,
    pub updated_ms: u64,
}

#[derive(Debug, Default)]
pub struct Log {
    entries: VecDeque<Entry>,
    next_id: u64,
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis() as u64
}

impl Log {
    /// Records a denial. `max_len` is `acllog-max-len` (0 keeps nothing).
    pub fn add(
        &mut self,
        reason: Reason,
        context: &'static str,
        object: &[u8],
        username: &[u8],
        client_info: String,
        max_len: usize,
    ) {
        let now = now_ms();
        let similar = self.entries.iter().position(|e| {
            e.reason == reason
                && e.context == context
                && e.object[..] == *object
                && e.username[..] == *username
                && now.saturating_sub(e.updated_ms) < GROUPING_WINDOW_MS
        });
        let entry = match similar.and_then(|i| self.entries.remove(i)) {
            Some(mut e) => {
                e.count += 1;
                e.updated_ms = now;
                e.client_info = client_info;
                e
            }
            None => {
                let e = Entry {
                    count: 1,
                    reason,
                    context,
                    object: Bytes::copy_from_slice(object),
                    username: Bytes::copy_from_slice(username),
                    client_info,
                    entry_id: self.next_id,
                    created_ms: now,
                    updated_ms: now,
                };
                self.next_id += 1;
                e
            }
        };
        self.entries.push_front(entry);
        self.entries.truncate(max_len);
    }

    /// The newest `count` entries.
    pub fn newest(&self, count: usize) -> Vec<Entry> {
        self.entries.iter().take(count).cloned().collect()
    }

    pub fn reset(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_denials_are_grouped_and_move_to_front() {
        let mut log = Log::default();
        log.add(Reason::Channel, "toplevel", b"a", b"u", String::new(), 10);
        log.add(Reason::Command, "toplevel", b"get", b"u", String::new(), 10);
        log.add(Reason::Channel, "toplevel", b"a", b"u", String::new(), 10);
        let e = log.newest(10);
        assert_eq!(e.len(), 2);
        assert_eq!((e[0].object.as_ref(), e[0].count), (&b"a"[..], 2));
        assert_eq!(e[0].entry_id, 0);
        assert_eq!(e[1].entry_id, 1);
    }

    #[test]
    fn log_keeps_at_most_max_len() {
        let mut log = Log::default();
        for i in 0..5u8 {
            log.add(Reason::Channel, "toplevel", &[i], b"u", String::new(), 3);
        }
        assert_eq!(log.newest(100).len(), 3);
        assert_eq!(log.newest(100)[0].object[..], [4]);
    }
}
