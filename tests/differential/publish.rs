//! PUBLISH / SPUBLISH: receiver counts (T6), message / pmessage / smessage frames on other
//! connections, binary payloads, the empty channel and `*` (T1), ordering.

use crate::known_differences::Known;
use crate::support::cmd;
use crate::{hello3, Norm};

diff_case!(publish_counts_channel_and_patterns_on_one_client, |s| {
    let sub = s.connect().await;
    let publ = s.connect().await;
    s.call(sub, "SUBSCRIBE news.x", 1).await;
    s.call(sub, "PSUBSCRIBE news.* *.x n*", 3).await;
    s.call(publ, "PUBLISH news.x hello", 1).await; // :4
                                                   // The channel `message` comes first; the pmessages follow in pattern-table order,
                                                   // which Redis leaves unspecified (spec §6).
    s.read(sub, 1).await;
    s.read_norm(sub, 3, Norm::Unordered).await;
    s.call(publ, "PUBLISH news.y hello", 1).await; // :2 (news.*, n*)
    s.read_norm(sub, 2, Norm::Unordered).await;
    s.call(publ, "PUBLISH a.x hello", 1).await; // :1
    s.read(sub, 1).await;
    s.call(publ, "PUBLISH zzz hello", 1).await; // :0
});

diff_case!(publish_counts_across_clients, |s| {
    let a = s.connect().await;
    let b = s.connect().await;
    let c = s.connect().await;
    let publ = s.connect().await;
    s.call(a, "SUBSCRIBE foo1", 1).await;
    s.call(a, "PSUBSCRIBE foo*", 1).await;
    s.call(b, "PSUBSCRIBE foo* f*", 2).await;
    s.call(c, "SUBSCRIBE foo1 foo1", 2).await;
    s.call(publ, "PUBLISH foo1 m", 1).await; // a:2 b:2 c:1 -> 5
    s.read(a, 2).await;
    s.read_norm(b, 2, Norm::Unordered).await;
    s.read(c, 1).await;
    s.call(publ, "PUBSUB NUMPAT", 1).await; // distinct patterns: foo*, f* -> 2
    s.call(publ, "PUBSUB NUMSUB foo1 foo*", 1).await; // patterns excluded
});

diff_case!(publish_resp3_self_counts_itself, |s| {
    let c = s.connect().await;
    hello3(s, c).await;
    s.call(c, "SUBSCRIBE me", 1).await;
    s.call(c, "PSUBSCRIBE m*", 1).await;
    // The publisher counts itself (:2). 7.0.15 writes its own pushes before the reply,
    // 7.2+/respub after it: compared as a multiset (KNOWN_DIFFERENCES self-publish-order).
    s.send(c, &cmd(&["PUBLISH", "me", "self"])).await;
    s.read_norm(c, 3, Norm::Known(Known::SelfPublishOrder))
        .await;
    s.send(c, &cmd(&["PUBLISH", "mx", "self"])).await;
    s.read_norm(c, 2, Norm::Known(Known::SelfPublishOrder))
        .await;
    s.send(c, &cmd(&["PUBLISH", "zz", "none"])).await;
    s.read(c, 1).await;
});

diff_case!(publish_with_no_subscribers, |s| {
    let c = s.connect().await;
    s.call(c, "PUBLISH nobody hello", 1).await;
    s.call(c, "SPUBLISH nobody hello", 1).await;
    s.call(c, "publish lower case", 1).await;
});

diff_case!(messages_binary_payloads, |s| {
    let chan = s.connect().await;
    let pat = s.connect().await;
    let shard = s.connect().await;
    let publ = s.connect().await;
    s.call(chan, "SUBSCRIBE bin", 1).await;
    s.call(pat, "PSUBSCRIBE b?n", 1).await;
    s.call(shard, "SSUBSCRIBE bin", 1).await;
    let big: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let payloads: Vec<&[u8]> = vec![
        b"",
        b"\0",
        b"a\0b",
        b"\r\n",
        b"line1\r\nline2\n\r",
        b"*3\r\n$7\r\nmessage\r\n",
        b"-ERR not an error\r\n",
        b"\xff\xfe\x80",
        &big,
    ];
    for p in &payloads {
        s.callv(publ, &[b"PUBLISH", b"bin", p], 1).await;
        s.read(chan, 1).await;
        s.read(pat, 1).await;
        s.callv(publ, &[b"SPUBLISH", b"bin", p], 1).await;
        s.read(shard, 1).await;
    }
});

diff_case!(messages_one_mebibyte_payload, |s| {
    let sub = s.connect().await;
    let publ = s.connect().await;
    s.call(sub, "SUBSCRIBE big", 1).await;
    let payload: Vec<u8> = (0..(1u32 << 20)).map(|i| (i * 7 % 256) as u8).collect();
    s.callv(publ, &[b"PUBLISH", b"big", &payload], 1).await;
    s.read(sub, 1).await;
});

diff_case!(star_does_not_match_empty_channel, |s| {
    let star = s.connect().await;
    let empty = s.connect().await;
    let publ = s.connect().await;
    s.call(star, "PSUBSCRIBE *", 1).await;
    s.callv(empty, &[b"SUBSCRIBE", b""], 1).await;
    s.callv(empty, &[b"PSUBSCRIBE", b""], 1).await;
    // "" reaches the exact subscriber and the pattern "", not "*" (T1): :2
    s.callv(publ, &[b"PUBLISH", b"", b"x"], 1).await;
    s.read(empty, 2).await;
    // "a" reaches only "*": :1
    s.callv(publ, &[b"PUBLISH", b"a", b"y"], 1).await;
    s.read(star, 1).await;
    s.call(publ, "PUBSUB CHANNELS", 1).await;
    s.callv(publ, &[b"PUBSUB", b"CHANNELS", b"*"], 1).await;
    s.callv(publ, &[b"PUBSUB", b"CHANNELS", b""], 1).await;
    s.call(publ, "PUBSUB NUMPAT", 1).await;
});

diff_case!(messages_arrive_in_publish_order, |s| {
    let sub = s.connect().await;
    let psub = s.connect().await;
    let publ = s.connect().await;
    s.call(sub, "SUBSCRIBE seq", 1).await;
    s.call(psub, "PSUBSCRIBE se?", 1).await;
    let mut pipeline = Vec::new();
    for i in 0..300 {
        pipeline.extend(cmd(&["PUBLISH".to_string(), "seq".into(), format!("m{i}")]));
    }
    s.send(publ, &pipeline).await;
    s.read(publ, 300).await;
    s.read(sub, 300).await;
    s.read(psub, 300).await;
});

diff_case!(publish_from_two_publishers_interleaved, |s| {
    let sub = s.connect().await;
    let p1 = s.connect().await;
    let p2 = s.connect().await;
    s.call(sub, "SUBSCRIBE a b", 2).await;
    for i in 0..5 {
        s.call(p1, &format!("PUBLISH a from-p1-{i}"), 1).await;
        s.read(sub, 1).await;
        s.call(p2, &format!("PUBLISH b from-p2-{i}"), 1).await;
        s.read(sub, 1).await;
    }
});

diff_case!(resp3_messages_are_push_frames, |s| {
    let sub = s.connect().await;
    let publ = s.connect().await;
    hello3(s, sub).await;
    s.call(sub, "SUBSCRIBE c", 1).await;
    s.call(sub, "PSUBSCRIBE c*", 1).await;
    s.call(sub, "SSUBSCRIBE c", 1).await;
    s.call(publ, "PUBLISH c m1", 1).await;
    s.read(sub, 2).await; // message then pmessage
    s.call(publ, "SPUBLISH c m2", 1).await;
    s.read(sub, 1).await;
    s.call(publ, "PUBLISH cc m3", 1).await;
    s.read(sub, 1).await;
    // A reply and a push interleave: the push (published before the command arrived)
    // comes first.
    s.call(publ, "PUBLISH c m4", 1).await;
    s.call(sub, "PING", 3).await;
});
