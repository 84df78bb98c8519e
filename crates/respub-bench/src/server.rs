//! Starts a server binary on a free loopback port and stops it again by PID. The guard
//! kills the process on drop, so every exit path (error, timeout, ctrl-c) cleans up.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::conn::Conn;

/// Flags both servers accept. `maxclients` leaves room for the 18k-connection scenario;
/// the output-buffer limit is Redis's default, spelled out so both servers get the same.
const COMMON_FLAGS: &[&str] = &[
    "--bind",
    "127.0.0.1",
    "--maxclients",
    "20000",
    "--client-output-buffer-limit",
    "pubsub 32mb 8mb 60",
];

/// redis-server only: never write an RDB/AOF during or after a run.
const REDIS_FLAGS: &[&str] = &["--save", "", "--appendonly", "no"];

/// A running server started by the bench.
#[derive(Debug)]
pub(crate) struct ServerProcess {
    child: Child,
    pub(crate) addr: SocketAddr,
    pub(crate) log: PathBuf,
}

impl ServerProcess {
    /// Starts `bin` on a free port, with its output in `workdir`, and waits until it
    /// answers PING.
    pub(crate) async fn start(bin: &Path, workdir: &Path, tag: &str) -> io::Result<Self> {
        Self::start_with(bin, workdir, tag, &[]).await
    }

    /// `start` with extra flags after the common ones (the backplane scenario).
    pub(crate) async fn start_with(
        bin: &Path,
        workdir: &Path,
        tag: &str,
        extra: &[String],
    ) -> io::Result<Self> {
        let mut last_err = None;
        // A free port can be taken between probing and binding; retry a few times.
        for _ in 0..3 {
            let port = free_port()?;
            let log = workdir.join(format!("{tag}-{port}.log"));
            let mut cmd = Command::new(bin);
            match crate::tls::server_args() {
                None => cmd.arg("--port").arg(port.to_string()),
                Some(tls) => cmd
                    .args(["--port", "0", "--tls-port"])
                    .arg(port.to_string())
                    .args(tls),
            };
            cmd.args(COMMON_FLAGS);
            cmd.args(extra);
            if is_redis(bin) {
                cmd.args(REDIS_FLAGS);
            }
            let out = std::fs::File::create(&log)?;
            cmd.current_dir(workdir)
                .stdin(Stdio::null())
                .stdout(out.try_clone()?)
                .stderr(out)
                // Own process group: a terminal ctrl-c reaches only the bench, which then
                // stops the server itself.
                .process_group(0);
            let child = cmd.spawn().map_err(|e| {
                io::Error::new(e.kind(), format!("cannot start {}: {e}", bin.display()))
            })?;
            let mut server = ServerProcess {
                child,
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
                log,
            };
            match server.wait_ready(Duration::from_secs(10)).await {
                Ok(()) => return Ok(server),
                Err(e) => last_err = Some(e),
            }
            server.stop();
        }
        Err(last_err.unwrap_or_else(|| io::Error::other("server did not start")))
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    async fn wait_ready(&mut self, limit: Duration) -> io::Result<()> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Err(io::Error::other(format!(
                    "server exited early ({status}); log: {}",
                    self.log.display()
                )));
            }
            if let Ok(Ok(mut conn)) =
                tokio::time::timeout(Duration::from_millis(500), Conn::connect(self.addr, 256))
                    .await
            {
                if conn.ping().await.is_ok() {
                    return Ok(());
                }
            }
            if tokio::time::Instant::now() > deadline {
                return Err(io::Error::other(format!(
                    "server not answering PING on {} after {limit:?}; log: {}",
                    self.addr,
                    self.log.display()
                )));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Kills the process (SIGKILL by PID: nothing in a bench server is worth a graceful
    /// shutdown, and it bounds the time) and reaps it.
    pub(crate) fn stop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

fn is_redis(bin: &Path) -> bool {
    bin.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.contains("redis"))
}

pub(crate) fn free_port() -> io::Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}
