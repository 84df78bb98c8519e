//! TLS (issue 7): every check runs against redis-server (7.0.15, Debian's build has TLS)
//! and respub, started with the same flags and the same certificates, so the checks are
//! proven on the reference first.
//!
//! The certificates are made at run time with the `openssl` CLI into a private temp dir
//! (two CAs, a server certificate from each, a client certificate from the first); no
//! key is committed. Clients: `redis-cli --tls` (as operators use it) and a small
//! blocking rustls client for byte-exact transcripts.
//!
//! Covered: a TLS-only server (`port 0`), plain and TLS ports together with pub/sub
//! across them both ways, a 1 MiB payload and a pipeline of 1,000 PUBLISHes through
//! TLS, a wrong CA (redis-cli reports the verification failure), `tls-auth-clients`
//! yes / optional / no, `tls-ca-cert-dir`, CLIENT LIST / CLIENT INFO of a TLS client,
//! `maxclients`, a slow TLS subscriber closed at the output limit, and certificate reload
//! by CONFIG SET while a TLS subscriber stays connected and keeps receiving.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use support::{cmd, free_port, mask_client_fields, Kind};

const KINDS: [Kind; 2] = [Kind::Redis, Kind::Respub];

// ---------------------------------------------------------------------------------------
// Certificates
// ---------------------------------------------------------------------------------------

/// A private directory with the test PKI, removed on drop.
struct Certs(PathBuf);

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl CLI is needed (tests/clients/setup.sh installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Certs {
    /// `ca.crt`, `ca2.crt`; `server.{crt,key}` (from ca), `server2.{crt,key}` (from ca2),
    /// `client.{crt,key}` (from ca), `rogue.{crt,key}` (a client certificate from ca2).
    fn new() -> Certs {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "respub-tls-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create cert dir");
        for ca in ["ca", "ca2"] {
            openssl(
                &dir,
                &[
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-days",
                    "2",
                    "-subj",
                    &format!("/CN=respub test {ca}"),
                    "-keyout",
                    &format!("{ca}.key"),
                    "-out",
                    &format!("{ca}.crt"),
                ],
            );
        }
        std::fs::write(
            dir.join("server.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
             keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
        )
        .expect("write server.ext");
        std::fs::write(
            dir.join("client.ext"),
            "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n\
             extendedKeyUsage=clientAuth\n",
        )
        .expect("write client.ext");
        for (name, ca, ext) in [
            ("server", "ca", "server.ext"),
            ("server2", "ca2", "server.ext"),
            ("client", "ca", "client.ext"),
            ("rogue", "ca2", "client.ext"),
        ] {
            openssl(
                &dir,
                &[
                    "req",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-subj",
                    &format!("/CN={name}"),
                    "-keyout",
                    &format!("{name}.key"),
                    "-out",
                    &format!("{name}.csr"),
                ],
            );
            openssl(
                &dir,
                &[
                    "x509",
                    "-req",
                    "-in",
                    &format!("{name}.csr"),
                    "-CA",
                    &format!("{ca}.crt"),
                    "-CAkey",
                    &format!("{ca}.key"),
                    "-CAcreateserial",
                    "-days",
                    "2",
                    "-extfile",
                    ext,
                    "-out",
                    &format!("{name}.crt"),
                ],
            );
        }
        Certs(dir)
    }

    fn path(&self, file: &str) -> String {
        self.0.join(file).to_str().expect("utf-8 path").to_string()
    }
}

impl Drop for Certs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ---------------------------------------------------------------------------------------
// Servers
// ---------------------------------------------------------------------------------------

/// A server with a TLS port (and a plain one unless `plain` is false). Killed by PID.
struct TlsServer {
    kind: Kind,
    child: Child,
    tls_port: u16,
    port: u16,
}

impl TlsServer {
    fn start(kind: Kind, certs: &Certs, plain: bool, auth: &str, extra: &[&str]) -> TlsServer {
        let mut last = String::new();
        for _ in 0..5 {
            let tls_port = free_port();
            let port = if plain { free_port() } else { 0 };
            let mut c = Command::new(kind.program());
            c.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--tls-port", &tls_port.to_string()])
                .args(["--tls-cert-file", &certs.path("server.crt")])
                .args(["--tls-key-file", &certs.path("server.key")])
                .args(["--tls-ca-cert-file", &certs.path("ca.crt")])
                .args(["--tls-auth-clients", auth])
                .args(["--save", "", "--appendonly", "no", "--loglevel", "warning"])
                .args(extra)
                .stdin(Stdio::null());
            if std::env::var_os("RESPUB_TEST_LOG").is_none() {
                c.stdout(Stdio::null()).stderr(Stdio::null());
            }
            let child = c.spawn().expect("spawn server");
            let mut s = TlsServer {
                kind,
                child,
                tls_port,
                port,
            };
            match s.wait_ready() {
                Ok(()) => return s,
                Err(e) => last = e,
            }
        }
        panic!("{} never became ready: {last}", kind.label());
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + support::START_TIMEOUT;
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Err(format!("exited early with {st}"));
            }
            let ready = [self.tls_port, self.port]
                .iter()
                .filter(|p| **p != 0)
                .all(|p| TcpStream::connect(("127.0.0.1", *p)).is_ok());
            if ready {
                return match self.child.try_wait() {
                    Ok(Some(st)) => Err(format!("exited early with {st}")),
                    _ => Ok(()),
                };
            }
            if Instant::now() > deadline {
                return Err("not listening".into());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn plain_addr(&self) -> std::net::SocketAddr {
        assert_ne!(self.port, 0, "this server has no plain port");
        std::net::SocketAddr::from(([127, 0, 0, 1], self.port))
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------------------

struct CliOut {
    ok: bool,
    out: String,
}

/// `redis-cli --tls -p PORT <tls_args> <args>`, bounded by `timeout 10`.
fn cli(port: u16, tls_args: &[&str], args: &[&str]) -> CliOut {
    let out = Command::new("timeout")
        .args([
            "10",
            "redis-cli",
            "--tls",
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .args(tls_args)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("redis-cli is needed (tests/clients/setup.sh installs it)");
    CliOut {
        ok: out.status.success(),
        out: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// A blocking rustls client: raw RESP over TLS with bounded reads.
struct TlsClient {
    tls: rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
    buf: Vec<u8>,
}

impl TlsClient {
    /// Trusts `ca`; presents `client` (a `name` with .crt/.key) when given.
    fn connect(port: u16, certs: &Certs, ca: &str, client: Option<&str>) -> TlsClient {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(certs.path(ca)).expect("read CA") {
            roots.add(c.expect("CA pem")).expect("add CA");
        }
        let b = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots);
        let config = match client {
            Some(name) => {
                let chain: Vec<_> =
                    CertificateDer::pem_file_iter(certs.path(&format!("{name}.crt")))
                        .expect("client cert")
                        .collect::<Result<_, _>>()
                        .expect("client cert pem");
                let key = PrivateKeyDer::from_pem_file(certs.path(&format!("{name}.key")))
                    .expect("client key");
                b.with_client_auth_cert(chain, key).expect("client auth")
            }
            None => b.with_no_client_auth(),
        };
        let conn = rustls::ClientConnection::new(
            Arc::new(config),
            ServerName::try_from("localhost").expect("name"),
        )
        .expect("client connection");
        let sock = TcpStream::connect(("127.0.0.1", port)).expect("connect TLS port");
        sock.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("read timeout");
        TlsClient {
            tls: rustls::StreamOwned::new(conn, sock),
            buf: Vec::new(),
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.tls.write_all(bytes).expect("TLS write");
        self.tls.flush().expect("TLS flush");
    }

    /// Reads until exactly `want` arrived (more is kept for the next call); fails after
    /// the read timeout, never hangs.
    fn expect(&mut self, want: &[u8]) {
        let mut chunk = vec![0u8; 64 * 1024];
        while self.buf.len() < want.len() {
            match self.tls.read(&mut chunk) {
                Ok(0) => panic!("EOF after {} of {} bytes", self.buf.len(), want.len()),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) => panic!(
                    "read failed ({e}) after {} of {} bytes: {:?}",
                    self.buf.len(),
                    want.len(),
                    support::show_trunc(&self.buf, 300)
                ),
            }
        }
        let got: Vec<u8> = self.buf.drain(..want.len()).collect();
        assert!(
            got == want,
            "got {:?}\nwant {:?}",
            support::show_trunc(&got, 300),
            support::show_trunc(want, 300)
        );
    }
}

fn message(channel: &str, payload: &[u8]) -> Vec<u8> {
    let mut v = format!(
        "*3\r\n$7\r\nmessage\r\n${}\r\n{channel}\r\n${}\r\n",
        channel.len(),
        payload.len()
    )
    .into_bytes();
    v.extend_from_slice(payload);
    v.extend_from_slice(b"\r\n");
    v
}

fn subscribed(channel: &str, n: usize) -> Vec<u8> {
    format!(
        "*3\r\n$9\r\nsubscribe\r\n${}\r\n{channel}\r\n:{n}\r\n",
        channel.len()
    )
    .into_bytes()
}

// ---------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------

#[test]
fn tls_only_server_answers_redis_cli() {
    let certs = Certs::new();
    for kind in KINDS {
        let s = TlsServer::start(kind, &certs, false, "no", &[]);
        let ca = certs.path("ca.crt");
        let r = cli(s.tls_port, &["--cacert", &ca], &["ping"]);
        assert!(
            r.ok && r.out.trim() == "PONG",
            "{}: {}",
            kind.label(),
            r.out
        );
        // A TLS client's CLIENT LIST line reads like a TCP one.
        let r = cli(s.tls_port, &["--cacert", &ca], &["client", "list"]);
        let laddr = format!(" laddr=127.0.0.1:{} ", s.tls_port);
        assert!(
            r.ok && r.out.starts_with("id=")
                && r.out.contains(" addr=127.0.0.1:")
                && r.out.contains(&laddr),
            "{}: {}",
            kind.label(),
            r.out
        );
    }
}

#[test]
fn wrong_ca_fails_verification() {
    let certs = Certs::new();
    for kind in KINDS {
        let s = TlsServer::start(kind, &certs, false, "no", &[]);
        let r = cli(s.tls_port, &["--cacert", &certs.path("ca2.crt")], &["ping"]);
        assert!(
            !r.out.contains("PONG") && r.out.contains("certificate verify failed"),
            "{}: {}",
            kind.label(),
            r.out
        );
    }
}

#[test]
fn mutual_tls_yes_requires_a_client_certificate() {
    let certs = Certs::new();
    let ca = certs.path("ca.crt");
    let (crt, key) = (certs.path("client.crt"), certs.path("client.key"));
    let (rcrt, rkey) = (certs.path("rogue.crt"), certs.path("rogue.key"));
    for kind in KINDS {
        let s = TlsServer::start(kind, &certs, false, "yes", &[]);
        let none = cli(s.tls_port, &["--cacert", &ca], &["ping"]);
        assert!(
            !none.out.contains("PONG"),
            "{}: no cert: {}",
            kind.label(),
            none.out
        );
        let good = cli(
            s.tls_port,
            &["--cacert", &ca, "--cert", &crt, "--key", &key],
            &["ping"],
        );
        assert!(
            good.ok && good.out.trim() == "PONG",
            "{}: {}",
            kind.label(),
            good.out
        );
        let rogue = cli(
            s.tls_port,
            &["--cacert", &ca, "--cert", &rcrt, "--key", &rkey],
            &["ping"],
        );
        assert!(
            !rogue.out.contains("PONG"),
            "{}: rogue: {}",
            kind.label(),
            rogue.out
        );
    }
}

#[test]
fn mutual_tls_optional_checks_a_certificate_only_when_given() {
    let certs = Certs::new();
    let ca = certs.path("ca.crt");
    let (crt, key) = (certs.path("client.crt"), certs.path("client.key"));
    let (rcrt, rkey) = (certs.path("rogue.crt"), certs.path("rogue.key"));
    for kind in KINDS {
        let s = TlsServer::start(kind, &certs, false, "optional", &[]);
        let none = cli(s.tls_port, &["--cacert", &ca], &["ping"]);
        assert!(
            none.ok && none.out.trim() == "PONG",
            "{}: {}",
            kind.label(),
            none.out
        );
        let good = cli(
            s.tls_port,
            &["--cacert", &ca, "--cert", &crt, "--key", &key],
            &["ping"],
        );
        assert!(
            good.ok && good.out.trim() == "PONG",
            "{}: {}",
            kind.label(),
            good.out
        );
        let rogue = cli(
            s.tls_port,
            &["--cacert", &ca, "--cert", &rcrt, "--key", &rkey],
            &["ping"],
        );
        assert!(
            !rogue.out.contains("PONG"),
            "{}: rogue: {}",
            kind.label(),
            rogue.out
        );
        // The raw client with a certificate, byte for byte.
        let mut c = TlsClient::connect(s.tls_port, &certs, "ca.crt", Some("client"));
        c.send(&cmd(&["PING"]));
        c.expect(b"+PONG\r\n");
    }
}

#[tokio::test]
async fn pubsub_across_plain_and_tls_ports() {
    let certs = Certs::new();
    for kind in KINDS {
        let s = TlsServer::start(kind, &certs, true, "no", &[]);
        let mut tsub = TlsClient::connect(s.tls_port, &certs, "ca.crt", None);
        tsub.send(&cmd(&["SUBSCRIBE", "t"]));
        tsub.expect(&subscribed("t", 1));
        let mut psub = support::Client::connect(s.plain_addr()).await;
        psub.send(&cmd(&["SUBSCRIBE", "p"])).await;
        psub.expect(&subscribed("p", 1)).await;

        // Plain publisher -> TLS subscriber.
        let mut plain = support::Client::connect(s.plain_addr()).await;
        plain.send(&cmd(&["PUBLISH", "t", "hello"])).await;
        plain.expect(b":1\r\n").await;
        tsub.expect(&message("t", b"hello"));

        // TLS publisher -> plain and TLS subscribers: 1 MiB, then a pipeline of 1,000.
        let mut tpub = TlsClient::connect(s.tls_port, &certs, "ca.crt", None);
        let big: Vec<u8> = (0..1024 * 1024).map(|i| b'a' + (i % 26) as u8).collect();
        tpub.send(&cmd(&[&b"PUBLISH"[..], b"t", &big]));
        tpub.expect(b":1\r\n");
        tsub.expect(&message("t", &big));
        tpub.send(&cmd(&[&b"PUBLISH"[..], b"p", &big]));
        tpub.expect(b":1\r\n");
        psub.expect(&message("p", &big)).await;
        let mut pipeline = Vec::new();
        for i in 0..1000 {
            pipeline.extend_from_slice(&cmd(&["PUBLISH", "t", &format!("m{i}")]));
        }
        tpub.send(&pipeline);
        tpub.expect(&b":1\r\n".repeat(1000));
        let mut want = Vec::new();
        for i in 0..1000 {
            want.extend_from_slice(&message("t", format!("m{i}").as_bytes()));
        }
        tsub.expect(&want);
        eprintln!("{}: pub/sub across ports ok", kind.label());
    }
}

#[tokio::test]
async fn config_set_reloads_certificates_and_keeps_subscribers() {
    let certs = Certs::new();
    for kind in KINDS {
        let s = TlsServer::start(kind, &certs, true, "no", &[]);
        let mut tsub = TlsClient::connect(s.tls_port, &certs, "ca.crt", None);
        tsub.send(&cmd(&["SUBSCRIBE", "r"]));
        tsub.expect(&subscribed("r", 1));
        let mut admin = support::Client::connect(s.plain_addr()).await;

        // A file that does not load: refused, and TLS goes on with the old certificate.
        admin
            .send(&cmd(&[
                "CONFIG",
                "SET",
                "tls-cert-file",
                "/nonexistent/respub.crt",
            ]))
            .await;
        admin
            .expect(
                b"-ERR CONFIG SET failed (possibly related to argument 'tls-cert-file') - \
                  Unable to update TLS configuration. Check server logs.\r\n",
            )
            .await;
        let r = cli(s.tls_port, &["--cacert", &certs.path("ca.crt")], &["ping"]);
        assert!(
            r.ok && r.out.trim() == "PONG",
            "{}: {}",
            kind.label(),
            r.out
        );

        // The certificate from the second CA.
        admin
            .send(&cmd(&[
                "CONFIG",
                "SET",
                "tls-cert-file",
                &certs.path("server2.crt"),
                "tls-key-file",
                &certs.path("server2.key"),
            ]))
            .await;
        admin.expect(b"+OK\r\n").await;
        admin.send(&cmd(&["CONFIG", "GET", "tls-cert-file"])).await;
        let path = certs.path("server2.crt");
        admin
            .expect(
                format!(
                    "*2\r\n$13\r\ntls-cert-file\r\n${}\r\n{path}\r\n",
                    path.len()
                )
                .as_bytes(),
            )
            .await;
        // New connections get the new certificate...
        let old = cli(s.tls_port, &["--cacert", &certs.path("ca.crt")], &["ping"]);
        assert!(
            old.out.contains("certificate verify failed"),
            "{}: {}",
            kind.label(),
            old.out
        );
        let new = cli(s.tls_port, &["--cacert", &certs.path("ca2.crt")], &["ping"]);
        assert!(
            new.ok && new.out.trim() == "PONG",
            "{}: {}",
            kind.label(),
            new.out
        );
        // ...and the subscriber connected before keeps its session and its messages.
        for i in 0..3 {
            admin
                .send(&cmd(&["PUBLISH", "r", &format!("after-{i}")]))
                .await;
            admin.expect(b":1\r\n").await;
            tsub.expect(&message("r", format!("after-{i}").as_bytes()));
        }
        tsub.send(&cmd(&["PING"]));
        tsub.expect(b"*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    }
}

#[tokio::test]
async fn config_get_tls_matches_redis() {
    let certs = Certs::new();
    let mut replies = Vec::new();
    for kind in KINDS {
        let s = TlsServer::start(kind, &certs, true, "optional", &[]);
        let mut c = support::Client::connect(s.plain_addr()).await;
        let mut got = Vec::new();
        for name in [
            "tls-auth-clients",
            "tls-protocols",
            "tls-ciphersuites",
            "tls-ciphers",
            "tls-ca-cert-dir",
        ] {
            c.send(&cmd(&["CONFIG", "GET", name])).await;
            got.push(c.read_frame().await);
        }
        replies.push(got);
        assert!(s.kind == kind);
    }
    assert_eq!(
        replies[0]
            .iter()
            .map(|f| support::show_trunc(f, 500))
            .collect::<Vec<_>>(),
        replies[1]
            .iter()
            .map(|f| support::show_trunc(f, 500))
            .collect::<Vec<_>>()
    );
}

#[test]
fn maxclients_refuses_a_tls_client_by_closing() {
    // redis-server 7.0.15 checks maxclients before the TLS handshake and its write of
    // the error fails there: the client sees the connection end, no reply.
    let certs = Certs::new();
    for kind in KINDS {
        let s = TlsServer::start(kind, &certs, false, "no", &["--maxclients", "1"]);
        // The readiness probe's connection may still hold the one slot for a moment.
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut first = loop {
            let mut c = TlsClient::connect(s.tls_port, &certs, "ca.crt", None);
            let served = c.tls.write_all(&cmd(&["PING"])).is_ok() && {
                let mut b = [0u8; 7];
                c.tls.read_exact(&mut b).is_ok() && &b == b"+PONG\r\n"
            };
            if served {
                break c;
            }
            assert!(
                Instant::now() < deadline,
                "{}: first client never served",
                kind.label()
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut second = TlsClient::connect(s.tls_port, &certs, "ca.crt", None);
        let mut got = Vec::new();
        let end = second.tls.read_to_end(&mut got);
        assert!(
            got.is_empty() && end.is_err(),
            "{}: expected the handshake to fail, got {got:?} {end:?}",
            kind.label()
        );
        first.send(&cmd(&["PING"]));
        first.expect(b"+PONG\r\n");
    }
}

#[tokio::test]
async fn slow_tls_subscriber_hits_the_output_limit() {
    // rustls holds at most 64 KiB of ciphertext per connection, so the outbox's byte
    // count stays the bound: a TLS subscriber that never reads is closed at the pubsub
    // limit exactly as a plain one is.
    let certs = Certs::new();
    for kind in KINDS {
        let s = TlsServer::start(
            kind,
            &certs,
            true,
            "no",
            &["--client-output-buffer-limit", "pubsub 1mb 0 0"],
        );
        let mut tsub = TlsClient::connect(s.tls_port, &certs, "ca.crt", None);
        tsub.send(&cmd(&["SUBSCRIBE", "slow"]));
        tsub.expect(&subscribed("slow", 1));
        let mut pubc = support::Client::connect(s.plain_addr()).await;
        let chunk = vec![b'x'; 64 * 1024];
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut sent = 0u64;
        loop {
            pubc.send(&cmd(&[&b"PUBLISH"[..], b"slow", &chunk])).await;
            let reply = pubc.read_frame().await;
            sent += 1;
            if reply == b":0\r\n" {
                break;
            }
            assert_eq!(reply, b":1\r\n", "{}", kind.label());
            assert!(
                Instant::now() < deadline && sent < 2000,
                "{}: the non-reading TLS subscriber was never closed ({sent} x 64 KiB)",
                kind.label()
            );
        }
        // Closed well before 2000 x 64 KiB: socket buffers plus 1 MiB, not unbounded.
        eprintln!("{}: closed after {sent} x 64 KiB", kind.label());
        pubc.send(&cmd(&["PING"])).await;
        pubc.expect(b"+PONG\r\n").await;
    }
}

#[test]
fn ca_cert_dir_verifies_client_certificates() {
    // A CA directory as OpenSSL wants it (`openssl rehash` links); respub reads every
    // certificate file in it.
    let certs = Certs::new();
    let dir = certs.0.join("cadir");
    std::fs::create_dir_all(&dir).expect("cadir");
    std::fs::copy(certs.0.join("ca.crt"), dir.join("ca.crt")).expect("copy CA");
    openssl(&dir, &["rehash", "."]);
    let dir = dir.to_str().expect("utf-8").to_string();
    let ca = certs.path("ca.crt");
    let (crt, key) = (certs.path("client.crt"), certs.path("client.key"));
    let (rcrt, rkey) = (certs.path("rogue.crt"), certs.path("rogue.key"));
    for kind in KINDS {
        let s = TlsServer::start(
            kind,
            &certs,
            false,
            "yes",
            &["--tls-ca-cert-file", "", "--tls-ca-cert-dir", &dir],
        );
        let good = cli(
            s.tls_port,
            &["--cacert", &ca, "--cert", &crt, "--key", &key],
            &["ping"],
        );
        assert!(
            good.ok && good.out.trim() == "PONG",
            "{}: {}",
            kind.label(),
            good.out
        );
        let rogue = cli(
            s.tls_port,
            &["--cacert", &ca, "--cert", &rcrt, "--key", &rkey],
            &["ping"],
        );
        assert!(
            !rogue.out.contains("PONG"),
            "{}: rogue: {}",
            kind.label(),
            rogue.out
        );
        let none = cli(s.tls_port, &["--cacert", &ca], &["ping"]);
        assert!(
            !none.out.contains("PONG"),
            "{}: no cert: {}",
            kind.label(),
            none.out
        );
    }
}

#[test]
fn client_info_of_a_tls_client_reads_like_tcp() {
    let certs = Certs::new();
    let mut seen = Vec::new();
    for kind in KINDS {
        let s = TlsServer::start(kind, &certs, false, "no", &[]);
        let mut c = TlsClient::connect(s.tls_port, &certs, "ca.crt", None);
        c.send(&cmd(&["CLIENT", "SETNAME", "tlsclient"]));
        c.expect(b"+OK\r\n");
        c.send(&cmd(&["CLIENT", "INFO"]));
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while !got.ends_with(b"\n\r\n") {
            let n = c.tls.read(&mut buf).expect("CLIENT INFO reply");
            assert!(n > 0, "EOF");
            got.extend_from_slice(&buf[..n]);
        }
        let text = String::from_utf8_lossy(&got).to_string();
        let reply = text
            .split_once("\r\n")
            .map(|(_, body)| body.trim_end().to_string())
            .expect("bulk reply");
        seen.push((kind.label(), reply));
    }
    let masked: Vec<String> = seen
        .iter()
        .map(|(_, r)| mask_client_fields(r, None))
        .collect();
    assert_eq!(masked[0], masked[1], "redis vs respub");
}
