//! Wire-level behaviour: unknown commands, inline commands (T14), frames split at every
//! byte, big pipelines, protocol errors (error reply, then the server closes).

use std::time::Duration;

use crate::support::cmd;

diff_case!(unknown_commands_keep_the_connection, |s| {
    let c = s.connect().await;
    s.call(c, "NOSUCHCMD", 1).await;
    s.call(c, "NoSuchCmd x y", 1).await; // original case, args quoted
    s.call(c, "GETX key", 1).await;
    let long = "a".repeat(200);
    s.call(c, &format!("NOSUCH {long} more"), 1).await; // args truncated at 128 chars
    let many: Vec<String> = (0..40).map(|i| format!("arg{i}")).collect();
    s.call(c, &format!("NOSUCH {}", many.join(" ")), 1).await;
    s.callv(c, &[b"NOSUCH", b"cr\r\nlf", b"tab\there"], 1).await;
    s.callv(c, &[b"NOSUCH", b""], 1).await;
    s.callv(c, &[b"", b"x"], 1).await; // empty command name
    s.callv(c, &[b"bad\r\nname"], 1).await;
    let longname = "N".repeat(200);
    s.call(c, &longname, 1).await;
    s.call(c, "PING", 1).await;
    s.send(c, b"nosuch inline args\r\n").await;
    s.read(c, 1).await;
    s.call(c, "PING", 1).await;
});

diff_case!(inline_commands, |s| {
    let c = s.connect().await;
    let publ = s.connect().await;
    s.send(c, b"PING\r\n").await;
    s.read(c, 1).await;
    s.send(c, b"ping\n").await; // LF only
    s.read(c, 1).await;
    s.send(c, b"\r\n\r\n\n   \r\nPING\r\n").await; // empty lines are ignored
    s.read(c, 1).await;
    s.send(c, b"echo \"a b\"\r\n").await;
    s.read(c, 1).await;
    s.send(c, b"echo 'x y'\r\n").await;
    s.read(c, 1).await;
    s.send(c, b"echo \"\\x41\\n\\t\\\\\\\"\"\r\n").await; // escapes in double quotes
    s.read(c, 1).await;
    s.send(c, b"echo 'it\\'s'\r\n").await; // \' inside single quotes
    s.read(c, 1).await;
    s.send(c, b"echo \"\"\r\n").await;
    s.read(c, 1).await;
    s.send(c, b"  echo   spaced\t \r\n").await;
    s.read(c, 1).await;
    s.send(c, b"ECHO a b\r\n").await; // arity
    s.read(c, 1).await;
    // Mixed inline and multibulk in one write.
    s.send(
        c,
        b"PING one\r\n*2\r\n$4\r\nECHO\r\n$3\r\ntwo\r\nPING three\r\n",
    )
    .await;
    s.read(c, 3).await;
    // Typed into telnet: the same frames as the multibulk form.
    s.send(c, b"subscribe foo bar\r\n").await;
    s.read(c, 2).await;
    s.send(c, b"ping\r\n").await;
    s.read(c, 1).await;
    s.call(publ, "PUBLISH foo m", 1).await;
    s.read(c, 1).await;
    s.send(c, b"unsubscribe\r\n").await;
    s.read_norm(c, 2, crate::Norm::UnsubscribeAll).await;
    s.send(c, b"psubscribe \"with space*\"\r\n").await;
    s.read(c, 1).await;
    s.call(publ, "PUBLISH with_space x", 1).await;
    s.send(c, b"punsubscribe\r\n").await;
    s.read(c, 1).await;
});

diff_case!(frames_split_at_every_byte, |s| {
    let c = s.connect().await;
    let sub = s.connect().await;
    s.call(sub, "SUBSCRIBE split", 1).await;
    let mut pipeline = Vec::new();
    pipeline.extend(cmd(&["PING"]));
    pipeline.extend(cmd(&["PUBLISH", "split", "hello\r\nworld"]));
    pipeline.extend(b"echo \"in line\"\r\n");
    pipeline.extend(b"\r\n");
    pipeline.extend(cmd(&["ECHO", ""]));
    pipeline.extend(cmd(&["PUBSUB", "NUMSUB", "split"]));
    pipeline.extend(b"PING x\n");
    pipeline.extend(cmd(&["SUBSCRIBE", "a", "b"]));
    pipeline.extend(cmd(&["PING"]));
    pipeline.extend(cmd(&["UNSUBSCRIBE", "a", "b"]));
    s.send_bytewise(c, &pipeline, Duration::from_millis(1))
        .await;
    s.read(c, 11).await;
    s.read(sub, 1).await;
});

diff_case!(big_pipeline, |s| {
    let c = s.connect().await;
    let sub = s.connect().await;
    s.call(sub, "SUBSCRIBE p", 1).await;
    let mut pipeline = Vec::new();
    for i in 0..5000 {
        pipeline.extend(cmd(&["PUBLISH".to_string(), "p".into(), format!("{i:05}")]));
        if i % 1000 == 0 {
            pipeline.extend(b"PING inline\r\n");
        }
    }
    s.send(c, &pipeline).await;
    s.read(c, 5005).await;
    s.read(sub, 5000).await;
});

diff_case!(big_pipeline_of_subscribes, |s| {
    let c = s.connect().await;
    let q = s.connect().await;
    let mut pipeline = Vec::new();
    for i in 0..2000 {
        pipeline.extend(cmd(&["SUBSCRIBE".to_string(), format!("ch{i}")]));
    }
    s.send(c, &pipeline).await;
    s.read(c, 2000).await;
    s.call(q, "PUBSUB NUMSUB ch0 ch1999 ch2000", 1).await;
    let mut args = vec!["SUBSCRIBE".to_string()];
    args.extend((0..2000).map(|i| format!("ch{i}")));
    s.send(c, &cmd(&args)).await; // all duplicates: counts stay 2000
    s.read(c, 2000).await;
    s.call(q, "PUBLISH ch1234 x", 1).await;
    s.read(c, 1).await;
});

// Each protocol error: error reply, then EOF. One connection per error, because the
// connection is gone afterwards.
diff_case!(protocol_errors_close_the_connection, |s| {
    let cases: Vec<Vec<u8>> = vec![
        b"*abc\r\n".to_vec(),
        b"*1\r\nfoo\r\n".to_vec(),
        b"*1\r\n$abc\r\n".to_vec(),
        b"*1\r\n$-1\r\n".to_vec(),
        b"*2\r\n$4\r\nPING\r\n$536870913\r\n".to_vec(), // > proto-max-bulk-len
        b"*3000000000\r\n".to_vec(),                    // > INT_MAX
        b"echo \"unbalanced\r\n".to_vec(),
        b"echo 'unbalanced\r\n".to_vec(),
        b"echo \"a\"b\r\n".to_vec(), // closing quote must be followed by a space
        b"PING\r\n*1\r\n$x\r\n".to_vec(), // earlier replies are still sent
    ];
    for bytes in cases {
        let c = s.connect().await;
        s.send(c, &bytes).await;
        let replies = if bytes.starts_with(b"PING") { 2 } else { 1 };
        s.read(c, replies).await;
        s.eof(c).await;
    }
});

diff_case!(protocol_error_too_big_inline, |s| {
    let c = s.connect().await;
    // 64 KiB is the inline limit; no newline in sight.
    s.send(c, &vec![b'a'; 70_000]).await;
    s.read(c, 1).await;
    s.eof(c).await;
    let c = s.connect().await;
    let mut count = b"*".to_vec();
    count.extend(vec![b'1'; 70_000]);
    s.send(c, &count).await;
    s.read(c, 1).await;
    s.eof(c).await;
    let c = s.connect().await;
    let mut bulk = b"*1\r\n$".to_vec();
    bulk.extend(vec![b'1'; 70_000]);
    s.send(c, &bulk).await;
    s.read(c, 1).await;
    s.eof(c).await;
});

diff_case!(protocol_empty_multibulk_is_ignored, |s| {
    let c = s.connect().await;
    s.send(c, b"*0\r\n*-1\r\n*-5\r\nPING\r\n").await;
    s.read(c, 1).await;
});

diff_case!(
    protocol_unauthenticated_multibulk_limit,
    ["--requirepass", "pw"],
    |s| {
        let c = s.connect().await;
        s.send(c, &cmd(&["A", "B", "C", "D", "E", "F", "G", "H", "I", "J"]))
            .await;
        s.read(c, 1).await; // unknown command: 10 args are still fine unauthenticated
        s.send(c, b"*11\r\n").await;
        s.read(c, 1).await;
        s.eof(c).await;
        let c = s.connect().await;
        s.call(c, "AUTH pw", 1).await;
        let mut args = vec!["PUBSUB".to_string(), "NUMSUB".into()];
        args.extend((0..20).map(|i| format!("c{i}")));
        s.send(c, &cmd(&args)).await;
        s.read(c, 1).await;
    }
);
