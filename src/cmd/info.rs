//! INFO [section ...]: the sections and fields monitoring tools and client libraries
//! read (ioredis's ready check needs `loading:0`), in Redis's `name:value` format.

use super::connection::REDIS_VERSION;
use super::Ctx;
use crate::error::CmdError;
use crate::registry::Namespace;
use crate::server::Shared;
use bytes::Bytes;
use std::fmt::Write as _;
use std::sync::atomic::Ordering::Relaxed;

const DEFAULT: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "errorstats",
    "cluster",
    "keyspace",
];

fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if b < 1024.0 {
        format!("{bytes}B")
    } else if b < 1024.0 * 1024.0 {
        format!("{:.2}K", b / 1024.0)
    } else if b < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}M", b / 1024.0 / 1024.0)
    } else {
        format!("{:.2}G", b / 1024.0 / 1024.0 / 1024.0)
    }
}

/// Resident set size of this process, bytes (Linux /proc).
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// (user, system) CPU seconds of this process.
pub fn cpu_seconds() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let rest = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) / 100.0;
    (tick(11), tick(12))
}

/// Sections of `INFO all` / `everything` (Redis 7.0 order): the default ones plus the
/// per-command sections.
const ALL: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "commandstats",
    "errorstats",
    "latencystats",
    "cluster",
    "keyspace",
];

/// Microseconds with Redis's `%.3f` (latencystats percentiles).
fn usec3(nanos: u64) -> String {
    format!("{:.3}", nanos as f64 / 1000.0)
}

fn section(shared: &Shared, name: &str, out: &mut String) {
    let stats = &shared.stats;
    let reg = &shared.registry;
    let config = shared.config();
    macro_rules! w {
        ($k:expr, $v:expr) => {{
            let _ = write!(out, "{}:{}\r\n", $k, $v);
        }};
    }
    match name {
        "server" => {
            out.push_str("# Server\r\n");
            w!("redis_version", REDIS_VERSION);
            w!("respub_version", env!("CARGO_PKG_VERSION"));
            w!("redis_git_sha1", "00000000");
            w!("redis_git_dirty", 0);
            w!("redis_mode", "standalone");
            w!(
                "os",
                format!("{} {}", std::env::consts::OS, std::env::consts::ARCH)
            );
            w!("arch_bits", (usize::BITS));
            w!("multiplexing_api", "epoll");
            w!("process_id", std::process::id());
            w!("run_id", shared.run_id);
            w!("tcp_port", shared.port.load(Relaxed));
            let up = shared.started.elapsed().as_secs();
            w!(
                "server_time_usec",
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_micros()
            );
            w!("uptime_in_seconds", up);
            w!("uptime_in_days", (up / 86400));
            w!("hz", 10);
            w!(
                "executable",
                std::env::current_exe()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            );
            let file = shared
                .config_file
                .as_ref()
                .and_then(|f| std::fs::canonicalize(f.path()).ok())
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            w!("config_file", file);
        }
        "clients" => {
            out.push_str("# Clients\r\n");
            w!("connected_clients", shared.clients.len());
            w!("cluster_connections", 0);
            w!("maxclients", config.maxclients);
            w!("client_recent_max_input_buffer", 0);
            w!("client_recent_max_output_buffer", 0);
            w!("blocked_clients", 0);
            w!("tracking_clients", 0);
            w!("pubsub_clients", stats.pubsub_clients.load(Relaxed));
            w!("clients_in_timeout_table", 0);
        }
        "memory" => {
            let rss = rss_bytes();
            out.push_str("# Memory\r\n");
            w!("used_memory", rss);
            w!("used_memory_human", human(rss));
            w!("used_memory_rss", rss);
            w!("used_memory_rss_human", human(rss));
            w!("used_memory_peak", rss);
            w!("used_memory_peak_human", human(rss));
            w!("maxmemory", 0);
            w!("maxmemory_human", "0B");
            w!("maxmemory_policy", "noeviction");
            w!("mem_fragmentation_ratio", "1.00");
            w!("mem_allocator", "libc");
        }
        "persistence" => {
            out.push_str("# Persistence\r\n");
            w!("loading", 0);
            w!("async_loading", 0);
            w!("rdb_changes_since_last_save", 0);
            w!("rdb_bgsave_in_progress", 0);
            w!("rdb_last_save_time", shared.started_unix);
            w!("rdb_last_bgsave_status", "ok");
            w!("aof_enabled", 0);
            w!("aof_rewrite_in_progress", 0);
            w!("aof_last_bgrewrite_status", "ok");
            w!("aof_last_write_status", "ok");
        }
        "stats" => {
            out.push_str("# Stats\r\n");
            w!(
                "total_connections_received",
                stats.connections_received.load(Relaxed)
            );
            w!("total_commands_processed", stats.commands.load(Relaxed));
            w!("instantaneous_ops_per_sec", stats.ops_per_sec.load(Relaxed));
            w!("total_net_input_bytes", stats.net_input_bytes.load(Relaxed));
            w!(
                "total_net_output_bytes",
                stats.net_output_bytes.load(Relaxed)
            );
            w!(
                "rejected_connections",
                stats.rejected_connections.load(Relaxed)
            );
            w!("expired_keys", 0);
            w!("evicted_keys", 0);
            w!("evicted_clients", 0);
            w!("keyspace_hits", 0);
            w!("keyspace_misses", 0);
            w!("pubsub_channels", reg.channel_count(Namespace::Channel));
            w!("pubsub_patterns", reg.pattern_count());
            w!("pubsubshard_channels", reg.channel_count(Namespace::Shard));
            // Errors Redis itself never expects to send (from replicas, scripts): none here.
            w!("unexpected_error_replies", 0);
            w!("total_error_replies", stats.error_replies.load(Relaxed));
            w!(
                "client_query_buffer_limit_disconnections",
                stats.query_limit_disconnections.load(Relaxed)
            );
            w!(
                "client_output_buffer_limit_disconnections",
                stats.output_limit_disconnections.load(Relaxed)
            );
            let denied = &shared.acl.denied;
            w!("acl_access_denied_auth", denied.auth.load(Relaxed));
            w!("acl_access_denied_cmd", denied.cmd.load(Relaxed));
            w!("acl_access_denied_key", denied.key.load(Relaxed));
            w!("acl_access_denied_channel", denied.channel.load(Relaxed));
            // respub's own: clients closed for a malformed request (logged at debug
            // only) and unauthenticated clients closed past 1 KiB of unread replies.
            w!(
                "respub_protocol_error_disconnections",
                stats.protocol_errors.load(Relaxed)
            );
            w!(
                "respub_unauthenticated_output_disconnections",
                stats.unauthenticated_output_disconnections.load(Relaxed)
            );
        }
        "replication" => {
            out.push_str("# Replication\r\n");
            w!("role", "master");
            w!("connected_slaves", 0);
            w!("master_failover_state", "no-failover");
            w!("master_replid", shared.run_id);
            w!("master_replid2", "0000000000000000000000000000000000000000");
            w!("master_repl_offset", 0);
            w!("second_repl_offset", -1);
            w!("repl_backlog_active", 0);
        }
        "cpu" => {
            let (user, sys) = cpu_seconds();
            out.push_str("# CPU\r\n");
            w!("used_cpu_sys", format!("{sys:.6}"));
            w!("used_cpu_user", format!("{user:.6}"));
            w!("used_cpu_sys_children", "0.000000");
            w!("used_cpu_user_children", "0.000000");
        }
        "modules" => out.push_str("# Modules\r\n"),
        "commandstats" => {
            out.push_str("# Commandstats\r\n");
            for r in stats.per_command.readings() {
                let usec = r.nanos / 1000;
                let per_call = if r.calls > 0 {
                    usec as f64 / r.calls as f64
                } else {
                    0.0
                };
                let _ = write!(
                    out,
                    "cmdstat_{}:calls={},usec={usec},usec_per_call={per_call:.2},rejected_calls={},failed_calls={}\r\n",
                    r.name, r.calls, r.rejected, r.failed
                );
            }
        }
        "errorstats" => {
            out.push_str("# Errorstats\r\n");
            for (code, n) in stats.errors.readings() {
                let _ = write!(out, "errorstat_{code}:count={n}\r\n");
            }
        }
        "latencystats" => {
            out.push_str("# Latencystats\r\n");
            if !config.latency_tracking {
                return;
            }
            for r in stats.per_command.readings() {
                if r.latency.total() == 0 {
                    continue;
                }
                let _ = write!(out, "latency_percentiles_usec_{}:", r.name);
                for (i, p) in config.latency_tracking_info_percentiles.iter().enumerate() {
                    let sep = if i > 0 { "," } else { "" };
                    let _ = write!(out, "{sep}p{p}={}", usec3(r.latency.percentile(*p)));
                }
                out.push_str("\r\n");
            }
        }
        "cluster" => {
            out.push_str("# Cluster\r\n");
            w!("cluster_enabled", 0);
        }
        "keyspace" => out.push_str("# Keyspace\r\n"),
        _ => {}
    }
}

pub fn info(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    let mut wanted: Vec<String> = args[1..]
        .iter()
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .collect();
    // `# Backplane` (issue 10) comes with the default and `all` sections only when a
    // backplane is configured, and always when asked for by name.
    let mut backplane = wanted.iter().any(|w| w == "backplane");
    if wanted.iter().any(|w| w == "all" || w == "everything") {
        wanted = ALL.iter().map(|s| s.to_string()).collect();
        backplane |= ctx.shared.backplane.active();
    } else if wanted.is_empty() || wanted.iter().any(|w| w == "default") {
        wanted.extend(DEFAULT.iter().map(|s| s.to_string()));
        backplane |= ctx.shared.backplane.active();
    }
    let mut text = String::new();
    for name in ALL.iter().filter(|d| wanted.iter().any(|w| w == *d)) {
        if !text.is_empty() {
            text.push_str("\r\n");
        }
        section(ctx.shared, name, &mut text);
    }
    if backplane {
        if !text.is_empty() {
            text.push_str("\r\n");
        }
        ctx.shared.backplane.info(&mut text);
    }
    ctx.reply().verbatim(b"txt", text.as_bytes());
    Ok(())
}
