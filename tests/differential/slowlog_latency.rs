//! SLOWLOG, LATENCY, INFO's per-command sections and the settings behind them (issue 8):
//! what monitoring tools (redis_exporter, dashboards) send. Values that change from run
//! to run (ids, timestamps, durations, histogram buckets, peer ports) are masked with
//! `Norm::Volatile`; everything else must match redis-server byte for byte.

use crate::known_differences::Known;
use crate::{hello3, Norm};

diff_case!(slowlog_help_and_errors, |s| {
    let c = s.connect().await;
    s.call(c, "SLOWLOG HELP", 1).await;
    s.call(c, "slowlog help", 1).await;
    s.call(c, "SLOWLOG", 1).await;
    s.call(c, "SLOWLOG foo", 1).await;
    s.call(c, "SLOWLOG GET x", 1).await;
    s.call(c, "SLOWLOG GET -2", 1).await;
    s.call(c, "SLOWLOG GET 1 2", 1).await;
    s.call(c, "SLOWLOG LEN x", 1).await;
    s.call(c, "SLOWLOG RESET x", 1).await;
    // Default threshold 10 ms: nothing here is that slow.
    s.call(c, "SLOWLOG RESET", 1).await;
    s.call(c, "SLOWLOG LEN", 1).await;
    s.call(c, "SLOWLOG GET", 1).await;
    s.call(c, "SLOWLOG GET -1", 1).await;
    s.call(c, "SLOWLOG GET 0", 1).await;
});

diff_case!(slowlog_logs_every_command_at_threshold_zero, |s| {
    let c = s.connect().await;
    let p = s.connect().await;
    s.call(c, "CLIENT SETNAME watcher", 1).await;
    s.call(c, "CONFIG SET slowlog-log-slower-than 0", 1).await;
    s.call(c, "SLOWLOG RESET", 1).await;
    s.call(p, "PUBLISH news hello", 1).await;
    s.call(c, "PING", 1).await;
    // Rejected commands (arity) are not run, so not logged.
    s.call(c, "PUBLISH onlyone", 1).await;
    // Secrets are redacted; the failed AUTH is logged all the same.
    s.call(p, "AUTH secret", 1).await;
    s.call(p, "AUTH user secret", 1).await;
    s.call_norm(
        p,
        "HELLO 2 AUTH default nopass",
        1,
        Norm::Known(Known::HelloVersionAndId),
    )
    .await;
    s.call(c, "SLOWLOG LEN", 1).await;
    s.call_norm(c, "SLOWLOG GET", 1, Norm::Volatile).await;
    s.call_norm(c, "SLOWLOG GET 2", 1, Norm::Volatile).await;
    s.call_norm(c, "SLOWLOG GET 0", 1, Norm::Volatile).await;
    // Cut as Redis does: at most 32 arguments, 128 bytes each.
    let long = "x".repeat(200);
    s.call(c, "SLOWLOG RESET", 1).await;
    s.call(p, &format!("PUBLISH {long} {long}"), 1).await;
    let many: Vec<String> = (0..40).map(|i| format!("ch{i}")).collect();
    s.call(p, &format!("PUBSUB NUMSUB {}", many.join(" ")), 1)
        .await;
    s.call_norm(c, "SLOWLOG GET 2", 1, Norm::Volatile).await;
    // The length bound, set at run time, trims at once.
    s.call(c, "CONFIG SET slowlog-max-len 2", 1).await;
    s.call(c, "SLOWLOG LEN", 1).await;
    s.call(c, "CONFIG SET slowlog-log-slower-than -1", 1).await;
    s.call(c, "SLOWLOG RESET", 1).await;
    s.call(c, "PING", 1).await;
    s.call(c, "SLOWLOG LEN", 1).await;
    s.call(c, "CONFIG GET slowlog-max-len", 1).await;
    s.call(c, "CONFIG GET slowlog-log-slower-than", 1).await;
});

diff_case!(slowlog_inside_multi_logs_the_commands_not_exec, |s| {
    let c = s.connect().await;
    s.call(c, "CONFIG SET slowlog-log-slower-than 0", 1).await;
    s.call(c, "SLOWLOG RESET", 1).await;
    s.call(c, "MULTI", 1).await;
    s.call(c, "PUBLISH a 1", 1).await;
    s.call(c, "PING", 1).await;
    s.call(c, "EXEC", 1).await;
    s.call_norm(c, "SLOWLOG GET", 1, Norm::Volatile).await;
});

diff_case!(slowlog_resp3, |s| {
    let c = s.connect().await;
    hello3(s, c).await;
    s.call(c, "CONFIG SET slowlog-log-slower-than 0", 1).await;
    s.call(c, "SLOWLOG RESET", 1).await;
    s.call(c, "PUBLISH a b", 1).await;
    s.call_norm(c, "SLOWLOG GET 1", 1, Norm::Volatile).await;
    s.call(c, "SLOWLOG LEN", 1).await;
});

diff_case!(latency_commands_with_the_monitor_off, |s| {
    let c = s.connect().await;
    s.call(c, "LATENCY HELP", 1).await;
    s.call(c, "LATENCY", 1).await;
    s.call(c, "LATENCY foo", 1).await;
    s.call(c, "LATENCY LATEST", 1).await;
    s.call(c, "LATENCY LATEST x", 1).await;
    s.call(c, "LATENCY HISTORY command", 1).await;
    s.call(c, "LATENCY HISTORY", 1).await;
    s.call(c, "LATENCY RESET", 1).await;
    s.call(c, "LATENCY RESET command fast-command", 1).await;
    s.call(c, "LATENCY GRAPH command", 1).await;
    s.call(c, "LATENCY DOCTOR", 1).await;
    s.call(c, "CONFIG GET latency-monitor-threshold", 1).await;
    s.call(c, "CONFIG GET latency-tracking", 1).await;
    s.call(c, "CONFIG GET latency-tracking-info-percentiles", 1)
        .await;
    // Enabled but nothing slow yet.
    s.call(c, "CONFIG SET latency-monitor-threshold 1000", 1)
        .await;
    s.call(c, "LATENCY LATEST", 1).await;
    s.call(c, "LATENCY DOCTOR", 1).await;
    s.call(c, "CONFIG SET latency-monitor-threshold 0", 1).await;
});

diff_case!(latency_commands_resp3, |s| {
    let c = s.connect().await;
    hello3(s, c).await;
    s.call(c, "LATENCY LATEST", 1).await;
    s.call(c, "LATENCY DOCTOR", 1).await;
    s.call(c, "LATENCY RESET", 1).await;
    s.call(c, "CONFIG RESETSTAT", 1).await;
    s.call_norm(c, "LATENCY HISTOGRAM", 1, Norm::Volatile).await;
    s.call(c, "LATENCY HISTOGRAM nosuch", 1).await;
});

diff_case!(latency_histogram_shape, |s| {
    let c = s.connect().await;
    let p = s.connect().await;
    s.call(c, "CONFIG RESETSTAT", 1).await;
    // Never called: no entry.
    s.call(c, "LATENCY HISTOGRAM publish", 1).await;
    s.call(p, "PUBLISH a b", 1).await;
    s.call_norm(c, "LATENCY HISTOGRAM publish", 1, Norm::Volatile)
        .await;
    s.call_norm(c, "latency histogram PUBLISH nosuch", 1, Norm::Volatile)
        .await;
    // A container names its subcommands that were called.
    s.call(p, "PUBSUB NUMPAT", 1).await;
    s.call_norm(c, "LATENCY HISTOGRAM pubsub", 1, Norm::Volatile)
        .await;
    s.call_norm(c, "LATENCY HISTOGRAM pubsub|numpat", 1, Norm::Volatile)
        .await;
    s.call(c, "CONFIG SET latency-tracking no", 1).await;
    s.call(c, "CONFIG RESETSTAT", 1).await;
    s.call(p, "PUBLISH a b", 1).await;
    s.call(c, "LATENCY HISTOGRAM publish", 1).await;
    s.call(c, "CONFIG SET latency-tracking yes", 1).await;
});

// CONFIG SET's invalid-argument errors use Redis 7's prefix
// `CONFIG SET failed (possibly related to argument '<name>') - `; the reasons after
// ` - ` are Redis's for these settings.
diff_case!(config_set_latency_and_slowlog_settings, |s| {
    let c = s.connect().await;
    s.callv(
        c,
        &[
            b"CONFIG",
            b"SET",
            b"latency-tracking-info-percentiles",
            b"50 90",
        ],
        1,
    )
    .await;
    s.call(c, "CONFIG GET latency-tracking-info-percentiles", 1)
        .await;
    s.call(c, "CONFIG SET latency-tracking-info-percentiles 50", 1)
        .await;
    s.call(c, "CONFIG GET latency-tracking-info-percentiles", 1)
        .await;
    s.call(c, "CONFIG SET latency-tracking-info-percentiles 101", 1)
        .await;
    s.call(c, "CONFIG SET latency-tracking maybe", 1).await;
    s.call(c, "CONFIG SET slowlog-max-len -1", 1).await;
    s.call(c, "CONFIG SET slowlog-log-slower-than x", 1).await;
    s.call(c, "CONFIG GET slowlog-max-len", 1).await;
});
