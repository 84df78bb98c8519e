//! The log: Redis's level words (`loglevel`, changeable with CONFIG SET at run time),
//! `log-format text|json`, standard output or a `logfile` reopened on SIGHUP (so
//! logrotate can move it away), colours only when writing to a terminal.
//!
//! What is logged is decided where it happens (one line per disconnect an operator cares
//! about; never a payload); this module only routes lines.

use crate::config::{log_filter, Config};
use std::fs::{File, OpenOptions};
use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, EnvFilter, Layer};

type SetLevel = Box<dyn Fn(&str) + Send + Sync>;
static SET_LEVEL: OnceLock<SetLevel> = OnceLock::new();
static LOG_FILE: OnceLock<Arc<Reopenable>> = OnceLock::new();

fn filter(level: &str) -> EnvFilter {
    let f = log_filter(level).unwrap_or("info");
    EnvFilter::new(format!("respub={f},warn"))
}

/// Installs the global subscriber. Fails only if the log file cannot be opened.
pub fn init(config: &Config) -> io::Result<()> {
    let (level, handle) = reload::Layer::new(filter(&config.loglevel));
    let _ = SET_LEVEL.set(Box::new(move |l: &str| {
        let _ = handle.reload(filter(l));
    }));
    let json = config.log_format == "json";
    let registry = tracing_subscriber::registry().with(level);
    match &config.logfile {
        Some(path) => {
            let file = Arc::new(Reopenable::open(path)?);
            let _ = LOG_FILE.set(file.clone());
            let layer = tracing_subscriber::fmt::layer()
                .with_target(false)
                .with_ansi(false)
                .with_writer(FileSink(file));
            if json {
                registry.with(layer.json().boxed()).init();
            } else {
                registry.with(layer.boxed()).init();
            }
        }
        None => {
            let layer = tracing_subscriber::fmt::layer()
                .with_target(false)
                .with_ansi(!json && io::stdout().is_terminal())
                .with_writer(io::stdout);
            if json {
                registry.with(layer.json().boxed()).init();
            } else {
                registry.with(layer.boxed()).init();
            }
        }
    }
    Ok(())
}

/// CONFIG SET loglevel: takes effect for the next line.
pub fn set_level(level: &str) {
    if let Some(set) = SET_LEVEL.get() {
        set(level);
    }
}

/// SIGHUP: reopen the log file (a no-op when logging to standard output).
pub fn reopen() -> io::Result<bool> {
    match LOG_FILE.get() {
        Some(f) => f.reopen().map(|()| true),
        None => Ok(false),
    }
}

/// A log file that can be swapped for a fresh open of the same path.
#[derive(Debug)]
struct Reopenable {
    path: String,
    file: Mutex<File>,
}

impl Reopenable {
    fn open(path: &str) -> io::Result<Reopenable> {
        Ok(Reopenable {
            path: path.to_string(),
            file: Mutex::new(Self::append(path)?),
        })
    }

    fn append(path: &str) -> io::Result<File> {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot open logfile {path}: {e}")))
    }

    fn reopen(&self) -> io::Result<()> {
        let fresh = Self::append(&self.path)?;
        *self.file.lock().unwrap_or_else(|p| p.into_inner()) = fresh;
        Ok(())
    }
}

/// One line is formatted into a buffer by tracing and written with one `write` call
/// under the lock, so lines from different threads never interleave.
struct FileSink(Arc<Reopenable>);

impl<'a> MakeWriter<'a> for FileSink {
    type Writer = LineWriter;
    fn make_writer(&'a self) -> LineWriter {
        LineWriter {
            target: self.0.clone(),
            buf: Vec::new(),
        }
    }
}

#[derive(Debug)]
pub struct LineWriter {
    target: Arc<Reopenable>,
    buf: Vec<u8>,
}

impl Write for LineWriter {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        if !self.buf.is_empty() {
            let mut f = self.target.file.lock().unwrap_or_else(|p| p.into_inner());
            let _ = f.write_all(&self.buf);
        }
    }
}

/// Log lines of one kind (protocol errors, limit disconnections) per second (`budget`).
const LOG_LINES_PER_SEC: u64 = 10;
/// The current second (high bits) and lines logged in it (low 16 bits).
pub static PROTOCOL_ERROR_LOG: AtomicU64 = AtomicU64::new(0);
/// The same for limit disconnections (a flood of them is one attacker, not news).
pub static LIMIT_LOG: AtomicU64 = AtomicU64::new(0);

/// Whether one more line fits in this second's budget.
pub fn budget(slot: &AtomicU64) -> bool {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let cur = slot.load(Relaxed);
    let (sec, n) = (cur >> 16, cur & 0xffff);
    let next = if sec == now {
        (now << 16) | (n + 1).min(0xffff)
    } else {
        now << 16 | 1
    };
    slot.store(next, Relaxed);
    sec != now || n < LOG_LINES_PER_SEC
}

/// The same for failed AUTH / HELLO AUTH (a password-guessing client is one event).
pub static AUTH_FAILURE_LOG: AtomicU64 = AtomicU64::new(0);
