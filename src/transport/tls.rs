//! TLS over TCP with rustls (issue 7): the server configuration built from the `tls-*`
//! settings (reloadable by CONFIG SET for new connections), and the stream that drives a
//! `rustls::ServerConnection` on the TCP socket's readiness, for the four operations the
//! connection loop uses (see the module comment of `transport`).
//!
//! Why rustls directly and not tokio-rustls: tokio-rustls gives an `AsyncRead`/`AsyncWrite`
//! that needs `&mut self` and its own poll loop, while the connection loop polls reading
//! and writing of one stream at once through a shared borrow, stamps arrival on raw
//! read readiness (`conn::arrival`), and writes with `try_write_vectored`. Driving
//! `ServerConnection` by hand keeps those four operations and their meaning unchanged:
//! the handshake runs inside `try_read` (records in, records out through `wants_write`),
//! so a slow handshake never holds the accept loop or anyone's arrival stamp.
//!
//! Crypto provider: ring (builds with a C compiler only; aws-lc-rs needs cmake).
//!
//! Memory: rustls buffers at most `BUFFER_LIMIT` bytes of ciphertext not yet written, so
//! `try_write_vectored` accepts plaintext only while that buffer has room, and the
//! outbox's byte accounting stays the bound on what a slow TLS subscriber holds.
//! Deliveries are the same shared `Bytes` as for plain TCP; the one copy per subscriber
//! is rustls encrypting them into its record buffer.

use super::TcpSocket;
use super::{Peer, Stream};
use crate::config::{Config, TlsAuthClients};
use bytes::BytesMut;
use rustls::crypto::{ring, CryptoProvider};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, ServerConnection, SupportedProtocolVersion};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::io::{self, IoSlice, Read, Write};
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Context, Poll};
use tokio::net::TcpListener;

/// Ciphertext rustls may hold unsent per connection (its default, 64 KiB).
const BUFFER_LIMIT: usize = 64 * 1024;

/// The current server configuration. CONFIG SET replaces it; a connection keeps the one
/// it was accepted with.
#[derive(Debug, Default)]
pub struct TlsContext {
    current: RwLock<Option<Arc<ServerConfig>>>,
}

impl TlsContext {
    /// Builds from the settings when `tls-port` is set; otherwise an empty context.
    pub fn new(config: &Config) -> io::Result<TlsContext> {
        let ctx = TlsContext::default();
        if config.tls.port != 0 {
            ctx.reload(config)?;
        }
        Ok(ctx)
    }

    /// Whether TLS is served (a TLS port was configured at start).
    pub fn enabled(&self) -> bool {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    /// Re-reads the certificate, key and CA files and installs the new configuration for
    /// connections accepted from now on. On error nothing changes.
    pub fn reload(&self, config: &Config) -> io::Result<()> {
        let built = Arc::new(server_config(config)?);
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Some(built);
        Ok(())
    }

    fn connection(&self) -> io::Result<ServerConnection> {
        let config = self
            .current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| io::Error::other("TLS is not configured"))?;
        let mut conn = ServerConnection::new(config).map_err(io::Error::other)?;
        conn.set_buffer_limit(Some(BUFFER_LIMIT));
        Ok(conn)
    }
}

fn invalid(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, what)
}

/// Builds a rustls configuration from the `tls-*` settings; errors name the file.
fn server_config(config: &Config) -> io::Result<ServerConfig> {
    let tls = &config.tls;
    if tls.cert_file.is_empty() || tls.key_file.is_empty() {
        return Err(invalid(
            "tls-port needs tls-cert-file and tls-key-file".to_string(),
        ));
    }
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&tls.cert_file)
        .and_then(|it| it.collect())
        .map_err(|e| invalid(format!("tls-cert-file {}: {e}", tls.cert_file)))?;
    if certs.is_empty() {
        return Err(invalid(format!(
            "tls-cert-file {}: no certificate in it",
            tls.cert_file
        )));
    }
    let key = PrivateKeyDer::from_pem_file(&tls.key_file)
        .map_err(|e| invalid(format!("tls-key-file {}: {e}", tls.key_file)))?;

    let mut provider = ring::default_provider();
    provider.cipher_suites = cipher_suites(&provider, &tls.ciphersuites, &tls.ciphers)?;
    let provider = Arc::new(provider);
    let versions = protocol_versions(&tls.protocols)?;

    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| invalid(format!("tls-protocols/tls-ciphersuites: {e}")))?;
    let builder = if tls.auth_clients == TlsAuthClients::No {
        builder.with_no_client_auth()
    } else {
        let roots = Arc::new(ca_roots(&tls.ca_cert_file, &tls.ca_cert_dir)?);
        let verifier = WebPkiClientVerifier::builder_with_provider(roots, provider);
        let verifier = if tls.auth_clients == TlsAuthClients::Optional {
            verifier.allow_unauthenticated()
        } else {
            verifier
        };
        builder.with_client_cert_verifier(
            verifier
                .build()
                .map_err(|e| invalid(format!("tls-auth-clients: {e}")))?,
        )
    };
    builder
        .with_single_cert(certs, key)
        .map_err(|e| invalid(format!("tls-cert-file/tls-key-file: {e}")))
}

fn ca_roots(file: &str, dir: &str) -> io::Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    let mut files: Vec<std::path::PathBuf> = Vec::new();
    if !file.is_empty() {
        files.push(file.into());
    }
    if !dir.is_empty() {
        let entries =
            std::fs::read_dir(dir).map_err(|e| invalid(format!("tls-ca-cert-dir {dir}: {e}")))?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_file() {
                files.push(path);
            }
        }
        files.sort();
    }
    for path in &files {
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| invalid(format!("CA certificates {}: {e}", path.display())))?;
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| invalid(format!("CA certificate in {}: {e}", path.display())))?;
        }
    }
    if roots.is_empty() {
        return Err(invalid(
            "tls-auth-clients yes|optional needs CA certificates (tls-ca-cert-file or \
             tls-ca-cert-dir)"
                .to_string(),
        ));
    }
    Ok(roots)
}

fn protocol_versions(words: &str) -> io::Result<Vec<&'static SupportedProtocolVersion>> {
    let mut versions = Vec::new();
    for w in words.split_whitespace() {
        if w.eq_ignore_ascii_case("TLSv1.2") {
            versions.push(&rustls::version::TLS12);
        } else if w.eq_ignore_ascii_case("TLSv1.3") {
            versions.push(&rustls::version::TLS13);
        } else {
            return Err(invalid(format!("tls-protocols: '{w}' is not supported")));
        }
    }
    if versions.is_empty() {
        versions = vec![&rustls::version::TLS13, &rustls::version::TLS12];
    }
    Ok(versions)
}

/// OpenSSL's names for the TLS 1.2 suites rustls has (Redis's `tls-ciphers` uses them).
const TLS12_NAMES: &[(&str, &str)] = &[
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    ),
    (
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    ),
    (
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    ),
    (
        "ECDHE-RSA-AES128-GCM-SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    ),
    (
        "ECDHE-RSA-AES256-GCM-SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    ),
    (
        "ECDHE-RSA-CHACHA20-POLY1305",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    ),
];

/// The provider's suites, kept in its order, narrowed by `tls-ciphersuites` (TLS 1.3,
/// `TLS_AES_128_GCM_SHA256` as OpenSSL writes it) and `tls-ciphers` (TLS 1.2). A name
/// rustls does not have is an error rather than silently dropped.
fn cipher_suites(
    provider: &CryptoProvider,
    tls13: &str,
    tls12: &str,
) -> io::Result<Vec<rustls::SupportedCipherSuite>> {
    let rustls_name = |s: &rustls::SupportedCipherSuite| format!("{:?}", s.suite());
    let mut wanted13: Vec<String> = Vec::new();
    for name in tls13.split(':').map(str::trim).filter(|n| !n.is_empty()) {
        let Some(rest) = name.strip_prefix("TLS_") else {
            return Err(invalid(format!("tls-ciphersuites: unknown suite '{name}'")));
        };
        let r = format!("TLS13_{rest}");
        if !provider.cipher_suites.iter().any(|s| rustls_name(s) == r) {
            return Err(invalid(format!("tls-ciphersuites: unknown suite '{name}'")));
        }
        wanted13.push(r);
    }
    let mut wanted12: Vec<String> = Vec::new();
    for name in tls12.split(':').map(str::trim).filter(|n| !n.is_empty()) {
        let Some((_, r)) = TLS12_NAMES
            .iter()
            .find(|(o, _)| o.eq_ignore_ascii_case(name))
        else {
            return Err(invalid(format!(
                "tls-ciphers: unknown or unsupported cipher '{name}'"
            )));
        };
        wanted12.push(r.to_string());
    }
    Ok(provider
        .cipher_suites
        .iter()
        .filter(|s| {
            let name = rustls_name(s);
            match s.version() == &rustls::version::TLS13 {
                true => wanted13.is_empty() || wanted13.contains(&name),
                false => wanted12.is_empty() || wanted12.contains(&name),
            }
        })
        .copied()
        .collect())
}

/// A TLS listener: TCP accept, then a fresh `ServerConnection` from the current
/// configuration; the handshake happens in the connection task.
pub(super) async fn accept(
    listener: &TcpListener,
    ctx: &TlsContext,
) -> io::Result<(Stream, Peer, Peer)> {
    let (stream, peer, local) = super::tcp::accept(listener).await?;
    let Stream::Tcp(tcp) = stream else {
        unreachable!("tcp::accept returns a TCP stream")
    };
    let conn = ctx.connection()?;
    Ok((
        Stream::Tls(Box::new(TlsStream {
            tcp,
            state: Mutex::new(State {
                conn,
                plaintext: 0,
                eof: false,
            }),
        })),
        peer,
        local,
    ))
}

/// A TCP socket with a rustls server session on it.
#[derive(Debug)]
pub struct TlsStream {
    tcp: TcpSocket,
    /// Locked only by the connection's own task, never across an `.await`.
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    conn: ServerConnection,
    /// Decrypted bytes rustls holds (from the last `process_new_packets`, minus reads).
    plaintext: usize,
    /// The socket reached EOF, or the peer sent close_notify.
    eof: bool,
}

/// The TCP socket as `Read`/`Write` for rustls, never waiting.
struct Nonblocking<'a>(&'a TcpSocket);

impl Read for Nonblocking<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.try_read(buf)
    }
}

impl Write for Nonblocking<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.try_write(buf)
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.0.try_write_vectored(bufs)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl TlsStream {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn as_tcp(&self) -> &TcpSocket {
        &self.tcp
    }

    /// Ready while rustls holds plaintext (or the end) even if the socket is empty:
    /// the arrival stamp must not be released with commands still unread.
    pub(super) fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        {
            let s = self.lock();
            if s.plaintext > 0 || s.eof {
                return Poll::Ready(Ok(()));
            }
        }
        self.tcp.poll_read_ready(cx)
    }

    /// Plaintext if rustls has some; otherwise reads records until it has, or the
    /// socket is empty (`WouldBlock`, which also clears the socket's readiness).
    pub(super) fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let mut s = self.lock();
        loop {
            if s.plaintext > 0 {
                let n = s.conn.reader().read(buf)?;
                s.plaintext -= n.min(s.plaintext);
                return Ok(n);
            }
            if s.eof {
                return Ok(0);
            }
            match s.conn.read_tls(&mut Nonblocking(&self.tcp)) {
                Ok(0) => s.eof = true,
                Ok(_) => {}
                Err(e) => return Err(e),
            }
            match s.conn.process_new_packets() {
                Ok(state) => {
                    s.plaintext = state.plaintext_bytes_to_read();
                    if state.peer_has_closed() {
                        s.eof = true;
                    }
                }
                Err(e) => {
                    // Best effort: the alert tells the client why (bad certificate...).
                    let _ = s.conn.write_tls(&mut Nonblocking(&self.tcp));
                    return Err(io::Error::new(io::ErrorKind::InvalidData, e));
                }
            }
        }
    }

    pub(super) fn try_read_buf(&self, buf: &mut BytesMut) -> io::Result<usize> {
        super::read_into_spare(buf, |spare| self.try_read(spare))
    }

    /// Handshake or alert records, or ciphertext of accepted plaintext, not yet written.
    pub(super) fn wants_write(&self) -> bool {
        self.lock().conn.wants_write()
    }

    /// Writes pending ciphertext; `WouldBlock` if some is left.
    fn write_pending(&self, s: &mut State) -> io::Result<()> {
        while s.conn.wants_write() {
            if s.conn.write_tls(&mut Nonblocking(&self.tcp))? == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
        }
        Ok(())
    }

    pub(super) fn try_write_pending(&self) -> io::Result<()> {
        let mut s = self.lock();
        self.write_pending(&mut s)
    }

    /// Takes as much plaintext as rustls's bounded buffer has room for, once earlier
    /// ciphertext is out, and pushes what it can. The count is plaintext accepted.
    pub(super) fn try_write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let mut s = self.lock();
        self.write_pending(&mut s)?;
        let n = s.conn.writer().write_vectored(bufs)?;
        if n == 0 && bufs.iter().any(|b| !b.is_empty()) {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        match self.write_pending(&mut s) {
            Err(e) if e.kind() != io::ErrorKind::WouldBlock => Err(e),
            _ => Ok(n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cipher_names_are_openssl_names() {
        let p = ring::default_provider();
        let all = cipher_suites(&p, "", "").expect("defaults");
        assert_eq!(all.len(), p.cipher_suites.len());
        let two = cipher_suites(&p, "TLS_AES_256_GCM_SHA384", "ECDHE-RSA-AES128-GCM-SHA256")
            .expect("known names");
        let names: Vec<String> = two.iter().map(|s| format!("{:?}", s.suite())).collect();
        assert_eq!(
            names,
            [
                "TLS13_AES_256_GCM_SHA384",
                "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
            ]
        );
        assert!(cipher_suites(&p, "TLS_AES_128_CCM_SHA256", "").is_err());
        assert!(cipher_suites(&p, "", "AES256-SHA").is_err());
    }

    #[test]
    fn protocols_are_tls12_and_tls13_only() {
        assert_eq!(protocol_versions("").expect("both").len(), 2);
        assert_eq!(protocol_versions("TLSv1.3").expect("one").len(), 1);
        assert!(protocol_versions("TLSv1.1 TLSv1.2").is_err());
    }
}
