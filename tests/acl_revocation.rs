//! ACL users across the ACL file and config lines: ACL SAVE / ACL LOAD, revocation on
//! LOAD, `user` lines, `user` + `aclfile` refused at start, and the exact Redis 7.2
//! NOPERM texts. Every check runs against respub and against redis-server (7.0.15);
//! where 7.0 and 7.2 differ the expectation says which server does what and why.
//!
//! (Revocation by ACL SETUSER / DELUSER, with the pardon rules, is compared frame by
//! frame in tests/differential/acl.rs.)

mod support;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::{cmd, Client, Kind, Server};

const KINDS: [Kind; 2] = [Kind::Respub, Kind::Redis];

/// A fresh directory for one server's ACL file (each server gets its own: ACL SAVE of
/// one must not race the other).
fn acl_dir(test: &str, kind: Kind) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "respub-acl-{test}-{}-{}",
        kind.label(),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create test dir");
    dir
}

async fn ok(c: &mut Client, args: &[&str]) {
    c.roundtrip(&cmd(args), b"+OK\r\n").await;
}

const PW_SHA256: &str = "1c8bfe8f801d79745c4631d09fff36c82aa37fc4cce4fc946683d7b336b63032"; // "letmein"

#[tokio::test]
async fn acl_save_writes_the_file_and_acl_load_reads_it_back() {
    for kind in KINDS {
        let dir = acl_dir("save", kind);
        let file = dir.join("users.acl");
        std::fs::write(&file, "user default on nopass ~* &* +@all\n").unwrap();
        let server = Server::start(kind, &["--aclfile", file.to_str().unwrap()]).await;
        let mut admin = server.connect().await;
        ok(
            &mut admin,
            &[
                "ACL", "SETUSER", "alice", "on", ">letmein", "&news.*", "+@pubsub",
            ],
        )
        .await;
        ok(&mut admin, &["ACL", "SAVE"]).await;
        let saved = std::fs::read_to_string(&file).unwrap();
        assert_eq!(
            saved,
            format!(
                "user alice on #{PW_SHA256} resetchannels &news.* -@all +@pubsub\n\
                 user default on nopass ~* &* +@all\n"
            ),
            "{}: ACL SAVE text",
            kind.label()
        );
        // Passwords are stored as SHA-256 only.
        assert!(!saved.contains("letmein"));
        admin
            .roundtrip(&cmd(&["ACL", "DELUSER", "alice"]), b":1\r\n")
            .await;
        ok(&mut admin, &["ACL", "LOAD"]).await;
        let mut alice = server.connect().await;
        ok(&mut alice, &["AUTH", "alice", "letmein"]).await;
        alice
            .roundtrip(&cmd(&["PUBLISH", "news.1", "x"]), b":0\r\n")
            .await;
        // A bad file changes nothing, and every bad line is reported.
        std::fs::write(
            &file,
            "user alice on\nfoo bar\nuser b +nosuch\nuser alice off\n",
        )
        .unwrap();
        let path = file.display();
        let want = format!(
            "-ERR {path}:2 should start with user keyword followed by the username. {path}:3: \
             Error in applying operation '+nosuch': Unknown command or category name in ACL. \
             WARNING: Duplicate user 'alice' found on line 4. WARNING: ACL errors detected, no \
             change to the previously active ACL rules was performed\r\n"
        );
        admin
            .roundtrip(&cmd(&["ACL", "LOAD"]), want.as_bytes())
            .await;
        alice
            .roundtrip(&cmd(&["PUBLISH", "news.1", "x"]), b":0\r\n")
            .await;
        std::fs::remove_file(&file).unwrap();
        let want = format!(
            "-ERR Error loading ACLs, opening file '{path}': No such file or directory\r\n"
        );
        admin
            .roundtrip(&cmd(&["ACL", "LOAD"]), want.as_bytes())
            .await;
        drop(server);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[tokio::test]
async fn acl_load_closes_clients_whose_channels_shrank() {
    for kind in KINDS {
        let dir = acl_dir("load", kind);
        let file = dir.join("users.acl");
        let users = |b_channels: &str| {
            format!(
                "user default on nopass ~* &* +@all\n\
                 user a on >pw &x* +@all\n\
                 user b on >pw {b_channels} +@all\n"
            )
        };
        std::fs::write(&file, users("&y*")).unwrap();
        let server = Server::start(kind, &["--aclfile", file.to_str().unwrap()]).await;
        let mut a_sub = server.connect().await;
        ok(&mut a_sub, &["AUTH", "a", "pw"]).await;
        a_sub
            .roundtrip(
                &cmd(&["SUBSCRIBE", "x1"]),
                b"*3\r\n$9\r\nsubscribe\r\n$2\r\nx1\r\n:1\r\n",
            )
            .await;
        let mut b_sub = server.connect().await;
        ok(&mut b_sub, &["AUTH", "b", "pw"]).await;
        b_sub
            .roundtrip(
                &cmd(&["SUBSCRIBE", "y1"]),
                b"*3\r\n$9\r\nsubscribe\r\n$2\r\ny1\r\n:1\r\n",
            )
            .await;
        let mut plain = server.connect().await;
        plain.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;
        // b loses y*: its subscriber goes. a is unchanged.
        std::fs::write(&file, users("&z*")).unwrap();
        let mut admin = server.connect().await;
        ok(&mut admin, &["ACL", "LOAD"]).await;
        b_sub.expect_eof().await;
        match kind {
            // Redis 7.2 (and respub): a's permissions did not shrink, its client stays.
            Kind::Respub => {
                a_sub
                    .roundtrip(&cmd(&["PING"]), b"*2\r\n$4\r\npong\r\n$0\r\n\r\n")
                    .await
            }
            // Redis 7.0 closes every client of every user ACL LOAD replaced.
            Kind::Redis => a_sub.expect_eof().await,
        }
        // The default user's clients stay in both.
        plain.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;
        admin
            .roundtrip(
                &cmd(&["ACL", "USERS"]),
                b"*3\r\n$1\r\na\r\n$1\r\nb\r\n$7\r\ndefault\r\n",
            )
            .await;
        drop(server);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[tokio::test]
async fn user_lines_create_users_at_start() {
    for kind in KINDS {
        let server = Server::start(
            kind,
            &[
                "--user", "alice", "on", ">letmein", "&news.*", "+@pubsub", "+ping", "--user",
                "default", "on", "nopass", "~*", "&*", "+@all",
            ],
        )
        .await;
        let mut c = server.connect().await;
        let alice =
            format!("user alice on #{PW_SHA256} resetchannels &news.* -@all +@pubsub +ping");
        // A `user default` line resets the built-in user first: `sanitize-payload` shows.
        let default = "user default on nopass sanitize-payload ~* &* +@all";
        let want = format!(
            "*2\r\n${}\r\n{alice}\r\n${}\r\n{default}\r\n",
            alice.len(),
            default.len()
        );
        c.roundtrip(&cmd(&["ACL", "LIST"]), want.as_bytes()).await;
        ok(&mut c, &["AUTH", "alice", "letmein"]).await;
        c.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;
        // Without an ACL file there is nothing to save to or load from.
        ok(&mut c, &["AUTH", "default", "x"]).await;
        c.roundtrip(&cmd(&["ACL", "SAVE"]), b"-ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.\r\n").await;
    }
}

#[tokio::test]
async fn user_lines_and_an_aclfile_refuse_to_start() {
    for kind in KINDS {
        let dir = acl_dir("both", kind);
        let file = dir.join("users.acl");
        std::fs::write(&file, "user default on nopass ~* &* +@all\n").unwrap();
        let port = support::free_port().to_string();
        let mut child = Command::new(kind.program())
            .args(["--port", &port, "--save", "", "--appendonly", "no"])
            .args(["--user", "alice on", "--aclfile", file.to_str().unwrap()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn server");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(s) = child.try_wait().expect("try_wait") {
                break s;
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{}: started with both user lines and an aclfile",
                    kind.label()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(!status.success(), "{}", kind.label());
        let out = child.wait_with_output().expect("output");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains("users defined in redis.conf") && text.contains("ACL file"),
            "{}: {text}",
            kind.label()
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// The exact texts respub sends are Redis 7.2's (tests/differential/acl.rs compares
/// them with 7.0's through the "acl-noperm-text" mask); redis-server 7.0.15 is checked
/// for its own wording so the scenario itself is proven.
#[tokio::test]
async fn noperm_texts_are_redis_7_2s() {
    for kind in KINDS {
        let server = Server::start(kind, &[]).await;
        let mut admin = server.connect().await;
        ok(
            &mut admin,
            &[
                "ACL", "SETUSER", "n", "on", ">pw", "&news.*", "+@pubsub", "+multi", "+exec",
            ],
        )
        .await;
        let mut c = server.connect().await;
        ok(&mut c, &["AUTH", "n", "pw"]).await;
        let (cmd_text, chan_text, dry_cmd, dry_chan): (&[u8], &[u8], &str, &str) = match kind {
            Kind::Respub => (
                b"-NOPERM User n has no permissions to run the 'ping' command\r\n",
                b"-NOPERM No permissions to access a channel\r\n",
                "User n has no permissions to run the 'ping' command",
                "User n has no permissions to access the 'other' channel",
            ),
            Kind::Redis => (
                b"-NOPERM this user has no permissions to run the 'ping' command\r\n",
                b"-NOPERM this user has no permissions to access one of the channels used as arguments\r\n",
                "This user has no permissions to run the 'ping' command",
                "This user has no permissions to access the 'other' channel",
            ),
        };
        c.roundtrip(&cmd(&["PING"]), cmd_text).await;
        c.roundtrip(&cmd(&["PUBLISH", "other", "x"]), chan_text)
            .await;
        c.roundtrip(&cmd(&["SUBSCRIBE", "news.1", "other"]), chan_text)
            .await;
        ok(&mut c, &["MULTI"]).await;
        c.roundtrip(&cmd(&["PUBLISH", "other", "x"]), chan_text)
            .await;
        c.roundtrip(
            &cmd(&["EXEC"]),
            b"-EXECABORT Transaction discarded because of previous errors.\r\n",
        )
        .await;
        let bulk = |t: &str| format!("${}\r\n{t}\r\n", t.len()).into_bytes();
        admin
            .roundtrip(&cmd(&["ACL", "DRYRUN", "n", "ping"]), &bulk(dry_cmd))
            .await;
        admin
            .roundtrip(
                &cmd(&["ACL", "DRYRUN", "n", "publish", "other", "x"]),
                &bulk(dry_chan),
            )
            .await;
        // INFO counts the denials (acl_access_denied_*, added in Redis 7.2).
        let mut bad = server.connect().await;
        bad.roundtrip(
            &cmd(&["AUTH", "n", "wrong"]),
            b"-WRONGPASS invalid username-password pair or user is disabled.\r\n",
        )
        .await;
        admin.send(&cmd(&["INFO", "stats"])).await;
        let info = String::from_utf8_lossy(&admin.read_frame().await).into_owned();
        let field = |name: &str| {
            info.lines()
                .find_map(|l| l.strip_prefix(&format!("{name}:")))
                .map(str::to_owned)
        };
        let got: Vec<Option<String>> = ["auth", "cmd", "key", "channel"]
            .iter()
            .map(|k| field(&format!("acl_access_denied_{k}")))
            .collect();
        let want = match kind {
            Kind::Respub => ["1", "1", "0", "3"].map(|v| Some(v.to_string())).to_vec(),
            Kind::Redis => vec![None; 4],
        };
        assert_eq!(got, want, "{}: INFO acl_access_denied_*", kind.label());
    }
}

/// CONFIG REWRITE writes the running users as `user` lines in place of the file's, and
/// a restart from the file brings them back (redis.conf without an ACL file).
#[tokio::test]
async fn config_rewrite_writes_the_users() {
    for kind in KINDS {
        let dir = acl_dir("rewrite", kind);
        let conf = dir.join("redis.conf");
        let port = support::free_port();
        std::fs::write(
            &conf,
            format!(
                "port {port}\nbind 127.0.0.1\nsave \"\"\nappendonly no\n\
                 user old on nopass &old.* +@all\n# keep me\nuser old2 off\n"
            ),
        )
        .unwrap();
        let start = || {
            Command::new(kind.program())
                .arg(&conf)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn server")
        };
        let connect = || async {
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
            for _ in 0..500 {
                if tokio::net::TcpStream::connect(addr).await.is_ok() {
                    return Client::connect(addr).await;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            panic!("{}: not accepting on {addr}", kind.label());
        };
        let mut child = start();
        let mut c = connect().await;
        ok(
            &mut c,
            &[
                "ACL", "SETUSER", "alice", "on", ">letmein", "&news.*", "+@pubsub",
            ],
        )
        .await;
        c.roundtrip(&cmd(&["ACL", "DELUSER", "old2"]), b":1\r\n")
            .await;
        ok(&mut c, &["CONFIG", "REWRITE"]).await;
        let text = std::fs::read_to_string(&conf).unwrap();
        let users: Vec<&str> = text.lines().filter(|l| l.starts_with("user ")).collect();
        assert_eq!(
            users,
            [
                format!("user alice on #{PW_SHA256} resetchannels &news.* -@all +@pubsub").as_str(),
                "user default on nopass ~* &* +@all",
                "user old on nopass resetchannels &old.* +@all",
            ],
            "{}: {text}",
            kind.label()
        );
        assert!(text.contains("# keep me"), "{}: {text}", kind.label());
        let _ = child.kill();
        let _ = child.wait();
        // Restarted from the rewritten file, alice can log in.
        let mut child = start();
        let mut c = connect().await;
        ok(&mut c, &["AUTH", "alice", "letmein"]).await;
        let _ = child.kill();
        let _ = child.wait();
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// A SUBSCRIBE racing the ACL SETUSER that takes its channel away never leaves a
/// subscription the user may no longer hold: either the subscribe was refused, or the
/// subscriber was closed (respub: the subscriber re-checks when the users changed
/// between its check and its registration; Redis is single-threaded).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribe_racing_a_revocation_never_survives_it() {
    for kind in KINDS {
        let server = Server::start(kind, &[]).await;
        let mut admin = server.connect().await;
        for i in 0..40 {
            ok(
                &mut admin,
                &[
                    "ACL", "SETUSER", "r", "reset", "on", "nopass", "+@all", "&a*",
                ],
            )
            .await;
            let mut sub = server.connect().await;
            ok(&mut sub, &["AUTH", "r", "x"]).await;
            let channel = format!("a{i}");
            sub.send(&cmd(&["SUBSCRIBE", &channel])).await;
            admin
                .roundtrip(
                    &cmd(&["ACL", "SETUSER", "r", "resetchannels", "&b*"]),
                    b"+OK\r\n",
                )
                .await;
            // The subscriber's connection ends up closed, or it never subscribed.
            let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
            loop {
                admin.send(&cmd(&["PUBSUB", "NUMSUB", &channel])).await;
                let got = admin.read_frame().await;
                let want = format!("*2\r\n${}\r\n{channel}\r\n:0\r\n", channel.len());
                if got == want.as_bytes() {
                    break;
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "{} round {i}: {channel} still subscribed after the revocation",
                    kind.label()
                );
                // Bounded poll while the closed subscriber is torn down.
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
}
