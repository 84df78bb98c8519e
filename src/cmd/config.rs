//! CONFIG GET / SET / RESETSTAT / HELP over the settings respub has (see `config.rs`).
//! Redis parameters that describe a keyspace or persistence answer with the value that
//! means "off", so tools that read them see a consistent picture.

use super::pubsub::help_lines;
use super::Ctx;
use crate::config::Config;
use crate::error::CmdError;
use bytes::Bytes;

/// Read-only answers for Redis parameters respub has no use for.
const COMPAT: &[(&str, &str)] = &[
    ("save", ""),
    ("appendonly", "no"),
    ("maxmemory", "0"),
    ("maxmemory-policy", "noeviction"),
    ("notify-keyspace-events", ""),
    ("tcp-keepalive", "0"),
    ("protected-mode", "no"),
    ("io-threads", "1"),
    ("hz", "10"),
    ("cluster-enabled", "no"),
];

/// Parameters CONFIG SET may change while running.
const MUTABLE: &[&str] = &[
    "requirepass",
    "maxclients",
    "timeout",
    "client-output-buffer-limit",
    "proto-max-bulk-len",
    "client-query-buffer-limit",
    "reply-pause-bytes",
    "max-subscriptions-per-client",
];

fn values(c: &Config) -> Vec<(&'static str, String)> {
    let mut v = vec![
        ("bind", c.bind.join(" ")),
        ("port", c.port.to_string()),
        ("unixsocket", c.unixsocket.clone().unwrap_or_default()),
        // Octal without a leading 0, as redis-server prints it (`700`).
        ("unixsocketperm", format!("{:o}", c.unixsocketperm)),
        (
            "requirepass",
            c.requirepass
                .as_ref()
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .unwrap_or_default(),
        ),
        ("loglevel", c.loglevel.clone()),
        ("maxclients", c.maxclients.to_string()),
        ("databases", c.databases.to_string()),
        ("proto-max-bulk-len", c.proto_max_bulk_len.to_string()),
        (
            "client-query-buffer-limit",
            c.client_query_buffer_limit.to_string(),
        ),
        ("max-multibulk-len", c.max_multibulk_len.to_string()),
        ("max-inline-len", c.max_inline_len.to_string()),
        ("client-output-buffer-limit", c.output_limits_text()),
        ("reply-pause-bytes", c.reply_pause_bytes.to_string()),
        ("timeout", c.timeout.to_string()),
        ("tcp-backlog", c.tcp_backlog.to_string()),
        ("worker-threads", c.worker_threads.to_string()),
        ("shutdown-timeout", c.shutdown_timeout.to_string()),
        (
            "max-subscriptions-per-client",
            c.max_subscriptions_per_client.to_string(),
        ),
    ];
    v.extend(COMPAT.iter().map(|(k, val)| (*k, val.to_string())));
    v
}

pub fn get(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    let all = values(&ctx.shared.config());
    let mut found: Vec<&(&str, String)> = Vec::new();
    for pattern in &args[2..] {
        let pattern = pattern.to_ascii_lowercase();
        for entry in &all {
            if crate::glob::matches(&pattern, entry.0.as_bytes())
                && !found.iter().any(|f| f.0 == entry.0)
            {
                found.push(entry);
            }
        }
    }
    let mut e = ctx.reply();
    e.map(found.len());
    for (k, v) in found {
        e.bulk(k.as_bytes());
        e.bulk(v.as_bytes());
    }
    Ok(())
}

pub fn set(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    if !args.len().is_multiple_of(2) {
        return Err(CmdError::WrongArity("config|set"));
    }
    // One read-modify-write under the config lock: two clients setting different
    // parameters at the same time both keep their change (issue 11).
    ctx.shared.update_config(|next| {
        for pair in args[2..].chunks(2) {
            let name = String::from_utf8_lossy(&pair[0]).to_ascii_lowercase();
            let value = String::from_utf8_lossy(&pair[1]).into_owned();
            let known = values(next).iter().any(|(k, _)| *k == name);
            if !known {
                return Err(CmdError::ConfigUnknownOption("SET", pair[0].clone()));
            }
            if !MUTABLE.contains(&name.as_str()) {
                return Err(CmdError::ConfigImmutable(pair[0].clone()));
            }
            if let Err(e) = next.apply(&name, &value) {
                return Err(CmdError::ConfigInvalidArgument(
                    pair[0].clone(),
                    pair[1].clone(),
                    e.0,
                ));
            }
        }
        Ok(())
    })?;
    ctx.ok();
    Ok(())
}

pub fn resetstat(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    ctx.shared.stats.reset();
    ctx.ok();
    Ok(())
}

const HELP: &[&str] = &[
    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "HELP",
    "    Prints this help.",
];

pub fn help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    help_lines(ctx, HELP);
    Ok(())
}
