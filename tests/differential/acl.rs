//! ACL users (spec §7): ACL SETUSER rules and errors, GETUSER/LIST/USERS/DELUSER/WHOAMI/
//! CAT/LOG/DRYRUN/GENPASS, AUTH and HELLO AUTH as users, channel and command denials in
//! RESP2, RESP3 and MULTI, and revocation (clients killed, others kept).
//!
//! Where Redis 7.0.15 and 7.2 differ, respub follows 7.2 and the masks of rows
//! "acl-noperm-text", "acl-log-fields" (and "acl-random" for GENPASS) normalise exactly
//! that difference. Rule sets are chosen where 7.0's and 7.2's ACL LIST descriptions
//! agree (7.2 keeps the rules in the order given; 7.0 rebuilt them from the bitmap).

use crate::known_differences::Known;
use crate::{hello3, Norm};

const NOPERM: Norm = Norm::Known(Known::AclNopermText);
const LOG: Norm = Norm::Known(Known::AclLogEntries);
const CLIENT_LIST: Norm = Norm::Known(Known::ClientListValues);

diff_case!(acl_setuser_rules_list_and_getuser, |s| {
    let c = s.connect().await;
    s.call(c, "ACL LIST", 1).await;
    s.call(c, "ACL USERS", 1).await;
    s.call(c, "ACL SETUSER u1 on >p1 &a* +@all -publish ~k* %R~r*", 1)
        .await;
    // 7.0 rebuilds the rules from its bitmap in hash-table order: only rule sets with
    // one possible 7.0 output are compared (u2, u11); 7.2's kept order is unit-tested.
    s.call(c, "ACL SETUSER u2 +@pubsub -subscribe", 1).await;
    s.call(c, "ACL SETUSER u11 +client|id", 1).await;
    s.call(c, "ACL SETUSER u3", 1).await;
    s.call(c, "ACL SETUSER u4 allchannels", 1).await;
    s.call(c, "ACL SETUSER u5 reset", 1).await;
    s.call(c, "ACL SETUSER u6 %RW~a %W~b %R~b ~c", 1).await;
    s.call(c, "ACL SETUSER u7 on nopass &x &y &x resetchannels &z", 1)
        .await;
    s.call(c, "ACL SETUSER u8 #f64551fcd6f07823cb87971cfb91446425da18286b3ab1ef935e0cbd7a69f68a >p2 <p2 >p3 !f64551fcd6f07823cb87971cfb91446425da18286b3ab1ef935e0cbd7a69f68a", 1)
        .await;
    s.call(
        c,
        "ACL SETUSER u9 +@all ~* &* on nopass skip-sanitize-payload",
        1,
    )
    .await;
    s.call(
        c,
        "ACL SETUSER u10 allcommands nocommands allkeys resetkeys",
        1,
    )
    .await;
    s.call(c, "ACL LIST", 1).await;
    s.call(c, "ACL USERS", 1).await;
    for u in [
        "default", "u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9", "nosuch",
    ] {
        s.call(c, &format!("ACL GETUSER {u}"), 1).await;
    }
    hello3(s, c).await;
    for u in ["default", "u1", "u7", "nosuch"] {
        s.call(c, &format!("ACL GETUSER {u}"), 1).await;
    }
    s.call(c, "ACL LIST", 1).await;
});

diff_case!(acl_setuser_errors_change_nothing, |s| {
    let c = s.connect().await;
    s.call(c, "ACL SETUSER e1 on &a", 1).await;
    for rules in [
        "bogus",
        "+nosuch",
        "+@nosuch",
        "-@nosuch",
        "#abc",
        "!abc",
        "#F64551FCD6F07823CB87971CFB91446425DA18286B3AB1EF935E0CBD7A69F68A",
        "<notthere",
        "allchannels &x",
        "allkeys ~x",
        "+client|id|x",
        "+client|",
        "+acl|nosuch",
        "%X~a",
        "%~a",
        "on off >pw +nosuch",
    ] {
        s.call(c, &format!("ACL SETUSER e1 {rules}"), 1).await;
    }
    // Nothing above changed e1, and a failed SETUSER does not create a user.
    s.call(c, "ACL SETUSER e2 on +nosuch", 1).await;
    s.call(c, "ACL GETUSER e1", 1).await;
    s.call(c, "ACL GETUSER e2", 1).await;
    s.callv(c, &[b"ACL", b"SETUSER", b"a b"], 1).await;
    s.callv(c, &[b"ACL", b"SETUSER", b"e3", b"&a b"], 1).await;
    s.callv(c, &[b"ACL", b"SETUSER", b"e3", b"~a b"], 1).await;
    s.callv(c, &[b"ACL", b"SETUSER", b"e3", b""], 1).await;
    s.call(c, "ACL GETUSER e3", 1).await;
    s.call(c, "ACL SETUSER", 1).await;
    s.call(c, "ACL", 1).await;
    s.call(c, "ACL FOO", 1).await;
    s.call(c, "ACL GETUSER", 1).await;
    s.call(c, "ACL GETUSER a b", 1).await;
    s.call(c, "ACL LIST x", 1).await;
    s.call(c, "ACL USERS x", 1).await;
    s.call(c, "ACL WHOAMI x", 1).await;
    s.call(c, "ACL DELUSER", 1).await;
    s.call(c, "ACL DELUSER default", 1).await;
    s.call(c, "ACL DELUSER e1 default", 1).await;
    s.call(c, "ACL USERS", 1).await;
    s.call(c, "ACL DELUSER e1 nosuch e1", 1).await;
    s.call(c, "ACL USERS", 1).await;
    s.call(c, "ACL SAVE", 1).await;
    s.call(c, "ACL LOAD", 1).await;
    s.call(c, "ACL SAVE x", 1).await;
});

diff_case!(acl_cat_genpass_dryrun_whoami, |s| {
    let c = s.connect().await;
    s.call(c, "ACL CAT", 1).await;
    s.call_norm(c, "ACL CAT pubsub", 1, Norm::SortedElements)
        .await;
    s.call_norm(c, "ACL CAT PubSub", 1, Norm::SortedElements)
        .await;
    s.call(c, "ACL CAT nosuch", 1).await;
    s.call(c, "ACL CAT a b", 1).await;
    let hex = Norm::Known(Known::RandomHex);
    for bits in ["", "1", "4", "5", "64", "255", "4096"] {
        s.call_norm(c, &format!("ACL GENPASS {bits}"), 1, hex).await;
    }
    for bits in ["0", "-1", "4097", "abc", "1 2"] {
        s.call(c, &format!("ACL GENPASS {bits}"), 1).await;
    }
    s.call(c, "ACL WHOAMI", 1).await;
    s.call(
        c,
        "ACL SETUSER d on nopass &news.* +@pubsub +ping -pubsub|numpat",
        1,
    )
    .await;
    for cmd in [
        "publish news.1 x",
        "publish foo x",
        "spublish news.x y",
        "subscribe news.a news.b",
        "subscribe news.a other",
        "psubscribe news.*",
        "psubscribe news.1*",
        "ssubscribe other",
        "unsubscribe other",
        "punsubscribe x*",
        "ping",
        "echo x",
        "pubsub numpat",
        "pubsub numsub a",
        "client id",
        "publish a",
        "nosuchcmd",
        "client nosuch",
        "auth a b",
        "hello 3",
    ] {
        s.call_norm(c, &format!("ACL DRYRUN d {cmd}"), 1, NOPERM)
            .await;
    }
    s.call(c, "ACL DRYRUN nosuch ping", 1).await;
    s.call(c, "ACL DRYRUN d", 1).await;
    s.call(c, "ACL DRYRUN default publish any thing", 1).await;
});

diff_case!(acl_auth_as_users, |s| {
    let admin = s.connect().await;
    let c = s.connect().await;
    s.call(admin, "ACL SETUSER alice on >pw1 >pw2 +@all &*", 1)
        .await;
    s.call(admin, "ACL SETUSER bob off >pw +@all", 1).await;
    s.call(admin, "ACL SETUSER carol on nopass +@all", 1).await;
    s.call(c, "ACL WHOAMI", 1).await;
    s.call(c, "AUTH alice wrong", 1).await;
    s.call(c, "AUTH nosuch pw1", 1).await;
    s.call(c, "AUTH bob pw", 1).await; // off: refused
    s.call(c, "ACL WHOAMI", 1).await;
    s.call(c, "AUTH alice pw2", 1).await;
    s.call(c, "ACL WHOAMI", 1).await;
    s.call_norm(c, "CLIENT LIST", 1, CLIENT_LIST).await;
    s.call_norm(c, "CLIENT INFO", 1, CLIENT_LIST).await;
    s.call(c, "AUTH carol anything", 1).await;
    s.call(c, "ACL WHOAMI", 1).await;
    s.call(c, "AUTH onlypassword", 1).await; // default is nopass
    s.call(c, "auth alice bad", 1).await; // ACL LOG object: the command as typed
                                          // HELLO AUTH with users.
    let h = s.connect().await;
    s.call(h, "HELLO 3 AUTH alice bad", 1).await;
    s.call(h, "ACL WHOAMI", 1).await;
    s.call_norm(
        h,
        "HELLO 3 AUTH alice pw1 SETNAME n1",
        1,
        Norm::Known(Known::HelloVersionAndId),
    )
    .await;
    s.call(h, "ACL WHOAMI", 1).await;
    s.call_norm(h, "CLIENT INFO", 1, CLIENT_LIST).await;
    s.call(h, "RESET", 1).await;
    s.call(h, "ACL WHOAMI", 1).await;
    // CLIENT KILL USER.
    s.call(admin, "CLIENT KILL USER nosuch", 1).await;
    s.call(admin, "CLIENT KILL USER carol", 1).await;
    s.eof(c).await;
    s.call_norm(admin, "ACL LOG 3", 1, LOG).await;
});

diff_case!(
    acl_requirepass_is_the_default_users_password,
    ["--requirepass", "s3cret"],
    |s| {
        let c = s.connect().await;
        s.call(c, "PING", 1).await;
        s.call(c, "ACL WHOAMI", 1).await;
        s.call(c, "AUTH default wrong", 1).await;
        s.call(c, "AUTH s3cret", 1).await;
        s.call(c, "ACL GETUSER default", 1).await;
        s.call(c, "ACL LIST", 1).await;
        s.call(c, "ACL SETUSER default nopass", 1).await;
        let d = s.connect().await;
        s.call(d, "PING", 1).await; // default needs no password now
        s.call(c, "ACL SETUSER default resetpass >other", 1).await;
        let e = s.connect().await;
        s.call(e, "PING", 1).await;
        s.call(e, "AUTH other", 1).await;
        s.call(c, "CONFIG SET requirepass newpass", 1).await;
        s.call(c, "ACL GETUSER default", 1).await;
        s.call(c, "ACL SETUSER default off", 1).await;
        let f = s.connect().await;
        s.call(f, "AUTH newpass", 1).await;
        s.call(c, "ACL SETUSER default on nopass", 1).await;
        s.call(c, "CONFIG SET requirepass \"\"", 1).await;
        s.call(c, "ACL GETUSER default", 1).await;
    }
);

/// The user of the channel cases: news.* channels, pub/sub commands, PING.
const NEWS_USER: &str =
    "ACL SETUSER n on >pw &news.* &ex.act +@pubsub +ping +acl|whoami +multi +exec +discard";

diff_case!(acl_channel_denials_resp2, |s| {
    let admin = s.connect().await;
    let c = s.connect().await;
    s.call(admin, NEWS_USER, 1).await;
    s.call(c, "AUTH n pw", 1).await;
    s.call_norm(c, "PUBLISH other x", 1, NOPERM).await;
    s.call(c, "PUBLISH news.1 x", 1).await;
    s.call(c, "PUBLISH ex.act x", 1).await;
    s.call_norm(c, "SPUBLISH exact x", 1, NOPERM).await;
    s.call_norm(c, "ECHO x", 1, NOPERM).await;
    s.call_norm(c, "CLIENT ID", 1, NOPERM).await;
    // One denied channel refuses the whole command: no confirmation for news.a.
    s.call_norm(c, "SUBSCRIBE news.a other news.b", 1, NOPERM)
        .await;
    s.call_norm(c, "PSUBSCRIBE news.1*", 1, NOPERM).await;
    s.call_norm(c, "PSUBSCRIBE news.* news.1*", 1, NOPERM).await;
    s.call_norm(c, "SSUBSCRIBE other", 1, NOPERM).await;
    s.call(c, "SUBSCRIBE news.a news.b", 2).await;
    s.call(c, "PSUBSCRIBE news.*", 1).await;
    s.call(c, "SSUBSCRIBE news.s", 1).await;
    // In RESP2 subscribe mode the ACL check comes before the context check.
    s.call_norm(c, "ECHO x", 1, NOPERM).await;
    s.call_norm(c, "SUBSCRIBE other", 1, NOPERM).await;
    s.call(c, "PING", 1).await;
    // Unsubscribing is never checked.
    s.call(c, "UNSUBSCRIBE other news.a", 2).await;
    s.call(c, "PUNSUBSCRIBE x* news.*", 2).await;
    s.call(c, "SUNSUBSCRIBE other", 1).await;
    s.call(admin, "PUBLISH news.b hello", 1).await;
    s.read(c, 1).await;
});

diff_case!(acl_channel_denials_resp3, |s| {
    let admin = s.connect().await;
    let c = s.connect().await;
    s.call(admin, NEWS_USER, 1).await;
    s.call(c, "AUTH n pw", 1).await;
    hello3(s, c).await;
    s.call_norm(c, "PUBLISH other x", 1, NOPERM).await;
    s.call(c, "SUBSCRIBE news.a", 1).await;
    s.call_norm(c, "SUBSCRIBE other news.b", 1, NOPERM).await;
    s.call_norm(c, "PSUBSCRIBE news.1*", 1, NOPERM).await;
    // Reply and own message: 7.0 writes the message first (row "self-publish-order").
    s.call_norm(
        c,
        "PUBLISH news.a self",
        2,
        Norm::Known(Known::SelfPublishOrder),
    )
    .await;
    s.call(c, "ACL WHOAMI", 1).await;
});

diff_case!(acl_denials_in_multi, |s| {
    let admin = s.connect().await;
    let c = s.connect().await;
    s.call(admin, NEWS_USER, 1).await;
    s.call(c, "AUTH n pw", 1).await;
    s.call(c, "MULTI", 1).await;
    s.call(c, "PUBLISH news.1 ok", 1).await;
    s.call_norm(c, "PUBLISH other x", 1, NOPERM).await;
    s.call_norm(c, "ECHO x", 1, NOPERM).await;
    s.call(c, "EXEC", 1).await;
    s.call(c, "MULTI", 1).await;
    s.call(c, "PUBLISH news.1 ok", 1).await;
    s.call(c, "EXEC", 1).await;
    s.call_norm(admin, "ACL LOG", 1, LOG).await;
    // Permissions are checked again at EXEC: what was taken away since queueing fails
    // there, the rest runs.
    s.call(c, "MULTI", 1).await;
    s.call(c, "PUBLISH news.1 x", 1).await;
    s.call(c, "PING", 1).await;
    s.call(c, "PUBLISH ex.act y", 1).await;
    s.call(admin, "ACL SETUSER n resetchannels &ex.act -ping", 1)
        .await;
    s.call(c, "EXEC", 1).await;
    s.call(admin, "ACL LOG RESET", 1).await;
    s.call(c, "MULTI", 1).await;
    s.call(c, "PUBLISH ex.act x", 1).await;
    s.call(admin, "ACL SETUSER n -publish +ping", 1).await;
    s.call(c, "EXEC", 1).await;
    s.call_norm(admin, "ACL LOG", 1, LOG).await;
});

diff_case!(acl_log_entries_and_reset, ["--acllog-max-len", "3"], |s| {
    let admin = s.connect().await;
    let c = s.connect().await;
    s.call(admin, NEWS_USER, 1).await;
    s.call(admin, "ACL LOG", 1).await;
    s.call(c, "AUTH n wrong", 1).await;
    s.call(c, "AUTH nosuch x", 1).await;
    s.call(c, "AUTH n pw", 1).await;
    s.call_norm(c, "PUBLISH other x", 1, NOPERM).await;
    s.call_norm(c, "PUBLISH other y", 1, NOPERM).await; // grouped: count 2
    s.call_norm(admin, "ACL LOG", 1, LOG).await;
    s.call_norm(c, "SUBSCRIBE news.a bad1 bad2", 1, NOPERM)
        .await; // object: first denied
    s.call_norm(c, "ECHO x", 1, NOPERM).await;
    s.call_norm(admin, "ACL LOG", 1, LOG).await; // at most 3
    s.call_norm(admin, "ACL LOG 1", 1, LOG).await;
    s.call_norm(admin, "ACL LOG 0", 1, LOG).await;
    s.call_norm(admin, "ACL LOG -1", 1, LOG).await;
    s.call(admin, "ACL LOG x", 1).await;
    s.call(admin, "ACL LOG 1 2", 1).await;
    s.call(admin, "ACL LOG reset", 1).await;
    s.call(admin, "ACL LOG", 1).await;
    hello3(s, admin).await;
    s.call_norm(c, "PUBLISH other x", 1, NOPERM).await;
    s.call_norm(admin, "ACL LOG", 1, LOG).await;
    s.call_norm(admin, "CONFIG GET acl*", 1, Norm::SortedElements)
        .await;
});

diff_case!(acl_revocation_kills_only_affected_subscribers, |s| {
    let admin = s.connect().await;
    let chan = s.connect().await;
    let pat = s.connect().await;
    let kept = s.connect().await;
    let idle = s.connect().await;
    let other_user = s.connect().await;
    s.call(admin, "ACL SETUSER r on >pw +@all &a* &b* &c*", 1)
        .await;
    s.call(admin, "ACL SETUSER o on >pw +@all &a*", 1).await;
    for c in [chan, pat, kept, idle] {
        s.call(c, "AUTH r pw", 1).await;
    }
    s.call(other_user, "AUTH o pw", 1).await;
    s.call(chan, "SUBSCRIBE a1", 1).await;
    s.call(pat, "PSUBSCRIBE a*", 1).await;
    s.call(kept, "SUBSCRIBE b1", 1).await;
    s.call(other_user, "SUBSCRIBE a1", 1).await;
    // Pardoned: only adds a pattern.
    s.call(admin, "ACL SETUSER r &d*", 1).await;
    s.call(chan, "PING", 1).await;
    // Pardoned: every old pattern still present literally, even though reordered.
    s.call(admin, "ACL SETUSER r resetchannels &d* &c* &b* &a*", 1)
        .await;
    s.call(pat, "PING", 1).await;
    // a* goes: the a1 subscriber and the a* pattern subscriber are closed at once, with
    // no message; the b1 subscriber, a client without subscriptions and another user's
    // subscriber are kept.
    s.call(admin, "ACL SETUSER r resetchannels &b* &c*", 1)
        .await;
    s.eof(chan).await;
    s.eof(pat).await;
    s.call(kept, "PING", 1).await;
    s.call(idle, "PING", 1).await;
    s.call(admin, "PUBLISH a1 still-there", 1).await;
    s.read(other_user, 1).await;
    // A pattern is kept only if the same pattern is still allowed literally.
    let p2 = s.connect().await;
    s.call(p2, "AUTH r pw", 1).await;
    s.call(admin, "ACL SETUSER r &b1*", 1).await;
    s.call(p2, "PSUBSCRIBE b1*", 1).await;
    s.call_norm(p2, "PSUBSCRIBE b1*x", 1, NOPERM).await;
    s.call(admin, "ACL SETUSER r resetchannels &b* &c* &b1*", 1)
        .await;
    s.call(p2, "PING", 1).await;
    s.call(admin, "ACL SETUSER r resetchannels &b*", 1).await; // b1* pattern itself no longer listed
    s.eof(p2).await;
    s.call(kept, "PING", 1).await;
    // allchannels pardons everyone.
    s.call(admin, "ACL SETUSER r allchannels", 1).await;
    s.call(kept, "PING", 1).await;
    // DELUSER closes every client of the user, subscribed or not.
    s.call(admin, "ACL DELUSER r", 1).await;
    s.eof(kept).await;
    s.eof(idle).await;
    s.call(other_user, "PING", 1).await;
});

diff_case!(acl_revocation_of_shard_channels_and_default_user, |s| {
    let admin = s.connect().await;
    let shard = s.connect().await;
    let plain = s.connect().await;
    s.call(shard, "SSUBSCRIBE s1", 1).await;
    s.call(plain, "PING", 1).await;
    // The default user loses allchannels: its shard subscriber goes.
    s.call(admin, "ACL SETUSER default resetchannels &x*", 1)
        .await;
    s.eof(shard).await;
    s.call(plain, "PING", 1).await;
    s.call(admin, "PING", 1).await;
    s.call_norm(admin, "PUBLISH s1 x", 1, NOPERM).await;
    s.call(admin, "ACL SETUSER default allchannels", 1).await;
});

diff_case!(acl_new_users_follow_acl_pubsub_default, |s| {
    let c = s.connect().await;
    s.call(c, "CONFIG GET acl-pubsub-default", 1).await;
    s.call(c, "ACL SETUSER before", 1).await;
    s.call(c, "CONFIG SET acl-pubsub-default allchannels", 1)
        .await;
    s.call(c, "ACL SETUSER after", 1).await;
    s.call(c, "ACL SETUSER before2 reset", 1).await;
    s.call(c, "ACL GETUSER before", 1).await;
    s.call(c, "ACL GETUSER after", 1).await;
    s.call(c, "ACL GETUSER before2", 1).await;
    s.call(c, "CONFIG SET acl-pubsub-default resetchannels", 1)
        .await;
    s.call(c, "ACL LIST", 1).await;
});
