//! Where settings come from, in precedence order (later wins): built-in defaults, TOML
//! files (`--config`), the redis.conf (with its includes), the environment
//! (`RESPUB_<NAME>`, or `RESPUB_<NAME>_FILE` naming a file that holds the value, for
//! secrets mounted by Docker/Kubernetes), then the command line. Each applied value
//! records its origin, which `--check-config` prints and CONFIG REWRITE uses to find the
//! file to write.

use super::cli::{self, Parsed};
use super::redis_conf;
use super::settings::SETTINGS;
use super::{Applied, Config, ConfigError};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Where a value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    Default,
    Toml(PathBuf),
    RedisConf(String),
    Env(String),
    CommandLine,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::Toml(p) => write!(f, "{}", p.display()),
            Origin::RedisConf(place) => f.write_str(place),
            Origin::Env(var) => write!(f, "env {var}"),
            Origin::CommandLine => f.write_str("command line"),
        }
    }
}

/// The file CONFIG REWRITE writes back to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigFile {
    RedisConf(PathBuf),
    Toml(PathBuf),
}

impl ConfigFile {
    pub fn path(&self) -> &std::path::Path {
        match self {
            ConfigFile::RedisConf(p) | ConfigFile::Toml(p) => p,
        }
    }
}

/// The settings, ready to run with.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    /// Setting name -> where its value came from (absent = default).
    pub origins: BTreeMap<&'static str, Origin>,
    /// One line per ignored directive or unknown variable, for the log.
    pub warnings: Vec<String>,
    /// The file respub was started from (redis.conf wins over TOML), if any.
    pub file: Option<ConfigFile>,
    pub check_config: bool,
}

/// What `main` should do.
#[derive(Debug)]
pub enum Start {
    Run(Box<Loaded>),
    Print(String),
}

/// Reads the command line, then every source it names, then the environment.
pub fn load(args: &[String], env: &[(String, String)]) -> Result<Start, ConfigError> {
    let args = match cli::parse(args)? {
        Parsed::Print(text) => return Ok(Start::Print(text)),
        Parsed::Run(a) => a,
    };
    let mut l = Loaded {
        config: Config::default(),
        origins: BTreeMap::new(),
        warnings: Vec::new(),
        file: None,
        check_config: args.check_config,
    };
    for path in &args.toml {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("--config {path}: cannot read: {e}")))?;
        let applied = l
            .config
            .apply_toml(&text)
            .map_err(|e| ConfigError(format!("--config {path}: {e}")))?;
        for (key, name) in applied {
            l.note(&key, name, Origin::Toml(path.into()));
        }
        l.file = Some(ConfigFile::Toml(path.into()));
    }
    if let Some(path) = &args.redis_conf {
        for line in redis_conf::read(path.as_ref())? {
            let value = line.args.join(" ");
            let applied = l
                .config
                .apply(&line.name, &value)
                .map_err(|e| ConfigError(format!("{}: {e}", line.place())))?;
            l.record(&line.name, applied, Origin::RedisConf(line.place()));
        }
        if path != "-" {
            l.file = Some(ConfigFile::RedisConf(path.into()));
        }
    }
    l.apply_env(env)?;
    for (name, value) in &args.directives {
        let applied = l
            .config
            .apply(name, value)
            .map_err(|e| ConfigError(format!("--{name}: {e}")))?;
        l.record(name, applied, Origin::CommandLine);
    }
    Ok(Start::Run(Box::new(l)))
}

impl Loaded {
    fn record(&mut self, key: &str, applied: Applied, origin: Origin) {
        match applied {
            Applied::Set(s) => self.note(key, s.name, origin),
            Applied::Ignored => self.note(key, "", origin),
        }
    }

    /// `name` is the table row ("" for an ignored Redis directive).
    fn note(&mut self, key: &str, name: &'static str, origin: Origin) {
        if name.is_empty() {
            let line = format!(
                "'{}' ({origin}) is a redis-server directive respub does not implement (no \
                 keyspace, persistence, replication or cluster): ignored",
                key.to_ascii_lowercase()
            );
            if !self
                .warnings
                .iter()
                .any(|w| w.starts_with(&format!("'{}'", key.to_ascii_lowercase())))
            {
                self.warnings.push(line);
            }
        } else if name == "daemonize" && self.config.daemonize {
            let line = format!(
                "'daemonize yes' ({origin}) ignored: respub stays in the foreground; let \
                 the supervisor (systemd, Docker, Kubernetes) run it"
            );
            if !self.warnings.contains(&line) {
                self.warnings.push(line);
            }
            self.origins.insert(name, origin);
        } else {
            self.origins.insert(name, origin);
        }
    }

    fn apply_env(&mut self, env: &[(String, String)]) -> Result<(), ConfigError> {
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        for s in SETTINGS {
            let var = s.env_name();
            let file_var = format!("{var}_FILE");
            let value = match (get(&var), get(&file_var)) {
                (Some(_), Some(_)) => {
                    return Err(ConfigError(format!(
                        "both {var} and {file_var} are set: set one"
                    )))
                }
                (Some(v), None) => (v, var),
                (None, Some(path)) => {
                    let text = std::fs::read_to_string(&path)
                        .map_err(|e| ConfigError(format!("{file_var}: cannot read {path}: {e}")))?;
                    // A secret file usually ends with a newline that is not the secret's.
                    let v = text.strip_suffix('\n').unwrap_or(&text);
                    let v = v.strip_suffix('\r').unwrap_or(v).to_string();
                    (v, file_var)
                }
                (None, None) => continue,
            };
            if is_service_link(&value.1, &value.0) {
                self.warnings.push(format!(
                    "{}={} looks like a Kubernetes/Docker service link (a Service or link \
                     named 'respub'), not a setting: ignored",
                    value.1, value.0
                ));
                continue;
            }
            (s.set)(&mut self.config, &value.0)
                .map_err(|e| ConfigError(format!("{}: '{}': {e}", value.1, s.name)))?;
            self.origins.insert(s.name, Origin::Env(value.1));
        }
        for (k, _) in env {
            let known = SETTINGS.iter().any(|s| {
                let n = s.env_name();
                *k == n || *k == format!("{n}_FILE")
            });
            let link = k.starts_with("RESPUB_SERVICE_") || k.starts_with("RESPUB_PORT_");
            if k.starts_with("RESPUB_") && !known && !link && !TOOL_VARIABLES.contains(&k.as_str())
            {
                self.warnings.push(format!(
                    "environment variable {k} is not a respub setting: ignored"
                ));
            }
        }
        Ok(())
    }

    /// `--check-config`: every setting as a redis.conf line, secrets redacted, with where
    /// its value came from.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        for s in SETTINGS {
            let value = (s.get)(&self.config);
            let shown = if s.secret && !value.is_empty() {
                "<redacted>".to_string()
            } else if s.unit == super::settings::Unit::Words {
                value
            } else {
                redis_conf::quote(&value)
            };
            let origin = self.origins.get(s.name).cloned().unwrap_or(Origin::Default);
            let line = format!("{} {shown}", s.name);
            out.push_str(&format!("{line:<44} # {origin}\n"));
        }
        for u in &self.config.users {
            // The rules may hold passwords (`>pw`): only the user name is shown.
            let name = u.split_whitespace().next().unwrap_or_default();
            out.push_str(&format!("user {name} <redacted>\n"));
        }
        for (old, new) in &self.config.renames {
            out.push_str(&format!(
                "rename-command {old} {}\n",
                redis_conf::quote(new)
            ));
        }
        for w in &self.warnings {
            out.push_str(&format!("# warning: {w}\n"));
        }
        out
    }
}

/// Kubernetes gives every pod `<SERVICE>_PORT=tcp://10.0.0.1:6379` (and `_SERVICE_HOST`,
/// `_PORT_6379_TCP...`) for each Service in its namespace, Docker links do the same: a
/// Service named `respub` would otherwise set `port` to a URL and stop the start.
fn is_service_link(var: &str, value: &str) -> bool {
    var == "RESPUB_PORT" && (value.starts_with("tcp://") || value.starts_with("udp://"))
}

/// `RESPUB_*` variables read by respub's test and bench tools, not by the server.
const TOOL_VARIABLES: &[&str] = &["RESPUB_BIN", "RESPUB_ARRIVAL_PER_MILLE"];

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    fn loaded(a: &[&str], env: &[(&str, &str)]) -> Loaded {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        match load(&args(a), &env).unwrap() {
            Start::Run(l) => *l,
            Start::Print(p) => panic!("printed {p}"),
        }
    }

    #[test]
    fn one_setting_from_all_five_sources_later_wins() {
        let dir = std::env::temp_dir().join(format!("respub-src-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let toml = dir.join("a.toml");
        let conf = dir.join("a.conf");
        std::fs::write(
            &toml,
            "timeout = 1\nmaxclients = 11\ndatabases = 3\nloglevel = \"debug\"\n",
        )
        .unwrap();
        std::fs::write(&conf, "timeout 2\nmaxclients 22\ndatabases 4\n").unwrap();
        let (t, c) = (toml.to_str().unwrap(), conf.to_str().unwrap());
        let l = loaded(
            &[c, "--config", t, "--timeout", "5"],
            &[("RESPUB_TIMEOUT", "4"), ("RESPUB_MAXCLIENTS", "44")],
        );
        assert_eq!(l.config.timeout, 5, "command line beats env");
        assert_eq!(l.config.maxclients, 44, "env beats redis.conf");
        assert_eq!(l.config.databases, 4, "redis.conf beats TOML");
        assert_eq!(l.config.loglevel, "debug", "TOML beats the default");
        assert_eq!(l.config.port, 6379, "default");
        assert_eq!(l.origins["timeout"], Origin::CommandLine);
        assert_eq!(
            l.origins["maxclients"],
            Origin::Env("RESPUB_MAXCLIENTS".into())
        );
        assert_eq!(l.origins["databases"], Origin::RedisConf(format!("{c}:3")));
        assert_eq!(l.file, Some(ConfigFile::RedisConf(conf.clone())));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn env_file_secrets_and_conflicts() {
        let dir = std::env::temp_dir().join(format!("respub-envf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let secret = dir.join("pw");
        std::fs::write(&secret, "s3cret\n").unwrap();
        let s = secret.to_str().unwrap();
        let l = loaded(&[], &[("RESPUB_REQUIREPASS_FILE", s)]);
        assert_eq!(l.config.requirepass.as_deref(), Some(&b"s3cret"[..]));
        assert!(l.describe().contains("requirepass <redacted>"));
        assert!(!l.describe().contains("s3cret"));
        let env = vec![
            ("RESPUB_REQUIREPASS".to_string(), "x".to_string()),
            ("RESPUB_REQUIREPASS_FILE".to_string(), s.to_string()),
        ];
        assert!(load(&[], &env).unwrap_err().0.contains("both"));
        let l = loaded(
            &[],
            &[
                ("RESPUB_PORT", "tcp://10.0.0.7:6379"),
                ("RESPUB_SERVICE_HOST", "10.0.0.7"),
                ("RESPUB_PORT_6379_TCP", "tcp://10.0.0.7:6379"),
            ],
        );
        assert_eq!(
            l.config.port, 6379,
            "a Kubernetes service link is not a port"
        );
        assert_eq!(l.warnings.len(), 1, "{:?}", l.warnings);
        let env = vec![("RESPUB_PORT".to_string(), "http".to_string())];
        let e = load(&[], &env).unwrap_err();
        assert!(
            e.0.contains("RESPUB_PORT") && e.0.contains("port number"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn typo_in_redis_conf_names_file_and_line() {
        let dir = std::env::temp_dir().join(format!("respub-typo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("r.conf");
        std::fs::write(&conf, "port 7000\n\nmaxclinets 10\n").unwrap();
        let e = load(&args(&[conf.to_str().unwrap()]), &[]).unwrap_err();
        assert_eq!(
            e.0,
            format!(
                "{}:3: unknown directive 'maxclinets' (did you mean 'maxclients'?)",
                conf.display()
            )
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn redis_only_directives_warn_once() {
        let l = loaded(
            &["--save", "900 1", "--appendonly", "no", "--save", ""],
            &[],
        );
        assert_eq!(l.warnings.len(), 2, "{:?}", l.warnings);
        assert!(l.warnings[0].starts_with("'save'"));
        let l = loaded(&["--user", "alice on", "--user", "bob off"], &[]);
        assert_eq!(l.config.users, ["alice on", "bob off"]);
        let e = load(&args(&["--user", "alice on", "--user", "alice off"]), &[]).unwrap_err();
        assert!(e.0.contains("Duplicate user 'alice'"), "{e}");
    }
}
