//! Glob edge cases (spec §5, T1) through PUBSUB CHANNELS / SHARDCHANNELS filtering and
//! through PSUBSCRIBE delivery: `*` vs "", `[]`, `[^]`, `[a-]`, `[!a]`, escapes,
//! unterminated classes, signed-char ranges, the recursion limit.

use crate::support::cmd;
use crate::Norm;

const CHANNELS: &[&[u8]] = &[
    b"",
    b"a",
    b"b",
    b"x",
    b"z",
    b"A",
    b"_",
    b"]",
    b"^",
    b"-",
    b"\\",
    b"*",
    b"?",
    b"[",
    b"!",
    b"`",
    b"ab",
    b"ac",
    b"abc",
    b"_x",
    b"]x",
    b"a]",
    b"a-",
    b"x]",
    b"hello",
    b"hallo",
    b"hbllo",
    b"hllo",
    b"heeello",
    b"news.",
    b"news.1",
    b"\x00",
    b"a\x00",
    b"\x80",
    b"\xff",
    b"\xc3",
    b"__keyspace@0__:foo",
];

const PATTERNS: &[&[u8]] = &[
    b"*",
    b"",
    b"?",
    b"??",
    b"?*",
    b"*?",
    b"a*?",
    b"**",
    b"*a",
    b"a**b",
    b"[]",
    b"[^]",
    b"[]a]",
    b"[^]]",
    b"[]]",
    b"[a-]",
    b"[a-]x",
    b"[!a]",
    b"[\\]]",
    b"[\\-]",
    b"\\*",
    b"\\",
    b"\\\\",
    b"\\a",
    b"[",
    b"[^",
    b"[\\",
    b"a[bc",
    b"[a",
    b"[z-a]",
    b"[a-\xff]",
    b"[\x80-\xff]",
    b"[\x00-a]",
    b"[-a]",
    b"[a-b-c]",
    b"[*]",
    b"[?]",
    b"[[]",
    b"[^a-z]",
    b"h[^e]llo",
    b"h[a-b]llo",
    b"h[ae]llo",
    b"h*llo",
    b"h?llo",
    b"news.*",
    b"__keyspace@*__:*",
    b"a\\",
    b"x\\]",
    b"*]",
    b"]",
    b"^",
    b"-",
    b"a\x00",
    b"\x00",
];

fn with_prefix<'a>(prefix: &[&'a [u8]], rest: &[&'a [u8]]) -> Vec<&'a [u8]> {
    let mut v = prefix.to_vec();
    v.extend_from_slice(rest);
    v
}

diff_case!(glob_pubsub_channels_and_shardchannels, |s| {
    let sub = s.connect().await;
    let q = s.connect().await;
    s.callv(sub, &with_prefix(&[b"SUBSCRIBE"], CHANNELS), CHANNELS.len())
        .await;
    s.callv(
        sub,
        &with_prefix(&[b"SSUBSCRIBE"], CHANNELS),
        CHANNELS.len(),
    )
    .await;
    // List order is hash-table order (spec §3.5): elements sorted before comparing.
    s.send(q, &cmd(&["PUBSUB", "CHANNELS"])).await;
    s.read_norm(q, 1, Norm::SortedElements).await;
    for p in PATTERNS {
        s.send(q, &cmd(&[&b"PUBSUB"[..], b"CHANNELS", p])).await;
        s.read_norm(q, 1, Norm::SortedElements).await;
        s.send(q, &cmd(&[&b"PUBSUB"[..], b"SHARDCHANNELS", p]))
            .await;
        s.read_norm(q, 1, Norm::SortedElements).await;
    }
});

diff_case!(glob_psubscribe_delivery, |s| {
    let sub = s.connect().await;
    let publ = s.connect().await;
    s.callv(
        sub,
        &with_prefix(&[b"PSUBSCRIBE"], PATTERNS),
        PATTERNS.len(),
    )
    .await;
    s.call(publ, "PUBSUB NUMPAT", 1).await;
    for (i, ch) in CHANNELS.iter().enumerate() {
        let payload = format!("m{i}");
        s.callv(publ, &[b"PUBLISH", ch, payload.as_bytes()], 1)
            .await;
        // One subscriber: the PUBLISH count is the number of pmessages it gets. Compared
        // as a multiset because pattern order is unspecified (spec §6).
        let n = s.last_integer();
        s.read_norm(sub, n, Norm::Unordered).await;
    }
});

diff_case!(glob_recursion_limit, |s| {
    let sub = s.connect().await;
    let publ = s.connect().await;
    let deep_ok = "*a".repeat(1000);
    let too_deep = "*a".repeat(1001);
    s.call(sub, &format!("PSUBSCRIBE {deep_ok}"), 1).await;
    s.call(sub, &format!("PSUBSCRIBE {too_deep}"), 1).await;
    let target = "a".repeat(1200);
    s.call(publ, &format!("PUBLISH {target} m"), 1).await; // :1
    s.read(sub, 1).await;
    s.call(publ, &format!("PUBSUB CHANNELS {too_deep}"), 1)
        .await;
});
