//! LATENCY LATEST / HISTORY / RESET / GRAPH / DOCTOR / HISTOGRAM / HELP, answered as
//! redis-server 7.0.15 answers them. HISTOGRAM reads the per-command histograms
//! (`crate::stats::commands`); the others read the latency monitor
//! (`crate::stats::latency`), which records nothing while `latency-monitor-threshold`
//! is 0 (the default), so LATEST and HISTORY are empty then.

use super::pubsub::help_lines;
use super::{table, Ctx};
use crate::error::CmdError;
use crate::stats::commands::CommandReading;
use bytes::Bytes;
use std::fmt::Write as _;
use std::sync::atomic::Ordering::Relaxed;

const HELP: &[&str] = &[
    "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return a human readable latency analysis report.",
    "GRAPH <event>",
    "    Return an ASCII latency graph for the <event> class.",
    "HISTORY <event>",
    "    Return time-latency samples for the <event> class.",
    "LATEST",
    "    Return the latest latency samples for all events.",
    "RESET [<event> ...]",
    "    Reset latency data of one or more <event> classes.",
    "    (default: reset all data for all event classes)",
    "HISTOGRAM [COMMAND ...]",
    "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
    "    If no commands are specified then all histograms are replied.",
    "HELP",
    "    Prints this help.",
];

pub fn help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    help_lines(ctx, HELP);
    Ok(())
}

pub fn latest(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    let events = ctx.shared.stats.latency.events();
    let mut e = ctx.reply();
    e.array(events.len());
    for ev in &events {
        let (time, last) = ev.samples.back().copied().unwrap_or((0, 0));
        e.array(4);
        e.bulk(ev.name.as_bytes());
        e.int(time as i64);
        e.int(last as i64);
        e.int(ev.max as i64);
    }
    Ok(())
}

pub fn history(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    let events = ctx.shared.stats.latency.events();
    let samples = events
        .iter()
        .find(|ev| ev.name.as_bytes() == &args[2][..])
        .map(|ev| ev.samples.clone())
        .unwrap_or_default();
    let mut e = ctx.reply();
    e.array(samples.len());
    for (time, ms) in samples {
        e.array(2);
        e.int(time as i64);
        e.int(ms as i64);
    }
    Ok(())
}

pub fn reset(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    let names: Vec<String> = args[2..]
        .iter()
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let n = ctx.shared.stats.latency.reset(&names);
    ctx.reply().int(n as i64);
    Ok(())
}

/// respub keeps no ASCII art: an event with samples gets a one-line-per-sample list.
pub fn graph(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    let events = ctx.shared.stats.latency.events();
    let Some(ev) = events.iter().find(|ev| ev.name.as_bytes() == &args[2][..]) else {
        return Err(CmdError::LatencyNoSamples(args[2].clone()));
    };
    let mut text = format!(
        "{} - high {} ms, low {} ms (all time high {} ms)\n",
        ev.name,
        ev.samples.iter().map(|s| s.1).max().unwrap_or(0),
        ev.samples.iter().map(|s| s.1).min().unwrap_or(0),
        ev.max
    );
    for (time, ms) in &ev.samples {
        let _ = writeln!(text, "{time} {ms}");
    }
    ctx.reply().verbatim(b"txt", text.as_bytes());
    Ok(())
}

pub fn doctor(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    let latency = &ctx.shared.stats.latency;
    let events = latency.events();
    let text = if events.is_empty() && latency.threshold_ms.load(Relaxed) == 0 {
        "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n".to_string()
    } else if events.is_empty() {
        "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n".to_string()
    } else {
        // Redis's report goes on to advice about its keyspace; respub lists the spikes.
        let mut t = "Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n".to_string();
        for (i, ev) in events.iter().enumerate() {
            let n = ev.samples.len().max(1) as u64;
            let avg = ev.samples.iter().map(|s| s.1).sum::<u64>() / n;
            let _ = writeln!(
                t,
                "{}. {}: {} latency spikes (average {avg}ms). Worst all time event {}ms.",
                i + 1,
                ev.name,
                ev.samples.len(),
                ev.max
            );
        }
        t
    };
    ctx.reply().verbatim(b"txt", text.as_bytes());
    Ok(())
}

/// `(key, cumulative count)` pairs as Redis's `fillCommandCDF` prints them: HDR
/// log-iteration from 1024 ns doubling, each key the level's highest equivalent value
/// (2 significant digits: level + level/128 - 1) in whole microseconds, a pair only
/// where the cumulative count grew.
fn cdf(r: &CommandReading) -> Vec<(u64, u64)> {
    let total = r.latency.total();
    let mut out = Vec::new();
    let mut previous = 0;
    let mut level: u64 = 1024;
    while previous < total && level < (1 << 40) {
        // The last tracked level takes whatever is longer.
        let cumulative = if level >= (1 << 36) {
            total
        } else {
            r.latency.count_below(level)
        };
        if cumulative > previous {
            out.push(((level + level / 128 - 1) / 1000, cumulative));
        }
        previous = cumulative;
        level *= 2;
    }
    out
}

pub fn histogram(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    let stats = &ctx.shared.stats.per_command;
    let readings: Vec<CommandReading> = if args.len() <= 2 {
        stats.readings()
    } else {
        let mut v: Vec<CommandReading> = Vec::new();
        for a in &args[2..] {
            let name = String::from_utf8_lossy(a).to_ascii_lowercase();
            // A container names itself and its subcommands, as in Redis.
            let Some(spec) = table::all().iter().find(|s| s.name == name) else {
                continue;
            };
            let names = std::iter::once(spec.name).chain(spec.subcommands.iter().map(|s| s.name));
            for n in names {
                if v.iter().any(|r| r.name == n) {
                    continue;
                }
                if let Some(r) = stats.reading(n) {
                    v.push(r);
                }
            }
        }
        v
    };
    let readings: Vec<CommandReading> = readings
        .into_iter()
        .filter(|r| r.latency.total() > 0)
        .collect();
    let mut e = ctx.reply();
    e.map(readings.len());
    for r in &readings {
        let points = cdf(r);
        e.bulk(r.name.as_bytes());
        e.map(2);
        e.bulk(b"calls");
        e.int(r.latency.total() as i64);
        e.bulk(b"histogram_usec");
        e.map(points.len());
        for (k, c) in points {
            e.int(k as i64);
            e.int(c as i64);
        }
    }
    Ok(())
}
