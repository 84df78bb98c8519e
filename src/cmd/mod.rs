//! Commands: argument grammar, the checks Redis runs before a command (in Redis's
//! order), and one file per command family. Knows Redis's wording through
//! `crate::error`; knows nothing about sockets — replies go into an `Out` buffer.

pub mod acl;
pub mod admin;
pub mod client;
pub mod command;
pub mod config;
pub mod connection;
pub mod info;
pub mod latency;
pub mod monitor;
pub mod multi;
pub mod pause;
pub mod publish;
pub mod pubsub;
pub mod rename;
pub mod slowlog;
pub mod subscribe;
pub mod table;
pub mod tracking;

use crate::conn::client::Client;
use crate::conn::session::Session;
use crate::error::CmdError;
use crate::resp::{Encoder, Proto};
use crate::server::Shared;
use bytes::{Bytes, BytesMut};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use table::flags;
pub use table::Spec;

/// Where a command writes. Ordinary replies are dropped under CLIENT REPLY OFF/SKIP;
/// push frames (subscribe confirmations) never are, as in Redis.
#[derive(Debug, Default)]
pub struct Out {
    pub buf: BytesMut,
    scratch: BytesMut,
    silenced: bool,
    /// PUBLISH statistics of this read batch not yet added to the shared counters
    /// (`Stats::gather`); the connection flushes them when the batch ends.
    pub pending: crate::stats::commands::Pending,
    /// When the previous command of this read batch ended: the next one starts then, so
    /// a pipeline pays one clock read per command. The connection clears it when a
    /// batch starts.
    pub clock: Option<std::time::Instant>,
}

/// Everything a command may touch.
#[derive(Debug)]
pub struct Ctx<'a> {
    pub shared: &'a Shared,
    pub client: &'a Arc<Client>,
    pub session: &'a mut Session,
    pub out: &'a mut Out,
}

impl Ctx<'_> {
    /// Encoder for an ordinary reply.
    pub fn reply(&mut self) -> Encoder<'_> {
        let proto = self.session.proto;
        if self.out.silenced {
            self.out.scratch.clear();
            Encoder::new(&mut self.out.scratch, proto)
        } else {
            Encoder::new(&mut self.out.buf, proto)
        }
    }

    /// Encoder for a push frame (written even when replies are silenced).
    pub fn push(&mut self) -> Encoder<'_> {
        Encoder::new(&mut self.out.buf, self.session.proto)
    }

    pub fn ok(&mut self) {
        self.reply().simple("OK");
    }

    fn error(&mut self, e: &CmdError) {
        let text = e.to_reply();
        self.shared.stats.record_error(&text);
        if matches!(e, CmdError::WrongPass) {
            self.shared.stats.auth_failures.fetch_add(1, Relaxed);
        }
        self.reply().error(&text);
    }

    /// Holds racing deliveries back until this command's reply is queued (the outbox's
    /// rules 2 and 3): called right before a command's effect on the registry.
    /// `subscribing` is true when the command adds subscriptions.
    pub fn cork(&mut self, subscribing: bool) {
        if !self.session.corked || subscribing {
            self.client.outbox.cork(subscribing);
            self.session.corked = true;
        }
    }

    /// CLIENT REPLY ON answers although replies were off when it started.
    pub fn out_unsilence(&mut self) {
        self.out.silenced = false;
    }

    pub fn proto(&self) -> Proto {
        self.session.proto
    }
}

/// A command handler: writes its reply, or returns the error to reply with.
pub type Handler = fn(&mut Ctx<'_>, &[Bytes]) -> Result<(), CmdError>;

/// Finds the command (and subcommand) named by `args`, through `rename-command`.
pub fn lookup(args: &[Bytes], renames: &rename::Renames) -> Result<&'static Spec, CmdError> {
    let name = &args[0];
    let table_name = if renames.is_empty() {
        Some(&name[..])
    } else {
        renames.resolve(name)
    };
    let found = table_name.and_then(|n| table::find(None, n));
    let Some(spec) = found.filter(|s| !s.name.contains('|')) else {
        return Err(CmdError::UnknownCommand(name.clone(), args[1..].to_vec()));
    };
    if spec.subcommands.is_empty() || args.len() < 2 {
        return Ok(spec);
    }
    table::find(Some(spec), &args[1])
        .ok_or_else(|| CmdError::UnknownSubcommand(name.clone(), args[1].clone()))
}

fn arity_ok(arity: i32, argc: usize) -> bool {
    if arity >= 0 {
        argc == arity as usize
    } else {
        argc >= arity.unsigned_abs() as usize
    }
}

/// Runs one command through Redis's pre-checks (processCommand order: unknown command,
/// arity, authentication, RESP2 subscribe context, MULTI queueing) and executes it.
pub fn run(ctx: &mut Ctx<'_>, found: Result<&'static Spec, CmdError>, args: Vec<Bytes>) {
    ctx.out.silenced = ctx.session.reply.silenced();
    let client_cmd = ctx.session.tracking.is_some() && args[0].eq_ignore_ascii_case(b"client");
    let is_exec = found.as_ref().is_ok_and(|s| s.name == "exec");
    acl::refresh_user(ctx);
    let checked = match found {
        Ok(spec) => check(ctx.shared, ctx.session, spec, &args)
            .map(|()| spec)
            .map_err(|e| (Some(spec), e)),
        Err(e) => Err((None, e)),
    };
    match checked {
        Err((spec, e)) => {
            // Redis counts a refused known command in its `rejected_calls`.
            if let Some(spec) = spec {
                ctx.shared.stats.per_command.reject(table::slot(spec));
                if matches!(e, CmdError::NoPermCommand(..) | CmdError::NoPermChannel) {
                    acl::log_denial(ctx, spec, &args);
                }
            }
            reject(ctx, &e, is_exec);
        }
        Ok(spec) => {
            ctx.client.last_cmd.store(spec.addr(), Relaxed);
            if ctx.session.multi.is_some() && spec.flags & flags::NOT_QUEUED == 0 {
                multi::queue(ctx, args);
            } else {
                execute(ctx, spec, &args);
                if ctx.shared.monitors.active() {
                    monitor::feed(ctx, spec, &args);
                }
            }
        }
    }
    if ctx.session.tracking.is_some() {
        tracking::after_command(ctx, client_cmd);
    }
    ctx.session.reply.command_done();
    ctx.out.silenced = false;
}

fn check(
    shared: &Shared,
    session: &Session,
    spec: &'static Spec,
    args: &[Bytes],
) -> Result<(), CmdError> {
    if !arity_ok(spec.arity, args.len()) {
        return Err(CmdError::WrongArity(spec.name));
    }
    if spec.flags & flags::NO_AUTH == 0 && auth_required(shared, session) {
        return Err(CmdError::NoAuth);
    }
    if session.multi.is_some() && spec.flags & flags::NO_MULTI != 0 {
        return Err(CmdError::NotAllowedInMulti);
    }
    acl::permitted(session, spec, args)?;
    if session.in_resp2_pubsub() && spec.flags & flags::PUBSUB_CONTEXT == 0 {
        return Err(CmdError::SubscribeContext(spec.name));
    }
    Ok(())
}

/// Whether CLIENT PAUSE holds this command now: it passed the pre-checks (Redis
/// rejects those at once, paused or not) and is of the paused class (`pause`). The
/// caller checked `Pause::active`.
pub fn held_by_pause(
    shared: &Shared,
    session: &Session,
    found: &Result<&'static Spec, CmdError>,
    args: &[Bytes],
) -> bool {
    match found {
        Ok(spec) => {
            check(shared, session, spec, args).is_ok() && pause::holds(shared, session, spec)
        }
        Err(_) => false,
    }
}

/// Redis `authRequired`: the client never authenticated and the `default` user has a
/// password or is off. Checked per command, not fixed at connect time, so `CONFIG SET
/// requirepass ""` lets in connections that were opened earlier and never sent AUTH
/// (redis-server 7.0.15 answers their PING with PONG), and setting a password again
/// shuts them out again (`authenticated` itself is never set by clearing it).
pub fn auth_required(shared: &Shared, session: &Session) -> bool {
    !session.authenticated && shared.acl.default_needs_auth()
}

fn reject(ctx: &mut Ctx<'_>, e: &CmdError, is_exec: bool) {
    if is_exec {
        // A rejected EXEC, in MULTI or not, discards any transaction and says why
        // (Redis's execCommandAbort).
        multi::clear(ctx);
        let reason = e.to_reply();
        let reason = reason.strip_prefix(b"ERR ").unwrap_or(&reason);
        ctx.error(&CmdError::ExecAbortBecause(Bytes::copy_from_slice(reason)));
        return;
    }
    if ctx.session.multi.is_some() {
        ctx.session.multi_dirty = true;
    }
    ctx.error(e);
}

/// Runs the handler, timed for INFO commandstats / latencystats, SLOWLOG and the
/// latency monitor: one clock read (the previous command's end is this one's start, see
/// `Out::clock`) and a few Relaxed adds into the command's own slot
/// (`stats::commands`), no lock unless the slow log takes the command. PUBLISH and
/// SPUBLISH, the commands that come in long pipelines from many connections at once,
/// are counted into the connection's `Out::pending` and added once per read batch;
/// any other command adds what is pending first, so whatever it reads (INFO) is exact.
fn execute(ctx: &mut Ctx<'_>, spec: &'static Spec, args: &[Bytes]) {
    let gathered = matches!(spec.name, "publish" | "spublish");
    if !gathered {
        ctx.shared.stats.flush(&mut ctx.out.pending);
    }
    let started = ctx.out.clock.take().unwrap_or_else(std::time::Instant::now);
    let result = (spec.handler)(ctx, args);
    let failed = result.is_err();
    if let Err(e) = result {
        ctx.error(&e);
    }
    let ended = std::time::Instant::now();
    ctx.out.clock = Some(ended);
    let took = ended.saturating_duration_since(started);
    let slot = table::slot(spec);
    if gathered {
        ctx.shared
            .stats
            .gather(&mut ctx.out.pending, slot, took, failed);
    } else {
        ctx.shared.stats.per_command.record(slot, took, failed);
    }
    slowlog::observe(ctx, spec, args, took.as_micros() as u64);
}

/// Executes a command inside EXEC: the pre-checks ran when it was queued, except ACL
/// permissions.
pub fn run_queued(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    match lookup(args, &ctx.shared.renames) {
        Ok(spec) => {
            // Redis checks ACL permissions again at EXEC, in case they changed since
            // the command was queued.
            acl::refresh_user(ctx);
            if let Err(e) = acl::check_in_exec(ctx, spec, args) {
                ctx.error(&e);
                return;
            }
            execute(ctx, spec, args);
            if ctx.shared.monitors.active() {
                monitor::feed(ctx, spec, args);
            }
        }
        Err(e) => ctx.error(&e),
    }
}

/// Parses a Redis integer argument (string2ll rules are close enough to Rust's for
/// the small values commands take here; leading `+` and spaces are refused).
pub fn parse_i64(arg: &[u8]) -> Result<i64, CmdError> {
    let s = std::str::from_utf8(arg).map_err(|_| CmdError::NotAnInteger)?;
    if s.starts_with('+')
        || s.is_empty()
        || (s.len() > 1 && s.starts_with('0'))
        || s.starts_with("-0")
    {
        return Err(CmdError::NotAnInteger);
    }
    s.parse::<i64>().map_err(|_| CmdError::NotAnInteger)
}
