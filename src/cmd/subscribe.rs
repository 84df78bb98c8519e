//! SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE and their UNSUBSCRIBE counterparts.
//!
//! One confirmation frame per argument, in argument order, with the count after that
//! argument (duplicates included, count unchanged). Counts are channels + patterns for
//! the first two families and shard channels alone for the third (Redis pubsub.c).
//! Argument-less unsubscribe sends one frame per held subscription, or a single frame
//! with a null name when there is none (clients wait for it).

use super::Ctx;
use crate::conn::session::{Set, Subscriptions};
use crate::error::CmdError;
use crate::registry::Namespace;
use bytes::Bytes;
use std::sync::atomic::Ordering::Relaxed;

#[derive(Clone, Copy)]
enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    fn set(self, subs: &mut Subscriptions) -> &mut Set {
        match self {
            Kind::Channel => &mut subs.channels,
            Kind::Pattern => &mut subs.patterns,
            Kind::Shard => &mut subs.shard_channels,
        }
    }

    fn count(self, subs: &Subscriptions) -> i64 {
        match self {
            Kind::Channel | Kind::Pattern => subs.channels_and_patterns(),
            Kind::Shard => subs.shard_channels.len() as i64,
        }
    }

    fn words(self) -> (&'static str, &'static str) {
        match self {
            Kind::Channel => ("subscribe", "unsubscribe"),
            Kind::Pattern => ("psubscribe", "punsubscribe"),
            Kind::Shard => ("ssubscribe", "sunsubscribe"),
        }
    }
}

fn frame(ctx: &mut Ctx<'_>, word: &str, name: Option<&[u8]>, count: i64) {
    let mut e = ctx.push();
    e.push(3);
    e.bulk(word.as_bytes());
    match name {
        Some(n) => e.bulk(n),
        None => e.null(),
    }
    e.int(count);
}

/// Publishes the new counts to CLIENT LIST / INFO. The outbox's limit class follows
/// when the command ends (outbox rule 7).
fn counts_changed(ctx: &mut Ctx<'_>, was_pubsub: bool) {
    let subs = &ctx.session.subs;
    ctx.client.sub.store(subs.channels.len() as u32, Relaxed);
    ctx.client.psub.store(subs.patterns.len() as u32, Relaxed);
    ctx.client
        .ssub
        .store(subs.shard_channels.len() as u32, Relaxed);
    let is_pubsub = subs.total() > 0;
    if is_pubsub != was_pubsub {
        let delta = if is_pubsub { 1 } else { -1 };
        ctx.shared.stats.pubsub_clients.fetch_add(delta, Relaxed);
    }
}

fn add(ctx: &mut Ctx<'_>, args: &[Bytes], kind: Kind) -> Result<(), CmdError> {
    let was_pubsub = ctx.session.subs.total() > 0;
    let max = ctx.shared.max_subscriptions.load(Relaxed);
    if max > 0 {
        let held = kind.set(&mut ctx.session.subs);
        let mut fresh: Vec<&Bytes> = args[1..].iter().filter(|n| !held.contains(*n)).collect();
        fresh.sort_unstable();
        fresh.dedup();
        if (ctx.session.subs.total() + fresh.len()) as u64 > max {
            // Refused whole, before any effect: a client sees the limit, not a partial set.
            return Err(CmdError::TooManySubscriptions);
        }
    }
    let mut new = Vec::new();
    for name in &args[1..] {
        let set = kind.set(&mut ctx.session.subs);
        if !set.contains(name) {
            // Arguments are slices of the connection's read buffer; a name kept for
            // the life of a subscription gets its own allocation so it doesn't pin
            // that buffer (16 KiB per idle subscriber otherwise).
            let owned = Bytes::copy_from_slice(name);
            set.insert(owned.clone());
            new.push(owned);
        }
        let count = kind.count(&ctx.session.subs);
        frame(ctx, kind.words().0, Some(name), count);
    }
    {
        // The mirror ACL revocation reads (`crate::acl`, Revocation).
        let mut mirror = ctx.client.subscriptions();
        let set = kind.set(&mut mirror);
        set.extend(new.iter().cloned());
    }
    // The effect point: deliveries from here on follow the confirmations (outbox rule 2).
    ctx.cork(true);
    let registry = &ctx.shared.registry;
    let outbox = &ctx.client.outbox;
    match kind {
        Kind::Channel => registry.subscribe(Namespace::Channel, &new, outbox),
        Kind::Shard => registry.subscribe(Namespace::Shard, &new, outbox),
        Kind::Pattern => registry.psubscribe(&new, outbox),
    }
    counts_changed(ctx, was_pubsub);
    super::acl::recheck_after_subscribe(ctx, &new, matches!(kind, Kind::Pattern));
    Ok(())
}

fn remove(ctx: &mut Ctx<'_>, args: &[Bytes], kind: Kind) -> Result<(), CmdError> {
    let was_pubsub = ctx.session.subs.total() > 0;
    let word = kind.words().1;
    let names: Vec<Bytes> = if args.len() > 1 {
        args[1..].to_vec()
    } else {
        kind.set(&mut ctx.session.subs).iter().cloned().collect()
    };
    if names.is_empty() {
        let count = kind.count(&ctx.session.subs);
        frame(ctx, word, None, count);
        return Ok(());
    }
    let mut gone = Vec::with_capacity(names.len());
    for name in &names {
        if kind.set(&mut ctx.session.subs).remove(name) {
            gone.push(name.clone());
        }
        let count = kind.count(&ctx.session.subs);
        frame(ctx, word, Some(name), count);
    }
    {
        let mut mirror = ctx.client.subscriptions();
        let set = kind.set(&mut mirror);
        for name in &gone {
            set.remove(name);
        }
        if set.is_empty() && set.capacity() > 0 {
            set.shrink_to_fit();
        }
    }
    let id = ctx.client.id;
    let registry = &ctx.shared.registry;
    match kind {
        Kind::Channel => registry.unsubscribe(Namespace::Channel, &gone, id),
        Kind::Shard => registry.unsubscribe(Namespace::Shard, &gone, id),
        Kind::Pattern => registry.punsubscribe(&gone, id),
    }
    let set = kind.set(&mut ctx.session.subs);
    if set.is_empty() && set.capacity() > 0 {
        // Idle clients should not keep a big table after a mass unsubscribe.
        set.shrink_to_fit();
    }
    counts_changed(ctx, was_pubsub);
    Ok(())
}

pub fn subscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    add(ctx, args, Kind::Channel)
}

pub fn psubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    add(ctx, args, Kind::Pattern)
}

pub fn ssubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    // Redis refuses SSUBSCRIBE for DENY_BLOCKING clients, which includes EXEC.
    if ctx.session.in_exec {
        return Err(CmdError::DenyBlocking("ssubscribe"));
    }
    add(ctx, args, Kind::Shard)
}

pub fn unsubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    remove(ctx, args, Kind::Channel)
}

pub fn punsubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    remove(ctx, args, Kind::Pattern)
}

pub fn sunsubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    remove(ctx, args, Kind::Shard)
}

/// Drops every subscription without frames (RESET, disconnect).
pub fn drop_all(ctx: &mut Ctx<'_>) {
    let was_pubsub = ctx.session.subs.total() > 0;
    let subs = std::mem::take(&mut ctx.session.subs);
    *ctx.client.subscriptions() = Subscriptions::default();
    let id = ctx.client.id;
    let registry = &ctx.shared.registry;
    registry.unsubscribe(Namespace::Channel, subs.channels.iter(), id);
    registry.punsubscribe(subs.patterns.iter(), id);
    registry.unsubscribe(Namespace::Shard, subs.shard_channels.iter(), id);
    counts_changed(ctx, was_pubsub);
}
