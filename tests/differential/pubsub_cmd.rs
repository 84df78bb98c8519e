//! PUBSUB CHANNELS / NUMSUB / NUMPAT / SHARDCHANNELS / SHARDNUMSUB / HELP, unknown
//! subcommands and arity errors (spec §2, §3.5).

use std::time::Duration;

use crate::{hello3, Norm};

diff_case!(pubsub_numsub_numpat_shardnumsub, |s| {
    let a = s.connect().await;
    let b = s.connect().await;
    let c = s.connect().await;
    let q = s.connect().await;
    s.call(q, "PUBSUB NUMSUB", 1).await; // *0
    s.call(q, "PUBSUB NUMPAT", 1).await;
    s.call(q, "PUBSUB SHARDNUMSUB", 1).await;
    s.call(a, "SUBSCRIBE news.x other", 2).await;
    s.call(b, "SUBSCRIBE news.x", 1).await;
    s.call(c, "PSUBSCRIBE news.* news.*", 2).await;
    s.call(b, "PSUBSCRIBE news.* bar*", 2).await;
    s.call(c, "SSUBSCRIBE news.x", 1).await;
    // Argument order, duplicates repeated, integers; patterns excluded.
    s.call(q, "PUBSUB NUMSUB news.x news.x zz other", 1).await;
    // Distinct patterns: news.*, bar*.
    s.call(q, "PUBSUB NUMPAT", 1).await;
    s.call(q, "PUBSUB SHARDNUMSUB news.x zz news.x", 1).await;
    s.call(q, "pubsub numsub news.x", 1).await;
    s.call(b, "UNSUBSCRIBE news.x", 1).await;
    s.call(q, "PUBSUB NUMSUB news.x", 1).await;
    s.call(b, "PUNSUBSCRIBE bar*", 1).await;
    s.call(q, "PUBSUB NUMPAT", 1).await;
});

diff_case!(pubsub_channels_and_shardchannels, |s| {
    let a = s.connect().await;
    let q = s.connect().await;
    s.call(q, "PUBSUB CHANNELS", 1).await; // *0
    s.call(q, "PUBSUB SHARDCHANNELS", 1).await;
    s.call(a, "SUBSCRIBE news.x news.y sport", 3).await;
    s.call(a, "PSUBSCRIBE pat*", 1).await; // patterns are not channels
    s.call(a, "SSUBSCRIBE shard.1 shard.2", 2).await;
    // Order of these lists is hash-table order (spec §3.5): sorted before comparing.
    s.call_norm(q, "PUBSUB CHANNELS", 1, Norm::SortedElements)
        .await;
    s.call_norm(q, "PUBSUB CHANNELS news.*", 1, Norm::SortedElements)
        .await;
    s.call_norm(q, "PUBSUB CHANNELS pat*", 1, Norm::SortedElements)
        .await;
    s.call_norm(q, "PUBSUB SHARDCHANNELS", 1, Norm::SortedElements)
        .await;
    s.call_norm(q, "PUBSUB SHARDCHANNELS *.1", 1, Norm::SortedElements)
        .await;
    s.call_norm(q, "PUBSUB SHARDCHANNELS news*", 1, Norm::SortedElements)
        .await;
    s.call_norm(q, "pubsub channels", 1, Norm::SortedElements)
        .await;
});

diff_case!(pubsub_lists_shrink_when_subscriber_disconnects, |s| {
    let a = s.connect().await;
    let q = s.connect().await;
    s.call(a, "SUBSCRIBE gone", 1).await;
    s.call(a, "PSUBSCRIBE gone*", 1).await;
    s.call(a, "SSUBSCRIBE sgone", 1).await;
    s.call(q, "PUBSUB NUMSUB gone", 1).await;
    // QUIT: +OK, then the server closes; subscriptions are dropped (spec §3.7).
    s.call(a, "QUIT", 1).await;
    s.eof(a).await;
    s.call(q, "PUBSUB NUMSUB gone", 1).await;
    s.call(q, "PUBSUB NUMPAT", 1).await;
    s.call(q, "PUBSUB CHANNELS", 1).await;
    s.call(q, "PUBSUB SHARDCHANNELS", 1).await;
    s.call(q, "PUBLISH gone x", 1).await;
});

diff_case!(pubsub_help_and_errors, |s| {
    let c = s.connect().await;
    s.call(c, "PUBSUB HELP", 1).await;
    s.call(c, "pubsub help", 1).await;
    s.call(c, "PUBSUB", 1).await; // arity of the container
    s.call(c, "PUBSUB foo", 1).await;
    s.call(c, "PUBSUB FOO bar", 1).await;
    s.call(c, "PUBSUB NUMPAT x", 1).await; // 'pubsub|numpat'
    s.call(c, "PUBSUB HELP x", 1).await; // 'pubsub|help'
    s.call(c, "PUBSUB CHANNELS a b", 1).await; // passes arity, fails argc check
    s.call(c, "PUBSUB channels a b c", 1).await; // echoed as sent
    s.call(c, "PUBSUB SHARDCHANNELS a b", 1).await;
    s.call(c, "PUBSUB shardchannels a b", 1).await;
    let long = "x".repeat(300);
    s.call(c, &format!("PUBSUB {long}"), 1).await; // truncated subcommand name
    s.callv(c, &[b"PUBSUB", b"we\r\nird"], 1).await;
    s.call(c, "PING", 1).await;
});

diff_case!(pubsub_resp3_replies, |s| {
    let a = s.connect().await;
    let q = s.connect().await;
    hello3(s, q).await;
    s.call(a, "SUBSCRIBE x", 1).await;
    s.call(a, "SSUBSCRIBE sx", 1).await;
    s.call(q, "PUBSUB CHANNELS", 1).await;
    s.call(q, "PUBSUB SHARDCHANNELS", 1).await;
    s.call(q, "PUBSUB NUMSUB x y", 1).await;
    s.call(q, "PUBSUB SHARDNUMSUB sx", 1).await;
    s.call(q, "PUBSUB NUMPAT", 1).await;
    s.call(q, "PUBSUB HELP", 1).await;
    s.call(q, "PUBSUB nope", 1).await;
});

diff_case!(client_disconnect_drops_its_subscriptions, |s| {
    let a = s.connect().await;
    let b = s.connect().await;
    let q = s.connect().await;
    s.call(a, "SUBSCRIBE shared only-a", 2).await;
    s.call(a, "PSUBSCRIBE a*", 1).await;
    s.call(a, "SSUBSCRIBE sa", 1).await;
    s.call(b, "SUBSCRIBE shared", 1).await;
    s.call(q, "PUBSUB NUMSUB shared only-a", 1).await;
    s.close(a).await;
    // The server notices the EOF asynchronously: poll (bounded) until the count drops.
    let want = b"*4\r\n$6\r\nshared\r\n:1\r\n$6\r\nonly-a\r\n:0\r\n";
    s.call_until(
        q,
        "PUBSUB NUMSUB shared only-a",
        want,
        Duration::from_secs(2),
    )
    .await;
    s.call(q, "PUBSUB NUMPAT", 1).await;
    s.call(q, "PUBSUB SHARDNUMSUB sa", 1).await;
    s.call(q, "PUBSUB CHANNELS", 1).await;
    s.call(q, "PUBLISH shared after", 1).await; // :1, only b
    s.read(b, 1).await;
});
