//! Configuration: every knob and limit the server has, with its unit, default and what
//! happens past it. Loaded from a TOML file (`--config FILE`) and then from redis-server
//! style command-line flags (`--port 6380 --requirepass secret`), flags winning.
//!
//! Keys use Redis's directive names (`proto-max-bulk-len`, `client-output-buffer-limit`)
//! so that a docker-compose `command:` written for redis-server works unchanged.
//! Directives that only make sense for a keyspace or persistence (`save`, `appendonly`,
//! ...) are accepted and ignored with a warning, because compose files carry them.

use std::fmt;
use std::path::Path;

/// One `client-output-buffer-limit` class: bytes and seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputLimit {
    /// Queued bytes at or above which the client is closed at once. 0 = no limit.
    pub hard: u64,
    /// Queued bytes that, held continuously for more than `soft_seconds`, close the client.
    /// 0 = no limit.
    pub soft: u64,
    pub soft_seconds: u64,
}

/// All settings. Defaults follow redis-server 7.2 where Redis has the same knob.
#[derive(Clone, Debug)]
pub struct Config {
    /// Addresses to listen on. Default `127.0.0.1`.
    pub bind: Vec<String>,
    /// TCP port. Default 6379; 0 = no TCP listener, as in Redis (serve `unixsocket`
    /// only). With 0 and no `unixsocket` the server refuses to start.
    pub port: u16,
    /// Path of a Unix-domain socket to listen on as well (Redis `unixsocket`). Default
    /// none. A file already at the path is replaced; the file is removed at shutdown.
    pub unixsocket: Option<String>,
    /// Mode of the `unixsocket` file, octal as Redis writes it (`700`, `0770`); at most
    /// 777. Default 0 = leave the mode the umask gives.
    pub unixsocketperm: u32,
    /// Password of the `default` user; `None` = no authentication. Default none.
    pub requirepass: Option<Vec<u8>>,
    /// Log level: debug, verbose, notice, warning (Redis words) or trace/info/warn/error.
    pub loglevel: String,
    /// Connected clients at most; the next one gets `-ERR max number of clients reached`
    /// and is closed. Default 10000. The process raises its open-file limit to fit.
    pub maxclients: u64,
    /// `SELECT` accepts indexes below this. Pub/sub ignores the db, as Redis does. Default 16.
    pub databases: u64,
    /// Largest bulk argument accepted, bytes (`proto-max-bulk-len`). Past it:
    /// `-ERR Protocol error: invalid bulk length` and close. Default 512 MiB.
    pub proto_max_bulk_len: u64,
    /// Bytes one client may hold in commands not yet run (`client-query-buffer-limit`):
    /// unparsed input, the arguments of a partial command (payload, headers and one
    /// handle per argument slot, so millions of empty arguments count), and, as in
    /// Redis since redis#12961, the commands queued in MULTI (`multi-mem`). Past it the client is
    /// closed without a reply, logged, and counted in INFO
    /// `client_query_buffer_limit_disconnections`. Default 1 GiB; at least 1mb.
    pub client_query_buffer_limit: u64,
    /// Largest multibulk count `*<n>` accepted. Past it:
    /// `-ERR Protocol error: invalid multibulk length` and close. Default 2147483647 (Redis).
    pub max_multibulk_len: u64,
    /// Longest inline command (or `*`/`$` count line) without a newline, bytes. Past it:
    /// `-ERR Protocol error: too big inline request` and close. Default 64 KiB (Redis).
    pub max_inline_len: u64,
    /// Output limit for clients with at least one subscription. Default 32mb 8mb 60.
    pub output_limit_pubsub: OutputLimit,
    /// Output limit for other clients. Default 0 0 0 (none; see `reply_pause_bytes`).
    pub output_limit_normal: OutputLimit,
    /// Kept only to answer `CONFIG GET client-output-buffer-limit` like Redis (no replicas here).
    pub output_limit_replica: OutputLimit,
    /// Bytes of unsent replies at which the server stops reading a client's further
    /// commands until the client reads (back-pressure for pipelines that never read).
    /// Not a disconnect. Default 64 MiB.
    pub reply_pause_bytes: u64,
    /// Seconds a non-subscribed client may stay idle before it is closed; 0 = never.
    /// Subscribed clients are exempt, as in Redis. Default 0.
    pub timeout: u64,
    /// Listen backlog. Default 511 (Redis `tcp-backlog`).
    pub tcp_backlog: u32,
    /// Tokio worker threads; 0 = one per CPU. Default 0.
    pub worker_threads: usize,
    /// Seconds given to connections to flush their output on SIGTERM/SIGINT before they
    /// are dropped. Default 5.
    pub shutdown_timeout: u64,
    /// Subscriptions (channels + patterns + shard channels) one client may hold; a
    /// (P|S)SUBSCRIBE that would go past it is refused whole with
    /// `-ERR max-subscriptions-per-client reached` and changes nothing. 0 = no limit,
    /// the default, as in Redis (where a client's subscriptions are unbounded).
    pub max_subscriptions_per_client: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: vec!["127.0.0.1".to_string()],
            port: 6379,
            unixsocket: None,
            unixsocketperm: 0,
            requirepass: None,
            loglevel: "notice".to_string(),
            maxclients: 10_000,
            databases: 16,
            proto_max_bulk_len: 512 * MB,
            client_query_buffer_limit: 1024 * MB,
            max_multibulk_len: i32::MAX as u64,
            max_inline_len: 64 * 1024,
            output_limit_pubsub: OutputLimit {
                hard: 32 * MB,
                soft: 8 * MB,
                soft_seconds: 60,
            },
            output_limit_normal: OutputLimit {
                hard: 0,
                soft: 0,
                soft_seconds: 0,
            },
            output_limit_replica: OutputLimit {
                hard: 256 * MB,
                soft: 64 * MB,
                soft_seconds: 60,
            },
            reply_pause_bytes: 64 * MB,
            timeout: 0,
            tcp_backlog: 511,
            worker_threads: 0,
            shutdown_timeout: 5,
            max_subscriptions_per_client: 0,
        }
    }
}

const MB: u64 = 1024 * 1024;

/// A bad setting, reported before the server starts (or by CONFIG SET).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

fn err<T>(msg: impl Into<String>) -> Result<T, ConfigError> {
    Err(ConfigError(msg.into()))
}

/// Redis directives accepted for drop-in use and ignored: they configure a keyspace,
/// persistence or daemon management that respub does not have.
pub const IGNORED_DIRECTIVES: &[&str] = &[
    "save",
    "appendonly",
    "appendfsync",
    "appendfilename",
    "dir",
    "dbfilename",
    "rdbcompression",
    "rdbchecksum",
    "stop-writes-on-bgsave-error",
    "protected-mode",
    "supervised",
    "daemonize",
    "pidfile",
    "logfile",
    "maxmemory",
    "maxmemory-policy",
    "tcp-keepalive",
    "io-threads",
    "hz",
    "notify-keyspace-events",
    "always-show-logo",
    "lazyfree-lazy-user-del",
];

/// Parses a Redis memory value: `123`, `1k` (1000), `1kb` (1024), `1m`, `1mb`, `1g`, `1gb`.
pub fn parse_memory(s: &str) -> Option<u64> {
    let lower = s.trim().to_ascii_lowercase();
    let (digits, mult) = [
        ("gb", 1024 * 1024 * 1024),
        ("mb", 1024 * 1024),
        ("kb", 1024),
        ("g", 1_000_000_000),
        ("m", 1_000_000),
        ("k", 1000),
        ("b", 1),
    ]
    .iter()
    .find_map(|(suffix, m)| lower.strip_suffix(suffix).map(|d| (d.to_string(), *m)))
    .unwrap_or((lower.clone(), 1u64));
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok()?.checked_mul(mult)
}

fn parse_u64(key: &str, v: &str) -> Result<u64, ConfigError> {
    v.trim()
        .parse::<u64>()
        .or_else(|_| err(format!("'{key}': '{v}' is not a non-negative integer")))
}

fn parse_mem(key: &str, v: &str) -> Result<u64, ConfigError> {
    parse_memory(v).ok_or_else(|| ConfigError(format!("'{key}': '{v}' is not a memory size")))
}

impl Config {
    /// Applies one directive given as text (config file value or command-line flag).
    /// Returns `Ok(false)` if the directive is a known Redis one that respub ignores.
    pub fn apply(&mut self, key: &str, value: &str) -> Result<bool, ConfigError> {
        let key = key.to_ascii_lowercase();
        match key.as_str() {
            "bind" => {
                let addrs: Vec<String> = value.split_whitespace().map(str::to_string).collect();
                if addrs.is_empty() {
                    return err("'bind' needs at least one address");
                }
                self.bind = addrs;
            }
            "port" => {
                self.port = value
                    .trim()
                    .parse()
                    .or_else(|_| err(format!("'port': '{value}' is not a port number")))?
            }
            "unixsocket" => {
                self.unixsocket = (!value.is_empty()).then(|| value.to_string());
            }
            "unixsocketperm" => {
                // Redis: "argument couldn't be parsed as an octal number" /
                // "argument must be between 0 and 777 inclusive".
                let v = value.trim();
                let n = u32::from_str_radix(v, 8).or_else(|_| {
                    err(format!(
                        "'unixsocketperm': '{value}' is not an octal number"
                    ))
                })?;
                if v.starts_with(['+', '-']) || n > 0o777 {
                    return err("'unixsocketperm' must be between 0 and 777");
                }
                self.unixsocketperm = n;
            }
            "requirepass" => {
                self.requirepass = if value.is_empty() {
                    None
                } else {
                    Some(value.as_bytes().to_vec())
                }
            }
            "loglevel" => {
                let v = value.trim().to_ascii_lowercase();
                if log_filter(&v).is_none() {
                    return err(format!("'loglevel': unknown level '{value}'"));
                }
                self.loglevel = v;
            }
            "maxclients" => {
                let n = parse_u64(&key, value)?;
                if n == 0 {
                    return err("'maxclients' must be at least 1");
                }
                self.maxclients = n;
            }
            "databases" => {
                let n = parse_u64(&key, value)?;
                if n == 0 || n > i32::MAX as u64 {
                    return err("'databases' must be between 1 and 2147483647");
                }
                self.databases = n;
            }
            "proto-max-bulk-len" => {
                let n = parse_mem(&key, value)?;
                if n < 1024 * 1024 {
                    return err("'proto-max-bulk-len' must be at least 1mb");
                }
                self.proto_max_bulk_len = n;
            }
            "client-query-buffer-limit" => {
                let n = parse_mem(&key, value)?;
                if n < 1024 * 1024 {
                    return err("'client-query-buffer-limit' must be at least 1mb");
                }
                self.client_query_buffer_limit = n;
            }
            "max-multibulk-len" => {
                let n = parse_u64(&key, value)?;
                if n == 0 || n > i32::MAX as u64 {
                    return err("'max-multibulk-len' must be between 1 and 2147483647");
                }
                self.max_multibulk_len = n;
            }
            "max-inline-len" => {
                let n = parse_mem(&key, value)?;
                if n < 1024 {
                    return err("'max-inline-len' must be at least 1kb");
                }
                self.max_inline_len = n;
            }
            "client-output-buffer-limit" => self.apply_output_limits(value)?,
            "reply-pause-bytes" => self.reply_pause_bytes = parse_mem(&key, value)?.max(1),
            "timeout" => self.timeout = parse_u64(&key, value)?,
            "tcp-backlog" => {
                self.tcp_backlog = parse_u64(&key, value)?
                    .try_into()
                    .or_else(|_| err("'tcp-backlog' is too large"))?
            }
            "worker-threads" => self.worker_threads = parse_u64(&key, value)? as usize,
            "shutdown-timeout" => self.shutdown_timeout = parse_u64(&key, value)?,
            "max-subscriptions-per-client" => {
                self.max_subscriptions_per_client = parse_u64(&key, value)?
            }
            "daemonize" if value.trim().eq_ignore_ascii_case("yes") => {
                return err("'daemonize yes' is not supported: run respub in the foreground")
            }
            k if IGNORED_DIRECTIVES.contains(&k) => return Ok(false),
            _ => return err(format!("unknown configuration directive '{key}'")),
        }
        Ok(true)
    }

    /// `<class> <hard> <soft> <seconds>` repeated, as Redis's directive.
    fn apply_output_limits(&mut self, value: &str) -> Result<(), ConfigError> {
        let words: Vec<&str> = value.split_whitespace().collect();
        if words.is_empty() || !words.len().is_multiple_of(4) {
            return err("'client-output-buffer-limit': wrong number of arguments");
        }
        let mut next = self.clone();
        for w in words.chunks(4) {
            let limit = OutputLimit {
                hard: parse_mem("client-output-buffer-limit", w[1])?,
                soft: parse_mem("client-output-buffer-limit", w[2])?,
                soft_seconds: parse_u64("client-output-buffer-limit", w[3])?,
            };
            match w[0].to_ascii_lowercase().as_str() {
                "normal" => next.output_limit_normal = limit,
                "pubsub" => next.output_limit_pubsub = limit,
                "replica" | "slave" => next.output_limit_replica = limit,
                other => {
                    return err(format!(
                        "'client-output-buffer-limit': invalid class '{other}'"
                    ))
                }
            }
        }
        *self = next;
        Ok(())
    }

    /// `CONFIG GET client-output-buffer-limit` text, in bytes like Redis prints it.
    pub fn output_limits_text(&self) -> String {
        let f = |name: &str, l: &OutputLimit| {
            format!("{name} {} {} {}", l.hard, l.soft, l.soft_seconds)
        };
        format!(
            "{} {} {}",
            f("normal", &self.output_limit_normal),
            f("slave", &self.output_limit_replica),
            f("pubsub", &self.output_limit_pubsub)
        )
    }

    /// Reads a TOML file whose keys are directive names; values may be strings, integers
    /// or (for `bind`) arrays of strings.
    pub fn load_toml(&mut self, path: &Path) -> Result<Vec<String>, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("cannot read {}: {e}", path.display())))?;
        self.apply_toml(&text)
    }

    /// Applies TOML text; returns the ignored directives (for a warning).
    pub fn apply_toml(&mut self, text: &str) -> Result<Vec<String>, ConfigError> {
        let table: toml::Table = text
            .parse()
            .map_err(|e| ConfigError(format!("config file is not valid TOML: {e}")))?;
        let mut ignored = Vec::new();
        for (key, value) in table {
            let text = match value {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Boolean(b) => (if b { "yes" } else { "no" }).to_string(),
                toml::Value::Array(items) => {
                    let mut parts = Vec::new();
                    for item in items {
                        match item {
                            toml::Value::String(s) => parts.push(s),
                            toml::Value::Integer(i) => parts.push(i.to_string()),
                            _ => return err(format!("'{key}': array items must be strings")),
                        }
                    }
                    parts.join(" ")
                }
                _ => return err(format!("'{key}': unsupported value type")),
            };
            if !self.apply(&key, &text)? {
                ignored.push(key);
            }
        }
        Ok(ignored)
    }
}

/// Maps a Redis or tracing log level word to a tracing filter directive.
pub fn log_filter(level: &str) -> Option<&'static str> {
    Some(match level {
        "debug" | "trace" => "debug",
        "verbose" | "info" | "notice" => "info",
        "warning" | "warn" => "warn",
        "error" | "nothing" => "error",
        _ => return None,
    })
}

/// What the command line asked for.
#[derive(Debug)]
pub enum Cli {
    Run(Box<Config>, Vec<String>),
    Help,
    Version,
}

/// Parses `respub [config.toml] [--config FILE] [--directive value...]...`. A directive's
/// value is every word up to the next `--` flag, joined by spaces (redis-server's rule,
/// so `--save 900 1` and `--client-output-buffer-limit pubsub 32mb 8mb 60` both work).
pub fn parse_args(args: &[String]) -> Result<Cli, ConfigError> {
    let mut config = Config::default();
    let mut ignored = Vec::new();
    let mut i = 0;
    if let Some(first) = args.first() {
        match first.as_str() {
            "-h" | "--help" => return Ok(Cli::Help),
            "-v" | "--version" => return Ok(Cli::Version),
            f if !f.starts_with("--") => {
                ignored.extend(config.load_toml(Path::new(f))?);
                i = 1;
            }
            _ => {}
        }
    }
    // A config file named with --config is applied first so flags override it
    // wherever they appear.
    let mut pairs = Vec::new();
    while i < args.len() {
        let flag = &args[i];
        let Some(key) = flag.strip_prefix("--") else {
            return err(format!(
                "unexpected argument '{flag}' (flags look like --port 6380)"
            ));
        };
        if key == "help" {
            return Ok(Cli::Help);
        }
        if key == "version" {
            return Ok(Cli::Version);
        }
        i += 1;
        let mut words = Vec::new();
        while i < args.len() && !(args[i].starts_with("--") && args[i].len() > 2) {
            words.push(args[i].as_str());
            i += 1;
        }
        pairs.push((key.to_string(), words.join(" ")));
    }
    for (key, value) in pairs.iter().filter(|(k, _)| k == "config") {
        ignored.extend(
            config
                .load_toml(Path::new(value))
                .map_err(|e| ConfigError(format!("--{key}: {e}")))?,
        );
    }
    for (key, value) in pairs.iter().filter(|(k, _)| k != "config") {
        if !config.apply(key, value)? {
            ignored.push(key.clone());
        }
    }
    Ok(Cli::Run(Box::new(config), ignored))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> Vec<String> {
        s.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn memory_units_follow_redis() {
        assert_eq!(parse_memory("32mb"), Some(32 * 1024 * 1024));
        assert_eq!(parse_memory("1k"), Some(1000));
        assert_eq!(parse_memory("1KB"), Some(1024));
        assert_eq!(parse_memory("7"), Some(7));
        assert_eq!(parse_memory("x1"), None);
        assert_eq!(parse_memory("mb"), None);
    }

    #[test]
    fn redis_server_flags_are_understood() {
        let Cli::Run(c, ignored) = parse_args(&args(&[
            "--port",
            "6380",
            "--save",
            "",
            "--appendonly",
            "no",
            "--requirepass",
            "pw",
            "--client-output-buffer-limit",
            "pubsub",
            "1mb",
            "256kb",
            "5",
        ]))
        .unwrap() else {
            panic!("expected run");
        };
        assert_eq!(c.port, 6380);
        assert_eq!(c.requirepass.as_deref(), Some(&b"pw"[..]));
        assert_eq!(c.output_limit_pubsub.hard, 1024 * 1024);
        assert_eq!(c.output_limit_pubsub.soft, 256 * 1024);
        assert_eq!(c.output_limit_pubsub.soft_seconds, 5);
        assert_eq!(ignored, vec!["save".to_string(), "appendonly".to_string()]);
    }

    #[test]
    fn unknown_directive_is_an_error() {
        assert!(parse_args(&args(&["--nosuch", "1"])).is_err());
        assert!(parse_args(&args(&["--daemonize", "yes"])).is_err());
    }

    #[test]
    fn unixsocketperm_is_octal_up_to_777() {
        let mut c = Config::default();
        c.apply("unixsocketperm", "700").unwrap();
        assert_eq!(c.unixsocketperm, 0o700);
        c.apply("unixsocketperm", "0770").unwrap();
        assert_eq!(c.unixsocketperm, 0o770);
        for bad in ["8", "1777", "-1", "+7", "x", ""] {
            assert!(c.apply("unixsocketperm", bad).is_err(), "{bad}");
        }
        c.apply("unixsocket", "/tmp/r.sock").unwrap();
        assert_eq!(c.unixsocket.as_deref(), Some("/tmp/r.sock"));
        c.apply("unixsocket", "").unwrap();
        assert_eq!(c.unixsocket, None);
    }

    #[test]
    fn example_config_is_the_defaults() {
        let text = include_str!("../config.example.toml");
        let mut c = Config::default();
        let ignored = c.apply_toml(text).expect("config.example.toml parses");
        assert!(ignored.is_empty());
        assert_eq!(format!("{c:?}"), format!("{:?}", Config::default()));
    }

    #[test]
    fn toml_keys_are_directives() {
        let mut c = Config::default();
        let ignored = c
            .apply_toml("port = 7000\nbind = [\"127.0.0.1\", \"::1\"]\nsave = \"\"\nclient-output-buffer-limit = \"pubsub 64mb 16mb 30\"\n")
            .unwrap();
        assert_eq!(c.port, 7000);
        assert_eq!(c.bind, vec!["127.0.0.1", "::1"]);
        assert_eq!(c.output_limit_pubsub.hard, 64 * 1024 * 1024);
        assert_eq!(ignored, vec!["save".to_string()]);
        assert_eq!(
            c.output_limits_text(),
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 67108864 16777216 30"
        );
    }
}
