//! MULTI / EXEC / DISCARD. Queued commands were checked when queued; EXEC runs them in
//! order under one array header. As in Redis, a SUBSCRIBE inside the transaction writes
//! one frame per channel, so the frames can outnumber the header's count (redis#12207).
//!
//! The queue is counted and bounded the way Redis does it since redis#12961 ("Revert
//! multi OOM limit and add multi buffer limit", Jan 2024, with the fix redis#12989;
//! in 7.4, backport to 7.2.x not confirmed; redis-server 7.0.15 has no bound): each queued
//! command costs its argument bytes plus one slot per argument (multi.c
//! `queueMultiCommand`: `argv_len_sums += argv_len_sum + sizeof(robj*)*argc`), the
//! total is CLIENT LIST `multi-mem`, and queued memory above
//! `client-query-buffer-limit` closes the client without a reply, counted in
//! `client_query_buffer_limit_disconnections` (networking.c `readQueryFromClient`:
//! "The commands cached in the MULTI/EXEC queue have not been executed yet, so they
//! are also considered a part of the query buffer"). A transaction already doomed to
//! EXECABORT stores nothing more but still answers QUEUED, as in Redis.

use super::{run_queued, Ctx};
use crate::conn::outbox::CloseReason;
use crate::error::CmdError;
use bytes::Bytes;
use std::sync::atomic::Ordering::Relaxed;
use tracing::warn;

/// What one queued argument costs besides its bytes (Redis counts `sizeof(robj*)`).
const QUEUED_ARG_BYTES: u64 = std::mem::size_of::<Bytes>() as u64;

/// Queues `args` inside MULTI (the caller checked the command may be queued).
pub fn queue(ctx: &mut Ctx<'_>, args: Vec<Bytes>) {
    if ctx.session.multi_dirty {
        ctx.reply().simple("QUEUED");
        return;
    }
    let cost =
        args.iter().map(|a| a.len() as u64).sum::<u64>() + args.len() as u64 * QUEUED_ARG_BYTES;
    let multi_mem = ctx.client.multi_mem.load(Relaxed) + cost;
    // Redis compares queued memory plus the query buffer once per read. The queue is
    // checked here as it grows, on its own: the query buffer as of the last read may
    // still hold the very command being queued, and counting it twice would close a
    // client Redis keeps. The connection's own check covers the query buffer.
    if multi_mem > ctx.shared.query_buffer_limit.load(Relaxed) {
        ctx.shared
            .stats
            .query_limit_disconnections
            .fetch_add(1, Relaxed);
        warn!(
            client = ctx.client.id,
            peer = %ctx.client.addr,
            reason = "limit",
            limit = "client-query-buffer-limit",
            multi_mem
        );
        clear(ctx);
        ctx.session.close_after_reply = true;
        ctx.client.kill(CloseReason::Killed);
        return;
    }
    let Some(queue) = ctx.session.multi.as_mut() else {
        return;
    };
    queue.push(args);
    ctx.client.multi.store(queue.len() as i64, Relaxed);
    ctx.client.multi_mem.store(multi_mem, Relaxed);
    ctx.reply().simple("QUEUED");
}

/// Leaves MULTI state, dropping whatever was queued.
pub fn clear(ctx: &mut Ctx<'_>) {
    ctx.session.multi = None;
    ctx.session.multi_dirty = false;
    ctx.client.multi.store(-1, Relaxed);
    ctx.client.multi_mem.store(0, Relaxed);
}

pub fn multi(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    if ctx.session.multi.is_some() {
        return Err(CmdError::MultiNested);
    }
    ctx.session.multi = Some(Vec::new());
    ctx.session.multi_dirty = false;
    ctx.client.multi.store(0, Relaxed);
    ctx.client.multi_mem.store(0, Relaxed);
    ctx.ok();
    Ok(())
}

fn end(ctx: &mut Ctx<'_>) -> Option<Vec<Vec<Bytes>>> {
    ctx.client.multi.store(-1, Relaxed);
    ctx.client.multi_mem.store(0, Relaxed);
    ctx.session.multi.take()
}

pub fn discard(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    if end(ctx).is_none() {
        return Err(CmdError::DiscardWithoutMulti);
    }
    ctx.session.multi_dirty = false;
    ctx.ok();
    Ok(())
}

pub fn exec(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    let Some(queue) = end(ctx) else {
        return Err(CmdError::ExecWithoutMulti);
    };
    if std::mem::take(&mut ctx.session.multi_dirty) {
        return Err(CmdError::ExecAbort);
    }
    ctx.reply().array(queue.len());
    ctx.session.in_exec = true;
    // Redis keeps the client in MULTI until the queue has run: CLIENT INFO inside the
    // transaction, and the client-info of an ACL LOG entry made by EXEC's ACL recheck,
    // show flags=x and multi=<queued>.
    ctx.client.multi.store(queue.len() as i64, Relaxed);
    for args in &queue {
        run_queued(ctx, args);
    }
    ctx.client.multi.store(-1, Relaxed);
    ctx.session.in_exec = false;
    Ok(())
}
