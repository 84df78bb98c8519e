//! Admin and fixture commands (issue 8): MEMORY, ROLE, LASTSAVE, FUNCTION and SCRIPT
//! as a server without functions or scripts answers them, the fixture commands test
//! harnesses send between tests, CLIENT TRACKING and friends, CLIENT PAUSE (which
//! commands are held), SHUTDOWN's argument errors, and MONITOR's lines.
//! SHUTDOWN itself, MEMORY MALLOC-STATS and the pause timing are in tests/admin.rs.

use crate::hello3;
use crate::known_differences::Known;
use crate::Norm;

diff_case!(memory_usage_doctor_help_and_errors, |s| {
    let c = s.connect().await;
    for w in [
        "MEMORY USAGE foo",
        "MEMORY USAGE foo SAMPLES 5",
        "MEMORY USAGE foo SAMPLES 0 SAMPLES 1",
        "MEMORY USAGE foo SAMPLES -1",
        "MEMORY USAGE foo SAMPLES x",
        "MEMORY USAGE foo SAMPLES",
        "MEMORY USAGE foo x",
        "MEMORY USAGE",
        "MEMORY DOCTOR",
        "MEMORY DOCTOR x",
        "MEMORY STATS x",
        "MEMORY PURGE",
        "MEMORY HELP",
        "MEMORY",
        "MEMORY nosuch",
    ] {
        s.call(c, w, 1).await;
    }
    hello3(s, c).await;
    s.call(c, "MEMORY USAGE foo", 1).await; // _ in RESP3
    s.call(c, "MEMORY DOCTOR", 1).await; // verbatim string in RESP3
});

diff_case!(memory_stats_fields_and_types, |s| {
    let c = s.connect().await;
    s.call_norm(c, "MEMORY STATS", 1, Norm::Known(Known::MemoryStatsValues))
        .await;
    hello3(s, c).await;
    // RESP3: a map, the ratios as doubles.
    s.call_norm(c, "MEMORY STATS", 1, Norm::Known(Known::MemoryStatsValues))
        .await;
});

diff_case!(role_and_lastsave, |s| {
    let c = s.connect().await;
    s.call(c, "ROLE", 1).await;
    s.call(c, "ROLE x", 1).await;
    s.call_norm(c, "LASTSAVE", 1, Norm::Known(Known::ServerTime))
        .await;
    s.call(c, "LASTSAVE x", 1).await;
    hello3(s, c).await;
    s.call(c, "ROLE", 1).await;
});

diff_case!(function_and_script_as_a_server_without_any, |s| {
    let c = s.connect().await;
    for w in [
        "FUNCTION LIST",
        "FUNCTION LIST WITHCODE",
        "FUNCTION LIST LIBRARYNAME mylib",
        "FUNCTION LIST withcode libraryname x*",
        "FUNCTION LIST x",
        "FUNCTION LIST LIBRARYNAME",
        "FUNCTION LIST WITHCODE WITHCODE",
        "FUNCTION LIST LIBRARYNAME a LIBRARYNAME b",
        "FUNCTION STATS",
        "FUNCTION STATS x",
        "FUNCTION FLUSH",
        "FUNCTION FLUSH ASYNC",
        "FUNCTION FLUSH sync",
        "FUNCTION FLUSH x",
        "FUNCTION FLUSH ASYNC SYNC",
        "FUNCTION KILL",
        "FUNCTION HELP",
        "FUNCTION",
        "FUNCTION nosuch",
        "SCRIPT FLUSH",
        "SCRIPT FLUSH ASYNC",
        "SCRIPT FLUSH SYNC",
        "SCRIPT FLUSH x",
        "SCRIPT FLUSH ASYNC SYNC",
        "SCRIPT EXISTS e0e1f9fabfc9d4800c877a703b823ac0578ff8db",
        "SCRIPT EXISTS a b c",
        "SCRIPT EXISTS",
        "SCRIPT KILL",
        "SCRIPT HELP",
        "SCRIPT nosuch",
    ] {
        s.call(c, w, 1).await;
    }
    hello3(s, c).await;
    s.call(c, "FUNCTION STATS", 1).await; // maps and a RESP3 null
    s.call(c, "FUNCTION LIST", 1).await;
    s.call(c, "SCRIPT EXISTS a", 1).await;
});

// What redis-py's, ioredis's, node-redis's and go-redis's own test suites send between
// tests (redis-py conftest: FLUSHDB at teardown; ioredis test/helpers/global.ts: a
// pipeline of FLUSHALL, SCRIPT FLUSH, CLIENT KILL normal after each test; node-redis
// test-utils: FLUSHALL before and after; go-redis: SELECT 15 and FLUSHDB in BeforeEach),
// on a server without keys: every answer is the empty keyspace's.
diff_case!(fixture_commands_between_tests, |s| {
    let c = s.connect().await;
    let ioredis_after_each = b"*1\r\n$8\r\nFLUSHALL\r\n*2\r\n$6\r\nSCRIPT\r\n$5\r\nFLUSH\r\n\
        *3\r\n$6\r\nCLIENT\r\n$4\r\nKILL\r\n$6\r\nnormal\r\n";
    s.send(c, ioredis_after_each).await;
    s.read(c, 3).await;
    for w in [
        "FLUSHALL",
        "FLUSHALL ASYNC",
        "FLUSHALL SYNC",
        "FLUSHDB",
        "FLUSHDB ASYNC",
        "FLUSHDB SYNC",
        "FLUSHALL x",
        "DBSIZE",
        "SCRIPT FLUSH",
        "FUNCTION FLUSH",
        "CLIENT NO-EVICT on",
        "CLIENT NO-EVICT OFF",
        "CLIENT NO-EVICT x",
        "CLIENT UNPAUSE",
        "CLIENT TRACKING off",
        "SELECT 9",
        "FLUSHDB",
        "DBSIZE",
    ] {
        s.call(c, w, 1).await;
    }
});

diff_case!(client_tracking_options_and_errors, |s| {
    let c = s.connect().await;
    for w in [
        "CLIENT TRACKINGINFO",
        "CLIENT GETREDIR",
        "CLIENT CACHING yes",
        "CLIENT TRACKING on",
        "CLIENT TRACKINGINFO",
        "CLIENT GETREDIR",
        "CLIENT TRACKING on BCAST",
        "CLIENT TRACKING off",
        "CLIENT TRACKINGINFO",
        "CLIENT TRACKING on BCAST PREFIX a PREFIX b NOLOOP",
        "CLIENT TRACKINGINFO",
        "CLIENT TRACKING on BCAST PREFIX ab",
        "CLIENT TRACKING on BCAST PREFIX c",
        "CLIENT TRACKINGINFO",
        "CLIENT TRACKING on noloop",
        "CLIENT TRACKING OFF",
        "CLIENT TRACKING on BCAST PREFIX ab PREFIX a",
        "CLIENT TRACKING on BCAST PREFIX a PREFIX a",
        "CLIENT TRACKING on BCAST OPTIN",
        "CLIENT TRACKING on OPTIN OPTOUT",
        "CLIENT TRACKING on PREFIX a",
        "CLIENT TRACKING on REDIRECT 999999",
        "CLIENT TRACKING on REDIRECT x",
        "CLIENT TRACKING on REDIRECT",
        "CLIENT TRACKING on FOO",
        "CLIENT TRACKING maybe",
        "CLIENT TRACKING",
        "CLIENT TRACKINGINFO",
        "CLIENT TRACKING on OPTIN",
        "CLIENT CACHING no",
        "CLIENT CACHING yes",
        "CLIENT TRACKINGINFO", // caching-yes survives a CLIENT subcommand
        "PING",
        "CLIENT TRACKINGINFO", // and not another command
        "CLIENT TRACKING on OPTOUT",
        "CLIENT TRACKING off",
        "CLIENT TRACKING on OPTOUT",
        "CLIENT CACHING yes",
        "CLIENT CACHING no",
        "CLIENT CACHING x",
        "CLIENT TRACKINGINFO",
    ] {
        s.call(c, w, 1).await;
    }
    // CLIENT LIST shows tracking as flag t (B for BCAST) and the redirect as redir=.
    s.call_norm(c, "CLIENT INFO", 1, Norm::Known(Known::ClientListValues))
        .await;
    s.call(c, "CLIENT TRACKING on BCAST", 1).await;
    s.call_norm(c, "CLIENT INFO", 1, Norm::Known(Known::ClientListValues))
        .await;
    s.call(c, "CLIENT TRACKING off", 1).await;
    s.call_norm(c, "CLIENT INFO", 1, Norm::Known(Known::ClientListValues))
        .await;
    hello3(s, c).await;
    s.call(c, "CLIENT TRACKINGINFO", 1).await; // flags as a RESP3 set
    s.call(c, "RESET", 1).await; // RESET turns tracking off
    s.call(c, "CLIENT TRACKINGINFO", 1).await;
});

// CLIENT PAUSE WRITE holds PUBLISH, SPUBLISH, FLUSHALL and a PUBLISH queued in MULTI
// until UNPAUSE; SUBSCRIBE, PING and PUBSUB go on. The held PUBLISH takes effect after
// the SUBSCRIBE another client made during the pause (:2), which shows it was held.
diff_case!(client_pause_write_holds_writes_only, |s| {
    let admin = s.connect().await;
    let sub = s.connect().await;
    let publisher = s.connect().await;
    let late = s.connect().await;
    let tx = s.connect().await;
    let flusher = s.connect().await;
    s.call(sub, "SUBSCRIBE x", 1).await;
    s.call(tx, "MULTI", 1).await;
    s.call(admin, "CLIENT PAUSE 20000 WRITE", 1).await;
    s.send(publisher, &crate::support::line("PUBLISH x held"))
        .await;
    s.send(tx, &crate::support::line("PUBLISH x queued")).await;
    s.send(flusher, &crate::support::line("FLUSHALL")).await;
    s.call(late, "PING", 1).await;
    s.call(late, "SUBSCRIBE x", 1).await;
    s.call(admin, "PUBSUB NUMSUB x", 1).await;
    s.call(admin, "PUBLISH x", 1).await; // arity errors are not held
    s.call(admin, "CLIENT UNPAUSE", 1).await;
    s.read(publisher, 1).await; // :2
    s.read(sub, 1).await;
    s.read(late, 1).await;
    s.read(tx, 1).await; // +QUEUED, once the pause ended
    s.read(flusher, 1).await;
    s.call(tx, "EXEC", 1).await;
    s.read(sub, 1).await;
    s.read(late, 1).await;
});

// CLIENT PAUSE ALL holds every command that passed the pre-checks, the pausing
// client's own CLIENT UNPAUSE included; it ends with its timeout. Rejected commands
// (unknown, wrong arity) answer at once.
diff_case!(client_pause_all_holds_everything_until_the_timeout, |s| {
    let admin = s.connect().await;
    let c = s.connect().await;
    s.call(admin, "CLIENT PAUSE 300 ALL", 1).await;
    s.call(c, "NOSUCH", 1).await;
    s.call(c, "SUBSCRIBE", 1).await;
    s.send(c, &crate::support::line("PING x y")).await;
    s.send(admin, &crate::support::line("CLIENT UNPAUSE")).await;
    s.read(c, 1).await; // ping's own arity error, after the pause
    s.read(admin, 1).await;
    s.call(c, "PING", 1).await;
});

diff_case!(client_pause_argument_errors, |s| {
    let c = s.connect().await;
    for w in [
        "CLIENT PAUSE x",
        "CLIENT PAUSE -1",
        "CLIENT PAUSE 10 x",
        "CLIENT PAUSE x x",
        "CLIENT PAUSE 10 ALL x",
        "CLIENT PAUSE",
        "CLIENT UNPAUSE x",
        "CLIENT PAUSE 0",
        "CLIENT UNPAUSE",
        "PING",
    ] {
        s.call(c, w, 1).await;
    }
});

diff_case!(shutdown_argument_errors_and_abort, |s| {
    let c = s.connect().await;
    for w in [
        "SHUTDOWN x",
        "SHUTDOWN NOSAVE SAVE",
        "SHUTDOWN ABORT NOW",
        "SHUTDOWN ABORT NOSAVE",
        "SHUTDOWN ABORT",
        "SHUTDOWN abort abort",
        "MULTI",
        "SHUTDOWN",
        "EXEC",
        "PING",
    ] {
        s.call(c, w, 1).await;
    }
});

diff_case!(monitor_lines_quoting_redaction_and_admin_commands, |s| {
    let m = s.connect().await;
    let c = s.connect().await;
    let line = Norm::Known(Known::MonitorLine);
    s.call(m, "MONITOR", 1).await;
    s.call(c, "PING", 1).await;
    s.read_norm(m, 1, line).await;
    s.callv(
        c,
        &[b"PUBLISH", b"a\n\r\t\x07\x08\x00\xff\"\\ b~", b"123"],
        1,
    )
    .await;
    s.read_norm(m, 1, line).await;
    s.call(c, "AUTH secret", 1).await;
    s.read_norm(m, 1, line).await;
    s.call(c, "AUTH user secret", 1).await;
    s.read_norm(m, 1, line).await;
    s.call_norm(
        c,
        "HELLO 2 AUTH default secret",
        1,
        Norm::Known(Known::HelloVersionAndId),
    )
    .await;
    s.read_norm(m, 1, line).await;
    // Admin commands and rejected ones are not shown: the next line is CLIENT ID's.
    s.call_norm(c, "CLIENT LIST", 1, Norm::Known(Known::ClientListValues))
        .await; // the monitor's flags=O
    s.call(c, "CONFIG GET timeout", 1).await;
    s.call(c, "CLIENT PAUSE 1 WRITE", 1).await;
    s.call(c, "SHUTDOWN ABORT", 1).await;
    s.call(c, "NOSUCH x", 1).await;
    s.call(c, "ECHO", 1).await;
    s.call_norm(c, "CLIENT ID", 1, Norm::Known(Known::ClientId))
        .await;
    s.read_norm(m, 1, line).await;
    s.call(c, "PING x y", 1).await; // fails in the command itself: shown
    s.read_norm(m, 1, line).await;
    s.call(c, "SELECT 3", 1).await;
    s.read_norm(m, 1, line).await;
    s.call(c, "ECHO -5", 1).await;
    s.read_norm(m, 1, line).await;
    // MULTI is shown when it runs, the queued command when EXEC runs it, then EXEC.
    s.call(c, "MULTI", 1).await;
    s.call(c, "PUBLISH ch m", 1).await;
    s.read_norm(m, 1, line).await;
    s.call(c, "EXEC", 1).await;
    s.read_norm(m, 2, line).await;
    s.call(c, "SUBSCRIBE q", 1).await;
    s.call(c, "PING", 1).await;
    s.call(c, "UNSUBSCRIBE", 1).await;
    s.read_norm(m, 3, line).await;
    s.call(c, "RESET", 1).await;
    s.read_norm(m, 1, line).await;
    // The monitor's own command: its reply, then its line.
    s.call(m, "PING", 1).await;
    s.read_norm(m, 1, line).await;
    // A second MONITOR is ignored without a reply.
    s.send(m, &crate::support::line("MONITOR")).await;
    s.call(m, "ECHO after", 1).await;
    s.read_norm(m, 1, line).await;
    s.call(c, "QUIT", 1).await;
    s.read_norm(m, 1, line).await;
    s.close(m).await;
});

diff_case!(monitor_resp3_reset_and_multi, |s| {
    let m = s.connect().await;
    let c = s.connect().await;
    let line = Norm::Known(Known::MonitorLine);
    hello3(s, m).await;
    s.call(m, "MONITOR", 1).await;
    s.call(c, "ECHO x", 1).await;
    s.read_norm(m, 1, line).await; // a simple string in RESP3 too, not a push
                                   // RESET ends monitoring; the RESET itself is not shown to the client that reset.
    s.call(m, "RESET", 1).await;
    s.call(c, "ECHO y", 1).await;
    s.call(m, "PING", 1).await; // +PONG, no line for ECHO y
    s.call(m, "MULTI", 1).await;
    s.call(m, "MONITOR", 1).await;
    s.call(m, "EXEC", 1).await; // MONITOR isn't allowed for DENY BLOCKING client
    s.call(c, "ECHO z", 1).await;
    s.call(m, "PING", 1).await;
});
