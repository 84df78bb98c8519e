//! Connection-level commands and the RESP2 subscribe-mode rules: PING, HELLO, RESET, QUIT,
//! AUTH (with and without requirepass), ECHO, SELECT, CLIENT *, FLUSHALL/FLUSHDB/DBSIZE,
//! the context error and its precedence (T4, T12, T13).

use crate::known_differences::Known;
use crate::{hello3, Norm};

diff_case!(ping_resp2_in_and_out_of_subscribe_mode, |s| {
    let c = s.connect().await;
    s.call(c, "PING", 1).await;
    s.call(c, "PING hello", 1).await;
    s.callv(c, &[b"PING", b""], 1).await;
    s.call(c, "PING a b", 1).await;
    s.call(c, "ping", 1).await;
    s.call(c, "SUBSCRIBE ch", 1).await;
    s.call(c, "PING", 1).await; // *2 pong ""
    s.call(c, "PING hello", 1).await;
    s.callv(c, &[b"PING", b""], 1).await;
    s.callv(c, &[b"PING", b"bin\0\r\n"], 1).await;
    s.call(c, "PING a b", 1).await; // arity before context
    s.call(c, "UNSUBSCRIBE ch", 1).await;
    s.call(c, "PING", 1).await;
});

diff_case!(ping_switches_inside_one_pipeline, |s| {
    let c = s.connect().await;
    // One write: PING flips to the array form while subscribed and back once the last
    // subscription is gone (spec §3.6).
    s.send(
        c,
        b"PING\r\nSUBSCRIBE a\r\nPING\r\nPSUBSCRIBE b\r\nUNSUBSCRIBE a\r\nPING x\r\nPUNSUBSCRIBE b\r\nPING x\r\n",
    )
    .await;
    s.read(c, 8).await;
});

diff_case!(ping_resp3_in_and_out_of_subscribe_mode, |s| {
    let c = s.connect().await;
    hello3(s, c).await;
    s.call(c, "PING", 1).await;
    s.call(c, "PING hello", 1).await;
    s.call(c, "SUBSCRIBE ch", 1).await;
    s.call(c, "PING", 1).await; // +PONG
    s.call(c, "PING hello", 1).await; // bulk
    s.call(c, "PING a b", 1).await;
});

diff_case!(hello_variants, |s| {
    let c = s.connect().await;
    let hello = Norm::Known(Known::HelloVersionAndId);
    s.call_norm(c, "HELLO", 1, hello).await; // RESP2 flat array
    s.call_norm(c, "HELLO 2", 1, hello).await;
    s.call(c, "HELLO 4", 1).await;
    s.call(c, "HELLO 1", 1).await;
    s.call(c, "HELLO abc", 1).await;
    s.call(c, "HELLO 3 FOO", 1).await;
    s.call(c, "HELLO 3 AUTH default", 1).await;
    s.call(c, "HELLO 3 SETNAME", 1).await;
    s.callv(c, &[b"HELLO", b"3", b"SETNAME", b"a b"], 1).await;
    // Still RESP2 after all those errors.
    s.call(c, "CLIENT GETNAME", 1).await;
    s.call_norm(c, "HELLO 3", 1, hello).await;
    s.call(c, "CLIENT GETNAME", 1).await; // RESP3 null
    s.call_norm(c, "HELLO", 1, hello).await; // RESP3 map
    s.call_norm(c, "HELLO 3 SETNAME myname", 1, hello).await;
    s.call(c, "CLIENT GETNAME", 1).await;
    s.call_norm(c, "hello 2", 1, hello).await; // back to RESP2
    s.call(c, "CLIENT GETNAME", 1).await;
    s.call(c, "HELLO 4", 1).await;
    // AUTH with the default user on a server without a password: any password works.
    s.call_norm(c, "HELLO 3 AUTH default whatever", 1, hello)
        .await;
    s.call(c, "HELLO 3 AUTH nosuchuser pw", 1).await;
});

diff_case!(hello_in_subscribe_mode, |s| {
    let c2 = s.connect().await;
    let c3 = s.connect().await;
    let other = s.connect().await;
    // RESP2 subscribed: HELLO is refused by the context check.
    s.call(c2, "SUBSCRIBE a", 1).await;
    s.call(c2, "HELLO 3", 1).await;
    s.call(c2, "HELLO", 1).await;
    // RESP3 subscribed: HELLO 2 is accepted, then RESP2 rules apply (spec §3.7).
    hello3(s, c3).await;
    s.call(c3, "SUBSCRIBE a", 1).await;
    s.call_norm(c3, "HELLO 2", 1, Norm::Known(Known::HelloVersionAndId))
        .await;
    s.call(c3, "PUBSUB NUMPAT", 1).await; // context error now
    s.call(c3, "PING", 1).await; // *2 pong ""
    s.call(other, "PUBLISH a m", 1).await;
    s.read(c2, 1).await;
    s.read(c3, 1).await; // plain *3 array now
});

diff_case!(reset_drops_subscriptions_silently, |s| {
    let c = s.connect().await;
    let q = s.connect().await;
    s.call(c, "CLIENT SETNAME before", 1).await;
    s.call(c, "SUBSCRIBE a b", 2).await;
    s.call(c, "PSUBSCRIBE p*", 1).await;
    s.call(c, "SSUBSCRIBE s", 1).await;
    s.call(c, "RESET", 1).await; // +RESET, no unsubscribe frames
    s.call(c, "PING", 1).await; // +PONG: out of subscribe mode
    s.call(c, "CLIENT GETNAME", 1).await; // name cleared
    s.call(q, "PUBSUB NUMSUB a b", 1).await;
    s.call(q, "PUBSUB NUMPAT", 1).await;
    s.call(q, "PUBSUB SHARDNUMSUB s", 1).await;
    s.call(q, "PUBLISH a x", 1).await; // :0, nothing arrives at c (trailer checks)
    s.call(c, "reset", 1).await;
    s.call(c, "RESET x", 1).await; // arity 1
});

diff_case!(reset_returns_to_resp2_and_leaves_multi, |s| {
    let c = s.connect().await;
    hello3(s, c).await;
    s.call(c, "SUBSCRIBE a", 1).await;
    s.call(c, "RESET", 1).await;
    s.call(c, "CLIENT GETNAME", 1).await; // $-1: RESP2 again
    s.call(c, "UNSUBSCRIBE", 1).await; // RESP2 *3 with $-1 and :0
    s.call(c, "MULTI", 1).await;
    s.call(c, "PUBLISH a b", 1).await;
    s.call(c, "RESET", 1).await; // not queued
    s.call(c, "EXEC", 1).await; // EXEC without MULTI
    s.call(c, "SELECT 5", 1).await;
    s.call(c, "RESET", 1).await;
    s.call(c, "CLIENT REPLY OFF", 0).await;
    s.call(c, "RESET", 1).await; // +RESET is sent and REPLY is ON again
    s.call(c, "PING", 1).await;
});

// A browser pointed at the port sends `POST` / `Host:` lines: Redis drops the client at
// once, discarding even the pending reply to the PING before it.
diff_case!(http_request_lines_drop_the_client, |s| {
    let c = s.connect().await;
    s.send(c, b"PING\r\nHost: example\r\nPING\r\n").await;
    s.eof(c).await;
    let p = s.connect().await;
    s.send(p, b"POST / HTTP/1.1\r\n").await;
    s.eof(p).await;
    let ok = s.connect().await;
    s.call(ok, "PING", 1).await;
});

diff_case!(quit_replies_ok_then_closes, |s| {
    let plain = s.connect().await;
    let subbed = s.connect().await;
    let r3 = s.connect().await;
    let q = s.connect().await;
    s.call(plain, "QUIT", 1).await;
    s.eof(plain).await;
    s.call(subbed, "SUBSCRIBE a", 1).await;
    s.call(subbed, "QUIT", 1).await;
    s.eof(subbed).await;
    hello3(s, r3).await;
    s.call(r3, "PSUBSCRIBE a*", 1).await;
    // QUIT with an argument (arity -1) also works; pipelined commands after it are not run.
    s.send(r3, b"QUIT now\r\nPING\r\n").await;
    s.read(r3, 1).await;
    s.eof(r3).await;
    s.call(q, "PUBSUB NUMSUB a", 1).await;
    s.call(q, "PUBSUB NUMPAT", 1).await;
});

diff_case!(auth_without_requirepass, |s| {
    let c = s.connect().await;
    s.call(c, "AUTH x", 1).await;
    s.call(c, "AUTH default x", 1).await; // default user is nopass: +OK
    s.call(c, "AUTH nosuch x", 1).await;
    s.call(c, "AUTH a b c", 1).await;
    s.call(c, "AUTH", 1).await;
    s.call(c, "PING", 1).await;
});

diff_case!(auth_with_requirepass, ["--requirepass", "s3cret"], |s| {
    let c = s.connect().await;
    // Unknown command and arity errors come before NOAUTH (spec §2).
    s.call(c, "NOSUCH x", 1).await;
    s.call(c, "PUBLISH a", 1).await;
    s.call(c, "PING", 1).await;
    s.call(c, "PUBLISH a b", 1).await;
    s.call(c, "SUBSCRIBE a", 1).await;
    s.call(c, "PUBSUB NUMPAT", 1).await;
    s.call(c, "ECHO x", 1).await;
    let noauth = Norm::Known(Known::HelloNoauthText);
    s.call_norm(c, "HELLO 3", 1, noauth).await; // NOAUTH HELLO must be called ...
    s.call_norm(c, "HELLO", 1, noauth).await;
    s.call(c, "AUTH wrong", 1).await;
    s.call(c, "AUTH default wrong", 1).await;
    s.call(c, "AUTH nosuchuser s3cret", 1).await;
    s.call(c, "PING", 1).await;
    s.call(c, "AUTH s3cret", 1).await;
    s.call(c, "PING", 1).await;
    s.call(c, "SUBSCRIBE a", 1).await;
    s.call(c, "AUTH s3cret", 1).await; // context error in subscribe mode
    s.call(c, "UNSUBSCRIBE", 1).await;
    s.call(c, "AUTH default s3cret", 1).await;
    s.call(c, "AUTH wrong", 1).await; // a failed AUTH keeps the earlier login
    s.call(c, "PING", 1).await;
});

diff_case!(hello_auth_with_requirepass, ["--requirepass", "pw"], |s| {
    let good = s.connect().await;
    let bad = s.connect().await;
    let plain = s.connect().await;
    let hello = Norm::Known(Known::HelloVersionAndId);
    s.call_norm(good, "HELLO 3 AUTH default pw", 1, hello).await;
    s.call(good, "PING", 1).await;
    s.call_norm(good, "HELLO 2 AUTH default pw SETNAME n1", 1, hello)
        .await;
    s.call(good, "CLIENT GETNAME", 1).await;
    s.call(bad, "HELLO 3 AUTH default nope", 1).await;
    s.call(bad, "HELLO 3 AUTH nobody pw", 1).await;
    s.call(bad, "CLIENT GETNAME", 1).await; // still NOAUTH, still RESP2
    s.call(bad, "HELLO 3 AUTH default", 1).await; // syntax
    s.call_norm(plain, "HELLO 2", 1, Norm::Known(Known::HelloNoauthText))
        .await;
    // QUIT and RESET need no auth.
    s.call(plain, "RESET", 1).await;
    s.call(plain, "QUIT", 1).await;
    s.eof(plain).await;
});

diff_case!(
    reset_after_auth_with_requirepass,
    ["--requirepass", "pw"],
    |s| {
        let c = s.connect().await;
        s.call(c, "AUTH pw", 1).await;
        s.call(c, "PING", 1).await;
        // RESET re-authenticates as `default`, which needs a password here.
        s.call(c, "RESET", 1).await;
        s.call(c, "PING", 1).await;
    }
);

diff_case!(echo_variants, |s| {
    let c = s.connect().await;
    s.call(c, "ECHO hello", 1).await;
    s.callv(c, &[b"ECHO", b""], 1).await;
    s.callv(c, &[b"ECHO", b"\0\r\n\xff"], 1).await;
    s.call(c, "ECHO", 1).await;
    s.call(c, "ECHO a b", 1).await;
    s.call(c, "echo lower", 1).await;
    hello3(s, c).await;
    s.call(c, "ECHO resp3", 1).await;
});

diff_case!(select_variants, |s| {
    let c = s.connect().await;
    s.call(c, "SELECT 0", 1).await;
    s.call(c, "SELECT 15", 1).await;
    s.call(c, "SELECT 16", 1).await;
    s.call(c, "SELECT -1", 1).await;
    s.call(c, "SELECT abc", 1).await;
    s.call(c, "SELECT 1.5", 1).await;
    s.call(c, "SELECT 99999999999999999999", 1).await;
    s.call(c, "SELECT", 1).await;
    s.call(c, "SELECT 0 1", 1).await;
    s.call(c, "DBSIZE", 1).await;
});

diff_case!(flushall_flushdb_dbsize, |s| {
    let c = s.connect().await;
    let sub = s.connect().await;
    s.call(sub, "SUBSCRIBE keep", 1).await;
    s.call(c, "DBSIZE", 1).await;
    s.call(c, "FLUSHALL", 1).await;
    s.call(c, "FLUSHALL ASYNC", 1).await;
    s.call(c, "FLUSHALL SYNC", 1).await;
    s.call(c, "FLUSHALL bogus", 1).await;
    s.call(c, "FLUSHDB", 1).await;
    s.call(c, "FLUSHDB async", 1).await;
    s.call(c, "FLUSHDB bogus", 1).await;
    s.call(c, "DBSIZE x", 1).await;
    s.call(c, "DBSIZE", 1).await;
    // Subscriptions are not data: they survive FLUSHALL.
    s.call(c, "PUBLISH keep still-here", 1).await;
    s.read(sub, 1).await;
});

diff_case!(client_name_and_id, |s| {
    let c = s.connect().await;
    let id = Norm::Known(Known::ClientId);
    s.call(c, "CLIENT GETNAME", 1).await;
    s.call(c, "CLIENT SETNAME foo", 1).await;
    s.call(c, "CLIENT GETNAME", 1).await;
    s.callv(c, &[b"CLIENT", b"SETNAME", b"a b"], 1).await;
    s.callv(c, &[b"CLIENT", b"SETNAME", b"a\nb"], 1).await;
    s.call(c, "CLIENT GETNAME", 1).await;
    s.callv(c, &[b"CLIENT", b"SETNAME", b""], 1).await; // clears the name
    s.call(c, "CLIENT GETNAME", 1).await;
    s.call(c, "CLIENT SETNAME", 1).await;
    s.call(c, "CLIENT GETNAME x", 1).await;
    s.call_norm(c, "CLIENT ID", 1, id).await;
    s.call(c, "CLIENT ID x", 1).await;
    s.call(c, "CLIENT", 1).await;
    s.call(c, "CLIENT NOSUCH", 1).await;
    s.call(c, "client getname", 1).await;
    hello3(s, c).await;
    s.call(c, "CLIENT SETNAME", 1).await;
    s.callv(c, &[b"CLIENT", b"SETNAME", b""], 1).await;
    s.call(c, "CLIENT GETNAME", 1).await; // RESP3 null
    s.call_norm(c, "CLIENT ID", 1, id).await;
});

diff_case!(client_list_fields_masked, |s| {
    let a = s.connect().await;
    let b = s.connect().await;
    let list = Norm::Known(Known::ClientListValues);
    s.call(a, "CLIENT SETNAME lister", 1).await;
    s.call_norm(a, "CLIENT LIST", 1, list).await;
    hello3(s, b).await;
    s.call(b, "CLIENT SETNAME subscriber", 1).await;
    s.call(b, "SUBSCRIBE x y", 2).await;
    s.call(b, "PSUBSCRIBE z*", 1).await;
    s.call(b, "SSUBSCRIBE s", 1).await;
    s.call_norm(a, "CLIENT LIST", 1, list).await;
    s.call_norm(b, "CLIENT LIST", 1, list).await; // RESP3: verbatim string
    s.call_norm(a, "CLIENT LIST TYPE pubsub", 1, list).await;
    s.call_norm(a, "CLIENT LIST TYPE normal", 1, list).await;
});

diff_case!(client_reply_off_skip_resp2, |s| {
    let c = s.connect().await;
    let publ = s.connect().await;
    s.call(c, "CLIENT REPLY OFF", 0).await;
    s.send(c, b"PING\r\nECHO silent\r\n").await;
    s.call(c, "CLIENT REPLY ON", 1).await; // first thing read must be this +OK
    s.call(c, "CLIENT REPLY SKIP", 0).await;
    s.call(c, "PING skipped", 0).await;
    s.call(c, "PING shown", 1).await;
    s.call(c, "CLIENT REPLY bogus", 1).await;
    s.call(c, "CLIENT REPLY", 1).await;
    // Push frames bypass REPLY OFF even in RESP2 (T5); the context error does not.
    s.call(c, "CLIENT REPLY OFF", 0).await;
    s.call(c, "SUBSCRIBE a", 1).await;
    s.call(publ, "PUBLISH a m", 1).await;
    s.read(c, 1).await;
    s.send(c, b"PING\r\nECHO x\r\n").await; // pong array? context error? both silenced
    s.call(c, "UNSUBSCRIBE a", 1).await;
    s.call(c, "CLIENT REPLY ON", 1).await;
    s.call(c, "PING", 1).await;
});

diff_case!(client_reply_off_resp3_pushes_still_delivered, |s| {
    let c = s.connect().await;
    let publ = s.connect().await;
    hello3(s, c).await;
    s.call(c, "CLIENT REPLY OFF", 0).await;
    s.call(c, "SUBSCRIBE a", 1).await;
    s.call(c, "PSUBSCRIBE a*", 1).await;
    s.call(c, "SSUBSCRIBE sa", 1).await;
    s.call(c, "PING", 0).await;
    s.call(publ, "PUBLISH a m1", 1).await;
    s.read(c, 2).await;
    s.call(publ, "SPUBLISH sa m2", 1).await;
    s.read(c, 1).await;
    s.call(c, "CLIENT REPLY SKIP", 0).await;
    s.call(c, "UNSUBSCRIBE a", 1).await;
    s.call(c, "CLIENT REPLY ON", 1).await;
    s.call(c, "PING", 1).await;
});

diff_case!(resp2_subscribe_context_errors, |s| {
    let c = s.connect().await;
    s.call(c, "SUBSCRIBE ctx", 1).await;
    // Valid commands that are not allowed in RESP2 subscribe mode.
    for words in [
        "PUBLISH ctx m",
        "SPUBLISH ctx m",
        "PUBSUB NUMPAT",
        "PUBSUB CHANNELS",
        "PUBSUB NUMSUB ctx",
        "PUBSUB HELP",
        "INFO",
        "INFO server",
        "CLIENT LIST",
        "CLIENT SETNAME x",
        "CLIENT GETNAME",
        "CLIENT ID",
        "CLIENT REPLY ON",
        "SELECT 0",
        "MULTI",
        "EXEC",
        "DISCARD",
        "HELLO 3",
        "HELLO",
        "ECHO hi",
        "AUTH x",
        "FLUSHALL",
        "DBSIZE",
        "publish ctx lower",
    ] {
        s.call(c, words, 1).await;
    }
    // Still subscribed and working.
    s.call(c, "PING", 1).await;
    s.call(c, "SUBSCRIBE ctx2", 1).await;
});

diff_case!(resp2_subscribe_error_precedence, |s| {
    let c = s.connect().await;
    s.call(c, "PSUBSCRIBE p*", 1).await;
    // Unknown commands and arity errors win over the context error (T13).
    s.call(c, "NOSUCHCMD", 1).await;
    s.call(c, "NOSUCHCMD a b", 1).await;
    s.call(c, "PUBLISH onlyone", 1).await;
    s.call(c, "PUBSUB", 1).await;
    s.call(c, "PUBSUB NOSUCH", 1).await;
    s.call(c, "PUBSUB NUMPAT extra", 1).await;
    s.call(c, "CLIENT NOSUCH", 1).await;
    s.call(c, "CLIENT", 1).await;
    s.call(c, "ECHO", 1).await;
    s.call(c, "SELECT", 1).await;
    s.call(c, "HELLO 3 x y z w", 1).await;
    s.call(c, "PING a b", 1).await;
    s.call(c, "RESET x", 1).await;
    // The allowed set still works.
    s.call(c, "PUNSUBSCRIBE", 1).await;
    s.call(c, "PING", 1).await;
});

diff_case!(client_library_handshakes_pipelined, |s| {
    // go-redis v9 PubSub: lowercase, handshake and subscriptions in one write.
    let go = s.connect().await;
    s.send(go, b"*2\r\n$5\r\nhello\r\n$1\r\n3\r\n*2\r\n$9\r\nsubscribe\r\n$1\r\na\r\n*2\r\n$10\r\npsubscribe\r\n$2\r\nb*\r\n*1\r\n$4\r\nping\r\n").await;
    s.read_norm(go, 1, Norm::Known(Known::HelloVersionAndId))
        .await;
    s.read(go, 3).await;
    // go-redis with Protocol:2 still sends HELLO 2.
    let go2 = s.connect().await;
    s.send(go2, b"*2\r\n$5\r\nhello\r\n$1\r\n2\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n$1\r\nc\r\n*1\r\n$4\r\nping\r\n").await;
    s.read_norm(go2, 1, Norm::Known(Known::HelloVersionAndId))
        .await;
    s.read(go2, 3).await;
    // redis-py health check while subscribed (RESP2), in the same write as a command.
    let py = s.connect().await;
    s.call(py, "SUBSCRIBE a", 1).await;
    s.send(
        py,
        b"*2\r\n$4\r\nPING\r\n$21\r\nredis-py-health-check\r\n*2\r\n$9\r\nSUBSCRIBE\r\n$1\r\nd\r\n",
    )
    .await;
    s.read(py, 2).await;
    // ioredis auto-resubscribe: all channels in one subscribe, then psubscribe, then one
    // ssubscribe per shard channel, pipelined.
    let io = s.connect().await;
    s.send(io, b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n$1\r\nb\r\n*2\r\n$10\r\npsubscribe\r\n$2\r\nx*\r\n*2\r\n$10\r\nssubscribe\r\n$2\r\ns1\r\n*2\r\n$10\r\nssubscribe\r\n$2\r\ns2\r\n*1\r\n$4\r\nping\r\n").await;
    s.read(io, 6).await;
    let publ = s.connect().await;
    s.call(publ, "PUBLISH a hi", 1).await; // go, go2, py, io
    s.read(go, 1).await;
    s.read(go2, 1).await;
    s.read(py, 1).await;
    s.read(io, 1).await;
});

diff_case!(
    quit_and_reset_deliver_already_published_messages_first,
    |s| {
        let a = s.connect().await;
        let b = s.connect().await;
        let publ = s.connect().await;
        s.call(a, "SUBSCRIBE q", 1).await;
        hello3(s, b).await;
        s.call(b, "PSUBSCRIBE q*", 1).await;
        for i in 0..3 {
            s.call(publ, &format!("PUBLISH q m{i}"), 1).await;
        }
        // Messages published before QUIT/RESET was read are written before its reply.
        s.call(a, "QUIT", 4).await;
        s.eof(a).await;
        s.call(b, "RESET", 4).await;
        s.call(publ, "PUBLISH q after", 1).await; // :0
        s.call(b, "PING", 1).await; // +PONG, nothing in between
    }
);
