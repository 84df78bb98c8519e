//! MULTI / EXEC / DISCARD. Queued commands were checked when queued; EXEC runs them in
//! order under one array header. As in Redis, a SUBSCRIBE inside the transaction writes
//! one frame per channel, so the frames can outnumber the header's count (redis#12207).

use super::{run_queued, Ctx};
use crate::error::CmdError;
use bytes::Bytes;
use std::sync::atomic::Ordering::Relaxed;

pub fn multi(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    if ctx.session.multi.is_some() {
        return Err(CmdError::MultiNested);
    }
    ctx.session.multi = Some(Vec::new());
    ctx.session.multi_dirty = false;
    ctx.client.multi.store(0, Relaxed);
    ctx.ok();
    Ok(())
}

fn end(ctx: &mut Ctx<'_>) -> Option<Vec<Vec<Bytes>>> {
    ctx.client.multi.store(-1, Relaxed);
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
    for args in &queue {
        run_queued(ctx, args);
    }
    ctx.session.in_exec = false;
    Ok(())
}
