//! PUBLISH and SPUBLISH. The reply is the number of deliveries made: each exact
//! subscriber once, plus once per (matching pattern, subscriber of that pattern).

use super::Ctx;
use crate::error::CmdError;
use bytes::Bytes;

pub fn publish(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    let n = ctx
        .shared
        .registry
        .publish(&args[1], &args[2], &ctx.shared.limits);
    ctx.reply().int(n as i64);
    Ok(())
}

pub fn spublish(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    let n = ctx
        .shared
        .registry
        .spublish(&args[1], &args[2], &ctx.shared.limits);
    ctx.reply().int(n as i64);
    Ok(())
}
