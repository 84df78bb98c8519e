//! `compare --tls`: every connection of the run speaks TLS (issue 7). Certificates are made
//! with the `openssl` CLI into the run's work directory (never committed), both servers
//! are started with `--port 0 --tls-port P` and the same files, and the bench's
//! connections are tokio-rustls clients trusting that CA. The scenarios are unchanged:
//! they read and write a `Stream`, which is TCP or TLS.

use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// Set once by `compare --tls`; unset means plain TCP.
static TLS: OnceLock<Tls> = OnceLock::new();

struct Tls {
    connector: TlsConnector,
    server_args: Vec<String>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("server_args", &self.server_args)
            .finish()
    }
}

fn openssl(dir: &Path, args: &[&str]) -> io::Result<()> {
    let out = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| io::Error::new(e.kind(), format!("openssl CLI needed for --tls: {e}")))?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(())
}

/// Makes a CA and a server certificate for 127.0.0.1 in `dir` and turns TLS on.
pub(crate) fn enable(dir: &Path) -> io::Result<()> {
    std::fs::create_dir_all(dir)?;
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=respub-bench CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
        ],
    )?;
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )?;
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    )?;
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "server.ext",
            "-out",
            "server.crt",
        ],
    )?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(dir.join("ca.crt")).map_err(io::Error::other)? {
        roots
            .add(cert.map_err(io::Error::other)?)
            .map_err(io::Error::other)?;
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(io::Error::other)?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let path = |f: &str| dir.join(f).to_string_lossy().into_owned();
    let server_args = vec![
        "--tls-cert-file".to_string(),
        path("server.crt"),
        "--tls-key-file".to_string(),
        path("server.key"),
        "--tls-ca-cert-file".to_string(),
        path("ca.crt"),
        "--tls-auth-clients".to_string(),
        "no".to_string(),
    ];
    TLS.set(Tls {
        connector: TlsConnector::from(Arc::new(config)),
        server_args,
    })
    .map_err(|_| io::Error::other("TLS enabled twice"))
}

/// The flags (besides `--port 0 --tls-port P`) a server needs, when TLS is on.
pub(crate) fn server_args() -> Option<&'static [String]> {
    TLS.get().map(|t| t.server_args.as_slice())
}

/// A bench connection's byte stream.
#[derive(Debug)]
pub(crate) enum Stream {
    Tcp(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// TLS handshake on `tcp` when TLS is on.
pub(crate) async fn wrap(tcp: TcpStream) -> io::Result<Stream> {
    match TLS.get() {
        None => Ok(Stream::Tcp(tcp)),
        Some(t) => {
            let name = ServerName::try_from("localhost").map_err(io::Error::other)?;
            Ok(Stream::Tls(Box::new(t.connector.connect(name, tcp).await?)))
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
