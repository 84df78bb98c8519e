//! PUBLISH and SPUBLISH. The reply is the number of deliveries made: each exact
//! subscriber once, plus once per (matching pattern, subscriber of that pattern).

use super::Ctx;
use crate::error::CmdError;
use crate::registry::Namespace;
use bytes::Bytes;

/// A subscriber's own deliveries follow its reply (Redis 7.2+, outbox rule 3).
fn cork_if_subscribed(ctx: &mut Ctx<'_>) {
    if ctx.session.subs.total() > 0 {
        ctx.cork(false);
    }
}

pub fn publish(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    ctx.shared
        .backplane
        .check_size(args[2].len())
        .map_err(CmdError::BackplaneOversize)?;
    cork_if_subscribed(ctx);
    // Local first: the other nodes get it through a queue PUBLISH never waits on.
    let (n, remote) = ctx.shared.publish(Namespace::Channel, &args[1], &args[2]);
    ctx.session.deliveries += n as u64;
    // Counted for /metrics once per read batch (`Stats::gather`); drops are counted by
    // the registry, and delivered = sum of local counts - drops at scrape time (a reply may also hold
    // other nodes' receivers with `backplane-publish-count cluster`; they are not ours).
    ctx.out.pending.published += 1;
    ctx.out.pending.delivered += n as u64;
    ctx.reply().int((n as u64 + remote) as i64);
    Ok(())
}

pub fn spublish(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    ctx.shared
        .backplane
        .check_size(args[2].len())
        .map_err(CmdError::BackplaneOversize)?;
    cork_if_subscribed(ctx);
    let (n, remote) = ctx.shared.publish(Namespace::Shard, &args[1], &args[2]);
    ctx.session.deliveries += n as u64;
    ctx.out.pending.spublished += 1;
    ctx.out.pending.delivered += n as u64;
    ctx.reply().int((n as u64 + remote) as i64);
    Ok(())
}
