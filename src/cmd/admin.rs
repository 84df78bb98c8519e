//! Admin and fixture commands answered as a Redis with no keys, scripts or functions
//! would answer them (redis-server 7.0.15 checked, 7.2 wording where it differs):
//! MEMORY, ROLE, LASTSAVE, FUNCTION, SCRIPT and SHUTDOWN. The README section "Admin and
//! fixture commands" lists each answer and why.

use super::{parse_i64, pubsub::help_lines, Ctx};
use crate::error::CmdError;
use bytes::Bytes;
use std::sync::atomic::Ordering::Relaxed;
use tracing::warn;

// ---- MEMORY -------------------------------------------------------------------------

/// MEMORY USAGE key [SAMPLES count]: the options are checked as Redis checks them, then
/// the key is missing (there are none), so the answer is nil.
pub fn memory_usage(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    let mut j = 3;
    while j < args.len() {
        if args[j].eq_ignore_ascii_case(b"samples") && j + 1 < args.len() {
            if parse_i64(&args[j + 1])? < 0 {
                return Err(CmdError::Syntax);
            }
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    ctx.reply().null();
    Ok(())
}

/// Resident set size and its peak, in bytes, from /proc (0 where it cannot be read).
fn rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = |field: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    let rss = kb("VmRSS:");
    (rss, kb("VmHWM:").max(rss))
}

/// MEMORY STATS: Redis's 27 fields in Redis's order, with respub's own figures where it
/// has them (process RSS and its peak from /proc, bytes held for clients) and the
/// figures of an empty keyspace elsewhere. There is no allocator introspection (glibc
/// malloc), so the allocator figures are the RSS and their ratios 1.
pub fn memory_stats(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    let (rss, peak) = rss();
    let mut clients = 0u64;
    ctx.shared.clients.for_each(|c| {
        clients += c.outbox.queued() + c.qbuf.load(Relaxed) + c.argv_mem.load(Relaxed);
    });
    let peak_pct = if peak == 0 {
        0.0
    } else {
        rss as f64 * 100.0 / peak as f64
    };
    enum V {
        I(u64),
        D(f64),
    }
    let fields: [(&str, V); 27] = [
        ("peak.allocated", V::I(peak)),
        ("total.allocated", V::I(rss)),
        ("startup.allocated", V::I(0)),
        ("replication.backlog", V::I(0)),
        ("clients.slaves", V::I(0)),
        ("clients.normal", V::I(clients)),
        ("cluster.links", V::I(0)),
        ("aof.buffer", V::I(0)),
        ("lua.caches", V::I(0)),
        ("functions.caches", V::I(0)),
        ("overhead.total", V::I(clients)),
        ("keys.count", V::I(0)),
        ("keys.bytes-per-key", V::I(0)),
        ("dataset.bytes", V::I(0)),
        ("dataset.percentage", V::D(0.0)),
        ("peak.percentage", V::D(peak_pct)),
        ("allocator.allocated", V::I(rss)),
        ("allocator.active", V::I(rss)),
        ("allocator.resident", V::I(rss)),
        ("allocator-fragmentation.ratio", V::D(1.0)),
        ("allocator-fragmentation.bytes", V::I(0)),
        ("allocator-rss.ratio", V::D(1.0)),
        ("allocator-rss.bytes", V::I(0)),
        ("rss-overhead.ratio", V::D(1.0)),
        ("rss-overhead.bytes", V::I(0)),
        ("fragmentation", V::D(1.0)),
        ("fragmentation.bytes", V::I(0)),
    ];
    let mut e = ctx.reply();
    e.map(fields.len());
    for (name, v) in fields {
        e.bulk(name.as_bytes());
        match v {
            V::I(n) => e.int(n as i64),
            V::D(d) => e.double(&d.to_string()),
        }
    }
    Ok(())
}

/// What Redis's memory doctor says about an instance without data (used memory under
/// 5 MB): respub stores no keys, so it is always that instance.
const DOCTOR_EMPTY: &str = "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n";

pub fn memory_doctor(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    ctx.reply().verbatim(b"txt", DOCTOR_EMPTY.as_bytes());
    Ok(())
}

/// Redis's answer when built with libc malloc, which respub uses.
pub fn memory_malloc_stats(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    ctx.reply()
        .bulk(b"Stats not supported for the current allocator");
    Ok(())
}

pub fn memory_purge(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    ctx.ok();
    Ok(())
}

const MEMORY_HELP: &[&str] = &[
    "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return memory problems reports.",
    "MALLOC-STATS",
    "    Return internal statistics report from the memory allocator.",
    "PURGE",
    "    Attempt to purge dirty pages for reclamation by the allocator.",
    "STATS",
    "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
    "HELP",
    "    Prints this help.",
];

pub fn memory_help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    help_lines(ctx, MEMORY_HELP);
    Ok(())
}

// ---- ROLE, LASTSAVE -----------------------------------------------------------------

/// A standalone master without replicas: `master`, offset 0, no replicas.
pub fn role(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    let mut e = ctx.reply();
    e.array(3);
    e.bulk(b"master");
    e.int(0);
    e.array(0);
    Ok(())
}

/// Redis answers its start time until the first save; respub never saves.
pub fn lastsave(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    let started = ctx.shared.started_unix as i64;
    ctx.reply().int(started);
    Ok(())
}

// ---- FUNCTION, SCRIPT ---------------------------------------------------------------

/// `[ASYNC|SYNC]` of FUNCTION FLUSH / SCRIPT FLUSH.
fn flush_mode_ok(args: &[Bytes]) -> bool {
    args.len() == 2
        || args[2].eq_ignore_ascii_case(b"async")
        || args[2].eq_ignore_ascii_case(b"sync")
}

/// FUNCTION FLUSH [ASYNC|SYNC]: there are no libraries to delete.
pub fn function_flush(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    if args.len() > 3 {
        return Err(CmdError::SubcommandArity(args[0].clone(), args[1].clone()));
    }
    if !flush_mode_ok(args) {
        return Err(CmdError::FunctionFlushOption);
    }
    ctx.ok();
    Ok(())
}

/// FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE]: arguments parsed as Redis does, and
/// no library matches.
pub fn function_list(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    let (mut with_code, mut library) = (false, false);
    let mut i = 2;
    while i < args.len() {
        if !with_code && args[i].eq_ignore_ascii_case(b"withcode") {
            with_code = true;
        } else if !library && args[i].eq_ignore_ascii_case(b"libraryname") {
            if i + 1 >= args.len() {
                return Err(CmdError::FunctionListNoLibraryName);
            }
            library = true;
            i += 1;
        } else {
            return Err(CmdError::FunctionListUnknownArg(args[i].clone()));
        }
        i += 1;
    }
    ctx.reply().array(0);
    Ok(())
}

/// FUNCTION STATS: no script running, the Lua engine with nothing loaded.
pub fn function_stats(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    let mut e = ctx.reply();
    e.map(2);
    e.bulk(b"running_script");
    e.null();
    e.bulk(b"engines");
    e.map(1);
    e.bulk(b"LUA");
    e.map(2);
    e.bulk(b"libraries_count");
    e.int(0);
    e.bulk(b"functions_count");
    e.int(0);
    Ok(())
}

/// FUNCTION KILL / SCRIPT KILL: nothing ever runs.
pub fn kill(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    Err(CmdError::NotBusy)
}

const FUNCTION_HELP: &[&str] = &[
    "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
    "      libraries with the new libraries (notice that even on this option there is a chance of failure",
    "      in case of functions name collision with another library).",
    "HELP",
    "    Prints this help.",
];

pub fn function_help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    help_lines(ctx, FUNCTION_HELP);
    Ok(())
}

/// SCRIPT FLUSH [ASYNC|SYNC]: the script cache is always empty.
pub fn script_flush(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    if args.len() > 3 || !flush_mode_ok(args) {
        return Err(CmdError::ScriptFlushOption);
    }
    ctx.ok();
    Ok(())
}

/// SCRIPT EXISTS sha1 [sha1 ...]: no script is cached.
pub fn script_exists(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    let mut e = ctx.reply();
    e.array(args.len() - 2);
    for _ in 2..args.len() {
        e.int(0);
    }
    Ok(())
}

const SCRIPT_HELP: &[&str] = &[
    "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
    "HELP",
    "    Prints this help.",
];

pub fn script_help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    help_lines(ctx, SCRIPT_HELP);
    Ok(())
}

// ---- SHUTDOWN -----------------------------------------------------------------------

/// SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]: ends the server as SIGTERM does
/// (stop accepting, flush what is queued, exit 0). The client gets no reply; its
/// connection closes. There is nothing to save, so SAVE shuts down as NOSAVE; NOW and
/// FORCE change nothing (no replicas to wait for, no save to fail). A shutdown is never
/// "in progress" waiting for replicas, so ABORT always answers Redis's error.
pub fn shutdown(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    let (mut save, mut nosave, mut abort, mut other) = (false, false, false, false);
    for a in &args[1..] {
        match &a.to_ascii_lowercase()[..] {
            b"nosave" => nosave = true,
            b"save" => save = true,
            b"now" | b"force" => other = true,
            b"abort" => abort = true,
            _ => return Err(CmdError::Syntax),
        }
    }
    if (abort && (save || nosave || other)) || (save && nosave) {
        return Err(CmdError::Syntax);
    }
    if abort {
        return Err(CmdError::NoShutdownInProgress);
    }
    warn!(
        client = ctx.client.id,
        peer = %ctx.client.addr,
        reason = "shutdown_command",
        "User requested shutdown..."
    );
    ctx.session.close_after_reply = true;
    ctx.shared.shutdown_requested.cancel();
    Ok(())
}
