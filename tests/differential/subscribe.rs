//! SUBSCRIBE / UNSUBSCRIBE / PSUBSCRIBE / PUNSUBSCRIBE / SSUBSCRIBE / SUNSUBSCRIBE:
//! frame shapes, counts (T2), duplicates, argument-less forms (T3, T15), namespaces (T7).

use crate::{hello3, Norm};

diff_case!(subscribe_counts_and_duplicates, |s| {
    let c = s.connect().await;
    s.call(c, "SUBSCRIBE ch1 ch2 ch1", 3).await;
    s.call(c, "PSUBSCRIBE ch* ch*", 2).await;
    // Shard counts are separate: 1, 2, 2.
    s.call(c, "SSUBSCRIBE s1 s2 s1", 3).await;
    s.call(c, "SUBSCRIBE ch3", 1).await;
    s.call(c, "UNSUBSCRIBE ch1 nosuch ch1", 3).await;
    s.call(c, "PUNSUBSCRIBE ch* other*", 2).await;
    s.call(c, "SUNSUBSCRIBE s1 nosuch", 2).await;
    s.call(c, "UNSUBSCRIBE ch2", 1).await;
    // Still subscribed to ch3 and s2.
    s.call(c, "PING", 1).await;
    s.call(c, "SUNSUBSCRIBE s2", 1).await;
    s.call(c, "PING", 1).await;
    s.call(c, "UNSUBSCRIBE ch3", 1).await;
    // Out of subscribe mode: plain +PONG again.
    s.call(c, "PING", 1).await;
});

diff_case!(subscribe_case_insensitive_command_names, |s| {
    let c = s.connect().await;
    s.call(c, "subscribe a", 1).await;
    s.call(c, "PsUbScRiBe p", 1).await;
    s.call(c, "sSubscribe s", 1).await;
    s.call(c, "Unsubscribe a", 1).await;
    s.call(c, "punsubscribe P", 1).await;
    s.call(c, "punsubscribe p", 1).await;
    s.call(c, "SUNSUBSCRIBE s", 1).await;
});

diff_case!(unsubscribe_without_args_nothing_subscribed_resp2, |s| {
    let c = s.connect().await;
    // T3: one frame with a null name and the current count.
    s.call(c, "UNSUBSCRIBE", 1).await;
    s.call(c, "PUNSUBSCRIBE", 1).await;
    s.call(c, "SUNSUBSCRIBE", 1).await;
    s.call(c, "PSUBSCRIBE p*", 1).await;
    s.call(c, "UNSUBSCRIBE", 1).await; // null name, count 1 (the pattern)
    s.call(c, "SUNSUBSCRIBE", 1).await; // null name, count 0 (shard only)
    s.call(c, "SSUBSCRIBE s", 1).await;
    s.call(c, "UNSUBSCRIBE", 1).await; // still count 1
    s.call(c, "PUNSUBSCRIBE", 1).await; // drops p*: count 0
    s.call(c, "PUNSUBSCRIBE", 1).await; // nothing left of that kind: null
    s.call(c, "PING", 1).await; // still in subscribe mode through the shard channel
    s.call(c, "SUNSUBSCRIBE", 1).await;
    s.call(c, "PING", 1).await;
});

diff_case!(unsubscribe_without_args_nothing_subscribed_resp3, |s| {
    let c = s.connect().await;
    hello3(s, c).await;
    s.call(c, "UNSUBSCRIBE", 1).await;
    s.call(c, "PUNSUBSCRIBE", 1).await;
    s.call(c, "SUNSUBSCRIBE", 1).await;
    s.call(c, "SUBSCRIBE a", 1).await;
    s.call(c, "PUNSUBSCRIBE", 1).await;
    s.call(c, "SUNSUBSCRIBE", 1).await;
    s.call(c, "UNSUBSCRIBE", 1).await;
    s.call(c, "UNSUBSCRIBE", 1).await;
});

diff_case!(unsubscribe_named_when_not_subscribed, |s| {
    let c = s.connect().await;
    s.call(c, "UNSUBSCRIBE foo bar quux", 3).await;
    s.call(c, "PUNSUBSCRIBE f*", 1).await;
    s.call(c, "SUNSUBSCRIBE foo", 1).await;
    // Never entered subscribe mode.
    s.call(c, "PING", 1).await;
    s.call(c, "ECHO still-normal", 1).await;
});

diff_case!(unsubscribe_all_any_order, |s| {
    let c = s.connect().await;
    s.call(c, "SUBSCRIBE a b c d e", 5).await;
    s.call(c, "PSUBSCRIBE x* y*", 2).await;
    s.call(c, "SSUBSCRIBE s1 s2 s3", 3).await;
    // Frame order of argument-less unsubscribe is hash order (spec §3.2, T15).
    s.call_norm(c, "UNSUBSCRIBE", 5, Norm::UnsubscribeAll).await;
    s.call(c, "PING", 1).await;
    s.call_norm(c, "PUNSUBSCRIBE", 2, Norm::UnsubscribeAll)
        .await;
    s.call(c, "PING", 1).await;
    s.call_norm(c, "SUNSUBSCRIBE", 3, Norm::UnsubscribeAll)
        .await;
    s.call(c, "PING", 1).await;
    let p = s.connect().await;
    s.call(p, "PUBSUB NUMSUB a b", 1).await;
    s.call(p, "PUBSUB NUMPAT", 1).await;
    s.call(p, "PUBSUB SHARDNUMSUB s1", 1).await;
});

diff_case!(unsubscribe_all_resp3, |s| {
    let c = s.connect().await;
    hello3(s, c).await;
    s.call(c, "SUBSCRIBE a b c", 3).await;
    s.call(c, "PSUBSCRIBE x* y*", 2).await;
    s.call_norm(c, "PUNSUBSCRIBE", 2, Norm::UnsubscribeAll)
        .await;
    s.call_norm(c, "UNSUBSCRIBE", 3, Norm::UnsubscribeAll).await;
    s.call(c, "UNSUBSCRIBE", 1).await;
});

diff_case!(mixed_kinds_counts, |s| {
    let c = s.connect().await;
    s.call(c, "SUBSCRIBE a", 1).await;
    s.call(c, "SSUBSCRIBE s", 1).await; // shard count: 1
    s.call(c, "PSUBSCRIBE p", 1).await; // channels+patterns: 2
    s.call(c, "SSUBSCRIBE t", 1).await; // 2
    s.call(c, "SUNSUBSCRIBE s t", 2).await; // 1, 0
    s.call(c, "PING x", 1).await; // still subscribed
    s.call(c, "UNSUBSCRIBE a", 1).await; // 1
    s.call(c, "PUNSUBSCRIBE p", 1).await; // 0
    s.call(c, "PING x", 1).await; // left subscribe mode
});

diff_case!(shard_namespace_is_separate, |s| {
    let plain = s.connect().await;
    let shard = s.connect().await;
    let pat = s.connect().await;
    let publ = s.connect().await;
    s.call(plain, "SUBSCRIBE chan1", 1).await;
    s.call(shard, "SSUBSCRIBE chan1", 1).await;
    s.call(pat, "PSUBSCRIBE chan*", 1).await;
    // SPUBLISH reaches only the shard subscriber, never patterns (T7).
    s.call(publ, "SPUBLISH chan1 shard-msg", 1).await;
    s.read(shard, 1).await;
    // PUBLISH reaches the plain subscriber and the pattern, not the shard one.
    s.call(publ, "PUBLISH chan1 plain-msg", 1).await;
    s.read(plain, 1).await;
    s.read(pat, 1).await;
    s.call(publ, "PUBSUB CHANNELS", 1).await;
    s.call(publ, "PUBSUB SHARDCHANNELS", 1).await;
    s.call(publ, "PUBSUB NUMSUB chan1", 1).await;
    s.call(publ, "PUBSUB SHARDNUMSUB chan1", 1).await;
    s.call(publ, "PUBSUB NUMPAT", 1).await;
    // Unsubscribing one namespace leaves the other.
    s.call(shard, "UNSUBSCRIBE chan1", 1).await;
    s.call(plain, "SUNSUBSCRIBE chan1", 1).await;
    s.call(publ, "SPUBLISH chan1 again", 1).await;
    s.read(shard, 1).await;
    // End-of-scenario trailers prove no stray frame reached `plain` or `pat`.
});

diff_case!(subscribe_empty_channel_name, |s| {
    let sub = s.connect().await;
    let publ = s.connect().await;
    s.callv(sub, &[b"SUBSCRIBE", b""], 1).await;
    s.callv(sub, &[b"SSUBSCRIBE", b""], 1).await;
    s.callv(publ, &[b"PUBLISH", b"", b"to-empty"], 1).await;
    s.read(sub, 1).await;
    s.callv(publ, &[b"SPUBLISH", b"", b""], 1).await;
    s.read(sub, 1).await;
    s.callv(publ, &[b"PUBSUB", b"NUMSUB", b""], 1).await;
    s.callv(publ, &[b"PUBSUB", b"SHARDNUMSUB", b""], 1).await;
    s.callv(sub, &[b"UNSUBSCRIBE", b""], 1).await;
    s.callv(sub, &[b"SUNSUBSCRIBE", b""], 1).await;
});

diff_case!(subscribe_binary_names, |s| {
    let sub = s.connect().await;
    let publ = s.connect().await;
    let names: &[&[u8]] = &[
        b"nul\0byte",
        b"cr\r\nlf",
        b"\xff\xfe",
        b"sp ace",
        b"$3\r\nfoo",
    ];
    let mut args: Vec<&[u8]> = vec![b"SUBSCRIBE"];
    args.extend_from_slice(names);
    s.callv(sub, &args, names.len()).await;
    args[0] = b"PSUBSCRIBE";
    s.callv(sub, &args, names.len()).await;
    for n in names {
        s.callv(publ, &[b"PUBLISH", n, b"m\0\r\n"], 1).await;
        // channel match first, then the (literal) pattern match
        s.read(sub, 2).await;
    }
    args[0] = b"PUBSUB";
    let mut numsub: Vec<&[u8]> = vec![b"PUBSUB", b"NUMSUB"];
    numsub.extend_from_slice(names);
    s.callv(publ, &numsub, 1).await;
    args[0] = b"UNSUBSCRIBE";
    s.callv(sub, &args, names.len()).await;
    args[0] = b"PUNSUBSCRIBE";
    s.callv(sub, &args, names.len()).await;
});

diff_case!(subscribe_family_arity_errors, |s| {
    let c = s.connect().await;
    s.call(c, "SUBSCRIBE", 1).await;
    s.call(c, "PSUBSCRIBE", 1).await;
    s.call(c, "SSUBSCRIBE", 1).await;
    s.call(c, "PUBLISH", 1).await;
    s.call(c, "PUBLISH a", 1).await;
    s.call(c, "PUBLISH a b c", 1).await;
    s.call(c, "SPUBLISH a", 1).await;
    s.call(c, "SPUBLISH a b c", 1).await;
    // Still not in subscribe mode.
    s.call(c, "PING", 1).await;
});

diff_case!(resp3_subscribe_mode_has_no_restrictions, |s| {
    let c = s.connect().await;
    let other = s.connect().await;
    hello3(s, c).await;
    s.call(c, "SUBSCRIBE a b", 2).await;
    s.call(c, "PSUBSCRIBE p*", 1).await;
    s.call(c, "SSUBSCRIBE s", 1).await;
    s.call(c, "PING", 1).await;
    s.call(c, "PING hi", 1).await;
    s.call(c, "ECHO e", 1).await;
    s.call(c, "PUBSUB NUMSUB a zz", 1).await;
    s.call(c, "PUBSUB NUMPAT", 1).await;
    s.call(c, "SELECT 0", 1).await;
    s.call(c, "DBSIZE", 1).await;
    s.call(c, "CLIENT GETNAME", 1).await;
    // Push frames from another publisher interleave at frame boundaries.
    s.call(other, "PUBLISH a x", 1).await;
    s.read(c, 1).await;
    s.call(other, "PUBLISH pz y", 1).await;
    s.read(c, 1).await;
    s.call(other, "SPUBLISH s z", 1).await;
    s.read(c, 1).await;
    s.call(c, "PING", 1).await;
});

diff_case!(resubscribe_after_unsubscribe_and_many_patterns, |s| {
    let c = s.connect().await;
    let publ = s.connect().await;
    s.call(c, "SUBSCRIBE a", 1).await;
    s.call(c, "UNSUBSCRIBE a", 1).await;
    s.call(c, "SUBSCRIBE a", 1).await; // count back to 1, subscribe mode again
    s.call(c, "PING", 1).await;
    let pats: Vec<String> = (0..50).map(|i| format!("p{i}*")).collect();
    s.call(c, &format!("PSUBSCRIBE {}", pats.join(" ")), 50)
        .await;
    s.call(publ, "PUBSUB NUMPAT", 1).await;
    s.call(publ, "PUBLISH p7x m", 1).await; // p7*
    s.read(c, 1).await;
    s.call(publ, "PUBLISH p1x m", 1).await; // p1*
    s.read(c, 1).await;
    s.call(publ, "PUBLISH p12 m", 1).await; // p1*, p12*
    s.read_norm(c, 2, Norm::Unordered).await;
    s.call(c, &format!("PUNSUBSCRIBE {}", pats[..25].join(" ")), 25)
        .await;
    s.call(publ, "PUBSUB NUMPAT", 1).await;
    s.call_norm(c, "PUNSUBSCRIBE", 25, Norm::UnsubscribeAll)
        .await;
    s.call(publ, "PUBSUB NUMPAT", 1).await;
});

diff_case!(channel_names_are_case_sensitive_and_binary_exact, |s| {
    let c = s.connect().await;
    let publ = s.connect().await;
    s.call(c, "SUBSCRIBE Foo", 1).await;
    s.call(c, "UNSUBSCRIBE foo", 1).await; // not subscribed: count stays 1
    s.call(c, "PSUBSCRIBE F*", 1).await;
    s.call(publ, "PUBLISH foo x", 1).await; // :0, globbing is case-sensitive too
    s.call(publ, "PUBLISH Foo y", 1).await; // :2
    s.read(c, 2).await;
    s.callv(publ, &[b"PUBLISH", b"Foo ", b"z"], 1).await; // trailing space: F* only
    s.read(c, 1).await;
    s.call(publ, "PUBSUB NUMSUB Foo foo", 1).await;
});

diff_case!(long_channel_names_and_patterns, |s| {
    let c = s.connect().await;
    let publ = s.connect().await;
    let long: Vec<u8> = (0..100_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let mut pattern = long[..50_000].to_vec();
    pattern.push(b'*');
    s.callv(c, &[b"SUBSCRIBE", &long], 1).await;
    s.callv(c, &[b"PSUBSCRIBE", &pattern], 1).await;
    s.callv(publ, &[b"PUBLISH", &long, b"m"], 1).await; // :2
    s.read(c, 2).await;
    s.callv(publ, &[b"PUBSUB", b"NUMSUB", &long], 1).await;
    s.callv(c, &[b"UNSUBSCRIBE", &long], 1).await;
    s.callv(c, &[b"PUNSUBSCRIBE", &pattern], 1).await;
});
