//! The `respub` binary: command line and config file -> tracing -> runtime -> server.

use respub::config::{self, Cli};
use respub::server::Server;
use std::process::ExitCode;
use tracing::{error, info, warn};

const USAGE: &str = "\
Usage: respub [config.toml] [--config FILE] [--<directive> <value> ...]

Runs a Redis-protocol pub/sub server. Directives are redis-server's names, e.g.
  respub --port 6380 --bind 127.0.0.1 --requirepass secret --loglevel warning
  respub --client-output-buffer-limit pubsub 32mb 8mb 60 --maxclients 20000
Every directive is documented in config.example.toml. Keyspace and persistence
directives (save, appendonly, ...) are accepted and ignored.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (config, ignored) = match config::parse_args(&args) {
        Ok(Cli::Run(c, ignored)) => (*c, ignored),
        Ok(Cli::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Cli::Version) => {
            println!("respub {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("respub: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let filter = config::log_filter(&config.loglevel).unwrap_or("info");
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(format!(
            "respub={filter},warn"
        )))
        .with_target(false)
        .init();
    for key in ignored {
        warn!(
            directive = key,
            "ignored: respub has no keyspace or persistence"
        );
    }
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if config.worker_threads > 0 {
        builder.worker_threads(config.worker_threads);
    }
    let runtime = match builder.enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("respub: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let config_file = args
        .iter()
        .position(|a| a == "--config")
        .and_then(|i| args.get(i + 1).cloned());
    runtime.block_on(async move {
        let server = match Server::bind(config, config_file).await {
            Ok(s) => s,
            Err(e) => {
                error!(error = %e, "cannot listen");
                return ExitCode::FAILURE;
            }
        };
        // Installed before "Ready": from here on these signals are handled, not fatal.
        survive_signals();
        for addr in server.local_addrs() {
            info!(%addr, version = env!("CARGO_PKG_VERSION"), "Ready to accept connections tcp");
        }
        for path in server.unix_paths() {
            info!(
                path,
                version = env!("CARGO_PKG_VERSION"),
                "Ready to accept connections unix"
            );
        }
        server.run(shutdown_signal()).await;
        info!("respub is now ready to exit, bye bye...");
        ExitCode::SUCCESS
    })
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            error!(error = %e, "cannot listen for SIGTERM");
            return std::future::pending().await;
        }
    };
    tokio::select! {
        _ = term.recv() => info!(signal = "SIGTERM", "received"),
        _ = tokio::signal::ctrl_c() => info!(signal = "SIGINT", "received"),
    }
}

/// Signals Redis survives must not end respub; their default action is to terminate.
/// - SIGHUP (logrotate, a closed terminal): Redis ignores it (server.c `initServer`:
///   `signal(SIGHUP, SIG_IGN)`). There is no log file setting yet, so there is nothing
///   to reopen: it is logged and otherwise ignored.
/// - SIGALRM: Redis handles it (its watchdog handler logs a stack trace and goes on).
///
/// redis-server 7.0.15 keeps answering after `kill -HUP` and `kill -ALRM` and dies on
/// USR1, USR2, QUIT and the rest, which keep their default action here too. SIGPIPE,
/// which Redis also ignores, is already ignored by the Rust runtime.
fn survive_signals() {
    use tokio::signal::unix::{signal, SignalKind};
    for (kind, name, note) in [
        (
            SignalKind::hangup(),
            "SIGHUP",
            "no log file to reopen; continuing",
        ),
        (SignalKind::alarm(), "SIGALRM", "continuing"),
    ] {
        match signal(kind) {
            Ok(mut stream) => {
                tokio::spawn(async move {
                    while stream.recv().await.is_some() {
                        info!(signal = name, "received; {note}");
                    }
                });
            }
            Err(e) => error!(signal = name, error = %e, "cannot handle; it would end respub"),
        }
    }
}
