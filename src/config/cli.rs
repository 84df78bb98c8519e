//! The command line, built on clap from the settings table:
//!
//! ```text
//! respub [redis.conf | -] [--config respub.toml] [--check-config] [--<setting> <words>...]
//! ```
//!
//! redis-server's rule for directive flags is kept: a flag's value is every word up to the
//! next word starting with `--`, joined by spaces (`--save ""`, `--bind * -::*`,
//! `--client-output-buffer-limit pubsub 32mb 8mb 60`). clap cannot express "words up to
//! the next `--`" without also swallowing known flags, so the words are grouped first and
//! each group is handed to clap as `--name=<words>`; clap then checks the flag names
//! (with its "a similar argument exists" hints), renders `--help` from the table and
//! handles `--version`. Redis directives respub does not implement are not clap flags:
//! they pass through to the config, which warns about them (or refuses a few).

use super::redis_directives::{disposition, Disposition};
use super::settings::SETTINGS;
use super::ConfigError;
use clap::{Arg, ArgAction, Command};

/// What the command line asked for.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Args {
    /// redis.conf path, or `-` for standard input.
    pub redis_conf: Option<String>,
    /// TOML files from `--config`, in order.
    pub toml: Vec<String>,
    pub check_config: bool,
    /// `(directive, value)` in command-line order.
    pub directives: Vec<(String, String)>,
}

/// Parsed command line, or the text to print for `--help` / `--version`.
#[derive(Debug)]
pub enum Parsed {
    Run(Args),
    /// Print this on stdout and exit 0.
    Print(String),
}

/// `0.1.0 (speaks Redis 7.2.4 pub/sub, RESP2 and RESP3)`; clap puts `respub ` first.
pub fn version_line() -> String {
    format!(
        "{} (speaks Redis {} pub/sub, RESP2 and RESP3)",
        env!("CARGO_PKG_VERSION"),
        crate::cmd::connection::REDIS_VERSION
    )
}

fn command() -> Command {
    let mut cmd = Command::new("respub")
        .version(version_line())
        .about("A Redis-protocol (RESP2/RESP3) pub/sub server.")
        .long_about(
            "A Redis-protocol (RESP2/RESP3) pub/sub server. Takes redis-server's command \
             line: a redis.conf path (or - for stdin) first, then --<directive> <value...> \
             flags. Precedence, later wins: defaults < --config TOML < redis.conf < \
             RESPUB_<NAME> environment (RESPUB_<NAME>_FILE reads the value from a file) < \
             flags.",
        )
        .disable_version_flag(true)
        .arg(
            Arg::new("version")
                .short('v')
                .long("version")
                .action(ArgAction::Version)
                .help("Print the version and the Redis version it speaks"),
        )
        .arg(
            Arg::new("redis-conf")
                .value_name("REDIS_CONF")
                .help("A redis.conf to read, as redis-server takes it ('-' = standard input)"),
        )
        .arg(
            Arg::new("config")
                .long("config")
                .value_name("FILE")
                .action(ArgAction::Append)
                .help("A TOML file of settings (keys are the names below)"),
        )
        .arg(
            Arg::new("check-config")
                .long("check-config")
                .action(ArgAction::SetTrue)
                .help("Print the effective configuration (secrets redacted) with where each value came from, and exit"),
        )
        .arg(
            Arg::new("rename-command")
                .long("rename-command")
                .value_name("NAME NEW")
                .action(ArgAction::Append)
                .help("Rename a command (\"\" as NEW removes it), as redis.conf's rename-command"),
        )
        .next_help_heading("Settings (also TOML keys, redis.conf directives, RESPUB_<NAME> variables and CONFIG parameters)");
    for s in SETTINGS {
        let mut help = format!("{} [{}; default: ", s.help, s.unit.word());
        help.push_str(if s.default.is_empty() {
            "none"
        } else {
            s.default
        });
        if s.mutable {
            help.push_str("; CONFIG SET at run time");
        }
        help.push(']');
        cmd = cmd.arg(
            Arg::new(s.name)
                .long(s.name)
                .value_name(s.unit.word().to_ascii_uppercase())
                .num_args(1)
                .action(ArgAction::Append)
                .help(help),
        );
    }
    cmd
}

/// Parses `args` (without the program name).
pub fn parse(args: &[String]) -> Result<Parsed, ConfigError> {
    let mut rest = args;
    let mut redis_conf = None;
    if let Some(first) = args.first() {
        if first == "-" || !first.starts_with('-') {
            redis_conf = Some(first.clone());
            rest = &args[1..];
        }
    }
    // redis-server's grouping: a `--name` and every word up to the next `--word`.
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for word in rest {
        if let Some(name) = word.strip_prefix("--").filter(|n| !n.is_empty()) {
            groups.push((name.to_string(), Vec::new()));
        } else if let Some((_, words)) = groups.last_mut() {
            words.push(word.clone());
        } else if matches!(word.as_str(), "-h" | "-v") {
            groups.push((word.clone(), Vec::new()));
        } else {
            return Err(ConfigError(format!(
                "unexpected argument '{word}': settings are flags like --port 6380, and a \
                 redis.conf path can only come first"
            )));
        }
    }
    let mut clap_args = vec!["respub".to_string()];
    let mut directives = Vec::new();
    let mut toml = Vec::new();
    let mut check_config = false;
    for (name, words) in &groups {
        let value = words.join(" ");
        match name.as_str() {
            "-h" | "-v" => clap_args.push(name.clone()),
            "help" | "version" if words.is_empty() => clap_args.push(format!("--{name}")),
            "check-config" if words.is_empty() => check_config = true,
            "config" => {
                clap_args.push(format!("--config={value}"));
                toml.push(value);
            }
            // Not a clap flag: the config applies or refuses it.
            n if n == "user"
                || (super::settings::find(n).is_none()
                    && n != "rename-command"
                    && disposition(n, &value) != Disposition::Unknown) =>
            {
                directives.push((name.clone(), value))
            }
            _ => {
                clap_args.push(format!("--{name}={value}"));
                directives.push((name.clone(), value));
            }
        }
    }
    // clap checks the names and values' presence and prints help or version; the values
    // themselves are taken from the groups above, in command-line order.
    if let Err(e) = command().try_get_matches_from(&clap_args) {
        return match e.kind() {
            clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                Ok(Parsed::Print(e.render().to_string()))
            }
            _ => Err(ConfigError(e.render().to_string().trim_end().to_string())),
        };
    }
    Ok(Parsed::Run(Args {
        redis_conf,
        toml,
        check_config,
        directives,
    }))
}

/// The `--help` text.
pub fn help() -> String {
    command().render_long_help().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Args {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        match parse(&args).unwrap() {
            Parsed::Run(a) => a,
            Parsed::Print(p) => panic!("printed {p}"),
        }
    }

    fn d(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn redis_server_words_group_up_to_the_next_flag() {
        let a = run(&[
            "/etc/redis/redis.conf",
            "--bind",
            "*",
            "-::*",
            "--save",
            "",
            "--port",
            "6380",
            "--client-output-buffer-limit",
            "pubsub",
            "1mb",
            "256kb",
            "5",
            "--requirepass",
            "-x",
        ]);
        assert_eq!(a.redis_conf.as_deref(), Some("/etc/redis/redis.conf"));
        assert_eq!(
            a.directives,
            d(&[
                ("bind", "* -::*"),
                ("save", ""),
                ("port", "6380"),
                ("client-output-buffer-limit", "pubsub 1mb 256kb 5"),
                ("requirepass", "-x"),
            ])
        );
    }

    #[test]
    fn stdin_config_toml_and_check() {
        let a = run(&[
            "-",
            "--config",
            "a.toml",
            "--check-config",
            "--port",
            "1",
            "--port",
            "2",
        ]);
        assert_eq!(a.redis_conf.as_deref(), Some("-"));
        assert_eq!(a.toml, ["a.toml"]);
        assert!(a.check_config);
        assert_eq!(a.directives, d(&[("port", "1"), ("port", "2")]));
    }

    #[test]
    fn typos_are_errors_with_a_hint() {
        let e = parse(&["--prot".to_string(), "1".to_string()]).unwrap_err();
        assert!(e.0.contains("--prot") && e.0.contains("--port"), "{e}");
        let e = parse(&["a.conf".to_string(), "b.conf".to_string()]).unwrap_err();
        assert!(e.0.contains("unexpected argument 'b.conf'"), "{e}");
    }

    #[test]
    fn help_lists_every_setting_with_unit_and_default() {
        let h = help();
        for s in SETTINGS {
            assert!(
                h.contains(&format!("--{}", s.name)),
                "--help lacks {}",
                s.name
            );
        }
        assert!(h.contains("default: 6379"));
        let Parsed::Print(v) = parse(&["--version".to_string()]).unwrap() else {
            panic!("--version did not print");
        };
        assert!(
            v.contains(env!("CARGO_PKG_VERSION")) && v.contains("Redis 7.2"),
            "{v}"
        );
    }
}
