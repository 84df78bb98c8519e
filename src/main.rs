//! The `respub` binary: settings from every source (`config::sources`) -> working
//! directory, log, pid file -> runtime -> server, with systemd notification and the
//! orchestrator-friendly shutdown:
//!
//! ```text
//! SIGTERM/SIGINT -> draining (/readyz 503, systemd STOPPING=1)
//!   -> shutdown-delay seconds still serving -> stop accepting
//!   -> flush queued output within shutdown-timeout -> close -> exit 0
//! a second SIGTERM/SIGINT at any point -> exit 1 at once
//! ```

use respub::config::sources::{self, Loaded, Start};
use respub::server::{Server, Shared};
use std::process::ExitCode;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Duration;
use tracing::{error, info, warn};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| k.starts_with("RESPUB_"))
        .collect();
    let loaded = match sources::load(&args, &env) {
        Ok(Start::Print(text)) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Ok(Start::Run(l)) => *l,
        Err(e) => {
            eprintln!("respub: {e}");
            eprintln!("respub: see 'respub --help' for every setting, its unit and default");
            return ExitCode::from(1);
        }
    };
    if loaded.check_config {
        print!("{}", loaded.describe());
        return ExitCode::SUCCESS;
    }
    if let Some(dir) = &loaded.config.dir {
        if let Err(e) = std::env::set_current_dir(dir) {
            eprintln!("respub: Can't chdir to '{dir}': {e}");
            return ExitCode::from(1);
        }
    }
    if let Err(e) = respub::logging::init(&loaded.config) {
        eprintln!("respub: {e}");
        return ExitCode::from(1);
    }
    for w in &loaded.warnings {
        warn!("{w}");
    }
    // Before any worker thread (and its heap) exists.
    respub::memtrim::keep_freed_memory();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if loaded.config.worker_threads > 0 {
        builder.worker_threads(loaded.config.worker_threads);
    }
    let runtime = match builder.enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            error!(error = %e, "cannot start the runtime");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(loaded))
}

async fn serve(loaded: Loaded) -> ExitCode {
    let Loaded { config, file, .. } = loaded;
    let pidfile = config.pidfile.clone();
    let notify = systemd_notify(&config.supervised);
    // Before the ports are bound: a client (or a test, or an orchestrator) may connect
    // and send SIGTERM as soon as they are, and the default action would kill respub
    // without its shutdown sequence.
    let stop_signals = StopSignals::install();
    // The same for the signals Redis survives: handled, not fatal, from here on.
    survive_signals();
    let server = match Server::bind(config, file).await {
        Ok(s) => s,
        Err(e) => {
            error!("{e}");
            // InvalidInput: the ACL users did not load; nothing was bound.
            if e.kind() != std::io::ErrorKind::InvalidInput {
                error!("Failed listening, aborting.");
            }
            return ExitCode::FAILURE;
        }
    };
    if let Some(path) = &pidfile {
        if let Err(e) = std::fs::write(path, format!("{}\n", std::process::id())) {
            warn!(pidfile = %path, error = %e, "Failed to write PID file");
        }
    }
    for addr in server.local_addrs() {
        info!(%addr, version = env!("CARGO_PKG_VERSION"), "Ready to accept connections tcp");
    }
    for addr in server.tls_addrs() {
        info!(%addr, version = env!("CARGO_PKG_VERSION"), "Ready to accept connections tls");
    }
    for path in server.unix_paths() {
        info!(
            path,
            version = env!("CARGO_PKG_VERSION"),
            "Ready to accept connections unix"
        );
    }
    if let Some(addr) = server.admin_addr() {
        info!(%addr, "admin HTTP: /metrics /healthz /readyz");
    }
    if notify {
        sd(&[
            sd_notify::NotifyState::Ready,
            sd_notify::NotifyState::Status("Ready to accept connections"),
        ]);
    }
    let shared = server.shared().clone();
    server
        .run(shutdown_requested(stop_signals, shared, notify))
        .await;
    if let Some(path) = &pidfile {
        let _ = std::fs::remove_file(path);
    }
    info!("respub is now ready to exit, bye bye...");
    ExitCode::SUCCESS
}

/// `supervised`: whether to talk to systemd.
fn systemd_notify(mode: &str) -> bool {
    let has_socket = std::env::var_os("NOTIFY_SOCKET").is_some();
    match mode {
        "systemd" if !has_socket => {
            warn!("supervised systemd requested, but NOTIFY_SOCKET not found");
            false
        }
        "systemd" | "auto" => has_socket,
        "upstart" => {
            warn!("supervised upstart is not supported by respub; running unsupervised");
            false
        }
        _ => false,
    }
}

fn sd(states: &[sd_notify::NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(false, states) {
        warn!(error = %e, "cannot notify systemd");
    }
}

/// SIGTERM and SIGINT, handled from the moment this is created.
struct StopSignals(Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>);

impl StopSignals {
    fn install() -> StopSignals {
        use tokio::signal::unix::{signal, SignalKind};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(t), Ok(i)) => StopSignals(Some((t, i))),
            (Err(e), _) | (_, Err(e)) => {
                error!(error = %e, "cannot listen for SIGTERM/SIGINT");
                StopSignals(None)
            }
        }
    }
}

/// Resolves when the server should stop accepting: after the first SIGTERM/SIGINT and
/// then `shutdown-delay` seconds (during which /readyz already says 503). A second
/// signal ends the process at once.
async fn shutdown_requested(signals: StopSignals, shared: Arc<Shared>, notify: bool) {
    let Some((mut term, mut int)) = signals.0 else {
        return std::future::pending().await;
    };
    let name = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    };
    warn!("Received {name} scheduling shutdown...");
    shared.draining.store(true, Relaxed);
    if notify {
        sd(&[sd_notify::NotifyState::Stopping]);
    }
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        warn!("You insist... exiting now.");
        std::process::exit(1);
    });
    let delay = shared.config().shutdown_delay;
    if delay > 0 {
        info!(
            seconds = delay,
            "shutdown-delay: still serving while readiness reports draining"
        );
        tokio::time::sleep(Duration::from_secs(delay)).await;
    }
    warn!("User requested shutdown...");
}

/// Signals Redis survives must not end respub; their default action is to terminate.
/// - SIGHUP (logrotate, a closed terminal): the log file, if any, is reopened.
/// - SIGALRM: Redis handles it (its watchdog handler logs and goes on).
///
/// redis-server 7.0.15 keeps answering after `kill -HUP` and `kill -ALRM` and dies on
/// USR1, USR2, QUIT and the rest, which keep their default action here too. SIGPIPE,
/// which Redis also ignores, is already ignored by the Rust runtime.
fn survive_signals() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::hangup()) {
        Ok(mut stream) => {
            tokio::spawn(async move {
                while stream.recv().await.is_some() {
                    match respub::logging::reopen() {
                        Ok(true) => info!(signal = "SIGHUP", "log file reopened"),
                        Ok(false) => info!(signal = "SIGHUP", "received; no log file to reopen"),
                        Err(e) => {
                            error!(signal = "SIGHUP", error = %e, "cannot reopen the log file")
                        }
                    }
                }
            });
        }
        Err(e) => error!(signal = "SIGHUP", error = %e, "cannot handle; it would end respub"),
    }
    match signal(SignalKind::alarm()) {
        Ok(mut stream) => {
            tokio::spawn(async move {
                while stream.recv().await.is_some() {
                    info!(signal = "SIGALRM", "received; continuing");
                }
            });
        }
        Err(e) => error!(signal = "SIGALRM", error = %e, "cannot handle; it would end respub"),
    }
}
