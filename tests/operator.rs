//! The operator's side of issue 8, through the real binary: configuration sources and
//! their precedence, Debian's stock redis.conf, typos failing with file and line,
//! `_FILE` secrets, `--help` / `--check-config`, CONFIG REWRITE, `bind`, protected
//! mode, rename-command, logs (file, SIGHUP reopen, json, run-time loglevel), pid file,
//! systemd notification and the SIGTERM sequence. Where redis-server does the same
//! thing, the same check runs against it too.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use support::{cmd, free_port, Client, Kind};

const RESPUB: &str = env!("CARGO_BIN_EXE_respub");

fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("respub-op-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs respub to completion (for --help, --check-config, failing starts).
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(RESPUB);
    c.args(args).stdin(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    let child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_output(child, Duration::from_secs(20))
}

fn wait_output(mut child: Child, limit: Duration) -> Output {
    let deadline = Instant::now() + limit;
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("process did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A started server process (killed on drop if still running).
struct Proc {
    child: Child,
    port: u16,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    fn start(program: &str, args: &[&str], env: &[(&str, &str)], port: u16, log: &Path) -> Proc {
        let mut c = Command::new(program);
        c.args(args).stdin(Stdio::null());
        for (k, v) in env {
            c.env(k, v);
        }
        let out = std::fs::File::create(log).unwrap();
        let err = out.try_clone().unwrap();
        let child = c.stdout(out).stderr(err).spawn().unwrap();
        let mut p = Proc { child, port };
        let addr = p.addr();
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(addr).is_err() {
            if let Some(status) = p.child.try_wait().unwrap() {
                panic!(
                    "{program} exited ({status}) before listening:\n{}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
            assert!(Instant::now() < deadline, "{program} never listened");
            std::thread::sleep(Duration::from_millis(20));
        }
        p
    }

    fn addr(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig}");
    }

    fn wait_exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            assert!(Instant::now() < deadline, "did not exit within {limit:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Waits until `path` contains `needle` (log lines are written as they happen).
fn wait_for_text(path: &Path, needle: &str, limit: Duration) -> String {
    let deadline = Instant::now() + limit;
    loop {
        let t = std::fs::read_to_string(path).unwrap_or_default();
        if t.contains(needle) {
            return t;
        }
        assert!(
            Instant::now() < deadline,
            "'{needle}' never appeared in {}:\n{t}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

async fn config_get(addr: std::net::SocketAddr, name: &str) -> Vec<u8> {
    let mut c = Client::connect(addr).await;
    c.send(&cmd(&["CONFIG", "GET", name])).await;
    c.read_frame().await
}

fn pair(name: &str, value: &str) -> Vec<u8> {
    format!(
        "*2\r\n${}\r\n{name}\r\n${}\r\n{value}\r\n",
        name.len(),
        value.len()
    )
    .into_bytes()
}

#[tokio::test]
async fn one_setting_from_all_five_sources_the_later_wins() {
    let dir = tmpdir("prec");
    let toml = dir.join("respub.toml");
    let conf = dir.join("redis.conf");
    std::fs::write(
        &toml,
        "timeout = 1\nmaxclients = 11\ndatabases = 3\nshutdown-delay = 7\n",
    )
    .unwrap();
    std::fs::write(&conf, "timeout 2\nmaxclients 22\ndatabases 4\n").unwrap();
    let port = free_port();
    let ps = port.to_string();
    let log = dir.join("log");
    let p = Proc::start(
        RESPUB,
        &[
            conf.to_str().unwrap(),
            "--config",
            toml.to_str().unwrap(),
            "--port",
            &ps,
            "--bind",
            "127.0.0.1",
            "--timeout",
            "5",
        ],
        &[("RESPUB_TIMEOUT", "4"), ("RESPUB_MAXCLIENTS", "44")],
        port,
        &log,
    );
    let addr = p.addr();
    assert_eq!(
        config_get(addr, "timeout").await,
        pair("timeout", "5"),
        "command line wins"
    );
    assert_eq!(
        config_get(addr, "maxclients").await,
        pair("maxclients", "44"),
        "env beats redis.conf"
    );
    assert_eq!(
        config_get(addr, "databases").await,
        pair("databases", "4"),
        "redis.conf beats TOML"
    );
    assert_eq!(
        config_get(addr, "shutdown-delay").await,
        pair("shutdown-delay", "7"),
        "TOML beats the default"
    );
    assert_eq!(
        config_get(addr, "tcp-backlog").await,
        pair("tcp-backlog", "511"),
        "default"
    );
    // --check-config says where each value came from.
    let out = run(
        &[
            conf.to_str().unwrap(),
            "--config",
            toml.to_str().unwrap(),
            "--timeout",
            "5",
            "--check-config",
        ],
        &[("RESPUB_TIMEOUT", "4"), ("RESPUB_MAXCLIENTS", "44")],
    );
    assert!(out.status.success());
    let t = text(&out.stdout);
    let line = |name: &str| {
        t.lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or("")
            .to_string()
    };
    assert!(line("timeout").ends_with("# command line"), "{t}");
    assert!(
        line("maxclients").ends_with("# env RESPUB_MAXCLIENTS"),
        "{t}"
    );
    assert!(
        line("databases").ends_with(&format!("# {}:3", conf.display())),
        "{t}"
    );
    assert!(
        line("shutdown-delay").ends_with(&format!("# {}", toml.display())),
        "{t}"
    );
    assert!(line("tcp-backlog").ends_with("# default"), "{t}");
    drop(p);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn debian_stock_redis_conf_starts_respub_unchanged() {
    let stock = Path::new("/etc/redis/redis.conf");
    assert!(stock.exists(), "Debian's redis-server package (installed by tests/clients/setup.sh) provides /etc/redis/redis.conf");
    let dir = tmpdir("debian");
    let conf = dir.join("redis.conf");
    std::fs::copy(stock, &conf).unwrap();
    let before = std::fs::read(&conf).unwrap();
    let port = free_port();
    let ps = port.to_string();
    let pid = dir.join("respub.pid");
    let log = dir.join("log");
    // The file unchanged; the port and the paths it names (/var/log/redis, /run/redis,
    // /var/lib/redis belong to the system's redis) overridden on the command line, the
    // way a second instance is started.
    let mut p = Proc::start(
        RESPUB,
        &[
            conf.to_str().unwrap(),
            "--port",
            &ps,
            "--pidfile",
            pid.to_str().unwrap(),
            "--logfile",
            "",
            "--dir",
            dir.to_str().unwrap(),
        ],
        &[],
        port,
        &log,
    );
    let mut c = Client::connect(p.addr()).await;
    c.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;
    c.roundtrip(&cmd(&["PUBLISH", "x", "y"]), b":0\r\n").await;
    let pid_text = std::fs::read_to_string(&pid).unwrap();
    assert_eq!(pid_text.trim(), p.child.id().to_string());
    p.signal("-TERM");
    assert!(p.wait_exit(Duration::from_secs(15)).success());
    assert!(!pid.exists(), "pid file removed at exit");
    let l = std::fs::read_to_string(&log).unwrap();
    // One warning per directive respub does not implement, each named once.
    for d in [
        "'appendonly'",
        "'rdbcompression'",
        "'daemonize yes'",
        "'stop-writes-on-bgsave-error'",
        "'hz'",
    ] {
        assert_eq!(l.matches(d).count(), 1, "warning for {d}:\n{l}");
    }
    assert!(l.contains("Received SIGTERM scheduling shutdown..."), "{l}");
    assert!(l.contains("User requested shutdown..."), "{l}");
    assert!(l.contains("is now ready to exit, bye bye..."), "{l}");
    assert_eq!(std::fs::read(&conf).unwrap(), before);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_typo_fails_with_file_and_line_and_a_hint() {
    let dir = tmpdir("typo");
    let conf = dir.join("r.conf");
    std::fs::write(&conf, "port 7000\n# comment\nmaxclinets 10\n").unwrap();
    let out = run(&[conf.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(1));
    let e = text(&out.stderr);
    assert!(
        e.contains(&format!(
            "{}:3: unknown directive 'maxclinets' (did you mean 'maxclients'?)",
            conf.display()
        )),
        "{e}"
    );
    // redis-server refuses the same file, naming the line too.
    let out = Command::new("redis-server").arg(&conf).output().unwrap();
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("line 3") || text(&out.stdout).contains("line 3"));
    // Flags: clap names the flag and the near one; values name what was expected.
    let out = run(&["--prot", "1"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let e = text(&out.stderr);
    assert!(e.contains("'--prot'") && e.contains("--port"), "{e}");
    let out = run(&["--maxclients", "many"], &[]);
    let e = text(&out.stderr);
    assert!(
        e.contains("--maxclients: 'maxclients': 'many' is not a non-negative integer"),
        "{e}"
    );
    let out = run(&[], &[("RESPUB_PORT", "http")]);
    assert!(text(&out.stderr).contains("RESPUB_PORT: 'port': 'http' is not a port number"));
    // An ACL user that does not load stops the start (redis-server too: "Aborting Redis
    // startup because of ACL errors").
    let out = run(&["--user", "alice", "on", ">pw", "+nosuch"], &[]);
    assert_eq!(out.status.code(), Some(1));
    // Logged (to standard output unless a logfile is set), like every start error.
    let logged = text(&out.stdout) + &text(&out.stderr);
    assert!(
        logged.contains(
            "Aborting startup because of ACL errors: Error in user declaration '+nosuch': \
             Unknown command or category name in ACL"
        ),
        "{logged}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn env_file_secret_is_the_password_and_is_redacted() {
    let dir = tmpdir("secret");
    let secret = dir.join("pw");
    std::fs::write(&secret, "s3cret\n").unwrap();
    let s = secret.to_str().unwrap();
    let port = free_port();
    let ps = port.to_string();
    let p = Proc::start(
        RESPUB,
        &["--port", &ps, "--bind", "127.0.0.1"],
        &[("RESPUB_REQUIREPASS_FILE", s)],
        port,
        &dir.join("log"),
    );
    let mut c = Client::connect(p.addr()).await;
    c.send(&cmd(&["PING"])).await;
    assert!(c.read_frame().await.starts_with(b"-NOAUTH"));
    c.roundtrip(&cmd(&["AUTH", "s3cret"]), b"+OK\r\n").await;
    let out = run(&["--check-config"], &[("RESPUB_REQUIREPASS_FILE", s)]);
    let t = text(&out.stdout);
    assert!(
        t.contains("requirepass <redacted>") && !t.contains("s3cret"),
        "{t}"
    );
    drop(p);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn help_and_version() {
    let out = run(&["--help"], &[]);
    assert!(out.status.success());
    let h = text(&out.stdout);
    for flag in [
        "--bind",
        "--port",
        "--protected-mode",
        "--client-output-buffer-limit",
        "--shutdown-delay",
        "--log-format",
        "--check-config",
        "--config",
    ] {
        assert!(h.contains(flag), "--help lacks {flag}");
    }
    assert!(h.contains("[count; default: 6379]"), "{h}");
    assert!(
        h.contains("[bytes; default: 512mb; CONFIG SET at run time]"),
        "{h}"
    );
    let out = run(&["--version"], &[]);
    assert!(text(&out.stdout).starts_with(&format!(
        "respub {} (speaks Redis 7.2",
        env!("CARGO_PKG_VERSION")
    )));
}

#[tokio::test]
async fn config_rewrite_keeps_the_file_and_persists_changes() {
    for kind in [Kind::Respub, Kind::Redis] {
        let dir = tmpdir(&format!("rw-{}", kind.label()));
        let conf = dir.join("r.conf");
        std::fs::write(
            &conf,
            "# mine\nport 1\nmaxclients 100\n\nmaxclients 200\ntimeout 0\n",
        )
        .unwrap();
        let port = free_port();
        let ps = port.to_string();
        let log = dir.join("log");
        let p = Proc::start(
            &kind.program(),
            &[
                conf.to_str().unwrap(),
                "--port",
                &ps,
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ],
            &[],
            port,
            &log,
        );
        let mut c = Client::connect(p.addr()).await;
        c.roundtrip(
            &cmd(&["CONFIG", "SET", "maxclients", "77", "timeout", "30"]),
            b"+OK\r\n",
        )
        .await;
        c.roundtrip(&cmd(&["CONFIG", "REWRITE"]), b"+OK\r\n").await;
        let t = std::fs::read_to_string(&conf).unwrap();
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(
            lines[0],
            "# mine",
            "{} kept the comment:\n{t}",
            kind.label()
        );
        assert_eq!(t.matches("maxclients").count(), 1, "{}:\n{t}", kind.label());
        assert!(
            lines.contains(&"maxclients 77") && lines.contains(&"timeout 30"),
            "{}:\n{t}",
            kind.label()
        );
        assert!(
            lines.contains(&format!("port {port}").as_str()),
            "{}:\n{t}",
            kind.label()
        );
        drop(p);
        std::fs::remove_dir_all(&dir).unwrap();
    }
    // Without a config file, both answer the same error.
    for kind in [Kind::Respub, Kind::Redis] {
        let s = support::Server::start(kind, &[]).await;
        let mut c = s.connect().await;
        c.roundtrip(
            &cmd(&["CONFIG", "REWRITE"]),
            b"-ERR The server is running without a config file\r\n",
        )
        .await;
    }
}

/// This machine's first non-loopback address (the connection still never leaves it).
fn own_address() -> String {
    let out = Command::new("hostname")
        .arg("-I")
        .output()
        .expect("hostname -I");
    let t = text(&out.stdout);
    t.split_whitespace()
        .find(|a| {
            a.parse::<std::net::IpAddr>()
                .is_ok_and(|ip| !ip.is_loopback())
        })
        .unwrap_or_else(|| {
            panic!("this check needs a non-loopback address on the machine; hostname -I said {t:?}")
        })
        .to_string()
}

#[tokio::test]
async fn protected_mode_refuses_non_loopback_clients_until_a_password_is_set() {
    let ip = own_address();
    for kind in [Kind::Respub, Kind::Redis] {
        let dir = tmpdir(&format!("prot-{}", kind.label()));
        let port = free_port();
        let ps = port.to_string();
        let p = Proc::start(
            &kind.program(),
            &["--port", &ps, "--save", ""],
            &[],
            port,
            &dir.join("log"),
        );
        let remote: std::net::SocketAddr = format!(
            "{}:{port}",
            if ip.contains(':') {
                format!("[{ip}]")
            } else {
                ip.clone()
            }
        )
        .parse()
        .unwrap();
        let mut c = Client::connect(remote).await;
        let denied = c.read_frame().await;
        let t = text(&denied);
        assert!(t.starts_with("-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user."), "{}: {t}", kind.label());
        // 7.0.15 has a typo 7.2 fixed; the rest is the same bytes.
        assert_eq!(
            t.replace(
                "4) Setup a an authentication",
                "4) Set up an authentication"
            )
            .into_bytes(),
            respub::error::PROTECTED_MODE_DENIED,
            "{}",
            kind.label()
        );
        c.expect_eof().await;
        // Loopback is served; a password opens the door to the rest.
        let mut local = Client::connect(p.addr()).await;
        local
            .roundtrip(&cmd(&["CONFIG", "SET", "requirepass", "pw"]), b"+OK\r\n")
            .await;
        let mut c = Client::connect(remote).await;
        c.send(&cmd(&["AUTH", "pw"])).await;
        assert_eq!(c.read_frame().await, b"+OK\r\n", "{}", kind.label());
        // It is the `default` user that counts: nopass by ACL closes the door again, a
        // password set by ACL opens it.
        local
            .roundtrip(&cmd(&["ACL", "SETUSER", "default", "nopass"]), b"+OK\r\n")
            .await;
        let mut c = Client::connect(remote).await;
        assert!(
            text(&c.read_frame().await).starts_with("-DENIED"),
            "{}",
            kind.label()
        );
        local
            .roundtrip(&cmd(&["ACL", "SETUSER", "default", ">other"]), b"+OK\r\n")
            .await;
        let mut c = Client::connect(remote).await;
        c.send(&cmd(&["AUTH", "other"])).await;
        assert_eq!(c.read_frame().await, b"+OK\r\n", "{}", kind.label());
        drop(p);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

#[tokio::test]
async fn bind_accepts_redis_forms_and_names_the_address_that_failed() {
    let port = free_port();
    let ps = port.to_string();
    let dir = tmpdir("bind");
    // Both wildcards side by side (IPV6_V6ONLY), the IPv6 one optional.
    let p = Proc::start(
        RESPUB,
        &["--port", &ps, "--bind", "*", "-::*"],
        &[],
        port,
        &dir.join("log"),
    );
    let mut c = Client::connect(p.addr()).await;
    c.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;
    assert_eq!(config_get(p.addr(), "bind").await, pair("bind", "* -::*"));
    drop(p);
    for kind in [Kind::Respub, Kind::Redis] {
        let out = Command::new(kind.program())
            .args([
                "--port",
                &ps,
                "--bind",
                "127.0.0.1",
                "192.0.2.77",
                "--save",
                "",
            ])
            .output()
            .unwrap();
        assert!(!out.status.success());
        let all = text(&out.stdout) + &text(&out.stderr);
        assert!(
            all.contains(&format!("Could not create server TCP listening socket 192.0.2.77:{port}: bind: Cannot assign requested address")),
            "{}: {all}",
            kind.label()
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn rename_command_as_redis() {
    for kind in [Kind::Respub, Kind::Redis] {
        let s = support::Server::start(
            kind,
            &[
                "--rename-command",
                "publish",
                "pub2",
                "--rename-command",
                "config",
                "",
            ],
        )
        .await;
        let mut c = s.connect().await;
        c.send(&cmd(&["PUBLISH", "x", "y"])).await;
        let e = c.read_frame().await;
        assert!(
            e.starts_with(b"-ERR unknown command 'PUBLISH'"),
            "{}: {}",
            kind.label(),
            text(&e)
        );
        c.roundtrip(&cmd(&["PUB2", "x", "y"]), b":0\r\n").await;
        c.send(&cmd(&["CONFIG", "GET", "port"])).await;
        assert!(c
            .read_frame()
            .await
            .starts_with(b"-ERR unknown command 'CONFIG'"));
    }
}

#[tokio::test]
async fn log_file_reopens_on_sighup_and_loglevel_changes_at_run_time() {
    let dir = tmpdir("log");
    let logfile = dir.join("respub.log");
    let port = free_port();
    let ps = port.to_string();
    let p = Proc::start(
        RESPUB,
        &[
            "--port",
            &ps,
            "--bind",
            "127.0.0.1",
            "--logfile",
            logfile.to_str().unwrap(),
            "--loglevel",
            "warning",
        ],
        &[],
        port,
        &dir.join("stdout"),
    );
    wait_for_text(&logfile, "", Duration::from_secs(5));
    // Debug lines ("client gone") appear only after CONFIG SET loglevel debug.
    let mut admin = Client::connect(p.addr()).await;
    Client::connect(p.addr())
        .await
        .roundtrip(&cmd(&["PING"]), b"+PONG\r\n")
        .await;
    // The first client is gone from the server (its end was handled at `warning`)...
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        admin.send(&cmd(&["CLIENT", "LIST"])).await;
        let list = admin.read_frame().await;
        if list
            .split(|b| *b == b'\n')
            .filter(|l| l.starts_with(b"id="))
            .count()
            == 1
        {
            break;
        }
        assert!(Instant::now() < deadline, "the first client never left");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // ...and left no debug line.
    assert!(!std::fs::read_to_string(&logfile)
        .unwrap()
        .contains("client gone"));
    admin
        .roundtrip(&cmd(&["CONFIG", "SET", "loglevel", "debug"]), b"+OK\r\n")
        .await;
    Client::connect(p.addr())
        .await
        .roundtrip(&cmd(&["PING"]), b"+PONG\r\n")
        .await;
    wait_for_text(&logfile, "client gone", Duration::from_secs(5));
    // logrotate: move the file away, SIGHUP, the next lines go to a new file.
    let rotated = dir.join("respub.log.1");
    std::fs::rename(&logfile, &rotated).unwrap();
    p.signal("-HUP");
    wait_for_text(&logfile, "log file reopened", Duration::from_secs(5));
    assert!(std::fs::read_to_string(&rotated)
        .unwrap()
        .contains("client gone"));
    let raw = std::fs::read(&logfile).unwrap();
    assert!(!raw.contains(&0x1b), "no ANSI colours in a log file");
    drop(p);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn json_log_lines_are_objects() {
    let dir = tmpdir("json");
    let port = free_port();
    let ps = port.to_string();
    let out = dir.join("stdout");
    let mut p = Proc::start(
        RESPUB,
        &["--port", &ps, "--bind", "127.0.0.1", "--log-format", "json"],
        &[],
        port,
        &out,
    );
    p.signal("-TERM");
    assert!(p.wait_exit(Duration::from_secs(15)).success());
    let t = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = t.lines().collect();
    assert!(lines.len() >= 3, "{t}");
    for l in lines {
        assert!(
            l.starts_with('{') && l.ends_with('}') && l.contains("\"level\":"),
            "not a JSON object: {l}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn systemd_notify_ready_and_stopping() {
    let dir = tmpdir("sd");
    let sock_path = dir.join("notify.sock");
    let sock = std::os::unix::net::UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let port = free_port();
    let ps = port.to_string();
    let mut p = Proc::start(
        RESPUB,
        &[
            "--port",
            &ps,
            "--bind",
            "127.0.0.1",
            "--supervised",
            "systemd",
        ],
        &[("NOTIFY_SOCKET", sock_path.to_str().unwrap())],
        port,
        &dir.join("log"),
    );
    let mut buf = [0u8; 512];
    let n = sock.recv(&mut buf).expect("READY=1 within 15 s");
    assert!(
        text(&buf[..n]).lines().any(|l| l == "READY=1"),
        "{}",
        text(&buf[..n])
    );
    p.signal("-TERM");
    let n = sock.recv(&mut buf).expect("STOPPING=1 within 15 s");
    assert!(
        text(&buf[..n]).lines().any(|l| l == "STOPPING=1"),
        "{}",
        text(&buf[..n])
    );
    assert!(p.wait_exit(Duration::from_secs(15)).success());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn sigterm_with_delay_keeps_serving_then_exits_and_a_second_signal_exits_at_once() {
    let dir = tmpdir("delay");
    let port = free_port();
    let ps = port.to_string();
    let log = dir.join("log");
    let mut p = Proc::start(
        RESPUB,
        &[
            "--port",
            &ps,
            "--bind",
            "127.0.0.1",
            "--shutdown-delay",
            "2",
        ],
        &[],
        port,
        &log,
    );
    let started = Instant::now();
    p.signal("-TERM");
    wait_for_text(
        &log,
        "Received SIGTERM scheduling shutdown...",
        Duration::from_secs(5),
    );
    // During the delay new clients are still served.
    let mut c = Client::connect(p.addr()).await;
    c.roundtrip(&cmd(&["PING"]), b"+PONG\r\n").await;
    assert!(p.wait_exit(Duration::from_secs(15)).success());
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "exited before shutdown-delay"
    );
    // A second SIGTERM during the delay: out at once, status 1.
    let port = free_port();
    let ps = port.to_string();
    let log2 = dir.join("log2");
    let mut p = Proc::start(
        RESPUB,
        &[
            "--port",
            &ps,
            "--bind",
            "127.0.0.1",
            "--shutdown-delay",
            "60",
        ],
        &[],
        port,
        &log2,
    );
    p.signal("-TERM");
    wait_for_text(&log2, "Received SIGTERM", Duration::from_secs(5));
    p.signal("-TERM");
    let status = p.wait_exit(Duration::from_secs(5));
    assert_eq!(status.code(), Some(1));
    wait_for_text(&log2, "You insist... exiting now.", Duration::from_secs(1));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn auth_failures_are_logged_without_the_password() {
    let dir = tmpdir("authlog");
    let port = free_port();
    let ps = port.to_string();
    let log = dir.join("log");
    let p = Proc::start(
        RESPUB,
        &[
            "--port",
            &ps,
            "--bind",
            "127.0.0.1",
            "--requirepass",
            "right",
        ],
        &[],
        port,
        &log,
    );
    let mut c = Client::connect(p.addr()).await;
    c.send(&cmd(&["AUTH", "guess-xyz"])).await;
    assert!(c.read_frame().await.starts_with(b"-WRONGPASS"));
    c.send(&cmd(&["HELLO", "3", "AUTH", "mallory", "guess-abc"]))
        .await;
    assert!(c.read_frame().await.starts_with(b"-WRONGPASS"));
    let t = wait_for_text(&log, "user=mallory", Duration::from_secs(5));
    assert_eq!(t.matches("authentication failed").count(), 2, "{t}");
    assert!(!t.contains("guess-"), "a password reached the log:\n{t}");
    drop(p);
    std::fs::remove_dir_all(&dir).unwrap();
}
