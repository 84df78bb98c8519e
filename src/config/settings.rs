//! The settings table: every setting respub has, once. The command line (`--help`, flag
//! names), the TOML file, redis.conf, `RESPUB_*` environment variables, CONFIG GET/SET/
//! REWRITE and `--check-config` all read this table; nothing else lists settings.
//!
//! A row holds the name (Redis's directive name where Redis has the knob), its unit, the
//! default as text, whether CONFIG SET may change it at run time, whether it is a secret
//! (redacted by `--check-config`), one line of help, and two functions: `set` parses a
//! value into [`Config`], `get` prints it back the way CONFIG GET shows it.
//! [`Config::default`] is built by applying every row's default text, so the default
//! `--help` prints is the default the server runs with.

use super::{parse_memory, Config, TlsAuthClients};

/// What a value measures; shown by `--help` and `--check-config`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Redis memory units: `1k` = 1000, `1kb` = 1024, `1m`, `1mb`, `1g`, `1gb`.
    Bytes,
    Seconds,
    Count,
    /// `yes` or `no`.
    Bool,
    /// A file or directory path ("" = none).
    Path,
    /// Free text, or one of the words the help lists.
    Text,
    /// Whitespace-separated words.
    Words,
}

impl Unit {
    pub fn word(self) -> &'static str {
        match self {
            Unit::Bytes => "bytes",
            Unit::Seconds => "seconds",
            Unit::Count => "count",
            Unit::Bool => "yes|no",
            Unit::Path => "path",
            Unit::Text => "text",
            Unit::Words => "words",
        }
    }
}

/// One setting. See the module comment.
pub struct Setting {
    pub name: &'static str,
    /// Older Redis names accepted for the same setting (never printed).
    pub aliases: &'static [&'static str],
    pub unit: Unit,
    pub default: &'static str,
    /// CONFIG SET may change it while running.
    pub mutable: bool,
    /// Redacted by `--check-config`.
    pub secret: bool,
    pub help: &'static str,
    pub set: fn(&mut Config, &str) -> Result<(), String>,
    pub get: fn(&Config) -> String,
}

impl std::fmt::Debug for Setting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Setting").field("name", &self.name).finish()
    }
}

/// Rows are equal when they are the same setting.
impl PartialEq for Setting {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}
impl Eq for Setting {}

impl Setting {
    /// `RESPUB_PROTO_MAX_BULK_LEN` for `proto-max-bulk-len`.
    pub fn env_name(&self) -> String {
        format!(
            "RESPUB_{}",
            self.name.replace('-', "_").to_ascii_uppercase()
        )
    }
}

/// Finds a row by name or alias, ignoring ASCII case as Redis does.
pub fn find(name: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| {
        s.name.eq_ignore_ascii_case(name) || s.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    })
}

fn u64_of(v: &str) -> Result<u64, String> {
    v.trim()
        .parse::<u64>()
        .map_err(|_| format!("'{v}' is not a non-negative integer"))
}

fn mem_of(v: &str) -> Result<u64, String> {
    parse_memory(v).ok_or_else(|| format!("'{v}' is not a memory size (e.g. 1024, 64kb, 32mb)"))
}

fn bool_of(v: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err(format!("'{v}' is not yes or no")),
    }
}

fn yes_no(b: bool) -> String {
    (if b { "yes" } else { "no" }).to_string()
}

fn at_least(n: u64, min: u64, what: &str) -> Result<u64, String> {
    if n < min {
        return Err(format!("must be at least {what}"));
    }
    Ok(n)
}

fn one_of(v: &str, words: &[&str]) -> Result<String, String> {
    let w = v.trim().to_ascii_lowercase();
    if words.contains(&w.as_str()) {
        Ok(w)
    } else {
        Err(format!("'{v}' is not one of {}", words.join(", ")))
    }
}

fn path_of(v: &str) -> Option<String> {
    (!v.is_empty()).then(|| v.to_string())
}

/// The table. Order is the order of `--help`, `--check-config` and CONFIG GET *.
pub static SETTINGS: &[Setting] = &[
    Setting {
        name: "bind",
        aliases: &[],
        unit: Unit::Words,
        default: "* -::*",
        mutable: false,
        secret: false,
        help: "Addresses to listen on, as Redis parses them: '*' = every IPv4 address, \
               '::*' = every IPv6 address, a leading '-' makes an address optional \
               (skipped if the machine does not have it). With protected-mode, clients \
               from non-loopback addresses are refused while no password is set.",
        set: |c, v| {
            let addrs: Vec<String> = v.split_whitespace().map(str::to_string).collect();
            if addrs.is_empty() {
                return Err("needs at least one address".into());
            }
            c.bind = addrs;
            Ok(())
        },
        get: |c| c.bind.join(" "),
    },
    Setting {
        name: "port",
        aliases: &[],
        unit: Unit::Count,
        default: "6379",
        mutable: false,
        secret: false,
        help: "TCP port. 0 = no TCP listener, as in Redis (serve unixsocket only).",
        set: |c, v| {
            c.port = v
                .trim()
                .parse()
                .map_err(|_| format!("'{v}' is not a port number (0-65535)"))?;
            Ok(())
        },
        get: |c| c.port.to_string(),
    },
    Setting {
        name: "unixsocket",
        aliases: &[],
        unit: Unit::Path,
        default: "",
        mutable: false,
        secret: false,
        help: "Also listen on this Unix-domain socket. A file already at the path is \
               replaced; the file is removed at shutdown. Its clients count as local for \
               protected-mode.",
        set: |c, v| {
            c.unixsocket = path_of(v);
            Ok(())
        },
        get: |c| c.unixsocket.clone().unwrap_or_default(),
    },
    Setting {
        name: "unixsocketperm",
        aliases: &[],
        unit: Unit::Text,
        default: "0",
        mutable: false,
        secret: false,
        help: "Mode of the unixsocket file, octal as Redis writes it (700, 0770), at most \
               777; 0 = what the umask gives.",
        set: |c, v| {
            let t = v.trim();
            let n =
                u32::from_str_radix(t, 8).map_err(|_| format!("'{v}' is not an octal number"))?;
            if t.starts_with(['+', '-']) || n > 0o777 {
                return Err("must be between 0 and 777".into());
            }
            c.unixsocketperm = n;
            Ok(())
        },
        // Octal without a leading 0, as redis-server prints it (`700`).
        get: |c| format!("{:o}", c.unixsocketperm),
    },
    // ---- TLS (issue 7). Mutable rows take effect for new connections: CONFIG SET
    // rebuilds the TLS configuration (re-reading the files) and refuses the change if
    // it does not load; connected clients keep the session they have. ----
    Setting {
        name: "tls-port",
        aliases: &[],
        unit: Unit::Count,
        default: "0",
        mutable: false,
        secret: false,
        help: "TLS port, on the same bind addresses as port; 0 = no TLS listener. Plain \
               and TLS ports can be open together ('port 0' turns plain TCP off).",
        set: |c, v| {
            c.tls.port = v
                .trim()
                .parse()
                .map_err(|_| format!("'{v}' is not a port number (0-65535)"))?;
            Ok(())
        },
        get: |c| c.tls.port.to_string(),
    },
    Setting {
        name: "tls-cert-file",
        aliases: &[],
        unit: Unit::Path,
        default: "",
        mutable: true,
        secret: false,
        help: "The server's certificate chain, PEM. Re-read by CONFIG SET.",
        set: |c, v| {
            c.tls.cert_file = v.to_string();
            Ok(())
        },
        get: |c| c.tls.cert_file.clone(),
    },
    Setting {
        name: "tls-key-file",
        aliases: &[],
        unit: Unit::Path,
        default: "",
        mutable: true,
        secret: false,
        help: "The private key of tls-cert-file, PEM (PKCS#8, PKCS#1 or SEC1; not \
               encrypted). Re-read by CONFIG SET.",
        set: |c, v| {
            c.tls.key_file = v.to_string();
            Ok(())
        },
        get: |c| c.tls.key_file.clone(),
    },
    Setting {
        name: "tls-ca-cert-file",
        aliases: &[],
        unit: Unit::Path,
        default: "",
        mutable: true,
        secret: false,
        help: "CA certificates (PEM) that client certificates must chain to.",
        set: |c, v| {
            c.tls.ca_cert_file = v.to_string();
            Ok(())
        },
        get: |c| c.tls.ca_cert_file.clone(),
    },
    Setting {
        name: "tls-ca-cert-dir",
        aliases: &[],
        unit: Unit::Path,
        default: "",
        mutable: true,
        secret: false,
        help: "A directory of CA certificates (every PEM file in it), with or instead of \
               tls-ca-cert-file.",
        set: |c, v| {
            c.tls.ca_cert_dir = v.to_string();
            Ok(())
        },
        get: |c| c.tls.ca_cert_dir.clone(),
    },
    Setting {
        name: "tls-auth-clients",
        aliases: &[],
        unit: Unit::Text,
        default: "yes",
        mutable: true,
        secret: false,
        help: "Client certificates: yes (required, the Redis default), no, or optional \
               (checked when given).",
        set: |c, v| {
            c.tls.auth_clients = match v.trim().to_ascii_lowercase().as_str() {
                "yes" => TlsAuthClients::Yes,
                "no" => TlsAuthClients::No,
                "optional" => TlsAuthClients::Optional,
                _ => return Err(format!("'{v}' is not yes, no or optional")),
            };
            Ok(())
        },
        get: |c| {
            match c.tls.auth_clients {
                TlsAuthClients::Yes => "yes",
                TlsAuthClients::No => "no",
                TlsAuthClients::Optional => "optional",
            }
            .to_string()
        },
    },
    Setting {
        name: "tls-protocols",
        aliases: &[],
        unit: Unit::Words,
        default: "",
        mutable: true,
        secret: false,
        help: "TLS versions allowed: 'TLSv1.2', 'TLSv1.3' or both; empty = both. TLSv1 and \
               TLSv1.1 are not supported (rustls).",
        set: |c, v| {
            for w in v.split_whitespace() {
                if !w.eq_ignore_ascii_case("TLSv1.2") && !w.eq_ignore_ascii_case("TLSv1.3") {
                    return Err(format!("'{w}' is not TLSv1.2 or TLSv1.3"));
                }
            }
            c.tls.protocols = v.to_string();
            Ok(())
        },
        get: |c| c.tls.protocols.clone(),
    },
    Setting {
        name: "tls-ciphersuites",
        aliases: &[],
        unit: Unit::Text,
        default: "",
        mutable: true,
        secret: false,
        help: "TLS 1.3 cipher suites, OpenSSL names joined by ':' \
               (TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256); empty = all rustls has.",
        set: |c, v| {
            c.tls.ciphersuites = v.to_string();
            Ok(())
        },
        get: |c| c.tls.ciphersuites.clone(),
    },
    Setting {
        name: "tls-ciphers",
        aliases: &[],
        unit: Unit::Text,
        default: "",
        mutable: true,
        secret: false,
        help: "TLS 1.2 cipher suites, OpenSSL names joined by ':' \
               (ECDHE-RSA-AES256-GCM-SHA384); empty = all rustls has (ECDHE with AES-GCM \
               or ChaCha20 only).",
        set: |c, v| {
            c.tls.ciphers = v.to_string();
            Ok(())
        },
        get: |c| c.tls.ciphers.clone(),
    },
    // ---- NATS backplane (issue 10): read at start only; see README "Many nodes as
    // one". ----
    Setting {
        name: "backplane",
        aliases: &[],
        unit: Unit::Text,
        default: "none",
        mutable: false,
        secret: false,
        help: "none, or nats: join the other respub nodes of backplane-cluster-name over \
               the NATS cluster at backplane-nats-url, so they act as one pub/sub server.",
        set: |c, v| {
            c.backplane.nats = one_of(v, &["none", "nats"])? == "nats";
            Ok(())
        },
        get: |c| (if c.backplane.nats { "nats" } else { "none" }).to_string(),
    },
    Setting {
        name: "backplane-nats-url",
        aliases: &[],
        unit: Unit::Text,
        default: "nats://127.0.0.1:4222",
        mutable: false,
        secret: false,
        help: "NATS servers of one NATS cluster, comma-separated (nats://host:port, \
               tls://host:port). Servers the cluster announces are used too.",
        set: |c, v| {
            let urls: Vec<String> = v
                .split(',')
                .map(|u| u.trim().to_string())
                .filter(|u| !u.is_empty())
                .collect();
            if urls.is_empty() {
                return Err("needs at least one URL".into());
            }
            c.backplane.urls = urls;
            Ok(())
        },
        get: |c| c.backplane.urls.join(","),
    },
    Setting {
        name: "backplane-cluster-name",
        aliases: &[],
        unit: Unit::Text,
        default: "respub",
        mutable: false,
        secret: false,
        help: "Nodes with the same name form one pub/sub server; several names can share \
               one NATS. Letters, digits, '-' and '_', at most 64.",
        set: |c, v| {
            if !super::backplane::valid_cluster_name(v) {
                return Err("must be 1 to 64 letters, digits, '-' or '_'".into());
            }
            c.backplane.cluster_name = v.to_string();
            Ok(())
        },
        get: |c| c.backplane.cluster_name.clone(),
    },
    Setting {
        name: "backplane-nats-user",
        aliases: &[],
        unit: Unit::Text,
        default: "",
        mutable: false,
        secret: false,
        help: "NATS user (with backplane-nats-password).",
        set: |c, v| {
            c.backplane.user = v.to_string();
            Ok(())
        },
        get: |c| c.backplane.user.clone(),
    },
    Setting {
        name: "backplane-nats-password",
        aliases: &[],
        unit: Unit::Text,
        default: "",
        mutable: false,
        secret: true,
        help: "Password of backplane-nats-user.",
        set: |c, v| {
            c.backplane.password = v.to_string();
            Ok(())
        },
        get: |c| c.backplane.password.clone(),
    },
    Setting {
        name: "backplane-nats-token",
        aliases: &[],
        unit: Unit::Text,
        default: "",
        mutable: false,
        secret: true,
        help: "NATS authentication token.",
        set: |c, v| {
            c.backplane.token = v.to_string();
            Ok(())
        },
        get: |c| c.backplane.token.clone(),
    },
    Setting {
        name: "backplane-nats-nkey-file",
        aliases: &[],
        unit: Unit::Path,
        default: "",
        mutable: false,
        secret: false,
        help: "File holding a NATS nkey seed (SU...), read at start.",
        set: |c, v| {
            c.backplane.nkey_file = v.to_string();
            Ok(())
        },
        get: |c| c.backplane.nkey_file.clone(),
    },
    Setting {
        name: "backplane-nats-creds-file",
        aliases: &[],
        unit: Unit::Path,
        default: "",
        mutable: false,
        secret: false,
        help: "NATS credentials file (user JWT and nkey seed), read at start.",
        set: |c, v| {
            c.backplane.creds_file = v.to_string();
            Ok(())
        },
        get: |c| c.backplane.creds_file.clone(),
    },
    Setting {
        name: "backplane-nats-tls",
        aliases: &[],
        unit: Unit::Bool,
        default: "no",
        mutable: false,
        secret: false,
        help: "Require TLS to NATS (also implied by a tls:// URL or a TLS file below).",
        set: |c, v| {
            c.backplane.tls = bool_of(v)?;
            Ok(())
        },
        get: |c| yes_no(c.backplane.tls),
    },
    Setting {
        name: "backplane-nats-tls-ca-file",
        aliases: &[],
        unit: Unit::Path,
        default: "",
        mutable: false,
        secret: false,
        help: "CA certificates (PEM) the NATS servers' certificates must chain to.",
        set: |c, v| {
            c.backplane.tls_ca_file = v.to_string();
            Ok(())
        },
        get: |c| c.backplane.tls_ca_file.clone(),
    },
    Setting {
        name: "backplane-nats-tls-cert-file",
        aliases: &[],
        unit: Unit::Path,
        default: "",
        mutable: false,
        secret: false,
        help: "Client certificate (PEM) presented to NATS, with backplane-nats-tls-key-file.",
        set: |c, v| {
            c.backplane.tls_cert_file = v.to_string();
            Ok(())
        },
        get: |c| c.backplane.tls_cert_file.clone(),
    },
    Setting {
        name: "backplane-nats-tls-key-file",
        aliases: &[],
        unit: Unit::Path,
        default: "",
        mutable: false,
        secret: false,
        help: "Private key (PEM) of backplane-nats-tls-cert-file.",
        set: |c, v| {
            c.backplane.tls_key_file = v.to_string();
            Ok(())
        },
        get: |c| c.backplane.tls_key_file.clone(),
    },
    Setting {
        name: "backplane-queue-bytes",
        aliases: &[],
        unit: Unit::Bytes,
        default: "64mb",
        mutable: false,
        secret: false,
        help: "Messages waiting to go to NATS, bytes (payload + channel + 64 per message). \
               PUBLISH never waits for NATS: past this a message is still delivered on \
               this node but dropped for the others, and counted (INFO backplane). At \
               least 1kb.",
        set: |c, v| {
            c.backplane.queue_bytes = at_least(mem_of(v)?, 1024, "1kb")?;
            Ok(())
        },
        get: |c| c.backplane.queue_bytes.to_string(),
    },
    Setting {
        name: "backplane-request-timeout",
        aliases: &[],
        unit: Unit::Count,
        default: "100",
        mutable: false,
        secret: false,
        help: "Milliseconds a PUBSUB CHANNELS/NUMSUB/NUMPAT/SHARDCHANNELS/SHARDNUMSUB waits \
               for the other nodes' answers; it answers with what came by then. 1 to 10000.",
        set: |c, v| {
            let n = at_least(u64_of(v)?, 1, "1")?;
            if n > 10_000 {
                return Err("must be at most 10000".into());
            }
            c.backplane.request_timeout_ms = n;
            Ok(())
        },
        get: |c| c.backplane.request_timeout_ms.to_string(),
    },
    Setting {
        name: "backplane-oversize",
        aliases: &[],
        unit: Unit::Text,
        default: "drop",
        mutable: false,
        secret: false,
        help: "A PUBLISH larger than NATS's max_payload: drop (delivered on this node, \
               counted as dropped for the others) or refuse (an error, delivered nowhere).",
        set: |c, v| {
            c.backplane.oversize = match one_of(v, &["drop", "refuse"])?.as_str() {
                "refuse" => super::backplane::Oversize::Refuse,
                _ => super::backplane::Oversize::Drop,
            };
            Ok(())
        },
        get: |c| {
            match c.backplane.oversize {
                super::backplane::Oversize::Drop => "drop",
                super::backplane::Oversize::Refuse => "refuse",
            }
            .to_string()
        },
    },
    Setting {
        name: "backplane-ready-required",
        aliases: &[],
        unit: Unit::Bool,
        default: "no",
        mutable: false,
        secret: false,
        help: "/readyz answers 503 while the node is not connected to NATS.",
        set: |c, v| {
            c.backplane.ready_required = bool_of(v)?;
            Ok(())
        },
        get: |c| yes_no(c.backplane.ready_required),
    },
    Setting {
        name: "backplane-inbound-capacity",
        aliases: &[],
        unit: Unit::Count,
        default: "4096",
        mutable: false,
        secret: false,
        help: "Messages from other nodes one NATS subscription may hold before they are \
               handed to subscribers; past it NATS-side messages are dropped and counted. \
               At least 16.",
        set: |c, v| {
            c.backplane.inbound_capacity = at_least(u64_of(v)?, 16, "16")?;
            Ok(())
        },
        get: |c| c.backplane.inbound_capacity.to_string(),
    },
    Setting {
        name: "backplane-max-subject-len",
        aliases: &[],
        unit: Unit::Bytes,
        default: "4000",
        mutable: false,
        secret: false,
        help: "Longest NATS subject, bytes (nats-server's max_control_line is 4096 by \
               default). A channel whose encoded subject is longer is served on this node \
               only: its messages are counted as dropped for the others. At least 64.",
        set: |c, v| {
            c.backplane.max_subject_len = at_least(mem_of(v)?, 64, "64")?;
            Ok(())
        },
        get: |c| c.backplane.max_subject_len.to_string(),
    },
    Setting {
        name: "backplane-publish-count",
        aliases: &[],
        unit: Unit::Text,
        default: "local",
        mutable: false,
        secret: false,
        help: "What PUBLISH replies: local (this node's receivers, as Redis Cluster does) or \
               cluster (plus the other nodes' receivers as last seen, at most about a \
               second old; PUBLISH never waits for them).",
        set: |c, v| {
            c.backplane.publish_count_cluster = one_of(v, &["local", "cluster"])? == "cluster";
            Ok(())
        },
        get: |c| {
            (if c.backplane.publish_count_cluster {
                "cluster"
            } else {
                "local"
            })
            .to_string()
        },
    },
    Setting {
        name: "backplane-count-cache",
        aliases: &[],
        unit: Unit::Count,
        default: "10000",
        mutable: false,
        secret: false,
        help: "Channels whose other-node receiver counts are kept for backplane-publish-count \
               cluster; a full cache drops its oldest. At least 1.",
        set: |c, v| {
            c.backplane.count_cache = at_least(u64_of(v)?, 1, "1")?;
            Ok(())
        },
        get: |c| c.backplane.count_cache.to_string(),
    },
    Setting {
        name: "protected-mode",
        aliases: &[],
        unit: Unit::Bool,
        default: "yes",
        mutable: true,
        secret: false,
        help: "While no password is set for the default user, refuse clients that do not \
               connect from a loopback address (or the unix socket), with Redis's -DENIED \
               error. Set a requirepass, or 'no' on a private network.",
        set: |c, v| {
            c.protected_mode = bool_of(v)?;
            Ok(())
        },
        get: |c| yes_no(c.protected_mode),
    },
    Setting {
        name: "requirepass",
        aliases: &[],
        unit: Unit::Text,
        default: "",
        mutable: true,
        secret: true,
        help: "Password of the default user; empty = no authentication. Clients AUTH (or \
               HELLO 3 AUTH default <password>) before other commands.",
        set: |c, v| {
            c.requirepass = (!v.is_empty()).then(|| v.as_bytes().to_vec());
            Ok(())
        },
        get: |c| {
            c.requirepass
                .as_ref()
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .unwrap_or_default()
        },
    },
    Setting {
        name: "aclfile",
        aliases: &[],
        unit: Unit::Path,
        default: "",
        mutable: false,
        secret: false,
        help: "ACL file with one 'user <name> <rules>' line per user, loaded at start and by \
               ACL LOAD, written by ACL SAVE. Exclusive with 'user' lines, as in Redis.",
        set: |c, v| {
            c.aclfile = path_of(v);
            Ok(())
        },
        get: |c| c.aclfile.clone().unwrap_or_default(),
    },
    Setting {
        name: "acl-pubsub-default",
        aliases: &[],
        unit: Unit::Text,
        default: "resetchannels",
        mutable: true,
        secret: false,
        help: "Channels a new ACL user starts with: resetchannels (none, Redis 7's default) \
               or allchannels. Existing users keep theirs.",
        set: |c, v| {
            c.acl_pubsub_allchannels =
                one_of(v, &["allchannels", "resetchannels"])? == "allchannels";
            Ok(())
        },
        get: |c| {
            if c.acl_pubsub_allchannels {
                "allchannels"
            } else {
                "resetchannels"
            }
            .to_string()
        },
    },
    Setting {
        name: "acllog-max-len",
        aliases: &[],
        unit: Unit::Count,
        default: "128",
        mutable: true,
        secret: false,
        help: "ACL LOG entries kept (denied commands, channels and AUTHs); the oldest are \
               dropped past it.",
        set: |c, v| {
            c.acllog_max_len = v
                .trim()
                .parse()
                .map_err(|_| format!("'{v}' is not a count"))?;
            Ok(())
        },
        get: |c| c.acllog_max_len.to_string(),
    },
    Setting {
        name: "maxclients",
        aliases: &[],
        unit: Unit::Count,
        default: "10000",
        mutable: true,
        secret: false,
        help: "Connected clients at most; the next gets '-ERR max number of clients \
               reached' and is closed. The open-file limit is raised to fit at start.",
        set: |c, v| {
            c.maxclients = at_least(u64_of(v)?, 1, "1")?;
            Ok(())
        },
        get: |c| c.maxclients.to_string(),
    },
    Setting {
        name: "timeout",
        aliases: &[],
        unit: Unit::Seconds,
        default: "0",
        mutable: true,
        secret: false,
        help: "Close a client idle this long; 0 = never. Subscribed clients are exempt, \
               as in Redis.",
        set: |c, v| {
            c.timeout = u64_of(v)?;
            Ok(())
        },
        get: |c| c.timeout.to_string(),
    },
    Setting {
        name: "client-output-buffer-limit",
        aliases: &[],
        unit: Unit::Words,
        default: "normal 0 0 0 slave 256mb 64mb 60 pubsub 32mb 8mb 60",
        mutable: true,
        secret: false,
        help: "<class> <hard bytes> <soft bytes> <soft seconds>, repeated; classes normal, \
               pubsub, replica. A client whose unsent output reaches hard, or stays above \
               soft for longer than the seconds, is closed (a slow subscriber never makes \
               publishers wait). 0 = no limit.",
        set: |c, v| c.apply_output_limits(v),
        get: |c| c.output_limits_text(),
    },
    Setting {
        name: "client-query-buffer-limit",
        aliases: &[],
        unit: Unit::Bytes,
        default: "1gb",
        mutable: true,
        secret: false,
        help: "Bytes one client may hold in commands not yet run (unparsed input, a \
               partial command's arguments, MULTI's queue). Past it the client is closed.",
        set: |c, v| {
            c.client_query_buffer_limit = at_least(mem_of(v)?, 1024 * 1024, "1mb")?;
            Ok(())
        },
        get: |c| c.client_query_buffer_limit.to_string(),
    },
    Setting {
        name: "proto-max-bulk-len",
        aliases: &[],
        unit: Unit::Bytes,
        default: "512mb",
        mutable: true,
        secret: false,
        help: "Largest bulk argument (channel, pattern, message). Bigger: '-ERR Protocol \
               error: invalid bulk length' and the connection closes.",
        set: |c, v| {
            c.proto_max_bulk_len = at_least(mem_of(v)?, 1024 * 1024, "1mb")?;
            Ok(())
        },
        get: |c| c.proto_max_bulk_len.to_string(),
    },
    Setting {
        name: "max-multibulk-len",
        aliases: &[],
        unit: Unit::Count,
        default: "2147483647",
        mutable: false,
        secret: false,
        help: "Largest argument count '*<n>' accepted. Past it: '-ERR Protocol error: \
               invalid multibulk length' and close.",
        set: |c, v| {
            let n = u64_of(v)?;
            if n == 0 || n > i32::MAX as u64 {
                return Err("must be between 1 and 2147483647".into());
            }
            c.max_multibulk_len = n;
            Ok(())
        },
        get: |c| c.max_multibulk_len.to_string(),
    },
    Setting {
        name: "max-inline-len",
        aliases: &[],
        unit: Unit::Bytes,
        default: "64kb",
        mutable: false,
        secret: false,
        help: "Longest inline command or count line without a newline. Past it: '-ERR \
               Protocol error: too big inline request' and close.",
        set: |c, v| {
            c.max_inline_len = at_least(mem_of(v)?, 1024, "1kb")?;
            Ok(())
        },
        get: |c| c.max_inline_len.to_string(),
    },
    Setting {
        name: "reply-pause-bytes",
        aliases: &[],
        unit: Unit::Bytes,
        default: "64mb",
        mutable: true,
        secret: false,
        help: "Unsent replies at which respub stops reading a client's further commands \
               until it reads (back-pressure for pipelines that never read). Not a \
               disconnect.",
        set: |c, v| {
            c.reply_pause_bytes = mem_of(v)?.max(1);
            Ok(())
        },
        get: |c| c.reply_pause_bytes.to_string(),
    },
    Setting {
        name: "max-subscriptions-per-client",
        aliases: &[],
        unit: Unit::Count,
        default: "0",
        mutable: true,
        secret: false,
        help: "Channels + patterns + shard channels one client may hold; a (P|S)SUBSCRIBE \
               past it is refused whole. 0 = no limit, as in Redis.",
        set: |c, v| {
            c.max_subscriptions_per_client = u64_of(v)?;
            Ok(())
        },
        get: |c| c.max_subscriptions_per_client.to_string(),
    },
    Setting {
        name: "databases",
        aliases: &[],
        unit: Unit::Count,
        default: "16",
        mutable: false,
        secret: false,
        help: "SELECT accepts indexes below this. Pub/sub ignores the db, as Redis does.",
        set: |c, v| {
            let n = u64_of(v)?;
            if n == 0 || n > i32::MAX as u64 {
                return Err("must be between 1 and 2147483647".into());
            }
            c.databases = n;
            Ok(())
        },
        get: |c| c.databases.to_string(),
    },
    Setting {
        name: "tcp-backlog",
        aliases: &[],
        unit: Unit::Count,
        default: "511",
        mutable: false,
        secret: false,
        help: "Listen backlog of the TCP sockets.",
        set: |c, v| {
            c.tcp_backlog = u64_of(v)?
                .try_into()
                .map_err(|_| "is too large".to_string())?;
            Ok(())
        },
        get: |c| c.tcp_backlog.to_string(),
    },
    Setting {
        name: "worker-threads",
        aliases: &[],
        unit: Unit::Count,
        default: "0",
        mutable: false,
        secret: false,
        help: "Threads serving connections; 0 = one per CPU.",
        set: |c, v| {
            c.worker_threads = u64_of(v)? as usize;
            Ok(())
        },
        get: |c| c.worker_threads.to_string(),
    },
    Setting {
        name: "shutdown-delay",
        aliases: &[],
        unit: Unit::Seconds,
        default: "0",
        mutable: true,
        secret: false,
        help: "After SIGTERM, keep serving this long with /readyz answering 503, so a load \
               balancer stops sending new clients before the listeners close.",
        set: |c, v| {
            c.shutdown_delay = u64_of(v)?;
            Ok(())
        },
        get: |c| c.shutdown_delay.to_string(),
    },
    Setting {
        name: "shutdown-timeout",
        aliases: &[],
        unit: Unit::Seconds,
        default: "5",
        mutable: true,
        secret: false,
        help: "On shutdown, time given to connections to flush queued output before they \
               are dropped.",
        set: |c, v| {
            c.shutdown_timeout = u64_of(v)?;
            Ok(())
        },
        get: |c| c.shutdown_timeout.to_string(),
    },
    Setting {
        name: "loglevel",
        aliases: &[],
        unit: Unit::Text,
        default: "notice",
        mutable: true,
        secret: false,
        help: "debug, verbose, notice, warning or nothing (Redis's words).",
        set: |c, v| {
            c.loglevel = one_of(v, &["debug", "verbose", "notice", "warning", "nothing"])?;
            Ok(())
        },
        get: |c| c.loglevel.clone(),
    },
    Setting {
        name: "log-format",
        aliases: &[],
        unit: Unit::Text,
        default: "text",
        mutable: false,
        secret: false,
        help: "text (one line per event, colours only on a terminal) or json (one object \
               per line).",
        set: |c, v| {
            c.log_format = one_of(v, &["text", "json"])?;
            Ok(())
        },
        get: |c| c.log_format.clone(),
    },
    Setting {
        name: "logfile",
        aliases: &[],
        unit: Unit::Path,
        default: "",
        mutable: false,
        secret: false,
        help: "Append the log to this file instead of standard output; reopened on SIGHUP \
               (for logrotate).",
        set: |c, v| {
            c.logfile = path_of(v);
            Ok(())
        },
        get: |c| c.logfile.clone().unwrap_or_default(),
    },
    Setting {
        name: "pidfile",
        aliases: &[],
        unit: Unit::Path,
        default: "",
        mutable: false,
        secret: false,
        help: "Write the process id to this file at start; removed at exit.",
        set: |c, v| {
            c.pidfile = path_of(v);
            Ok(())
        },
        get: |c| c.pidfile.clone().unwrap_or_default(),
    },
    Setting {
        name: "dir",
        aliases: &[],
        unit: Unit::Path,
        default: "",
        mutable: false,
        secret: false,
        help: "Working directory, entered at start (relative logfile and pidfile paths \
               start there). Empty = where respub was started.",
        set: |c, v| {
            c.dir = path_of(v);
            Ok(())
        },
        get: |c| {
            c.dir.clone().unwrap_or_else(|| {
                std::env::current_dir()
                    .map(|d| d.display().to_string())
                    .unwrap_or_default()
            })
        },
    },
    Setting {
        name: "supervised",
        aliases: &[],
        unit: Unit::Text,
        default: "no",
        mutable: false,
        secret: false,
        help: "no, systemd (notify READY=1 / STOPPING=1 on $NOTIFY_SOCKET, for Type=notify \
               units), auto (systemd when $NOTIFY_SOCKET is set) or upstart (not \
               supported: warned and treated as no).",
        set: |c, v| {
            c.supervised = one_of(v, &["no", "auto", "systemd", "upstart"])?;
            Ok(())
        },
        get: |c| c.supervised.clone(),
    },
    Setting {
        name: "daemonize",
        aliases: &[],
        unit: Unit::Bool,
        default: "no",
        mutable: false,
        secret: false,
        help: "Accepted for redis.conf compatibility; respub always runs in the foreground \
               ('yes' is warned about and ignored: let the supervisor detach it).",
        set: |c, v| {
            c.daemonize = bool_of(v)?;
            Ok(())
        },
        get: |c| yes_no(c.daemonize),
    },
    // ---- admin-http (issue 8): the admin HTTP port and the per-command statistics ----
    Setting {
        name: "admin-port",
        aliases: &[],
        unit: Unit::Count,
        default: "0",
        mutable: false,
        secret: false,
        help: "TCP port of the admin HTTP server (/metrics, /healthz, /readyz). 0 = off. \
               Suggested: 9736 (no IANA service; clear of 9121 redis_exporter, 9090 \
               Prometheus, 9100 node_exporter).",
        set: |c, v| {
            c.admin_port = v
                .trim()
                .parse()
                .map_err(|_| format!("'{v}' is not a port number"))?;
            Ok(())
        },
        get: |c| c.admin_port.to_string(),
    },
    Setting {
        name: "admin-bind",
        aliases: &[],
        unit: Unit::Text,
        default: "0.0.0.0",
        mutable: false,
        secret: false,
        help: "Address of the admin HTTP server. All interfaces by default: kubelet probes \
               and Prometheus reach the pod's IP from outside the pod. It serves \
               statistics, and /ws and /sse to browsers with the rights RESP clients have.",
        set: |c, v| {
            let v = v.trim();
            if v.is_empty() || v.contains(char::is_whitespace) {
                return Err("takes one address".to_string());
            }
            c.admin_bind = v.to_string();
            Ok(())
        },
        get: |c| c.admin_bind.clone(),
    },
    // ---- browsers (issue 12): /ws, /sse and the demo page on the admin port ----
    Setting {
        name: "http-demo",
        aliases: &[],
        unit: Unit::Bool,
        default: "no",
        mutable: true,
        secret: false,
        help: "Serve a demo page at / of the admin port that subscribes to a channel over \
               WebSocket and shows messages live.",
        set: |c, v| {
            c.web.demo = bool_of(v)?;
            Ok(())
        },
        get: |c| yes_no(c.web.demo),
    },
    Setting {
        name: "http-allowed-origins",
        aliases: &[],
        unit: Unit::Words,
        default: "",
        mutable: true,
        secret: false,
        help: "Origins (scheme://host[:port]) allowed to open /ws and /sse, or * for any. \
               Empty: same origin only (the Origin's host:port equals the Host header). \
               Requests without an Origin header (non-browser clients) are allowed.",
        set: |c, v| {
            c.web.allowed_origins = v.split_whitespace().map(str::to_string).collect();
            Ok(())
        },
        get: |c| c.web.allowed_origins.join(" "),
    },
    Setting {
        name: "http-max-clients",
        aliases: &[],
        unit: Unit::Count,
        default: "10000",
        mutable: true,
        secret: false,
        help: "WebSocket + SSE clients at once (they also count toward maxclients); a new \
               one past it gets HTTP 503.",
        set: |c, v| {
            c.web.max_clients = u64_of(v)?;
            Ok(())
        },
        get: |c| c.web.max_clients.to_string(),
    },
    Setting {
        name: "ws-max-message-size",
        aliases: &[],
        unit: Unit::Bytes,
        default: "1mb",
        mutable: true,
        secret: false,
        help: "Largest WebSocket message a browser may send; past it the connection is \
               closed with code 1009 (message too big).",
        set: |c, v| {
            c.web.max_message_size = at_least(mem_of(v)?, 128, "128 bytes")?;
            Ok(())
        },
        get: |c| c.web.max_message_size.to_string(),
    },
    Setting {
        name: "http-ping-interval",
        aliases: &[],
        unit: Unit::Seconds,
        default: "25",
        mutable: true,
        secret: false,
        help: "Seconds between WebSocket pings and SSE keepalive comments; a WebSocket \
               client that sends nothing (not even a pong) for two intervals is closed. \
               0 = off.",
        set: |c, v| {
            c.web.ping_interval = u64_of(v)?;
            Ok(())
        },
        get: |c| c.web.ping_interval.to_string(),
    },
    Setting {
        name: "jwt-secret",
        aliases: &[],
        unit: Unit::Text,
        default: "",
        mutable: false,
        secret: true,
        help: "HS256 secret that signs browser tokens (and AUTH <user> <token> over RESP). \
               \"\" = none.",
        set: |c, v| {
            c.web.jwt_secret = v.to_string();
            Ok(())
        },
        get: |c| c.web.jwt_secret.clone(),
    },
    Setting {
        name: "jwt-key-file",
        aliases: &[],
        unit: Unit::Path,
        default: "",
        mutable: false,
        secret: false,
        help: "PEM public key (RSA: RS256/384/512, EC P-256/P-384: ES256/ES384) or JWKS \
               JSON file that verifies browser tokens. \"\" = none.",
        set: |c, v| {
            c.web.jwt_key_file = v.to_string();
            Ok(())
        },
        get: |c| c.web.jwt_key_file.clone(),
    },
    // Reasons below are Redis 7.0's words (config.c numeric and bool configs).
    Setting {
        name: "slowlog-log-slower-than",
        aliases: &[],
        unit: Unit::Count,
        default: "10000",
        mutable: true,
        secret: false,
        help: "Microseconds from which a command is kept in SLOWLOG; negative = none, \
               0 = every command.",
        set: |c, v| {
            c.slowlog_log_slower_than = v
                .trim()
                .parse()
                .map_err(|_| "argument couldn't be parsed into an integer".to_string())?;
            Ok(())
        },
        get: |c| c.slowlog_log_slower_than.to_string(),
    },
    Setting {
        name: "slowlog-max-len",
        aliases: &[],
        unit: Unit::Count,
        default: "128",
        mutable: true,
        secret: false,
        help: "SLOWLOG entries kept; older ones are dropped.",
        set: |c, v| {
            let n: i64 = v
                .trim()
                .parse()
                .map_err(|_| "argument couldn't be parsed into an integer".to_string())?;
            if n < 0 {
                return Err(
                    "argument must be between 0 and 9223372036854775807 inclusive".to_string(),
                );
            }
            c.slowlog_max_len = n as u64;
            Ok(())
        },
        get: |c| c.slowlog_max_len.to_string(),
    },
    Setting {
        name: "latency-monitor-threshold",
        aliases: &[],
        unit: Unit::Count,
        default: "0",
        mutable: true,
        secret: false,
        help: "Milliseconds from which the latency monitor (LATENCY LATEST/HISTORY) records \
               a command. 0 = off.",
        set: |c, v| {
            c.latency_monitor_threshold = u64_of(v)?;
            Ok(())
        },
        get: |c| c.latency_monitor_threshold.to_string(),
    },
    Setting {
        name: "latency-tracking",
        aliases: &[],
        unit: Unit::Bool,
        default: "yes",
        mutable: true,
        secret: false,
        help: "Keep per-command latency histograms (INFO latencystats, LATENCY HISTOGRAM, \
               /metrics).",
        set: |c, v| {
            c.latency_tracking = match v.trim().to_ascii_lowercase().as_str() {
                "yes" => true,
                "no" => false,
                _ => return Err("argument must be 'yes' or 'no'".to_string()),
            };
            Ok(())
        },
        get: |c| yes_no(c.latency_tracking),
    },
    Setting {
        name: "latency-tracking-info-percentiles",
        aliases: &[],
        unit: Unit::Words,
        default: "50 99 99.9",
        mutable: true,
        secret: false,
        help: "Percentiles INFO latencystats prints.",
        set: |c, v| {
            let mut ps = Vec::new();
            for w in v.split_whitespace() {
                match w.parse::<f64>() {
                    Ok(p) if (0.0..=100.0).contains(&p) => ps.push(p),
                    _ => {
                        return Err("latency-tracking-info-percentiles parameters should sit \
                                    between [0.0,100.0]"
                            .to_string())
                    }
                }
            }
            c.latency_tracking_info_percentiles = ps;
            Ok(())
        },
        get: |c| {
            c.latency_tracking_info_percentiles
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        },
    },
    Setting {
        name: "metrics-top-channels",
        aliases: &[],
        unit: Unit::Count,
        default: "0",
        mutable: true,
        secret: false,
        help: "/metrics reports the subscriber count of the N channels with the most \
               subscribers (a cap on per-channel series). 0 = off; at most 1000.",
        set: |c, v| {
            let n = u64_of(v)?;
            if n > 1000 {
                return Err("must be at most 1000".to_string());
            }
            c.metrics_top_channels = n;
            Ok(())
        },
        get: |c| c.metrics_top_channels.to_string(),
    },
];

/// Read-only answers CONFIG GET gives for Redis parameters respub has no use for, so
/// tools that read them see a consistent "off" picture. CONFIG SET of one of them to the
/// same value is accepted (test fixtures send `CONFIG SET save ""`); another value is
/// refused, because respub cannot do what it asks.
pub const COMPAT: &[(&str, &str)] = &[
    ("save", ""),
    ("appendonly", "no"),
    ("maxmemory", "0"),
    ("maxmemory-policy", "noeviction"),
    ("notify-keyspace-events", ""),
    ("tcp-keepalive", "0"),
    ("io-threads", "1"),
    ("hz", "10"),
    ("cluster-enabled", "no"),
];
