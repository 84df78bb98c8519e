//! Directives redis-server 7.2 knows that respub does not implement. A redis.conf (or a
//! `--flag`, TOML key or `CONFIG SET`) naming one of them is not a typo: it gets one
//! warning and is otherwise ignored, because it configures a keyspace, persistence,
//! replication, clustering or process management respub does not have. A few would
//! silently lower security if ignored: those would stop the start instead. None is left:
//! ACL users (`user`, `aclfile`, `crate::acl`) and TLS (`tls-*`, `transport::tls`) are
//! implemented; `Refuse` stays for the next such directive.
//!
//! The list is `CONFIG GET *` of redis-server 7.0.15 plus the directives that are not
//! parameters (`user`, `loadmodule`, `sentinel`) and 7.2's additions (`locale-collate`,
//! `cluster-announce-human-nodename`). Any other name is a fatal error naming the file
//! and line, so a typo does not pass silently.

/// What to do with a Redis directive respub does not implement.
#[derive(Debug, PartialEq, Eq)]
pub enum Disposition {
    /// Not a Redis directive at all.
    Unknown,
    /// Warn once and go on.
    Ignore,
    /// Refuse to start: ignoring it would expose what the operator meant to protect.
    Refuse(&'static str),
}

pub fn disposition(name: &str, _value: &str) -> Disposition {
    let name = name.to_ascii_lowercase();
    if !REDIS_ONLY.contains(&name.as_str()) {
        return Disposition::Unknown;
    }
    Disposition::Ignore
}

/// Sorted: the directive names.
const REDIS_ONLY: &[&str] = &[
    "active-defrag-cycle-max",
    "active-defrag-cycle-min",
    "active-defrag-ignore-bytes",
    "active-defrag-max-scan-fields",
    "active-defrag-threshold-lower",
    "active-defrag-threshold-upper",
    "active-expire-effort",
    "activedefrag",
    "activerehashing",
    "always-show-logo",
    "aof-disable-auto-gc",
    "aof-load-truncated",
    "aof-rewrite-incremental-fsync",
    "aof-timestamp-enabled",
    "aof-use-rdb-preamble",
    "aof_rewrite_cpulist",
    "appenddirname",
    "appendfilename",
    "appendfsync",
    "appendonly",
    "auto-aof-rewrite-min-size",
    "auto-aof-rewrite-percentage",
    "bgsave_cpulist",
    "bind-source-addr",
    "bio_cpulist",
    "busy-reply-threshold",
    "cluster-allow-pubsubshard-when-down",
    "cluster-allow-reads-when-down",
    "cluster-allow-replica-migration",
    "cluster-announce-bus-port",
    "cluster-announce-hostname",
    "cluster-announce-human-nodename",
    "cluster-announce-ip",
    "cluster-announce-port",
    "cluster-announce-tls-port",
    "cluster-config-file",
    "cluster-enabled",
    "cluster-link-sendbuf-limit",
    "cluster-migration-barrier",
    "cluster-node-timeout",
    "cluster-port",
    "cluster-preferred-endpoint-type",
    "cluster-replica-no-failover",
    "cluster-replica-validity-factor",
    "cluster-require-full-coverage",
    "cluster-slave-no-failover",
    "cluster-slave-validity-factor",
    "crash-log-enabled",
    "crash-memcheck-enabled",
    "dbfilename",
    "disable-thp",
    "dynamic-hz",
    "enable-debug-command",
    "enable-module-command",
    "enable-protected-configs",
    "hash-max-listpack-entries",
    "hash-max-listpack-value",
    "hash-max-ziplist-entries",
    "hash-max-ziplist-value",
    "hll-sparse-max-bytes",
    "hz",
    "ignore-warnings",
    "io-threads",
    "io-threads-do-reads",
    "jemalloc-bg-thread",
    "latency-monitor-threshold",
    "latency-tracking",
    "latency-tracking-info-percentiles",
    "lazyfree-lazy-eviction",
    "lazyfree-lazy-expire",
    "lazyfree-lazy-server-del",
    "lazyfree-lazy-user-del",
    "lazyfree-lazy-user-flush",
    "lfu-decay-time",
    "lfu-log-factor",
    "list-compress-depth",
    "list-max-listpack-size",
    "list-max-ziplist-size",
    "loadmodule",
    "locale-collate",
    "lua-time-limit",
    "masterauth",
    "masteruser",
    "maxmemory",
    "maxmemory-clients",
    "maxmemory-eviction-tenacity",
    "maxmemory-policy",
    "maxmemory-samples",
    "min-replicas-max-lag",
    "min-replicas-to-write",
    "min-slaves-max-lag",
    "min-slaves-to-write",
    "no-appendfsync-on-rewrite",
    "notify-keyspace-events",
    "oom-score-adj",
    "oom-score-adj-values",
    "proc-title-template",
    "propagation-error-behavior",
    "rdb-del-sync-files",
    "rdb-save-incremental-fsync",
    "rdbchecksum",
    "rdbcompression",
    "repl-backlog-size",
    "repl-backlog-ttl",
    "repl-disable-tcp-nodelay",
    "repl-diskless-load",
    "repl-diskless-sync",
    "repl-diskless-sync-delay",
    "repl-diskless-sync-max-replicas",
    "repl-ping-replica-period",
    "repl-ping-slave-period",
    "repl-timeout",
    "replica-announce-ip",
    "replica-announce-port",
    "replica-announced",
    "replica-ignore-disk-write-errors",
    "replica-ignore-maxmemory",
    "replica-lazy-flush",
    "replica-priority",
    "replica-read-only",
    "replica-serve-stale-data",
    "replicaof",
    "sanitize-dump-payload",
    "save",
    "sentinel",
    "server_cpulist",
    "set-max-intset-entries",
    "set-proc-title",
    "shutdown-on-sigint",
    "shutdown-on-sigterm",
    "slave-announce-ip",
    "slave-announce-port",
    "slave-ignore-maxmemory",
    "slave-lazy-flush",
    "slave-priority",
    "slave-read-only",
    "slave-serve-stale-data",
    "slaveof",
    "slowlog-log-slower-than",
    "slowlog-max-len",
    "socket-mark-id",
    "stop-writes-on-bgsave-error",
    "stream-node-max-bytes",
    "stream-node-max-entries",
    "syslog-enabled",
    "syslog-facility",
    "syslog-ident",
    "tcp-keepalive",
    "tls-client-cert-file",
    "tls-client-key-file",
    "tls-client-key-file-pass",
    "tls-cluster",
    "tls-dh-params-file",
    "tls-key-file-pass",
    "tls-prefer-server-ciphers",
    "tls-replication",
    "tls-session-cache-size",
    "tls-session-cache-timeout",
    "tls-session-caching",
    "tracking-table-max-keys",
    "zset-max-listpack-entries",
    "zset-max-listpack-value",
    "zset-max-ziplist-entries",
    "zset-max-ziplist-value",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_is_sorted_and_lowercase() {
        let mut sorted = REDIS_ONLY.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted, REDIS_ONLY);
        assert!(REDIS_ONLY
            .iter()
            .all(|n| n.bytes().all(|b| !b.is_ascii_uppercase())));
    }

    #[test]
    fn no_directive_refuses_now() {
        assert!(matches!(
            disposition("tls-session-caching", "no"),
            Disposition::Ignore
        ));
        // TLS is implemented: tls-port is a setting, no longer a Redis-only directive.
        assert_eq!(disposition("tls-port", "6380"), Disposition::Unknown);
        assert_eq!(disposition("appendonly", "yes"), Disposition::Ignore);
        assert_eq!(disposition("bnid", "x"), Disposition::Unknown);
    }
}
