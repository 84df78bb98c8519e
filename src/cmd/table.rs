//! The command table: names, arities and flags as Redis 7.2 declares them (commands/*.json),
//! plus the documentation COMMAND INFO / COMMAND DOCS report (redis-cli builds its
//! hints from COMMAND DOCS).

use super::{
    acl, admin, client, command, config, connection, info, latency, monitor, multi, pause, publish,
    pubsub, slowlog, subscribe, tracking, Handler,
};
use std::collections::HashMap;
use std::sync::OnceLock;

/// Behaviour flags used by the dispatcher.
pub mod flags {
    /// Allowed in RESP2 subscribe mode.
    pub const PUBSUB_CONTEXT: u32 = 1;
    /// Allowed before authentication.
    pub const NO_AUTH: u32 = 2;
    /// Executed at once even inside MULTI.
    pub const NOT_QUEUED: u32 = 4;
    /// Reads or changes who is subscribed: runs only after commands that other
    /// connections read earlier (`conn::arrival`).
    pub const ORDERED: u32 = 8;
    /// Of the ordered commands, one that only looks at subscriptions (PUBLISH, SPUBLISH,
    /// PUBSUB): such commands commute with each other.
    pub const OBSERVES: u32 = 16;
    /// Refused inside MULTI (Redis `no_multi`): SHUTDOWN.
    pub const NO_MULTI: u32 = 32;
    /// A write or may-replicate command in Redis: held by CLIENT PAUSE WRITE.
    pub const MAY_REPLICATE: u32 = 64;
}
use flags::*;

/// One argument, for COMMAND DOCS.
#[derive(Debug)]
pub struct Arg {
    pub name: &'static str,
    /// Redis argument type: string, integer, pattern, key, pure-token, oneof.
    pub kind: &'static str,
    pub token: Option<&'static str>,
    pub optional: bool,
    pub multiple: bool,
}

const fn arg(name: &'static str, kind: &'static str) -> Arg {
    Arg {
        name,
        kind,
        token: None,
        optional: false,
        multiple: false,
    }
}
const fn opt(name: &'static str, kind: &'static str) -> Arg {
    Arg {
        name,
        kind,
        token: None,
        optional: true,
        multiple: false,
    }
}
const fn many(name: &'static str, kind: &'static str) -> Arg {
    Arg {
        name,
        kind,
        token: None,
        optional: false,
        multiple: true,
    }
}
const fn opt_many(name: &'static str, kind: &'static str) -> Arg {
    Arg {
        name,
        kind,
        token: None,
        optional: true,
        multiple: true,
    }
}

#[derive(Debug)]
pub struct Spec {
    /// Lower-case full name: `publish`, `pubsub|numsub`.
    pub name: &'static str,
    pub arity: i32,
    pub flags: u32,
    pub handler: Handler,
    pub subcommands: &'static [Spec],
    pub summary: &'static str,
    pub since: &'static str,
    pub group: &'static str,
    pub complexity: &'static str,
    /// COMMAND INFO flags.
    pub info_flags: &'static [&'static str],
    /// ACL categories without the `@`.
    pub acl: &'static [&'static str],
    pub args: &'static [Arg],
}

impl Spec {
    pub fn ordered(&self) -> bool {
        self.flags & ORDERED != 0
    }

    pub fn observes(&self) -> bool {
        self.flags & OBSERVES != 0
    }

    /// A stable identity for CLIENT LIST's `cmd=` (see `by_addr`).
    pub fn addr(&'static self) -> usize {
        self as *const Spec as usize
    }
}

/// The full name of the spec whose `addr()` is `addr`, for CLIENT LIST.
pub fn name_by_addr(addr: usize) -> &'static str {
    for spec in COMMANDS {
        if spec.addr() == addr {
            return spec.name;
        }
        for sub in spec.subcommands {
            if sub.addr() == addr {
                return sub.name;
            }
        }
    }
    "NULL"
}

/// Every command and subcommand in table order: per-command statistics slot `i` is
/// `all()[i]` (`crate::stats::commands`).
pub fn all() -> &'static [&'static Spec] {
    static ALL: OnceLock<Vec<&'static Spec>> = OnceLock::new();
    ALL.get_or_init(|| {
        COMMANDS
            .iter()
            .flat_map(|s| std::iter::once(s).chain(s.subcommands.iter()))
            .collect()
    })
}

/// The statistics slot of `spec`: its index in `all()`, found by address through a
/// sorted table (a binary search of ~100 entries on every command, no hashing).
pub fn slot(spec: &'static Spec) -> usize {
    static BY_ADDR: OnceLock<Vec<(usize, usize)>> = OnceLock::new();
    let by_addr = BY_ADDR.get_or_init(|| {
        let mut v: Vec<(usize, usize)> = all()
            .iter()
            .enumerate()
            .map(|(i, s)| (s.addr(), i))
            .collect();
        v.sort_unstable();
        v
    });
    by_addr
        .binary_search_by_key(&spec.addr(), |e| e.0)
        .map_or(usize::MAX, |i| by_addr[i].1)
}

/// Every command and subcommand by lower-case full name (`publish`, `pubsub|numsub`).
fn index() -> &'static HashMap<&'static [u8], &'static Spec, ahash::RandomState> {
    static INDEX: OnceLock<HashMap<&'static [u8], &'static Spec, ahash::RandomState>> =
        OnceLock::new();
    INDEX.get_or_init(|| {
        let mut map = HashMap::default();
        for spec in COMMANDS {
            map.insert(spec.name.as_bytes(), spec);
            for sub in spec.subcommands {
                map.insert(sub.name.as_bytes(), sub);
            }
        }
        map
    })
}

/// Longest full name a lookup lower-cases on the stack; longer names are unknown.
const MAX_NAME: usize = 40;

/// Case-insensitive lookup by the name a client typed; `container` is the command a
/// subcommand belongs to.
pub fn find(container: Option<&Spec>, name: &[u8]) -> Option<&'static Spec> {
    let mut key = [0u8; MAX_NAME];
    let mut len = 0;
    if let Some(c) = container {
        let c = c.name.as_bytes();
        key[..c.len()].copy_from_slice(c);
        key[c.len()] = b'|';
        len = c.len() + 1;
    }
    if len + name.len() > MAX_NAME {
        return None;
    }
    for (dst, src) in key[len..].iter_mut().zip(name) {
        *dst = src.to_ascii_lowercase();
    }
    len += name.len();
    index().get(&key[..len]).copied()
}

fn not_a_command(_: &mut super::Ctx<'_>, _: &[bytes::Bytes]) -> Result<(), crate::error::CmdError> {
    Err(crate::error::CmdError::Syntax)
}

macro_rules! spec {
    ($name:expr, $arity:expr, $flags:expr, $handler:expr, $group:expr, $since:expr, $summary:expr, $complexity:expr,
     info: $info:expr, acl: $acl:expr, args: $args:expr $(, subs: $subs:expr)?) => {
        Spec {
            name: $name,
            arity: $arity,
            flags: $flags,
            handler: $handler,
            subcommands: spec!(@subs $($subs)?),
            summary: $summary,
            since: $since,
            group: $group,
            complexity: $complexity,
            info_flags: $info,
            acl: $acl,
            args: $args,
        }
    };
    (@subs) => { &[] };
    (@subs $subs:expr) => { $subs };
}

const PUBSUB_FLAGS: &[&str] = &["pubsub", "noscript", "loading", "stale"];

pub static COMMANDS: &[Spec] = &[
    spec!("subscribe", -2, PUBSUB_CONTEXT | ORDERED, subscribe::subscribe, "pubsub", "2.0.0",
        "Listens for messages published to channels.", "O(N) where N is the number of channels to subscribe to.",
        info: PUBSUB_FLAGS, acl: &["pubsub", "slow"], args: &[many("channel", "string")]),
    spec!("unsubscribe", -1, PUBSUB_CONTEXT | ORDERED, subscribe::unsubscribe, "pubsub", "2.0.0",
        "Stops listening to messages posted to channels.", "O(N) where N is the number of channels to unsubscribe.",
        info: PUBSUB_FLAGS, acl: &["pubsub", "slow"], args: &[opt_many("channel", "string")]),
    spec!("psubscribe", -2, PUBSUB_CONTEXT | ORDERED, subscribe::psubscribe, "pubsub", "2.0.0",
        "Listens for messages published to channels that match one or more patterns.", "O(N) where N is the number of patterns to subscribe to.",
        info: PUBSUB_FLAGS, acl: &["pubsub", "slow"], args: &[many("pattern", "pattern")]),
    spec!("punsubscribe", -1, PUBSUB_CONTEXT | ORDERED, subscribe::punsubscribe, "pubsub", "2.0.0",
        "Stops listening to messages published to channels that match one or more patterns.", "O(N) where N is the number of patterns to unsubscribe.",
        info: PUBSUB_FLAGS, acl: &["pubsub", "slow"], args: &[opt_many("pattern", "pattern")]),
    spec!("ssubscribe", -2, PUBSUB_CONTEXT | ORDERED, subscribe::ssubscribe, "pubsub", "7.0.0",
        "Listens for messages published to shard channels.", "O(N) where N is the number of shard channels to subscribe to.",
        info: PUBSUB_FLAGS, acl: &["pubsub", "slow"], args: &[many("shardchannel", "string")]),
    spec!("sunsubscribe", -1, PUBSUB_CONTEXT | ORDERED, subscribe::sunsubscribe, "pubsub", "7.0.0",
        "Stops listening to messages posted to shard channels.", "O(N) where N is the number of shard channels to unsubscribe.",
        info: PUBSUB_FLAGS, acl: &["pubsub", "slow"], args: &[opt_many("shardchannel", "string")]),
    spec!("publish", 3, ORDERED | OBSERVES | MAY_REPLICATE, publish::publish, "pubsub", "2.0.0",
        "Posts a message to a channel.", "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client).",
        info: &["pubsub", "loading", "stale", "fast", "may_replicate"], acl: &["pubsub", "fast"], args: &[arg("channel", "string"), arg("message", "string")]),
    spec!("spublish", 3, ORDERED | OBSERVES | MAY_REPLICATE, publish::spublish, "pubsub", "7.0.0",
        "Post a message to a shard channel", "O(N) where N is the number of clients subscribed to the receiving shard channel.",
        info: &["pubsub", "loading", "stale", "fast", "may_replicate"], acl: &["pubsub", "fast"], args: &[arg("shardchannel", "key"), arg("message", "string")]),
    spec!("pubsub", -2, 0, not_a_command, "pubsub", "2.8.0",
        "A container for Pub/Sub commands.", "Depends on subcommand.",
        info: &[], acl: &["slow"], args: &[], subs: PUBSUB_SUBS),
    spec!("ping", -1, PUBSUB_CONTEXT, connection::ping, "connection", "1.0.0",
        "Returns the server's liveliness response.", "O(1)",
        info: &["fast", "sentinel"], acl: &["fast", "connection"], args: &[opt("message", "string")]),
    spec!("echo", 2, 0, connection::echo, "connection", "1.0.0",
        "Returns the given string.", "O(1)",
        info: &["loading", "stale", "fast"], acl: &["fast", "connection"], args: &[arg("message", "string")]),
    spec!("quit", -1, PUBSUB_CONTEXT | NO_AUTH | NOT_QUEUED, connection::quit, "connection", "1.0.0",
        "Closes the connection.", "O(1)",
        info: &["allow_busy", "noscript", "loading", "stale", "fast", "no_auth"], acl: &["fast", "connection"], args: &[]),
    spec!("reset", 1, PUBSUB_CONTEXT | NO_AUTH | NOT_QUEUED | ORDERED, connection::reset, "connection", "6.2.0",
        "Resets the connection.", "O(1)",
        info: &["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"], acl: &["fast", "connection"], args: &[]),
    spec!("hello", -1, NO_AUTH, connection::hello, "connection", "6.0.0",
        "Handshakes with the Redis server.", "O(1)",
        info: &["noscript", "loading", "stale", "fast", "no_auth", "sentinel", "allow_busy"], acl: &["fast", "connection"],
        args: &[opt("protover", "integer"), Arg { name: "username-password", kind: "string", token: Some("AUTH"), optional: true, multiple: false },
                Arg { name: "clientname", kind: "string", token: Some("SETNAME"), optional: true, multiple: false }]),
    spec!("auth", -2, NO_AUTH, connection::auth, "connection", "1.0.0",
        "Authenticates the connection.", "O(N) where N is the number of passwords defined for the user",
        info: &["noscript", "loading", "stale", "fast", "no_auth", "sentinel", "allow_busy"], acl: &["fast", "connection"],
        args: &[opt("username", "string"), arg("password", "string")]),
    spec!("select", 2, 0, connection::select, "connection", "1.0.0",
        "Changes the selected database.", "O(1)",
        info: &["loading", "stale", "fast"], acl: &["keyspace", "fast"], args: &[arg("index", "integer")]),
    spec!("client", -2, 0, not_a_command, "connection", "2.4.0",
        "A container for client connection commands.", "Depends on subcommand.",
        info: &[], acl: &["slow"], args: &[], subs: CLIENT_SUBS),
    spec!("info", -1, 0, info::info, "server", "1.0.0",
        "Returns information and statistics about the server.", "O(1)",
        info: &["loading", "stale", "sentinel"], acl: &["slow", "dangerous"], args: &[opt_many("section", "string")]),
    // admin-http (issue 8): SLOWLOG and LATENCY.
    spec!("slowlog", -2, 0, not_a_command, "server", "2.2.12",
        "A container for slow log commands.", "Depends on subcommand.",
        info: &[], acl: &["slow"], args: &[], subs: SLOWLOG_SUBS),
    spec!("latency", -2, 0, not_a_command, "server", "2.8.13",
        "A container for latency diagnostics commands.", "Depends on subcommand.",
        info: &[], acl: &["slow"], args: &[], subs: LATENCY_SUBS),
    spec!("command", -1, 0, command::all, "server", "2.8.13",
        "Returns detailed information about all commands.", "O(N) where N is the total number of Redis commands",
        info: &["loading", "stale"], acl: &["slow", "connection"], args: &[], subs: COMMAND_SUBS),
    spec!("config", -2, 0, not_a_command, "server", "2.0.0",
        "A container for server configuration commands.", "Depends on subcommand.",
        info: &[], acl: &["slow"], args: &[], subs: CONFIG_SUBS),
    spec!("flushall", -1, MAY_REPLICATE, connection::flush, "server", "1.0.0",
        "Removes all keys from all databases.", "O(N) where N is the total number of keys in all databases",
        info: &["write"], acl: &["keyspace", "write", "slow", "dangerous"], args: &[opt("flush-type", "string")]),
    spec!("flushdb", -1, MAY_REPLICATE, connection::flush, "server", "1.0.0",
        "Remove all keys from the current database.", "O(N) where N is the number of keys in the selected database",
        info: &["write"], acl: &["keyspace", "write", "slow", "dangerous"], args: &[opt("flush-type", "string")]),
    spec!("dbsize", 1, 0, connection::dbsize, "server", "1.0.0",
        "Returns the number of keys in the database.", "O(1)",
        info: &["readonly", "fast"], acl: &["keyspace", "read", "fast"], args: &[]),
    spec!("time", 1, 0, connection::time, "server", "2.6.0",
        "Returns the server time.", "O(1)",
        info: &["loading", "stale", "fast"], acl: &["fast"], args: &[]),
    spec!("acl", -2, 0, not_a_command, "server", "6.0.0",
        "A container for Access List Control commands.", "Depends on subcommand.",
        info: &["sentinel"], acl: &["slow"], args: &[], subs: ACL_SUBS),
    spec!("multi", 1, NOT_QUEUED, multi::multi, "transactions", "1.2.0",
        "Starts a transaction.", "O(1)",
        info: &["noscript", "loading", "stale", "fast", "allow_busy"], acl: &["fast", "transaction"], args: &[]),
    spec!("exec", 1, NOT_QUEUED | ORDERED, multi::exec, "transactions", "1.2.0",
        "Executes all commands in a transaction.", "Depends on commands in the transaction",
        info: &["noscript", "loading", "stale", "skip_slowlog"], acl: &["slow", "transaction"], args: &[]),
    spec!("discard", 1, NOT_QUEUED, multi::discard, "transactions", "2.0.0",
        "Discards a transaction.", "O(N), when N is the number of queued commands",
        info: &["noscript", "loading", "stale", "fast", "allow_busy"], acl: &["fast", "transaction"], args: &[]),
    // ---- admin and fixture commands (issue 8; cmd::admin, monitor, pause, tracking) ----
    spec!("memory", -2, 0, not_a_command, "server", "4.0.0",
        "A container for memory diagnostics commands.", "Depends on subcommand.",
        info: &[], acl: &["slow"], args: &[], subs: MEMORY_SUBS),
    spec!("role", 1, 0, admin::role, "server", "2.8.12",
        "Returns the replication role.", "O(1)",
        info: &["noscript", "loading", "stale", "fast"], acl: &["admin", "fast", "dangerous"], args: &[]),
    spec!("lastsave", 1, 0, admin::lastsave, "server", "1.0.0",
        "Returns the Unix timestamp of the last successful save to disk.", "O(1)",
        info: &["loading", "stale", "fast"], acl: &["admin", "fast", "dangerous"], args: &[]),
    spec!("function", -2, 0, not_a_command, "scripting", "7.0.0",
        "A container for function commands.", "Depends on subcommand.",
        info: &[], acl: &["slow"], args: &[], subs: FUNCTION_SUBS),
    spec!("script", -2, 0, not_a_command, "scripting", "2.6.0",
        "A container for Lua scripts management commands.", "Depends on subcommand.",
        info: &[], acl: &["slow"], args: &[], subs: SCRIPT_SUBS),
    spec!("shutdown", -1, NO_MULTI, admin::shutdown, "server", "1.0.0",
        "Synchronously saves the database(s) to disk and shuts down the Redis server.", "O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)",
        info: &["admin", "noscript", "loading", "stale", "no_multi", "allow_busy"], acl: &["admin", "slow", "dangerous"],
        args: &[opt("save-selector", "string"), Arg { name: "now", kind: "pure-token", token: Some("NOW"), optional: true, multiple: false },
                Arg { name: "force", kind: "pure-token", token: Some("FORCE"), optional: true, multiple: false },
                Arg { name: "abort", kind: "pure-token", token: Some("ABORT"), optional: true, multiple: false }]),
    spec!("monitor", 1, 0, monitor::monitor, "server", "1.0.0",
        "Listens for all requests received by the server in real-time.", "",
        info: &["admin", "noscript", "loading", "stale"], acl: &["admin", "slow", "dangerous"], args: &[]),
    // Browsers that are tricked into sending HTTP to the port: Redis drops them at once.
    spec!("post", -1, NO_AUTH | PUBSUB_CONTEXT, connection::security_warning, "server", "3.2.0",
        "", "", info: &[], acl: &[], args: &[]),
    spec!("host:", -1, NO_AUTH | PUBSUB_CONTEXT, connection::security_warning, "server", "3.2.0",
        "", "", info: &[], acl: &[], args: &[]),
];

static MEMORY_SUBS: &[Spec] = &[
    spec!("memory|usage", -3, 0, admin::memory_usage, "server", "4.0.0",
        "Estimates the memory usage of a key.", "O(N) where N is the number of samples.",
        info: &["readonly"], acl: &["read", "slow"], args: &[arg("key", "key"), Arg { name: "count", kind: "integer", token: Some("SAMPLES"), optional: true, multiple: false }]),
    spec!("memory|stats", 2, 0, admin::memory_stats, "server", "4.0.0",
        "Returns details about memory usage.", "O(1)",
        info: &[], acl: &["slow"], args: &[]),
    spec!("memory|doctor", 2, 0, admin::memory_doctor, "server", "4.0.0",
        "Outputs a memory problems report.", "O(1)",
        info: &[], acl: &["slow"], args: &[]),
    spec!("memory|malloc-stats", 2, 0, admin::memory_malloc_stats, "server", "4.0.0",
        "Returns the allocator statistics.", "Depends on how much memory is allocated, could be slow",
        info: &[], acl: &["slow"], args: &[]),
    spec!("memory|purge", 2, 0, admin::memory_purge, "server", "4.0.0",
        "Asks the allocator to release memory.", "Depends on how much memory is allocated, could be slow",
        info: &[], acl: &["slow"], args: &[]),
    spec!("memory|help", 2, 0, admin::memory_help, "server", "4.0.0",
        "Returns helpful text about the different subcommands.", "O(1)",
        info: &["loading", "stale"], acl: &["slow"], args: &[]),
];

static FUNCTION_SUBS: &[Spec] = &[
    spec!("function|flush", -2, MAY_REPLICATE, admin::function_flush, "scripting", "7.0.0",
        "Deletes all libraries and functions.", "O(N) where N is the number of functions deleted",
        info: &["write", "noscript"], acl: &["write", "slow", "scripting"], args: &[opt("flush-type", "string")]),
    spec!("function|list", -2, 0, admin::function_list, "scripting", "7.0.0",
        "Returns information about all libraries.", "O(N) where N is the number of functions",
        info: &["noscript"], acl: &["slow", "scripting"],
        args: &[Arg { name: "library-name-pattern", kind: "string", token: Some("LIBRARYNAME"), optional: true, multiple: false },
                Arg { name: "withcode", kind: "pure-token", token: Some("WITHCODE"), optional: true, multiple: false }]),
    spec!("function|stats", 2, 0, admin::function_stats, "scripting", "7.0.0",
        "Returns information about a function during execution.", "O(1)",
        info: &["noscript", "allow_busy"], acl: &["slow", "scripting"], args: &[]),
    spec!("function|kill", 2, 0, admin::kill, "scripting", "7.0.0",
        "Terminates a function during execution.", "O(1)",
        info: &["noscript", "allow_busy"], acl: &["slow", "scripting"], args: &[]),
    spec!("function|help", 2, 0, admin::function_help, "scripting", "7.0.0",
        "Returns helpful text about the different subcommands.", "O(1)",
        info: &["loading", "stale"], acl: &["slow", "scripting"], args: &[]),
];

static SCRIPT_SUBS: &[Spec] = &[
    spec!("script|flush", -2, 0, admin::script_flush, "scripting", "2.6.0",
        "Removes all server-side Lua scripts from the script cache.", "O(N) with N being the number of scripts in cache",
        info: &["noscript"], acl: &["slow", "scripting"], args: &[opt("flush-type", "string")]),
    spec!("script|exists", -3, 0, admin::script_exists, "scripting", "2.6.0",
        "Determines whether server-side Lua scripts exist in the script cache.", "O(N) with N being the number of scripts to check (so checking a single script is an O(1) operation).",
        info: &["noscript"], acl: &["slow", "scripting"], args: &[many("sha1", "string")]),
    spec!("script|kill", 2, 0, admin::kill, "scripting", "2.6.0",
        "Terminates a server-side Lua script during execution.", "O(1)",
        info: &["noscript", "allow_busy"], acl: &["slow", "scripting"], args: &[]),
    spec!("script|help", 2, 0, admin::script_help, "scripting", "5.0.0",
        "Returns helpful text about the different subcommands.", "O(1)",
        info: &["loading", "stale"], acl: &["slow", "scripting"], args: &[]),
];

static PUBSUB_SUBS: &[Spec] = &[
    spec!("pubsub|channels", -2, ORDERED | OBSERVES, pubsub::channels, "pubsub", "2.8.0",
        "Returns the active channels.", "O(N) where N is the number of active channels, and assuming constant time pattern matching (relatively short channels and patterns)",
        info: &["pubsub", "loading", "stale"], acl: &["pubsub", "slow"], args: &[opt("pattern", "pattern")]),
    spec!("pubsub|numsub", -2, ORDERED | OBSERVES, pubsub::numsub, "pubsub", "2.8.0",
        "Returns a count of subscribers to channels.", "O(N) for the NUMSUB subcommand, where N is the number of requested channels",
        info: &["pubsub", "loading", "stale"], acl: &["pubsub", "slow"], args: &[opt_many("channel", "string")]),
    spec!("pubsub|numpat", 2, ORDERED | OBSERVES, pubsub::numpat, "pubsub", "2.8.0",
        "Returns a count of unique pattern subscriptions.", "O(1)",
        info: &["pubsub", "loading", "stale"], acl: &["pubsub", "slow"], args: &[]),
    spec!("pubsub|shardchannels", -2, ORDERED | OBSERVES, pubsub::shardchannels, "pubsub", "7.0.0",
        "Returns the active shard channels.", "O(N) where N is the number of active shard channels, and assuming constant time pattern matching (relatively short shard channels).",
        info: &["pubsub", "loading", "stale"], acl: &["pubsub", "slow"], args: &[opt("pattern", "pattern")]),
    spec!("pubsub|shardnumsub", -2, ORDERED | OBSERVES, pubsub::shardnumsub, "pubsub", "7.0.0",
        "Returns the count of subscribers of shard channels.", "O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels",
        info: &["pubsub", "loading", "stale"], acl: &["pubsub", "slow"], args: &[opt_many("shardchannel", "string")]),
    spec!("pubsub|help", 2, 0, pubsub::help, "pubsub", "6.2.0",
        "Returns helpful text about the different subcommands.", "O(1)",
        info: &["loading", "stale"], acl: &["slow"], args: &[]),
];

static CLIENT_SUBS: &[Spec] = &[
    spec!("client|id", 2, 0, client::id, "connection", "5.0.0",
        "Returns the unique client ID of the connection.", "O(1)",
        info: &["noscript", "loading", "stale"], acl: &["slow", "connection"], args: &[]),
    spec!("client|setname", 3, 0, client::setname, "connection", "2.6.9",
        "Sets the connection name.", "O(1)",
        info: &["noscript", "loading", "stale"], acl: &["slow", "connection"], args: &[arg("connection-name", "string")]),
    spec!("client|getname", 2, 0, client::getname, "connection", "2.6.9",
        "Returns the name of the connection.", "O(1)",
        info: &["noscript", "loading", "stale"], acl: &["slow", "connection"], args: &[]),
    spec!("client|setinfo", 4, 0, client::setinfo, "connection", "7.2.0",
        "Sets information specific to the client or connection.", "O(1)",
        info: &["noscript", "loading", "stale"], acl: &["slow", "connection"], args: &[arg("attr", "string"), arg("value", "string")]),
    spec!("client|info", 2, 0, client::info, "connection", "6.2.0",
        "Returns information about the connection.", "O(1)",
        info: &["noscript", "loading", "stale"], acl: &["slow", "connection"], args: &[]),
    spec!("client|list", -2, 0, client::list, "connection", "2.4.0",
        "Lists open connections.", "O(N) where N is the number of client connections",
        info: &["admin", "noscript", "loading", "stale"], acl: &["admin", "slow", "dangerous", "connection"], args: &[opt("client-type", "string"), opt_many("client-id", "integer")]),
    spec!("client|kill", -3, 0, client::kill, "connection", "2.4.0",
        "Terminates open connections.", "O(N) where N is the number of client connections",
        info: &["admin", "noscript", "loading", "stale"], acl: &["admin", "slow", "dangerous", "connection"], args: &[arg("filter", "string")]),
    spec!("client|reply", 3, 0, client::reply, "connection", "3.2.0",
        "Instructs the server whether to reply to commands.", "O(1)",
        info: &["noscript", "loading", "stale"], acl: &["slow", "connection"], args: &[arg("action", "string")]),
    spec!("client|no-evict", 3, 0, client::no_evict, "connection", "7.0.0",
        "Sets the client eviction mode of the connection.", "O(1)",
        info: &["admin", "noscript", "loading", "stale"], acl: &["admin", "slow", "dangerous", "connection"], args: &[arg("enabled", "string")]),
    spec!("client|no-touch", 3, 0, client::no_evict, "connection", "7.2.0",
        "Controls whether commands sent by the client affect the LRU/LFU of accessed keys.", "O(1)",
        info: &["noscript", "loading", "stale"], acl: &["slow", "connection"], args: &[arg("enabled", "string")]),
    spec!("client|pause", -3, 0, pause::pause, "connection", "3.0.0",
        "Suspends commands processing.", "O(1)",
        info: &["admin", "noscript", "loading", "stale"], acl: &["admin", "slow", "dangerous", "connection"],
        args: &[arg("timeout", "integer"), opt("mode", "string")]),
    spec!("client|unpause", 2, 0, pause::unpause, "connection", "6.2.0",
        "Resumes processing commands from paused clients.", "O(N) Where N is the number of paused clients",
        info: &["admin", "noscript", "loading", "stale"], acl: &["admin", "slow", "dangerous", "connection"], args: &[]),
    spec!("client|tracking", -3, 0, tracking::tracking, "connection", "6.0.0",
        "Controls server-assisted client-side caching for the connection.", "O(1). Some options may introduce additional complexity.",
        info: &["noscript", "loading", "stale"], acl: &["slow", "connection"], args: &[arg("status", "string"), opt_many("options", "string")]),
    spec!("client|trackinginfo", 2, 0, tracking::trackinginfo, "connection", "6.2.0",
        "Returns information about server-assisted client-side caching for the connection.", "O(1)",
        info: &["noscript", "loading", "stale"], acl: &["slow", "connection"], args: &[]),
    spec!("client|getredir", 2, 0, tracking::getredir, "connection", "6.0.0",
        "Returns the client ID to which the connection's tracking notifications are redirected.", "O(1)",
        info: &["noscript", "loading", "stale"], acl: &["slow", "connection"], args: &[]),
    spec!("client|caching", 3, 0, tracking::caching, "connection", "6.0.0",
        "Instructs the server whether to track the keys in the next request.", "O(1)",
        info: &["noscript", "loading", "stale"], acl: &["slow", "connection"], args: &[arg("mode", "string")]),
    spec!("client|help", 2, 0, client::help, "connection", "5.0.0",
        "Returns helpful text about the different subcommands.", "O(1)",
        info: &["loading", "stale"], acl: &["slow", "connection"], args: &[]),
];

static COMMAND_SUBS: &[Spec] = &[
    spec!("command|count", 2, 0, command::count, "server", "2.8.13",
        "Returns a count of commands.", "O(1)",
        info: &["loading", "stale"], acl: &["slow", "connection"], args: &[]),
    spec!("command|info", -2, 0, command::info, "server", "2.8.13",
        "Returns information about one, multiple or all commands.", "O(N) where N is the number of commands to look up",
        info: &["loading", "stale"], acl: &["slow", "connection"], args: &[opt_many("command-name", "string")]),
    spec!("command|docs", -2, 0, command::docs, "server", "7.0.0",
        "Returns documentary information about one, multiple or all commands.", "O(N) where N is the number of commands to look up",
        info: &["loading", "stale"], acl: &["slow", "connection"], args: &[opt_many("command-name", "string")]),
    spec!("command|list", -2, 0, command::list, "server", "7.0.0",
        "Returns a list of command names.", "O(N) where N is the total number of Redis commands",
        info: &["loading", "stale"], acl: &["slow", "connection"], args: &[opt("filterby", "string")]),
    spec!("command|help", 2, 0, command::help, "server", "5.0.0",
        "Returns helpful text about the different subcommands.", "O(1)",
        info: &["loading", "stale"], acl: &["slow", "connection"], args: &[]),
];

static CONFIG_SUBS: &[Spec] = &[
    spec!("config|get", -3, 0, config::get, "server", "2.0.0",
        "Returns the effective values of configuration parameters.", "O(N) when N is the number of configuration parameters provided",
        info: &["admin", "noscript", "loading", "stale"], acl: &["admin", "slow", "dangerous"], args: &[many("parameter", "string")]),
    spec!("config|set", -4, 0, config::set, "server", "2.0.0",
        "Sets configuration parameters in-flight.", "O(N) when N is the number of configuration parameters provided",
        info: &["admin", "noscript", "loading", "stale"], acl: &["admin", "slow", "dangerous"], args: &[many("data", "string")]),
    spec!("config|rewrite", 2, 0, config::rewrite, "server", "2.8.0",
        "Persists the effective configuration to file.", "O(1)",
        info: &["admin", "noscript", "loading", "stale"], acl: &["admin", "slow", "dangerous"], args: &[]),
    spec!("config|resetstat", 2, 0, config::resetstat, "server", "2.0.0",
        "Resets the server's statistics.", "O(1)",
        info: &["admin", "noscript", "loading", "stale"], acl: &["admin", "slow", "dangerous"], args: &[]),
    spec!("config|help", 2, 0, config::help, "server", "5.0.0",
        "Returns helpful text about the different subcommands.", "O(1)",
        info: &["loading", "stale"], acl: &["slow"], args: &[]),
];

// admin-http (issue 8): SLOWLOG and LATENCY subcommands, as Redis 7.0 declares them.
const ADMIN_INFO: &[&str] = &["admin", "noscript", "loading", "stale"];
const ADMIN_ACL: &[&str] = &["admin", "slow", "dangerous"];

static SLOWLOG_SUBS: &[Spec] = &[
    spec!("slowlog|get", -2, 0, slowlog::get, "server", "2.2.12",
        "Returns the slow log's entries.", "O(N) where N is the number of entries returned",
        info: ADMIN_INFO, acl: ADMIN_ACL, args: &[opt("count", "integer")]),
    spec!("slowlog|len", 2, 0, slowlog::len, "server", "2.2.12",
        "Returns the number of entries in the slow log.", "O(1)",
        info: ADMIN_INFO, acl: ADMIN_ACL, args: &[]),
    spec!("slowlog|reset", 2, 0, slowlog::reset, "server", "2.2.12",
        "Clears all entries from the slow log.", "O(N) where N is the number of entries in the slowlog",
        info: ADMIN_INFO, acl: ADMIN_ACL, args: &[]),
    spec!("slowlog|help", 2, 0, slowlog::help, "server", "6.2.0",
        "Show helpful text about the different subcommands", "O(1)",
        info: &["loading", "stale"], acl: &["slow"], args: &[]),
];

static LATENCY_SUBS: &[Spec] = &[
    spec!("latency|doctor", 2, 0, latency::doctor, "server", "2.8.13",
        "Returns a human-readable latency analysis report.", "O(1)",
        info: ADMIN_INFO, acl: ADMIN_ACL, args: &[]),
    spec!("latency|graph", 3, 0, latency::graph, "server", "2.8.13",
        "Returns a latency graph for an event.", "O(1)",
        info: ADMIN_INFO, acl: ADMIN_ACL, args: &[arg("event", "string")]),
    spec!("latency|history", 3, 0, latency::history, "server", "2.8.13",
        "Returns timestamp-latency samples for an event.", "O(1)",
        info: ADMIN_INFO, acl: ADMIN_ACL, args: &[arg("event", "string")]),
    spec!("latency|latest", 2, 0, latency::latest, "server", "2.8.13",
        "Returns the latest latency samples for all events.", "O(1)",
        info: ADMIN_INFO, acl: ADMIN_ACL, args: &[]),
    spec!("latency|reset", -2, 0, latency::reset, "server", "2.8.13",
        "Resets the latency data for one or more events.", "O(1)",
        info: ADMIN_INFO, acl: ADMIN_ACL, args: &[opt_many("event", "string")]),
    spec!("latency|histogram", -2, 0, latency::histogram, "server", "7.0.0",
        "Returns the cumulative distribution of latencies of a subset or all commands.", "O(N) where N is the number of commands with latency information being retrieved.",
        info: ADMIN_INFO, acl: ADMIN_ACL, args: &[opt_many("command", "string")]),
    spec!("latency|help", 2, 0, latency::help, "server", "2.8.13",
        "Returns helpful text about the different subcommands.", "O(1)",
        info: &["loading", "stale"], acl: &["slow"], args: &[]),
];

const ACL_ADMIN: &[&str] = &["admin", "noscript", "loading", "stale", "sentinel"];
const ACL_ADMIN_CATS: &[&str] = &["admin", "slow", "dangerous"];
const ACL_PLAIN: &[&str] = &["noscript", "loading", "stale", "sentinel"];

static ACL_SUBS: &[Spec] = &[
    spec!("acl|cat", -2, 0, acl::cat, "server", "6.0.0",
        "Lists the ACL categories, or the commands inside a category.", "O(1) since the categories and commands are a fixed set.",
        info: ACL_PLAIN, acl: &["slow"], args: &[opt("category", "string")]),
    spec!("acl|deluser", -3, 0, acl::deluser, "server", "6.0.0",
        "Deletes ACL users, and terminates their connections.", "O(1) amortized time considering the typical user.",
        info: ACL_ADMIN, acl: ACL_ADMIN_CATS, args: &[many("username", "string")]),
    spec!("acl|dryrun", -4, 0, acl::dryrun, "server", "7.0.0",
        "Simulates the execution of a command by a user, without executing the command.", "O(1).",
        info: ACL_ADMIN, acl: ACL_ADMIN_CATS, args: &[arg("username", "string"), arg("command", "string"), opt_many("arg", "string")]),
    spec!("acl|genpass", -2, 0, acl::genpass, "server", "6.0.0",
        "Generates a pseudorandom, secure password that can be used to identify ACL users.", "O(1)",
        info: ACL_PLAIN, acl: &["slow"], args: &[opt("bits", "integer")]),
    spec!("acl|getuser", 3, 0, acl::getuser, "server", "6.0.0",
        "Lists the ACL rules of a user.", "O(N). Where N is the number of password, command and pattern rules that the user has.",
        info: ACL_ADMIN, acl: ACL_ADMIN_CATS, args: &[arg("username", "string")]),
    spec!("acl|help", 2, 0, acl::help, "server", "6.0.0",
        "Returns helpful text about the different subcommands.", "O(1)",
        info: &["loading", "stale", "sentinel"], acl: &["slow"], args: &[]),
    spec!("acl|list", 2, 0, acl::list, "server", "6.0.0",
        "Dumps the effective rules in ACL file format.", "O(N). Where N is the number of configured users.",
        info: ACL_ADMIN, acl: ACL_ADMIN_CATS, args: &[]),
    spec!("acl|load", 2, 0, acl::load, "server", "6.0.0",
        "Reloads the rules from the configured ACL file.", "O(N). Where N is the number of configured users.",
        info: ACL_ADMIN, acl: ACL_ADMIN_CATS, args: &[]),
    spec!("acl|log", -2, 0, acl::log, "server", "6.0.0",
        "Lists recent security events generated due to ACL rules.", "O(N) with N being the number of entries shown.",
        info: ACL_ADMIN, acl: ACL_ADMIN_CATS, args: &[opt("count-or-reset", "string")]),
    spec!("acl|save", 2, 0, acl::save, "server", "6.0.0",
        "Saves the effective ACL rules in the configured ACL file.", "O(N). Where N is the number of configured users.",
        info: ACL_ADMIN, acl: ACL_ADMIN_CATS, args: &[]),
    spec!("acl|setuser", -3, 0, acl::setuser, "server", "6.0.0",
        "Creates and modifies an ACL user and its rules.", "O(N). Where N is the number of rules provided.",
        info: ACL_ADMIN, acl: ACL_ADMIN_CATS, args: &[arg("username", "string"), opt_many("rule", "string")]),
    spec!("acl|users", 2, 0, acl::users, "server", "6.0.0",
        "Lists all ACL users.", "O(N). Where N is the number of configured users.",
        info: ACL_ADMIN, acl: ACL_ADMIN_CATS, args: &[]),
    spec!("acl|whoami", 2, 0, acl::whoami, "server", "6.0.0",
        "Returns the authenticated username of the current connection.", "O(1)",
        info: ACL_PLAIN, acl: &["slow"], args: &[]),
];
