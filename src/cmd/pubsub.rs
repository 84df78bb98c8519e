//! PUBSUB CHANNELS | NUMSUB | NUMPAT | SHARDCHANNELS | SHARDNUMSUB | HELP.
//!
//! With a backplane (issue 10) the answers are cluster-wide: this node's answer merged
//! with the other nodes' (`backplane::gather`, bounded by `backplane-request-timeout`;
//! nodes that did not answer in time are left out).

use super::Ctx;
use crate::backplane::{Answer, Query};
use crate::error::CmdError;
use crate::registry::Namespace;
use bytes::Bytes;
use std::collections::HashSet;

/// Adds the names other nodes answered to `names`, each name once.
fn merge_names(names: &mut Vec<Bytes>, answers: Vec<Answer>) {
    if answers.is_empty() {
        return;
    }
    let mut seen: HashSet<Bytes> = names.iter().cloned().collect();
    for a in answers {
        if let Answer::Names(v) = a {
            names.extend(v.into_iter().filter(|n| seen.insert(n.clone())));
        }
    }
}

fn list(ctx: &mut Ctx<'_>, args: &[Bytes], ns: Namespace) -> Result<(), CmdError> {
    // The JSON arity lets any count >= 2 through; the command itself takes 2 or 3.
    if args.len() > 3 {
        return Err(CmdError::SubcommandArity(args[0].clone(), args[1].clone()));
    }
    let mut names = ctx
        .shared
        .registry
        .channel_names(ns, args.get(2).map(|p| &p[..]));
    if ctx.shared.backplane.active() {
        let answers = ctx
            .shared
            .backplane
            .gather(&Query::Channels(ns, args.get(2).cloned()));
        merge_names(&mut names, answers);
    }
    let mut e = ctx.reply();
    e.array(names.len());
    for n in &names {
        e.bulk(n);
    }
    Ok(())
}

fn counts(ctx: &mut Ctx<'_>, args: &[Bytes], ns: Namespace) -> Result<(), CmdError> {
    let registry = &ctx.shared.registry;
    let mut counts: Vec<usize> = args[2..]
        .iter()
        .map(|c| registry.subscriber_count(ns, c))
        .collect();
    if ctx.shared.backplane.active() && !counts.is_empty() {
        let query = Query::NumSub(ns, args[2..].to_vec());
        for a in ctx.shared.backplane.gather(&query) {
            // An answer of another length is not for this question: left out.
            if let Answer::Counts(v) = a {
                if v.len() == counts.len() {
                    counts.iter_mut().zip(v).for_each(|(c, n)| *c += n as usize);
                }
            }
        }
    }
    // An array, not a map, even in RESP3 (as Redis replies).
    let mut e = ctx.reply();
    e.array(counts.len() * 2);
    for (name, n) in args[2..].iter().zip(counts) {
        e.bulk(name);
        e.int(n as i64);
    }
    Ok(())
}

pub fn channels(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    list(ctx, args, Namespace::Channel)
}

pub fn shardchannels(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    list(ctx, args, Namespace::Shard)
}

pub fn numsub(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    counts(ctx, args, Namespace::Channel)
}

pub fn shardnumsub(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    counts(ctx, args, Namespace::Shard)
}

pub fn numpat(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    let mut n = ctx.shared.registry.pattern_count();
    if ctx.shared.backplane.active() {
        // Distinct patterns cluster-wide: a pattern held on two nodes counts once.
        let answers = ctx.shared.backplane.gather(&Query::Patterns);
        if !answers.is_empty() {
            let mut names = ctx.shared.registry.pattern_names();
            merge_names(&mut names, answers);
            n = names.len();
        }
    }
    ctx.reply().int(n as i64);
    Ok(())
}

const HELP: &[&str] = &[
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
];

/// Writes a HELP reply: the given lines as simple strings.
pub fn help_lines(ctx: &mut Ctx<'_>, lines: &[&str]) {
    let mut e = ctx.reply();
    e.array(lines.len());
    for l in lines {
        e.simple(l);
    }
}

pub fn help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    help_lines(ctx, HELP);
    Ok(())
}
