//! One ACL user and the `ACL SETUSER` rules that change it (Redis 7.2 acl.c
//! `ACLSetUser` / `ACLSetSelector`), and the text `ACL LIST` / `ACL GETUSER` / `ACL SAVE`
//! print for it (`ACLDescribeUser`).
//!
//! Commands are tracked as Redis does: a bitmap over respub's command table (what is
//! enforced), the `allcommands` flag (fast path: nothing to look up), a "future
//! commands" bit that only `+@all` sets and only `-@all` clears (it decides whether the
//! description starts with `+@all` or `-@all`), and the ordered `command_rules` that
//! reproduce the bitmap. Rules naming Redis commands respub does not have are kept in
//! `command_rules` only.

use super::redis_commands::REDIS_COMMANDS;
use crate::cmd::table::{self, Spec};
use bytes::Bytes;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::OnceLock;

/// Redis 7.2's ACL categories, in `ACL CAT` order.
pub const CATEGORIES: &[&str] = &[
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

/// Why a rule was refused; `text` is Redis's `ACLSetUserStringError` wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleError {
    Syntax,
    UnknownCommand,
    KeyAfterAll,
    ChannelAfterAll,
    NoSuchPassword,
    BadHash,
    SubcommandFirstArg,
    /// Selectors `(...)` are not implemented.
    Selectors,
}

impl RuleError {
    pub fn text(self) -> &'static str {
        match self {
            RuleError::Syntax => "Syntax error",
            RuleError::UnknownCommand => "Unknown command or category name in ACL",
            RuleError::KeyAfterAll => "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
            RuleError::ChannelAfterAll => "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
            RuleError::NoSuchPassword => "The password you are trying to remove from the user does not exist",
            RuleError::BadHash => "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters",
            RuleError::SubcommandFirstArg => "Allowing first-arg of a subcommand is not supported",
            RuleError::Selectors => "Selectors are not supported by respub",
        }
    }
}

/// Every spec (commands and subcommands) numbered, for the command bitmap.
struct Ids {
    by_addr: HashMap<usize, usize, ahash::RandomState>,
    specs: Vec<&'static Spec>,
}

fn ids() -> &'static Ids {
    static IDS: OnceLock<Ids> = OnceLock::new();
    IDS.get_or_init(|| {
        let mut specs = Vec::new();
        for spec in table::COMMANDS {
            specs.push(spec);
            specs.extend(spec.subcommands.iter());
        }
        let by_addr = specs
            .iter()
            .enumerate()
            .map(|(i, s)| (s.addr(), i))
            .collect();
        Ids { by_addr, specs }
    })
}

/// The bitmap index of a spec from the command table.
pub fn spec_id(spec: &'static Spec) -> usize {
    ids()
        .by_addr
        .get(&spec.addr())
        .copied()
        .unwrap_or(usize::MAX)
}

/// Every spec of respub's table (commands, then each one's subcommands).
pub fn all_specs() -> &'static [&'static Spec] {
    &ids().specs
}

fn is_redis_command(name: &str) -> bool {
    REDIS_COMMANDS.binary_search(&name).is_ok()
}

/// Key pattern permissions (`%R~`, `%W~`, `~` = both).
const KEY_READ: u8 = 1;
const KEY_WRITE: u8 = 2;

/// One user. Immutable once published: a change builds a new `User` (copy, apply,
/// swap), so connections can hold an `Arc<User>` without locks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: Bytes,
    /// `on` (true) or `off`. Redis prints `off` for a fresh user.
    pub enabled: bool,
    pub nopass: bool,
    /// `Some(true)` after `sanitize-payload`, `Some(false)` after `skip-sanitize-payload`.
    pub sanitize_payload: Option<bool>,
    /// SHA-256 digests, in the order they were added. Plain passwords are never kept.
    pub passwords: Vec<[u8; 32]>,
    pub allkeys: bool,
    /// Key patterns with their `KEY_*` flags: stored and printed, never enforced.
    pub keys: Vec<(Bytes, u8)>,
    pub allchannels: bool,
    pub channels: Vec<Bytes>,
    /// Every command allowed without looking at `bits` (`+@all` and nothing denied since).
    pub allcommands: bool,
    /// Set by `+@all`, cleared by `-@all` only (Redis's reserved "future commands" bit).
    future: bool,
    /// One bit per `spec_id`.
    bits: Vec<u64>,
    /// `+cmd|arg` for a command without subcommands: (spec id, lower-case first arg).
    first_args: Vec<(usize, Vec<u8>)>,
    /// Redis's `command_rules`: lower-case rules like `+@pubsub`, `-publish`, in order.
    command_rules: Vec<String>,
}

impl User {
    /// A user as `ACL SETUSER` creates it: off, no passwords, no commands, no keys, and
    /// channels per `acl-pubsub-default`.
    pub fn new(name: Bytes, pubsub_allchannels: bool) -> User {
        User {
            name,
            enabled: false,
            nopass: false,
            sanitize_payload: None,
            passwords: Vec::new(),
            allkeys: false,
            keys: Vec::new(),
            allchannels: pubsub_allchannels,
            channels: Vec::new(),
            allcommands: false,
            future: false,
            bits: vec![0; all_specs().len().div_ceil(64)],
            first_args: Vec::new(),
            command_rules: Vec::new(),
        }
    }

    /// The built-in `default` user: `on nopass ~* &* +@all`.
    pub fn default_user() -> User {
        let mut u = User::new(Bytes::from_static(b"default"), false);
        for rule in ["+@all", "~*", "&*", "on", "nopass"] {
            u.apply(rule.as_bytes(), false)
                .expect("the default user's rules are valid");
        }
        u
    }

    /// Applies one rule. `pubsub_allchannels` is `acl-pubsub-default` (for `reset`).
    pub fn apply(&mut self, op: &[u8], pubsub_allchannels: bool) -> Result<(), RuleError> {
        if op.is_empty() {
            return Ok(());
        }
        let lower = op.to_ascii_lowercase();
        match &lower[..] {
            b"on" => self.enabled = true,
            b"off" => self.enabled = false,
            b"skip-sanitize-payload" => self.sanitize_payload = Some(false),
            b"sanitize-payload" => self.sanitize_payload = Some(true),
            b"nopass" => {
                self.nopass = true;
                self.passwords.clear();
            }
            b"resetpass" => {
                self.nopass = false;
                self.passwords.clear();
            }
            b"reset" => {
                for rule in ["resetpass", "resetkeys", "resetchannels"] {
                    self.apply(rule.as_bytes(), pubsub_allchannels)?;
                }
                if pubsub_allchannels {
                    self.apply(b"allchannels", pubsub_allchannels)?;
                }
                for rule in ["off", "sanitize-payload", "-@all"] {
                    self.apply(rule.as_bytes(), pubsub_allchannels)?;
                }
            }
            b"clearselectors" => {}
            _ => match op[0] {
                b'>' | b'#' => {
                    let digest = if op[0] == b'>' {
                        hash_password(&op[1..])
                    } else {
                        parse_hash(&op[1..])?
                    };
                    if !self.passwords.contains(&digest) {
                        self.passwords.push(digest);
                    }
                    self.nopass = false;
                }
                b'<' | b'!' => {
                    let digest = if op[0] == b'<' {
                        hash_password(&op[1..])
                    } else {
                        parse_hash(&op[1..])?
                    };
                    let at = self
                        .passwords
                        .iter()
                        .position(|p| *p == digest)
                        .ok_or(RuleError::NoSuchPassword)?;
                    self.passwords.remove(at);
                }
                b'(' if op.ends_with(b")") => return Err(RuleError::Selectors),
                _ => self.apply_selector(op, &lower)?,
            },
        }
        Ok(())
    }

    fn apply_selector(&mut self, op: &[u8], lower: &[u8]) -> Result<(), RuleError> {
        match lower {
            b"allkeys" | b"~*" => {
                self.allkeys = true;
                self.keys.clear();
            }
            b"resetkeys" => {
                self.allkeys = false;
                self.keys.clear();
            }
            b"allchannels" | b"&*" => {
                self.allchannels = true;
                self.channels.clear();
            }
            b"resetchannels" => {
                self.allchannels = false;
                self.channels.clear();
            }
            b"allcommands" | b"+@all" => {
                self.bits.iter_mut().for_each(|w| *w = u64::MAX);
                self.allcommands = true;
                self.future = true;
                self.command_rules.clear();
                self.first_args.clear();
            }
            b"nocommands" | b"-@all" => {
                self.bits.iter_mut().for_each(|w| *w = 0);
                self.allcommands = false;
                self.future = false;
                self.command_rules.clear();
                self.first_args.clear();
            }
            _ => match op[0] {
                b'~' | b'%' => self.add_key_pattern(op)?,
                b'&' => {
                    if self.allchannels {
                        return Err(RuleError::ChannelAfterAll);
                    }
                    let pat = &op[1..];
                    if has_spaces(pat) {
                        return Err(RuleError::Syntax);
                    }
                    if !self.channels.iter().any(|c| c[..] == *pat) {
                        self.channels.push(Bytes::copy_from_slice(pat));
                    }
                }
                b'+' | b'-' if op.get(1) == Some(&b'@') => {
                    let allow = op[0] == b'+';
                    let name =
                        std::str::from_utf8(&lower[2..]).map_err(|_| RuleError::UnknownCommand)?;
                    if !CATEGORIES.contains(&name) {
                        return Err(RuleError::UnknownCommand);
                    }
                    self.update_rules(&lower[1..], allow);
                    for spec in all_specs() {
                        if spec.acl.contains(&name) {
                            self.change_perm(spec, allow);
                        }
                    }
                }
                b'+' => self.allow_command(&lower[1..])?,
                b'-' => {
                    let name =
                        std::str::from_utf8(&lower[1..]).map_err(|_| RuleError::UnknownCommand)?;
                    match lookup(name) {
                        Some(spec) => {
                            self.change_perm(spec, false);
                            self.update_rules(spec.name.as_bytes(), false);
                        }
                        None if is_redis_command(name) => self.update_rules(name.as_bytes(), false),
                        None => return Err(RuleError::UnknownCommand),
                    }
                }
                _ => return Err(RuleError::Syntax),
            },
        }
        Ok(())
    }

    fn add_key_pattern(&mut self, op: &[u8]) -> Result<(), RuleError> {
        if self.allkeys {
            return Err(RuleError::KeyAfterAll);
        }
        let mut flags = 0;
        let mut offset = 1;
        if op[0] == b'%' {
            loop {
                match op.get(offset).map(u8::to_ascii_uppercase) {
                    Some(b'R') if flags & KEY_READ == 0 => flags |= KEY_READ,
                    Some(b'W') if flags & KEY_WRITE == 0 => flags |= KEY_WRITE,
                    Some(b'~') if flags != 0 => {
                        offset += 1;
                        break;
                    }
                    _ => return Err(RuleError::Syntax),
                }
                offset += 1;
            }
        } else {
            flags = KEY_READ | KEY_WRITE;
        }
        let pat = &op[offset..];
        if has_spaces(pat) {
            return Err(RuleError::Syntax);
        }
        match self.keys.iter_mut().find(|(p, _)| p[..] == *pat) {
            Some((_, f)) => *f |= flags,
            None => self.keys.push((Bytes::copy_from_slice(pat), flags)),
        }
        self.allkeys = false;
        Ok(())
    }

    fn allow_command(&mut self, name: &[u8]) -> Result<(), RuleError> {
        let name = std::str::from_utf8(name).map_err(|_| RuleError::UnknownCommand)?;
        let Some((container, first)) = name.rsplit_once('|') else {
            match lookup(name) {
                Some(spec) => {
                    self.change_perm(spec, true);
                    self.update_rules(spec.name.as_bytes(), true);
                }
                None if is_redis_command(name) => self.update_rules(name.as_bytes(), true),
                None => return Err(RuleError::UnknownCommand),
            }
            return Ok(());
        };
        let parent = lookup(container);
        if parent.is_none() && !is_redis_command(container) {
            return Err(RuleError::UnknownCommand);
        }
        if container.contains('|') {
            return Err(RuleError::SubcommandFirstArg);
        }
        if first.is_empty() {
            return Err(RuleError::Syntax);
        }
        match parent {
            Some(p) if !p.subcommands.is_empty() => {
                let sub = lookup(name).ok_or(RuleError::UnknownCommand)?;
                self.change_perm(sub, true);
            }
            Some(p) => {
                let id = spec_id(p);
                let first = first.as_bytes().to_vec();
                if !self.first_args.contains(&(id, first.clone())) {
                    self.first_args.push((id, first));
                }
            }
            // A Redis command respub lacks: a subcommand must exist in Redis.
            None if !is_redis_command(name) && redis_has_subcommands(container) => {
                return Err(RuleError::UnknownCommand)
            }
            None => {}
        }
        self.update_rules(name.as_bytes(), true);
        Ok(())
    }

    /// `ACLChangeSelectorPerm`: a container's bit and all its subcommands' bits.
    fn change_perm(&mut self, spec: &'static Spec, allow: bool) {
        let id = spec_id(spec);
        self.set_bit(id, allow);
        self.first_args.retain(|(i, _)| *i != id);
        for sub in spec.subcommands {
            self.set_bit(spec_id(sub), allow);
        }
    }

    fn set_bit(&mut self, id: usize, allow: bool) {
        let Some(word) = self.bits.get_mut(id / 64) else {
            return;
        };
        if allow {
            *word |= 1 << (id % 64);
        } else {
            *word &= !(1 << (id % 64));
            self.allcommands = false;
        }
    }

    fn bit(&self, id: usize) -> bool {
        self.bits
            .get(id / 64)
            .is_some_and(|w| w & (1 << (id % 64)) != 0)
    }

    /// `ACLUpdateCommandRules`: drop earlier rules for the same command (or its
    /// subcommands), then append.
    fn update_rules(&mut self, rule: &[u8], allow: bool) {
        let rule = String::from_utf8_lossy(rule).to_ascii_lowercase();
        self.command_rules.retain(|r| {
            let existing = &r[1..];
            !(existing == rule
                || (existing.len() > rule.len()
                    && existing.starts_with(rule.as_str())
                    && existing.as_bytes()[rule.len()] == b'|'))
        });
        self.command_rules
            .push(format!("{}{rule}", if allow { '+' } else { '-' }));
    }

    /// Whether the user may run `spec` with `args` (Redis `ACLSelectorCheckCmd`'s
    /// command part). Commands flagged `no_auth` are always allowed.
    pub fn may_run(&self, spec: &'static Spec, args: &[Bytes]) -> bool {
        if self.allcommands || spec.flags & table::flags::NO_AUTH != 0 {
            return true;
        }
        let id = spec_id(spec);
        if self.bit(id) {
            return true;
        }
        // `+select|0`: a first argument of an otherwise denied command. The arguments
        // of a subcommand start one later.
        args.get(1).is_some_and(|first| {
            self.first_args
                .iter()
                .any(|(i, a)| *i == id && first.eq_ignore_ascii_case(a))
        })
    }

    /// A channel (PUBLISH, SUBSCRIBE, SSUBSCRIBE argument) or, when `literal`, a
    /// PSUBSCRIBE pattern, which must equal an ACL pattern byte for byte.
    pub fn may_access_channel(&self, channel: &[u8], literal: bool) -> bool {
        self.allchannels
            || self.channels.iter().any(|p| {
                if literal {
                    p[..] == *channel
                } else {
                    crate::glob::matches(p, channel)
                }
            })
    }

    /// The password check. Constant time per stored digest: the given password is
    /// hashed and compared with `subtle`, so timing says nothing about where digests
    /// differ (acl.c `time_independent_strcmp`).
    pub fn password_ok(&self, given: &[u8]) -> bool {
        use subtle::ConstantTimeEq;
        if self.nopass {
            return true;
        }
        let digest = hash_password(given);
        let mut ok = subtle::Choice::from(0);
        for p in &self.passwords {
            ok |= p.ct_eq(&digest);
        }
        ok.into()
    }

    /// GETUSER `flags`.
    pub fn flag_words(&self) -> Vec<&'static str> {
        let mut v = vec![if self.enabled { "on" } else { "off" }];
        if self.nopass {
            v.push("nopass");
        }
        match self.sanitize_payload {
            Some(false) => v.push("skip-sanitize-payload"),
            Some(true) => v.push("sanitize-payload"),
            None => {}
        }
        v
    }

    pub fn password_hex(&self) -> Vec<String> {
        self.passwords.iter().map(|p| hex(p)).collect()
    }

    /// GETUSER `commands`: `+@all`/`-@all` then the rules (`ACLDescribeSelectorCommandRules`).
    pub fn describe_commands(&self) -> String {
        let mut s = String::from(if self.future { "+@all" } else { "-@all" });
        for r in &self.command_rules {
            s.push(' ');
            s.push_str(r);
        }
        s
    }

    /// GETUSER `keys`.
    pub fn describe_keys(&self) -> Vec<u8> {
        if self.allkeys {
            return b"~*".to_vec();
        }
        let mut v = Vec::new();
        for (p, flags) in &self.keys {
            if !v.is_empty() {
                v.push(b' ');
            }
            match *flags {
                KEY_READ => v.extend_from_slice(b"%R~"),
                KEY_WRITE => v.extend_from_slice(b"%W~"),
                _ => v.push(b'~'),
            }
            v.extend_from_slice(p);
        }
        v
    }

    /// GETUSER `channels`.
    pub fn describe_channels(&self) -> Vec<u8> {
        if self.allchannels {
            return b"&*".to_vec();
        }
        let mut v = Vec::new();
        for p in &self.channels {
            if !v.is_empty() {
                v.push(b' ');
            }
            v.push(b'&');
            v.extend_from_slice(p);
        }
        v
    }

    /// The rules after `user <name> ` in ACL LIST and in an ACL file (`ACLDescribeUser`).
    pub fn describe(&self) -> Vec<u8> {
        let mut v = Vec::new();
        for f in self.flag_words() {
            v.extend_from_slice(f.as_bytes());
            v.push(b' ');
        }
        for p in &self.passwords {
            v.push(b'#');
            v.extend_from_slice(hex(p).as_bytes());
            v.push(b' ');
        }
        let keys = self.describe_keys();
        if !keys.is_empty() {
            v.extend_from_slice(&keys);
            v.push(b' ');
        }
        if self.allchannels {
            v.extend_from_slice(b"&* ");
        } else {
            v.extend_from_slice(b"resetchannels ");
            for p in &self.channels {
                v.push(b'&');
                v.extend_from_slice(p);
                v.push(b' ');
            }
        }
        v.extend_from_slice(self.describe_commands().as_bytes());
        v
    }

    /// Revocation (Redis `ACLKillPubsubClientsIfNeeded`): `true` when clients of this
    /// user may keep every subscription they could hold under `old`, so none needs a
    /// check. The new permissions are all channels, or keep every old pattern literally.
    pub fn channels_cover(&self, old: &User) -> bool {
        if self.allchannels {
            return true;
        }
        if old.allchannels {
            return false;
        }
        old.channels.iter().all(|p| self.channels.contains(p))
    }
}

/// A respub command by lower-case full name.
fn lookup(name: &str) -> Option<&'static Spec> {
    // The table's index holds subcommands under their full `container|sub` names.
    table::find(None, name.as_bytes())
}

fn redis_has_subcommands(container: &str) -> bool {
    let prefix = format!("{container}|");
    REDIS_COMMANDS.iter().any(|n| n.starts_with(&prefix))
}

/// Redis `ACLStringHasSpaces`: spaces and NUL bytes.
pub fn has_spaces(s: &[u8]) -> bool {
    s.iter().any(|&b| b == b' ' || b == 0)
}

pub fn hash_password(p: &[u8]) -> [u8; 32] {
    Sha256::digest(p).into()
}

fn parse_hash(h: &[u8]) -> Result<[u8; 32], RuleError> {
    if h.len() != 64
        || !h
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
    {
        return Err(RuleError::BadHash);
    }
    let mut out = [0u8; 32];
    for (i, pair) in h.chunks(2).enumerate() {
        let s = std::str::from_utf8(pair).map_err(|_| RuleError::BadHash)?;
        out[i] = u8::from_str_radix(s, 16).map_err(|_| RuleError::BadHash)?;
    }
    Ok(out)
}

pub fn hex(b: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(rules: &[&str]) -> User {
        let mut u = User::new(Bytes::from_static(b"u"), false);
        for r in rules {
            u.apply(r.as_bytes(), false).unwrap();
        }
        u
    }

    #[test]
    fn describe_matches_redis_for_mixed_rules() {
        let u = user(&["on", ">p1", "&a*", "+@all", "-publish", "~k*", "%R~r*"]);
        assert_eq!(
            String::from_utf8(u.describe()).unwrap(),
            "on #f64551fcd6f07823cb87971cfb91446425da18286b3ab1ef935e0cbd7a69f68a ~k* %R~r* resetchannels &a* +@all -publish"
        );
    }

    #[test]
    fn later_rule_for_a_command_replaces_earlier_ones() {
        let u = user(&[
            "+client|id",
            "+client|info",
            "-client",
            "+publish",
            "-publish",
        ]);
        assert_eq!(u.describe_commands(), "-@all -client -publish");
    }

    #[test]
    fn channel_after_allchannels_is_refused() {
        let mut u = user(&["allchannels"]);
        assert_eq!(u.apply(b"&x", false), Err(RuleError::ChannelAfterAll));
    }

    #[test]
    fn psubscribe_patterns_compare_literally() {
        let u = user(&["&news.*"]);
        assert!(u.may_access_channel(b"news.1", false));
        assert!(u.may_access_channel(b"news.*", true));
        assert!(!u.may_access_channel(b"news.1*", true));
    }

    #[test]
    fn password_check_uses_digests() {
        let u = user(&[">secret", "on"]);
        assert!(u.password_ok(b"secret"));
        assert!(!u.password_ok(b"secreT"));
        assert!(!u.password_ok(b""));
    }

    fn spec(name: &str) -> &'static Spec {
        table::find(None, name.as_bytes()).unwrap()
    }

    fn args(words: &[&str]) -> Vec<Bytes> {
        words
            .iter()
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }

    #[test]
    fn container_rules_cover_subcommands_and_sub_rules_only_themselves() {
        let u = user(&["+client"]);
        assert!(u.may_run(spec("client|id"), &args(&["client", "id"])));
        let u = user(&["+@all", "-client", "+client|id"]);
        assert!(u.may_run(spec("client|id"), &args(&["client", "id"])));
        assert!(!u.may_run(spec("client|list"), &args(&["client", "list"])));
        assert!(!u.allcommands);
        assert_eq!(u.describe_commands(), "+@all -client +client|id");
    }

    #[test]
    fn first_arg_rule_allows_only_that_argument() {
        let u = user(&["+select|0"]);
        assert!(u.may_run(spec("select"), &args(&["select", "0"])));
        assert!(!u.may_run(spec("select"), &args(&["select", "1"])));
        // No-auth commands are never refused (Redis CMD_NO_AUTH).
        assert!(u.may_run(spec("auth"), &args(&["auth", "x"])));
    }

    #[test]
    fn reset_is_a_fresh_user_with_sanitize_payload() {
        let u = user(&["on", ">pw", "~*", "&*", "+@all", "reset"]);
        assert_eq!(
            String::from_utf8(u.describe()).unwrap(),
            "off sanitize-payload resetchannels -@all"
        );
        let mut u = User::new(Bytes::from_static(b"u"), true);
        u.apply(b"reset", true).unwrap();
        assert!(
            u.allchannels,
            "acl-pubsub-default allchannels applies to reset"
        );
    }

    #[test]
    fn pardon_needs_allchannels_or_every_old_pattern() {
        let old = user(&["&a*", "&b*"]);
        assert!(user(&["&b*", "&a*", "&c*"]).channels_cover(&old));
        assert!(user(&["allchannels"]).channels_cover(&old));
        assert!(!user(&["&b*"]).channels_cover(&old));
        assert!(!user(&["&*x"]).channels_cover(&user(&["allchannels"])));
    }

    #[test]
    fn redis_only_commands_are_kept_in_rules() {
        let u = user(&["+@all", "-keys", "-flushall", "+get"]);
        assert_eq!(u.describe_commands(), "+@all -keys -flushall +get");
        let mut u = user(&[]);
        assert_eq!(u.apply(b"+nosuch", false), Err(RuleError::UnknownCommand));
    }
}
