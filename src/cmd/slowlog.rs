//! SLOWLOG GET / LEN / RESET / HELP, and what the dispatcher logs after a command that
//! took at least `slowlog-log-slower-than` microseconds: Redis's entry shape (id, unix
//! time, microseconds, arguments cut to 32 and 128 bytes each, `ip:port`, client name),
//! with passwords replaced by `(redacted)` as Redis 7 does for AUTH, HELLO AUTH and
//! CONFIG SET requirepass. The storage is `crate::stats::slowlog`.

use super::pubsub::help_lines;
use super::{parse_i64, Ctx, Spec};
use crate::error::CmdError;
use crate::stats::slowlog::{trim_args, Entry};
use bytes::Bytes;

const HELP: &[&str] = &[
    "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
    "HELP",
    "    Prints this help.",
];

const REDACTED: &[u8] = b"(redacted)";

/// Arguments as the slow log keeps them: secrets hidden (Redis
/// `redactClientCommandArgument`), then cut to Redis's sizes.
fn logged_args(spec: &Spec, args: &[Bytes]) -> Vec<Bytes> {
    let mut args = args.to_vec();
    let redacted = Bytes::from_static(REDACTED);
    match spec.name {
        "auth" => args[1..].iter_mut().for_each(|a| *a = redacted.clone()),
        "hello" => {
            if let Some(i) = args.iter().position(|a| a.eq_ignore_ascii_case(b"auth")) {
                for a in args.iter_mut().skip(i + 1).take(2) {
                    *a = redacted.clone();
                }
            }
        }
        "config|set" => {
            for pair in args[2..].chunks_mut(2) {
                if pair[0].eq_ignore_ascii_case(b"requirepass") {
                    if let Some(v) = pair.get_mut(1) {
                        *v = redacted.clone();
                    }
                }
            }
        }
        _ => {}
    }
    trim_args(&args)
}

/// Called by the dispatcher for a command that took `micros`.
pub(super) fn observe(ctx: &Ctx<'_>, spec: &'static Spec, args: &[Bytes], micros: u64) {
    let stats = &ctx.shared.stats;
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs()
    };
    // EXEC is skipped (`skip_slowlog`): the commands it ran are logged one by one.
    if stats.slowlog.wants(micros) && !spec.info_flags.contains(&"skip_slowlog") {
        let name = ctx
            .client
            .names
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .name
            .clone()
            .unwrap_or_default();
        stats.slowlog.push(Entry {
            id: 0,
            time: now(),
            micros,
            args: logged_args(spec, args),
            peer: ctx.client.addr.to_string(),
            name,
        });
    }
    let millis = micros / 1000;
    if stats.latency.wants(millis) {
        let event = if spec.info_flags.contains(&"fast") {
            "fast-command"
        } else {
            "command"
        };
        stats.latency.add(event, now(), millis);
    }
}

pub fn get(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    // Redis's slowlogCommand accepts GET with at most one argument.
    if args.len() > 3 {
        return Err(CmdError::SubcommandArity(args[0].clone(), args[1].clone()));
    }
    let count = match args.get(2) {
        None => Some(10),
        Some(a) => match parse_i64(a) {
            Ok(-1) => None,
            Ok(n) if n >= 0 => Some(n as usize),
            _ => return Err(CmdError::SlowlogCount),
        },
    };
    let entries = ctx.shared.stats.slowlog.newest(count);
    let mut e = ctx.reply();
    e.array(entries.len());
    for entry in &entries {
        e.array(6);
        e.int(entry.id as i64);
        e.int(entry.time as i64);
        e.int(entry.micros as i64);
        e.array(entry.args.len());
        for a in &entry.args {
            e.bulk(a);
        }
        e.bulk(entry.peer.as_bytes());
        e.bulk(&entry.name);
    }
    Ok(())
}

pub fn len(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    let n = ctx.shared.stats.slowlog.len();
    ctx.reply().int(n as i64);
    Ok(())
}

pub fn reset(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    ctx.shared.stats.slowlog.reset();
    ctx.ok();
    Ok(())
}

pub fn help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    help_lines(ctx, HELP);
    Ok(())
}
