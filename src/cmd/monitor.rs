//! MONITOR: every command other clients run, as one `+<secs>.<micros> [db addr] "arg"...`
//! line, formatted as Redis's `replicationFeedMonitors` does (7.0.15 checked byte for
//! byte, RESP2 and RESP3 alike: a simple string, not a push).
//!
//! What is shown follows Redis 7's `call()`: a command is fed after it ran (so a
//! monitor sees its own command after its reply, and EXEC after the commands it ran),
//! rejected commands (unknown, arity, NOAUTH, subscribe context) and commands queued in
//! MULTI are not, and neither are admin commands (CLIENT LIST/KILL/PAUSE, CONFIG,
//! SHUTDOWN, MONITOR...). AUTH's arguments and HELLO's AUTH pair are redacted.
//!
//! A monitor is bounded like a subscriber: lines go into its outbox with `try_push`
//! under the pubsub output limits, and a monitor that does not read is closed as a slow
//! consumer (counted and logged by its connection), never waited for. Each line is
//! encoded once and the same bytes go to every monitor. With no monitor connected the
//! dispatcher pays one Relaxed load per command (`Monitors::active`).

use super::{Ctx, Spec};
use crate::conn::client::Client;
use crate::conn::outbox::{Finish, Outbox};
use crate::error::CmdError;
use bytes::{BufMut, Bytes, BytesMut};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, RwLock};

/// The connected monitors.
#[derive(Debug, Default)]
pub struct Monitors {
    count: AtomicUsize,
    list: RwLock<Vec<(u64, Arc<Outbox>)>>,
}

impl Monitors {
    /// One Relaxed load: whether any monitor is connected.
    pub fn active(&self) -> bool {
        self.count.load(Relaxed) > 0
    }

    fn add(&self, client: &Client) {
        let mut list = self.list.write().unwrap_or_else(|p| p.into_inner());
        list.push((client.id, client.outbox.clone()));
        self.count.store(list.len(), Relaxed);
    }

    /// Stops feeding client `id` (RESET, disconnect). Cheap when there are no monitors.
    pub fn remove(&self, id: u64) {
        if !self.active() {
            return;
        }
        let mut list = self.list.write().unwrap_or_else(|p| p.into_inner());
        list.retain(|(i, _)| *i != id);
        self.count.store(list.len(), Relaxed);
    }
}

/// MONITOR
pub fn monitor(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    if ctx.session.in_exec {
        return Err(CmdError::MonitorDenyBlocking);
    }
    if ctx.session.monitor {
        // Redis ignores a second MONITOR without a reply.
        return Ok(());
    }
    ctx.session.monitor = true;
    ctx.client.monitor.store(true, Relaxed);
    ctx.ok();
    // The +OK is queued before the client is registered, so no line can precede it.
    ctx.client.outbox.finish_command(
        &mut ctx.out.buf,
        &ctx.shared.limits,
        Finish {
            switch_resp3: None,
            pubsub: true,
        },
        |_, _| true,
    );
    ctx.shared.monitors.add(ctx.client);
    Ok(())
}

/// Ends monitoring (RESET).
pub fn stop(ctx: &mut Ctx<'_>) {
    if std::mem::take(&mut ctx.session.monitor) {
        ctx.client.monitor.store(false, Relaxed);
        ctx.shared.monitors.remove(ctx.client.id);
    }
}

/// Feeds a command that ran to every monitor (the caller checked `Monitors::active`).
pub fn feed(ctx: &mut Ctx<'_>, spec: &Spec, args: &[Bytes]) {
    if spec.info_flags.contains(&"admin") {
        return;
    }
    let line = line(ctx, spec, args);
    let list = ctx
        .shared
        .monitors
        .list
        .read()
        .unwrap_or_else(|p| p.into_inner());
    for (id, outbox) in list.iter() {
        if *id == ctx.client.id {
            // A monitor's own command: after its reply, which is not queued yet.
            ctx.out.buf.extend_from_slice(&line);
        } else {
            // A full outbox closes itself (slow consumer); the publisher goes on.
            outbox.try_push_raw(&line, &ctx.shared.limits);
        }
    }
}

fn line(ctx: &Ctx<'_>, spec: &Spec, args: &[Bytes]) -> Bytes {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let mut out = BytesMut::with_capacity(64 + args.iter().map(|a| a.len() + 3).sum::<usize>());
    out.extend_from_slice(
        format!(
            "+{}.{:06} [{} {}] ",
            now.as_secs(),
            now.subsec_micros(),
            ctx.session.db,
            ctx.client.addr
        )
        .as_bytes(),
    );
    let redacted = redacted(spec, args);
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            out.put_u8(b' ');
        }
        if redacted(i) {
            out.extend_from_slice(b"\"(redacted)\"");
        } else {
            repr(&mut out, arg);
        }
    }
    out.extend_from_slice(b"\r\n");
    out.freeze()
}

/// Which argument positions Redis replaces by `(redacted)`: every argument of AUTH,
/// and the user and password after HELLO's AUTH.
fn redacted(spec: &Spec, args: &[Bytes]) -> impl Fn(usize) -> bool {
    let (from, to) = match spec.name {
        "auth" => (1, args.len()),
        "hello" => match args
            .iter()
            .skip(2)
            .position(|a| a.eq_ignore_ascii_case(b"auth"))
        {
            Some(p) => (p + 3, p + 5),
            None => (0, 0),
        },
        _ => (0, 0),
    };
    move |i| i >= from && i < to
}

/// Redis `sdscatrepr`: a double-quoted string with C escapes for `\\ " \n \r \t \a \b`
/// and `\xHH` (lower-case hex) for other bytes outside printable ASCII.
pub fn repr(out: &mut BytesMut, s: &[u8]) {
    out.put_u8(b'"');
    for &b in s {
        match b {
            b'\\' | b'"' => {
                out.put_u8(b'\\');
                out.put_u8(b);
            }
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.put_u8(b),
            _ => out.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
        }
    }
    out.put_u8(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repr_escapes_like_sdscatrepr() {
        let mut out = BytesMut::new();
        repr(&mut out, b"a\n\r\t\x07\x08\x00\xff\"\\ b~");
        assert_eq!(&out[..], br#""a\n\r\t\a\b\x00\xff\"\\ b~""#);
    }
}
