//! MULTI / EXEC / DISCARD with PUBLISH, with (P|S)SUBSCRIBE inside (T8), and the
//! transaction error paths.

use crate::hello3;

diff_case!(multi_exec_publish, |s| {
    let sub = s.connect().await;
    let c = s.connect().await;
    s.call(sub, "SUBSCRIBE t", 1).await;
    s.call(c, "MULTI", 1).await;
    s.call(c, "PUBLISH t one", 1).await; // +QUEUED
    s.call(c, "PUBLISH t two", 1).await;
    s.call(c, "PUBLISH nobody x", 1).await;
    s.call(c, "PING", 1).await;
    s.call(c, "ECHO e", 1).await;
    s.call(c, "PUBSUB NUMSUB t", 1).await;
    s.call(c, "EXEC", 1).await; // *6 :1 :1 :0 +PONG $1 e *2...
    s.read(sub, 2).await;
});

diff_case!(multi_discard_and_misuse, |s| {
    let c = s.connect().await;
    s.call(c, "EXEC", 1).await;
    s.call(c, "DISCARD", 1).await;
    s.call(c, "MULTI", 1).await;
    s.call(c, "MULTI", 1).await; // nested: error, transaction still open
    s.call(c, "PUBLISH a b", 1).await;
    s.call(c, "DISCARD", 1).await;
    s.call(c, "EXEC", 1).await; // nothing open any more
    s.call(c, "MULTI x", 1).await;
    s.call(c, "EXEC x", 1).await;
    s.call(c, "DISCARD x", 1).await;
    s.call(c, "PING", 1).await;
});

diff_case!(multi_execabort_on_queue_errors, |s| {
    let c = s.connect().await;
    let sub = s.connect().await;
    s.call(sub, "SUBSCRIBE q", 1).await;
    s.call(c, "MULTI", 1).await;
    s.call(c, "PUBLISH q lost", 1).await;
    s.call(c, "PUBLISH q", 1).await; // arity error at queue time
    s.call(c, "EXEC", 1).await; // EXECABORT; nothing published
    s.call(c, "MULTI", 1).await;
    s.call(c, "NOSUCHCMD x", 1).await;
    s.call(c, "PUBLISH q lost", 1).await;
    s.call(c, "EXEC", 1).await;
    s.call(c, "MULTI", 1).await;
    s.call(c, "PUBSUB NOSUCH", 1).await;
    s.call(c, "EXEC", 1).await;
    s.call(c, "PUBLISH q after", 1).await; // :1, the only message sub sees
    s.read(sub, 1).await;
});

diff_case!(multi_exec_runtime_errors_do_not_abort, |s| {
    let c = s.connect().await;
    s.call(c, "MULTI", 1).await;
    s.call(c, "SELECT 99", 1).await; // fails only when executed
    s.call(c, "PING", 1).await;
    s.call(c, "EXEC", 1).await;
});

diff_case!(multi_subscribe_inside_resp2, |s| {
    let c = s.connect().await;
    let publ = s.connect().await;
    s.call(c, "MULTI", 1).await;
    s.call(c, "SUBSCRIBE a b", 1).await;
    s.call(c, "PING", 1).await;
    // T8: EXEC's header says *2, yet three frames follow (upstream issue #12207).
    s.call(c, "EXEC", 2).await;
    s.call(c, "PING", 1).await; // now in subscribe mode
    s.call(publ, "PUBLISH b hi", 1).await;
    s.read(c, 1).await;
    s.call(c, "MULTI", 1).await; // refused in subscribe mode
    s.call(c, "UNSUBSCRIBE a b", 2).await;
    s.call(c, "MULTI", 1).await;
    s.call(c, "PSUBSCRIBE p*", 1).await;
    s.call(c, "PUNSUBSCRIBE p*", 1).await;
    s.call(c, "EXEC", 1).await;
    s.call(c, "PING", 1).await;
});

diff_case!(multi_ssubscribe_inside_is_denied, |s| {
    let c = s.connect().await;
    s.call(c, "MULTI", 1).await;
    s.call(c, "SSUBSCRIBE s", 1).await;
    s.call(c, "PING", 1).await;
    s.call(c, "EXEC", 1).await;
    s.call(c, "PING", 1).await;
    s.call(c, "MULTI", 1).await;
    s.call(c, "SUNSUBSCRIBE s", 1).await;
    s.call(c, "EXEC", 1).await;
});

diff_case!(multi_subscribe_inside_resp3, |s| {
    let c = s.connect().await;
    let publ = s.connect().await;
    hello3(s, c).await;
    s.call(c, "MULTI", 1).await;
    s.call(c, "SUBSCRIBE a", 1).await;
    s.call(c, "PSUBSCRIBE x*", 1).await;
    s.call(c, "PING", 1).await;
    s.call(c, "EXEC", 1).await;
    s.call(publ, "PUBLISH a m", 1).await;
    s.read(c, 1).await;
    s.call(c, "MULTI", 1).await; // allowed in RESP3 subscribe mode
    s.call(c, "PUBSUB NUMSUB a", 1).await;
    s.call(c, "UNSUBSCRIBE a", 1).await;
    s.call(c, "EXEC", 1).await;
});

diff_case!(multi_queued_commands_in_pipeline, |s| {
    let c = s.connect().await;
    let sub = s.connect().await;
    s.call(sub, "PSUBSCRIBE *", 1).await;
    s.send(
        c,
        b"MULTI\r\nPUBLISH x 1\r\nPUBLISH y 2\r\nEXEC\r\nMULTI\r\nPUBLISH z 3\r\nDISCARD\r\nPUBLISH w 4\r\n",
    )
    .await;
    s.read(c, 8).await;
    s.read(sub, 3).await;
});
