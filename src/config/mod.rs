//! Configuration: one settings table ([`settings::SETTINGS`]) and the sources that fill
//! it, in this precedence (later wins):
//!
//! ```text
//! built-in defaults < TOML file (--config) < redis.conf (+ include, in order)
//!                   < environment (RESPUB_<NAME>, RESPUB_<NAME>_FILE) < command line
//! ```
//!
//! - [`settings`]: the table — name, unit, default, mutability, secrecy, help, parse, print.
//! - [`redis_conf`]: redis.conf as redis-server reads it (quoting, `include`, file:line errors).
//! - [`cli`]: the command line (clap), redis-server style `--directive a b c` included.
//! - [`sources`]: the precedence above, the origin of each value, `--check-config`.
//! - [`rewrite`]: CONFIG REWRITE back into the file respub was started from.
//! - [`redis_directives`]: what redis-server knows that respub does not (warned or refused).

pub mod backplane;
pub mod cli;
pub mod redis_conf;
pub mod redis_directives;
pub mod rewrite;
pub mod settings;
pub mod sources;

use std::fmt;

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
    /// TCP port. Default 6379; 0 picks a free port (logged at start).
    pub port: u16,
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
    /// Path of a Unix-domain socket to listen on as well; `None` = none.
    pub unixsocket: Option<String>,
    /// Mode of the `unixsocket` file; 0 = what the umask gives.
    pub unixsocketperm: u32,
    /// Refuse non-loopback clients while the default user has no password.
    pub protected_mode: bool,
    /// Seconds between SIGTERM (readiness turns 503) and closing the listeners.
    pub shutdown_delay: u64,
    /// `text` or `json`.
    pub log_format: String,
    pub logfile: Option<String>,
    pub pidfile: Option<String>,
    /// Working directory entered at start; `None` = stay where started.
    pub dir: Option<String>,
    /// `no`, `auto`, `systemd`, `upstart`.
    pub supervised: String,
    /// Accepted and ignored (warned when `yes`): respub stays in the foreground.
    pub daemonize: bool,
    /// `rename-command OLD NEW` lines, in order; an empty NEW removes the command.
    /// Lower-case names.
    pub renames: Vec<(String, String)>,
    /// `user <name> <rule>...` lines (the text after `user`), in order. Exclusive
    /// with `aclfile`: both set stops the start, as in Redis.
    pub users: Vec<String>,
    /// ACL file read at start and by ACL LOAD, written by ACL SAVE. Default none.
    pub aclfile: Option<String>,
    /// `acl-pubsub-default`: new users start with `allchannels` (true) or
    /// `resetchannels` (false, the Redis 7 default).
    pub acl_pubsub_allchannels: bool,
    /// ACL LOG entries kept; older ones are dropped. Default 128.
    pub acllog_max_len: u64,
    // ---- admin-http (issue 8); units, defaults and limits in the settings table ----
    /// Admin HTTP port (/metrics, /healthz, /readyz); 0 = off.
    pub admin_port: u16,
    /// Address of the admin HTTP port.
    pub admin_bind: String,
    /// Browser endpoints on the admin port (issue 12): /ws, /sse, the demo page.
    pub web: WebConfig,
    /// Microseconds from which a command goes to SLOWLOG; negative = none.
    pub slowlog_log_slower_than: i64,
    /// SLOWLOG entries kept.
    pub slowlog_max_len: u64,
    /// Milliseconds from which the latency monitor records a command; 0 = off.
    pub latency_monitor_threshold: u64,
    /// Per-command latency histograms on or off.
    pub latency_tracking: bool,
    /// Percentiles INFO latencystats prints.
    pub latency_tracking_info_percentiles: Vec<f64>,
    /// Per-channel subscriber series in /metrics (top N); 0 = none.
    pub metrics_top_channels: u64,
    /// The `backplane*` settings (issue 10).
    pub backplane: backplane::BackplaneConfig,
    /// The `tls-*` settings (issue 7).
    pub tls: TlsConfig,
}

/// The browser settings (issue 12); units and defaults in the settings table.
#[derive(Clone, Debug, Default)]
pub struct WebConfig {
    /// Serve the demo page at `/`.
    pub demo: bool,
    /// Origins allowed to open /ws and /sse (exact `scheme://host[:port]`, or `*`).
    /// Empty: only the page's own origin (the `Origin` host equals the `Host` header).
    pub allowed_origins: Vec<String>,
    /// WebSocket + SSE clients at once; past it a new one gets 503.
    pub max_clients: u64,
    /// Largest WebSocket message (and frame) a browser may send, bytes; past it the
    /// connection is closed with 1009.
    pub max_message_size: u64,
    /// Seconds between WebSocket pings / SSE keepalive comments; a WebSocket client
    /// silent for two intervals is closed. 0 = none.
    pub ping_interval: u64,
    /// HS256 secret for browser tokens; "" = none.
    pub jwt_secret: String,
    /// PEM public key (RS256/ES256) or JWKS JSON file for browser tokens; "" = none.
    pub jwt_key_file: String,
}

/// `tls-auth-clients`: whether a TLS client must present a certificate signed by the CA.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TlsAuthClients {
    /// Redis's default: no certificate, no connection.
    #[default]
    Yes,
    No,
    /// A certificate is checked if given; a client without one is served.
    Optional,
}

/// The `tls-*` settings, Redis's names and defaults. Empty strings mean "not set".
#[derive(Clone, Debug, Default)]
pub struct TlsConfig {
    /// TLS port; 0 = no TLS listener (the default). Binds on the `bind` addresses.
    pub port: u16,
    pub cert_file: String,
    pub key_file: String,
    pub ca_cert_file: String,
    pub ca_cert_dir: String,
    pub auth_clients: TlsAuthClients,
    /// `TLSv1.2 TLSv1.3` words; "" = both.
    pub protocols: String,
    /// TLS 1.3 suites, OpenSSL names separated by `:`; "" = rustls's defaults.
    pub ciphersuites: String,
    /// TLS 1.2 suites, OpenSSL names separated by `:`; "" = rustls's defaults.
    pub ciphers: String,
}

impl Default for Config {
    /// Every row of the settings table applied with its default text.
    fn default() -> Self {
        let zero = OutputLimit {
            hard: 0,
            soft: 0,
            soft_seconds: 0,
        };
        let mut c = Config {
            bind: Vec::new(),
            port: 0,
            requirepass: None,
            loglevel: String::new(),
            maxclients: 0,
            databases: 0,
            proto_max_bulk_len: 0,
            client_query_buffer_limit: 0,
            max_multibulk_len: 0,
            max_inline_len: 0,
            output_limit_pubsub: zero,
            output_limit_normal: zero,
            output_limit_replica: zero,
            reply_pause_bytes: 0,
            timeout: 0,
            tcp_backlog: 0,
            worker_threads: 0,
            shutdown_timeout: 0,
            max_subscriptions_per_client: 0,
            unixsocket: None,
            unixsocketperm: 0,
            protected_mode: false,
            shutdown_delay: 0,
            log_format: String::new(),
            logfile: None,
            pidfile: None,
            dir: None,
            supervised: String::new(),
            daemonize: false,
            renames: Vec::new(),
            users: Vec::new(),
            aclfile: None,
            acl_pubsub_allchannels: false,
            acllog_max_len: 0,
            admin_port: 0,
            admin_bind: String::new(),
            web: WebConfig::default(),
            slowlog_log_slower_than: 0,
            slowlog_max_len: 0,
            latency_monitor_threshold: 0,
            latency_tracking: false,
            latency_tracking_info_percentiles: Vec::new(),
            metrics_top_channels: 0,
            backplane: backplane::BackplaneConfig::default(),
            tls: TlsConfig::default(),
        };
        for s in settings::SETTINGS {
            if let Err(e) = (s.set)(&mut c, s.default) {
                unreachable!("default of '{}' does not parse: {e}", s.name);
            }
        }
        c
    }
}

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

/// What applying one directive did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// A row of the settings table took the value.
    Set(&'static settings::Setting),
    /// A Redis directive respub does not implement: warn once, go on.
    Ignored,
}

impl Config {
    /// Applies one directive given as text (one config line's arguments joined by
    /// spaces, a flag's words, a TOML value, an environment variable).
    pub fn apply(&mut self, name: &str, value: &str) -> Result<Applied, ConfigError> {
        if let Some(s) = settings::find(name) {
            (s.set)(self, value).map_err(|e| ConfigError(format!("'{}': {e}", s.name)))?;
            return Ok(Applied::Set(s));
        }
        let lower = name.to_ascii_lowercase();
        if lower == "rename-command" {
            let words: Vec<&str> = value.split_whitespace().collect();
            return match words.as_slice() {
                [old] => self.rename(old, ""),
                [old, new] => self.rename(old, new),
                _ => err("'rename-command' takes a command name and a new name (\"\" removes it)"),
            };
        }
        if lower == "user" {
            // Checked for syntax now so a typo fails at start with its file and line;
            // the rules themselves are checked when the users are built (`acl`).
            let words =
                redis_conf::split_args(value).map_err(|e| ConfigError(format!("'user': {e}")))?;
            let Some(name) = words.first() else {
                return err("'user' takes a user name and its ACL rules");
            };
            let dup = self.users.iter().any(|u| {
                redis_conf::split_args(u)
                    .ok()
                    .and_then(|w| w.first().cloned())
                    .as_deref()
                    == Some(name.as_str())
            });
            if dup {
                return err(format!("'user': Duplicate user '{name}' found"));
            }
            self.users.push(value.to_string());
            return Ok(Applied::Set(&USER_ROW));
        }
        match redis_directives::disposition(&lower, value) {
            redis_directives::Disposition::Ignore => Ok(Applied::Ignored),
            redis_directives::Disposition::Refuse(why) => err(format!("'{lower}': {why}")),
            redis_directives::Disposition::Unknown => {
                let hint = suggest(&lower)
                    .map(|s| format!(" (did you mean '{s}'?)"))
                    .unwrap_or_default();
                err(format!("unknown directive '{name}'{hint}"))
            }
        }
    }

    fn rename(&mut self, old: &str, new: &str) -> Result<Applied, ConfigError> {
        // Redis refuses to rename a command it does not have; respub has far fewer
        // commands, and hardened redis.conf files rename KEYS, FLUSHALL, DEBUG... away,
        // so a command respub lacks is accepted (it stays unknown under either name).
        let old = old.to_ascii_lowercase();
        self.renames.push((old, new.to_ascii_lowercase()));
        Ok(Applied::Set(&RENAME_ROW))
    }

    /// `<class> <hard> <soft> <seconds>` repeated, as Redis's directive.
    fn apply_output_limits(&mut self, value: &str) -> Result<(), String> {
        let words: Vec<&str> = value.split_whitespace().collect();
        if words.is_empty() || !words.len().is_multiple_of(4) {
            return Err("wrong number of arguments".into());
        }
        let mem = |w: &str| parse_memory(w).ok_or_else(|| format!("'{w}' is not a memory size"));
        let mut next = self.clone();
        for w in words.chunks(4) {
            let limit = OutputLimit {
                hard: mem(w[1])?,
                soft: mem(w[2])?,
                soft_seconds: w[3]
                    .parse()
                    .map_err(|_| format!("'{}' is not a number of seconds", w[3]))?,
            };
            match w[0].to_ascii_lowercase().as_str() {
                "normal" => next.output_limit_normal = limit,
                "pubsub" => next.output_limit_pubsub = limit,
                "replica" | "slave" => next.output_limit_replica = limit,
                other => return Err(format!("invalid class '{other}'")),
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

    /// Applies TOML text whose keys are directive names; values may be strings,
    /// integers, booleans or arrays of those. Returns the ignored keys (for a warning).
    pub fn apply_toml(&mut self, text: &str) -> Result<Vec<(String, &'static str)>, ConfigError> {
        let table: toml::Table = text
            .parse()
            .map_err(|e| ConfigError(format!("not valid TOML: {e}")))?;
        let mut applied = Vec::new();
        for (key, value) in table {
            // `user = ["alice on >pw &news.*", "bob off"]`: one user per item, like
            // repeated `user` lines in redis.conf.
            if let (true, toml::Value::Array(items)) = (key.eq_ignore_ascii_case("user"), &value) {
                for item in items.clone() {
                    let text = toml_text(&key, item)?;
                    self.apply(&key, &text)?;
                }
                applied.push((key, USER_ROW.name));
                continue;
            }
            let text = toml_text(&key, value)?;
            match self.apply(&key, &text)? {
                Applied::Set(s) => applied.push((key, s.name)),
                Applied::Ignored => applied.push((key, "")),
            }
        }
        Ok(applied)
    }
}

/// A pseudo-row standing for `rename-command` in `Applied` (not a CONFIG parameter).
static RENAME_ROW: settings::Setting = settings::Setting {
    name: "rename-command",
    aliases: &[],
    unit: settings::Unit::Words,
    default: "",
    mutable: false,
    secret: false,
    help: "",
    set: |_, _| Ok(()),
    get: |_| String::new(),
};

/// A pseudo-row standing for `user` lines in `Applied` (not a CONFIG parameter).
static USER_ROW: settings::Setting = settings::Setting {
    name: "user",
    aliases: &[],
    unit: settings::Unit::Words,
    default: "",
    mutable: false,
    secret: true,
    help: "",
    set: |_, _| Ok(()),
    get: |_| String::new(),
};

fn toml_text(key: &str, value: toml::Value) -> Result<String, ConfigError> {
    Ok(match value {
        toml::Value::String(s) => s,
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Boolean(b) => (if b { "yes" } else { "no" }).to_string(),
        toml::Value::Array(items) => {
            let mut parts = Vec::new();
            for item in items {
                parts.push(match item {
                    toml::Value::Array(_) | toml::Value::Table(_) => {
                        return err(format!("'{key}': array items must be plain values"))
                    }
                    other => toml_text(key, other)?,
                });
            }
            parts.join(" ")
        }
        _ => return err(format!("'{key}': unsupported value type")),
    })
}

/// The setting name closest to a mistyped one (edit distance at most 2).
fn suggest(name: &str) -> Option<&'static str> {
    settings::SETTINGS
        .iter()
        .map(|s| (distance(name, s.name), s.name))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, n)| n)
}

fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// Maps a Redis log level word to a tracing filter directive.
pub fn log_filter(level: &str) -> Option<&'static str> {
    Some(match level {
        "debug" => "debug",
        "verbose" | "notice" => "info",
        "warning" => "warn",
        "nothing" => "off",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn every_default_parses_and_prints_back() {
        let c = Config::default();
        for s in settings::SETTINGS {
            let mut again = c.clone();
            (s.set)(&mut again, &(s.get)(&c)).unwrap_or_else(|e| panic!("{}: {e}", s.name));
            assert_eq!((s.get)(&again), (s.get)(&c), "{}", s.name);
        }
        assert_eq!(c.port, 6379);
        assert_eq!(c.bind, ["*", "-::*"]);
        assert!(c.protected_mode);
        assert_eq!(c.output_limit_pubsub.hard, 32 * 1024 * 1024);
    }

    #[test]
    fn unknown_directive_is_an_error_and_redis_ones_are_ignored() {
        let mut c = Config::default();
        assert!(c.apply("nosuch", "1").is_err());
        assert_eq!(c.apply("appendonly", "yes"), Ok(Applied::Ignored));
        let e = c.apply("maxclinets", "1").unwrap_err();
        assert!(e.0.contains("did you mean 'maxclients'"), "{e}");
        let e = c.apply("port", "x").unwrap_err();
        assert_eq!(e.0, "'port': 'x' is not a port number (0-65535)");
    }

    #[test]
    fn example_config_is_the_defaults_and_names_every_setting() {
        let text = include_str!("../../config.example.toml");
        let mut c = Config::default();
        let applied = c.apply_toml(text).expect("config.example.toml parses");
        assert!(
            applied.iter().all(|(_, row)| !row.is_empty()),
            "{applied:?}"
        );
        assert_eq!(format!("{c:?}"), format!("{:?}", Config::default()));
        for s in settings::SETTINGS {
            assert!(
                text.contains(&format!("\n{} = ", s.name))
                    || text.contains(&format!("\n# {} = ", s.name)),
                "config.example.toml does not document '{}'",
                s.name
            );
        }
    }

    #[test]
    fn toml_keys_are_directives() {
        let mut c = Config::default();
        let applied = c
            .apply_toml("port = 7000\nbind = [\"127.0.0.1\", \"::1\"]\nsave = \"\"\nclient-output-buffer-limit = \"pubsub 64mb 16mb 30\"\nprotected-mode = false\n")
            .unwrap();
        assert_eq!(c.port, 7000);
        assert_eq!(c.bind, vec!["127.0.0.1", "::1"]);
        assert!(!c.protected_mode);
        assert_eq!(c.output_limit_pubsub.hard, 64 * 1024 * 1024);
        assert!(applied.contains(&("save".to_string(), "")));
        assert_eq!(
            c.output_limits_text(),
            "normal 0 0 0 slave 268435456 67108864 60 pubsub 67108864 16777216 30"
        );
    }

    #[test]
    fn user_lines_accumulate_from_toml_and_directives() {
        let mut c = Config::default();
        c.apply_toml("user = [\"alice on '>pw 1' &news.*\", \"bob off\"]\n")
            .unwrap();
        c.apply("user", "carol on nopass").unwrap();
        assert_eq!(
            c.users,
            ["alice on '>pw 1' &news.*", "bob off", "carol on nopass"]
        );
        let e = c.apply("user", "bob on").unwrap_err();
        assert_eq!(e.0, "'user': Duplicate user 'bob' found");
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
    fn rename_command_accumulates() {
        let mut c = Config::default();
        c.apply("rename-command", "CONFIG ").unwrap();
        c.apply("rename-command", "PUBLISH pub2").unwrap();
        c.apply("rename-command", "FLUSHALL").unwrap();
        assert_eq!(
            c.renames.last(),
            Some(&("flushall".to_string(), String::new()))
        );
        assert!(c
            .renames
            .contains(&("publish".to_string(), "pub2".to_string())));
    }
}
