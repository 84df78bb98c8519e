//! The server: shared state, the accept loop with its connection cap, the once-a-second
//! cron (soft output limits, idle timeout, ops/sec), and graceful shutdown through one
//! cancellation token and one task tracker.

use crate::cmd::rename::Renames;
use crate::config::sources::ConfigFile;
use crate::config::Config;
use crate::conn::arrival::{Sequencer, Stamp};
use crate::conn::{self, client::Client, client::ClientTable, outbox::CloseReason, outbox::Limits};
use crate::registry::{Namespace, Registry};
use crate::resp::DecodeLimits;
use crate::stats::Stats;
use crate::transport::{self, Listener, Peer, Stream};
use bytes::Bytes;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, error, info, warn};

/// State every connection shares.
#[derive(Debug)]
pub struct Shared {
    config: RwLock<Config>,
    /// Output limits, read on every delivery.
    pub limits: Limits,
    pub reply_pause_bytes: AtomicU64,
    pub query_buffer_limit: AtomicU64,
    pub maxclients: AtomicU64,
    /// `max-subscriptions-per-client` (0 = none), read by every subscribe.
    pub max_subscriptions: AtomicU64,
    pub registry: Registry,
    /// ACL users, the ACL LOG and denial counters.
    pub acl: crate::acl::Acl,
    pub clients: ClientTable,
    pub stats: Stats,
    pub started: Instant,
    pub started_unix: u64,
    pub run_id: String,
    /// The TCP port bound (INFO `tcp_port`); 0 when there is no TCP listener.
    pub port: AtomicU16,
    /// The file CONFIG REWRITE writes (what respub was started from).
    pub config_file: Option<ConfigFile>,
    /// `rename-command`, fixed at start.
    pub renames: Renames,
    /// Shutdown has begun (SIGTERM, SHUTDOWN): readiness answers 503 from here on,
    /// even while `shutdown-delay` keeps the listeners open.
    pub draining: AtomicBool,
    next_id: AtomicU64,
    /// Arrival order across connections (`conn::arrival`).
    pub arrival: Arc<Sequencer>,
    /// Connections that may still run commands; shutdown drains output once it is 0.
    pub readers: AtomicUsize,
    /// Notified when `readers` drops to 0.
    pub quiesced: Notify,
    /// Set once the RESP listeners accept connections (admin /readyz).
    pub listening: AtomicBool,
    // ---- admin commands (issue 8) ----
    /// CLIENT PAUSE state.
    pub pause: crate::cmd::pause::Pause,
    /// Connected MONITOR clients.
    pub monitors: crate::cmd::monitor::Monitors,
    /// Cancelled by SHUTDOWN: `Server::run` then ends as on its shutdown future.
    pub shutdown_requested: CancellationToken,
    /// TLS server configuration, reloaded by CONFIG SET of a `tls-*` setting.
    pub tls: Arc<transport::TlsContext>,
    /// Browser clients (issue 12): token keys, their count, their stop signal.
    pub web: crate::web::WebState,
    /// The NATS backplane (issue 10); inactive with `backplane none`.
    pub backplane: crate::backplane::Backplane,
}

impl Shared {
    /// A message published on this node, from any front end (RESP PUBLISH/SPUBLISH, a
    /// browser): local subscribers first, then the backplane's queue (never waits).
    /// Returns the local deliveries and what the reply adds for other nodes' receivers
    /// (`backplane-publish-count cluster`, else 0). The caller has checked the size
    /// (`backplane.check_size`) and corked its own outbox if it must.
    pub fn publish(&self, ns: Namespace, channel: &Bytes, payload: &Bytes) -> (usize, u64) {
        let local = match ns {
            Namespace::Channel => self.registry.publish(channel, payload, &self.limits),
            Namespace::Shard => self.registry.spublish(channel, payload, &self.limits),
        };
        self.backplane.forward(ns, channel, payload);
        (local, self.backplane.remote_receivers(ns, channel))
    }

    pub fn new(config: Config, config_file: Option<ConfigFile>, acl: crate::acl::Acl) -> Self {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        // Not cryptographic: a run id only has to differ between runs.
        let seed = now.as_nanos() ^ ((std::process::id() as u128) << 64);
        let run_id: String = (0..40)
            .map(|i| {
                let x = (seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(i * 1442695040888963407))
                    >> (i % 60);
                char::from_digit((x % 16) as u32, 16).unwrap_or('0')
            })
            .collect();
        let stats = Stats::new(crate::cmd::table::all().iter().map(|s| s.name).collect());
        stats.apply_config(&config);
        let arrival: Arc<Sequencer> = Arc::default();
        let backplane = crate::backplane::Backplane::new(&config.backplane, &run_id);
        let registry = Registry::new();
        if let Some(watch) = backplane.watch() {
            registry.set_watch(watch);
        }
        Shared {
            pause: crate::cmd::pause::Pause::new(arrival.clone()),
            limits: Limits::new(config.output_limit_pubsub, config.output_limit_normal),
            reply_pause_bytes: AtomicU64::new(config.reply_pause_bytes),
            query_buffer_limit: AtomicU64::new(config.client_query_buffer_limit),
            maxclients: AtomicU64::new(config.maxclients),
            max_subscriptions: AtomicU64::new(config.max_subscriptions_per_client),
            port: AtomicU16::new(config.port),
            renames: Renames::new(&config.renames),
            draining: AtomicBool::new(false),
            config: RwLock::new(config),
            registry,
            acl,
            clients: ClientTable::default(),
            stats,
            started: Instant::now(),
            started_unix: now.as_secs(),
            run_id,
            config_file,
            next_id: AtomicU64::new(1),
            arrival,
            readers: AtomicUsize::new(0),
            quiesced: Notify::new(),
            listening: AtomicBool::new(false),
            monitors: Default::default(),
            shutdown_requested: CancellationToken::new(),
            tls: Arc::default(),
            web: crate::web::WebState::default(),
            backplane,
        }
    }

    /// A fresh client id (RESP connections and browser clients share the sequence).
    pub fn next_client_id(&self) -> u64 {
        self.next_id.fetch_add(1, Relaxed)
    }

    /// A copy of the current settings.
    pub fn config(&self) -> Config {
        self.config
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Installs new settings (CONFIG SET) and refreshes the hot-path copies.
    pub fn requirepass(&self) -> Option<Vec<u8>> {
        self.config
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .requirepass
            .clone()
    }

    /// Protected mode: while the `default` user is `nopass`, only loopback (and unix
    /// socket) clients are served (Redis 7 `clientAcceptHandler`).
    pub fn protected_refuses(&self, peer: &Peer) -> bool {
        let protected = self
            .config
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .protected_mode;
        protected && !peer.is_loopback() && self.acl.default_user().nopass
    }

    pub fn databases(&self) -> u64 {
        self.config
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .databases
    }

    pub fn shutdown_timeout(&self) -> u64 {
        self.config
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .shutdown_timeout
    }

    pub fn decode_limits(&self) -> DecodeLimits {
        let c = self.config.read().unwrap_or_else(|p| p.into_inner());
        DecodeLimits {
            max_bulk_len: c.proto_max_bulk_len as usize,
            max_multibulk_len: c.max_multibulk_len as usize,
            max_inline_len: c.max_inline_len as usize,
        }
    }
    // ---- Hook added by the hostile branch (issue 11): atomic CONFIG SET. ----

    /// Runs `f` on the settings as one read-modify-write under the write lock, so two
    /// concurrent CONFIG SETs cannot lose each other's change. The result is installed
    /// (with the hot-path copies refreshed) only if `f` succeeds. `f` must not call
    /// back into `Shared`'s config accessors (the lock is held).
    pub fn update_config<E>(&self, f: impl FnOnce(&mut Config) -> Result<(), E>) -> Result<(), E> {
        let mut current = self.config.write().unwrap_or_else(|p| p.into_inner());
        let mut next = current.clone();
        f(&mut next)?;
        self.limits
            .set(next.output_limit_pubsub, next.output_limit_normal);
        self.reply_pause_bytes
            .store(next.reply_pause_bytes, Relaxed);
        self.query_buffer_limit
            .store(next.client_query_buffer_limit, Relaxed);
        self.maxclients.store(next.maxclients, Relaxed);
        self.max_subscriptions
            .store(next.max_subscriptions_per_client, Relaxed);
        self.stats.apply_config(&next);
        *current = next;
        Ok(())
    }
}

/// A bound, not yet running server.
#[derive(Debug)]
pub struct Server {
    listeners: Vec<Listener>,
    /// The admin HTTP port (`crate::admin`), when `admin-port` is set.
    admin: Option<tokio::net::TcpListener>,
    shared: Arc<Shared>,
}

impl Server {
    /// Binds every configured address. Raises the open-file limit to fit `maxclients`.
    pub async fn bind(config: Config, config_file: Option<ConfigFile>) -> io::Result<Server> {
        // ACL errors stop the start before any port is bound.
        let acl = crate::acl::Acl::from_config(&config).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("Aborting startup because of ACL errors: {e}"),
            )
        })?;
        crate::backplane::Backplane::check(&config.backplane)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        // Two descriptors per client at most: a client whose socket fills up gets a
        // second one for write readiness (`transport::socket`).
        let wanted = 2 * config.maxclients + 64;
        match rlimit::increase_nofile_limit(wanted) {
            Ok(got) if got < wanted => warn!(
                maxclients = config.maxclients,
                open_files = got,
                "open-file limit is below 2 x maxclients + 64; connections past it may fail or write slower"
            ),
            Err(e) => warn!(error = %e, "could not raise the open-file limit"),
            _ => {}
        }
        // `port 0` means no TCP listener, as in Redis (use it with `unixsocket`).
        let tcp_hosts: &[String] = if config.port == 0 { &[] } else { &config.bind };
        let mut listeners: Vec<Listener> =
            crate::bind::bind_tcp(tcp_hosts, config.port, config.tcp_backlog)?
                .into_iter()
                .map(Listener::Tcp)
                .collect();
        // TLS (issue 7): its own port on the same bind addresses.
        let tls = Arc::new(transport::TlsContext::new(&config)?);
        if config.tls.port != 0 {
            listeners.extend(
                crate::bind::bind_tcp(&config.bind, config.tls.port, config.tcp_backlog)?
                    .into_iter()
                    .map(|l| Listener::Tls(l, tls.clone())),
            );
        }
        if let Some(path) = &config.unixsocket {
            listeners.push(Listener::Unix(transport::bind_unix(
                path,
                config.unixsocketperm,
                config.tcp_backlog,
            )?));
        }
        if listeners.is_empty() {
            // redis-server's words and behaviour (it exits at start).
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "Configured to not listen anywhere, exiting.",
            ));
        }
        let admin = if config.admin_port > 0 {
            let addr = (config.admin_bind.as_str(), config.admin_port);
            Some(tokio::net::TcpListener::bind(addr).await.map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!(
                        "admin-port {}:{}: {e}",
                        config.admin_bind, config.admin_port
                    ),
                )
            })?)
        } else {
            None
        };
        let jwt = crate::web::auth::Jwt::from_config(&config.web)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let mut shared = Shared::new(config, config_file, acl);
        shared.tls = tls;
        shared.web.jwt = jwt;
        if let Some(addr) = admin.as_ref().and_then(|l| l.local_addr().ok()) {
            let _ = shared.web.local_addr.set(addr);
        }
        let shared = Arc::new(shared);
        if let Some(addr) = listeners.iter().find_map(Listener::tcp_addr) {
            shared.port.store(addr.port(), Relaxed);
        }
        Ok(Server {
            listeners,
            admin,
            shared,
        })
    }

    /// The admin HTTP address, if `admin-port` is set.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin.as_ref().and_then(|l| l.local_addr().ok())
    }

    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The TCP addresses bound.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter_map(Listener::tcp_addr)
            .collect()
    }

    /// The TLS addresses bound.
    pub fn tls_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter_map(Listener::tls_addr)
            .collect()
    }

    /// The Unix socket paths bound.
    pub fn unix_paths(&self) -> Vec<String> {
        self.listeners
            .iter()
            .filter_map(|l| l.unix_path().map(str::to_string))
            .collect()
    }

    /// Serves until `shutdown` resolves (or SHUTDOWN is run), then stops accepting, lets connections flush
    /// (bounded by `shutdown-timeout`) and returns.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()>) {
        let token = CancellationToken::new();
        let tracker = TaskTracker::new();
        // The admin port outlives the RESP listeners: it stops after the drain, so
        // /readyz answers 503 throughout it.
        let admin_stop = CancellationToken::new();
        // The listeners are bound: set before any task that could answer /readyz or a
        // client runs, so a client that got an answer never sees "not listening".
        self.shared.listening.store(true, Relaxed);
        let admin = self.admin.map(|listener| {
            tokio::spawn(crate::admin::serve(
                listener,
                self.shared.clone(),
                admin_stop.clone(),
            ))
        });
        for listener in self.listeners {
            tracker.spawn(accept_loop(
                listener,
                self.shared.clone(),
                token.clone(),
                tracker.clone(),
            ));
        }
        tracker.spawn(cron(self.shared.clone(), token.clone()));
        crate::backplane::Backplane::start(&self.shared, &token, &tracker);
        // SHUTDOWN ends the server at once, as in Redis (no shutdown-delay: the
        // operator asked for it).
        tokio::select! {
            _ = shutdown => {}
            _ = self.shared.shutdown_requested.cancelled() => {}
        }
        self.shared.draining.store(true, Relaxed);
        self.shared.web.stop.cancel();
        info!(
            clients = self.shared.clients.len(),
            "shutting down: no new connections, flushing clients"
        );
        token.cancel();
        tracker.close();
        let grace = Duration::from_secs(self.shared.shutdown_timeout() + 1);
        if tokio::time::timeout(grace, tracker.wait()).await.is_err() {
            warn!("some connections did not finish within shutdown-timeout");
        }
        self.shared.listening.store(false, Relaxed);
        admin_stop.cancel();
        if let Some(admin) = admin {
            // A scraper holding a keep-alive connection must not hold up the exit.
            let _ = tokio::time::timeout(Duration::from_secs(1), admin).await;
        }
    }
}

fn per_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
    )
}

/// Accepts on one listener of any transport; `maxclients` counts every transport's
/// clients together, as in Redis.
async fn accept_loop(
    listener: Listener,
    shared: Arc<Shared>,
    token: CancellationToken,
    tracker: TaskTracker,
) {
    loop {
        let accepted = tokio::select! {
            _ = token.cancelled() => {
                listener.close();
                return;
            }
            r = listener.accept() => r,
        };
        let (stream, addr, laddr) = match accepted {
            Ok(a) => a,
            Err(e) if per_connection_error(&e) => continue,
            Err(e) => {
                // Out of file descriptors and the like: keep serving who is connected.
                error!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        shared.stats.connections_received.fetch_add(1, Relaxed);
        if shared.clients.len() as u64 >= shared.maxclients.load(Relaxed) {
            shared.stats.rejected_connections.fetch_add(1, Relaxed);
            tracker.spawn(reject(stream, MAXCLIENTS));
            continue;
        }
        if shared.protected_refuses(&addr) {
            shared.stats.rejected_connections.fetch_add(1, Relaxed);
            debug!(peer = %addr, reason = "protected_mode", "refused");
            tracker.spawn(reject(stream, crate::error::PROTECTED_MODE_DENIED));
            continue;
        }
        let id = shared.next_id.fetch_add(1, Relaxed);
        let fd = stream.as_raw_fd();
        let client = Arc::new(Client::new(id, addr, laddr, fd));
        shared.clients.insert(client.clone());
        // From here bytes on the new socket are stamped in arrival order, even before
        // its task first runs (`conn::arrival` step 1).
        let stamp = Stamp::new(shared.arrival.clone(), id);
        stamp.watch(&stream);
        debug!(client = id, peer = %client.addr, "accepted");
        tracker.spawn(conn::serve(
            shared.clone(),
            stream,
            client,
            stamp,
            token.clone(),
        ));
    }
}

const MAXCLIENTS: &[u8] = b"-ERR max number of clients reached\r\n";

/// Over `maxclients`, or refused by protected mode: Redis writes the error and closes.
async fn reject(mut stream: Stream, error: &'static [u8]) {
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(error)).await;
}

/// Every 100 ms: soft output limits of clients over them (so a limit fires within
/// 100 ms of its seconds). Once a second: idle timeouts (Redis's clientsCron), ops/sec.
async fn cron(shared: Arc<Shared>, token: CancellationToken) {
    const TICK: Duration = Duration::from_millis(100);
    let mut tick = tokio::time::interval(TICK);
    let mut last_commands = shared.stats.commands.load(Relaxed);
    let mut ticks: u64 = 0;
    loop {
        tokio::select! {
            _ = token.cancelled() => return,
            _ = tick.tick() => {}
        }
        ticks += 1;
        shared.clients.for_each(|c| {
            if c.outbox.over_soft_limit() {
                c.outbox.check_soft_limit(&shared.limits);
            }
        });
        if !ticks.is_multiple_of(10) {
            continue;
        }
        let commands = shared.stats.commands.load(Relaxed);
        shared
            .stats
            .ops_per_sec
            .store(commands.saturating_sub(last_commands), Relaxed);
        last_commands = commands;
        let timeout = shared.config().timeout;
        shared.clients.for_each(|c| {
            // Subscribers are exempt from `timeout`, as in Redis.
            if timeout > 0 && !c.is_pubsub() && c.idle_secs() > timeout {
                debug!(client = c.id, reason = "timeout", "closing idle client");
                c.kill(CloseReason::Killed);
            }
        });
    }
}
