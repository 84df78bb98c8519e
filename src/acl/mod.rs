//! ACL users (Redis 7.2 semantics): the users table, who may run which command and
//! publish or subscribe to which channel, the ACL LOG, and revocation.
//!
//! # Locking
//!
//! The table is a `RwLock<BTreeMap<name, Arc<User>>>` plus a generation counter. A `User`
//! is never changed in place: ACL SETUSER / DELUSER / LOAD build new users and swap them
//! in under the write lock, then bump the generation.
//!
//! - Read (every command): each connection keeps an `Arc<User>` snapshot and the
//!   generation it was taken at. Before a command it loads the generation (one atomic);
//!   only when it moved does it take the read lock to refresh the snapshot by name. The
//!   checks then read the snapshot without any lock, and the `default` user with
//!   `+@all` and `allchannels` costs two flag tests (the PUBLISH hot path).
//! - Insert / replace / remove: write lock, swap, unlock, bump the generation, then
//!   revocation (below). Nothing here is held across `.await`.
//!
//! # Revocation
//!
//! When a user's channel permissions shrink (the new ones are neither `allchannels` nor
//! keep every old pattern literally: Redis's pardon rules), every client authenticated
//! as that user that holds a subscription the new user would refuse is closed at once,
//! without a message (`ACLKillPubsubClientsIfNeeded`). Subscriptions are read from the
//! client's mirror (`Client::subscriptions`), under its mutex. A subscriber adds to its
//! mirror under that mutex and, after that, compares the generation with its snapshot's:
//! either the revoking scan sees the new subscription, or the subscriber sees the new
//! generation and re-checks itself, so no subscription slips between the two.

pub mod file;
pub mod log;
mod redis_commands;
pub mod rules;

use bytes::Bytes;
use rules::User;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

/// Counters INFO reports as `acl_access_denied_*`.
#[derive(Debug, Default)]
pub struct Denied {
    pub auth: AtomicU64,
    pub cmd: AtomicU64,
    pub key: AtomicU64,
    pub channel: AtomicU64,
}

impl Denied {
    pub fn reset(&self) {
        for c in [&self.auth, &self.cmd, &self.key, &self.channel] {
            c.store(0, Ordering::Relaxed);
        }
    }
}

#[derive(Debug)]
pub struct Acl {
    users: RwLock<BTreeMap<Bytes, Arc<User>>>,
    generation: AtomicU64,
    /// The `default` user is off or has passwords: new connections must authenticate.
    default_needs_auth: AtomicBool,
    pub log: Mutex<log::Log>,
    pub denied: Denied,
}

/// The error Redis prints when both are configured (acl.c `ACLLoadUsersAtStartup`).
pub const USERS_AND_ACLFILE: &str = "Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.";

impl Acl {
    /// The users at start: `default` (with `requirepass`), then `user` lines or the ACL
    /// file (never both). Any error stops the start.
    pub fn from_config(c: &crate::config::Config) -> Result<Acl, String> {
        let mut default = User::default_user();
        if let Some(p) = &c.requirepass {
            apply_requirepass(&mut default, Some(p));
        }
        let mut users = BTreeMap::new();
        users.insert(default.name.clone(), default);
        match (&c.aclfile, c.users.is_empty()) {
            (Some(_), false) => return Err(USERS_AND_ACLFILE.into()),
            (Some(path), true) => {
                let loaded = load_file(Path::new(path), c.acl_pubsub_allchannels)?;
                users.extend(loaded);
                users
                    .entry(Bytes::from_static(b"default"))
                    .or_insert_with(User::default_user);
            }
            (None, _) => {
                for line in &c.users {
                    let words = crate::config::redis_conf::split_args(line)
                        .map_err(|e| format!("user '{line}': {e}"))?;
                    let Some((name, rules)) = words.split_first() else {
                        return Err("'user' needs a name".into());
                    };
                    let mut rules: Vec<Vec<u8>> =
                        rules.iter().map(|r| r.as_bytes().to_vec()).collect();
                    if name == "default" {
                        // The built-in user exists already: Redis resets it first
                        // (ACLLoadConfiguredUsers), which leaves `sanitize-payload` set.
                        rules.insert(0, b"reset".to_vec());
                    }
                    let u =
                        file::user_from_rules(name.as_bytes(), &rules, c.acl_pubsub_allchannels)?;
                    users.insert(u.name.clone(), u);
                }
            }
        }
        let acl = Acl {
            users: RwLock::new(users.into_iter().map(|(k, v)| (k, Arc::new(v))).collect()),
            generation: AtomicU64::new(1),
            default_needs_auth: AtomicBool::new(false),
            log: Mutex::default(),
            denied: Denied::default(),
        };
        acl.refresh_default();
        Ok(acl)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<Bytes, Arc<User>>> {
        self.users.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<Bytes, Arc<User>>> {
        self.users.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Bumped after every change; connections refresh their snapshot when it moves.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    fn changed(&self) {
        self.refresh_default();
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    fn refresh_default(&self) {
        let needs = self
            .read()
            .get(&b"default"[..])
            .is_none_or(|d| !d.nopass || !d.enabled);
        self.default_needs_auth.store(needs, Ordering::SeqCst);
    }

    /// Redis `authRequired` without the client part.
    pub fn default_needs_auth(&self) -> bool {
        self.default_needs_auth.load(Ordering::Relaxed)
    }

    pub fn user(&self, name: &[u8]) -> Option<Arc<User>> {
        self.read().get(name).cloned()
    }

    pub fn default_user(&self) -> Arc<User> {
        self.user(b"default")
            .unwrap_or_else(|| Arc::new(User::default_user()))
    }

    /// All users, sorted by name.
    pub fn users(&self) -> Vec<Arc<User>> {
        self.read().values().cloned().collect()
    }

    /// Installs `user` (new or replacing one of the same name); returns the old one.
    pub fn put(&self, user: User) -> Option<Arc<User>> {
        let old = self.write().insert(user.name.clone(), Arc::new(user));
        self.changed();
        old
    }

    /// Changes one user under the write lock (read-modify-write, so two SETUSERs on the
    /// same user do not lose each other's rules). `f` gets the current user or `None`.
    pub fn update<E>(
        &self,
        name: &[u8],
        f: impl FnOnce(Option<&User>) -> Result<User, E>,
    ) -> Result<(Option<Arc<User>>, Arc<User>), E> {
        let mut users = self.write();
        let old = users.get(name).cloned();
        let new = Arc::new(f(old.as_deref())?);
        users.insert(new.name.clone(), new.clone());
        drop(users);
        self.changed();
        Ok((old, new))
    }

    /// Removes users; returns the removed ones. `default` is never removed.
    pub fn remove(&self, names: &[Bytes]) -> Vec<Arc<User>> {
        let mut users = self.write();
        let gone: Vec<Arc<User>> = names
            .iter()
            .filter(|n| n[..] != *b"default")
            .filter_map(|n| users.remove(n))
            .collect();
        drop(users);
        self.changed();
        gone
    }

    /// Replaces every user (ACL LOAD); returns the old table.
    pub fn replace_all(&self, new: file::Users) -> BTreeMap<Bytes, Arc<User>> {
        let new = new.into_iter().map(|(k, v)| (k, Arc::new(v))).collect();
        let old = std::mem::replace(&mut *self.write(), new);
        self.changed();
        old
    }

    pub fn log(&self) -> std::sync::MutexGuard<'_, log::Log> {
        self.log.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// `requirepass` sets the `default` user's only password (`resetpass >pw`), or makes
/// it `nopass` when empty (acl.c `ACLUpdateDefaultUserPassword`).
pub fn apply_requirepass(default: &mut User, pass: Option<&[u8]>) {
    default
        .apply(b"resetpass", false)
        .expect("resetpass is a valid rule");
    let rule = match pass {
        Some(p) => [b">".as_slice(), p].concat(),
        None => b"nopass".to_vec(),
    };
    default
        .apply(&rule, false)
        .expect("a password rule is valid");
}

/// Reads and parses the ACL file; a default user missing from it is the built-in one.
pub fn load_file(path: &Path, allchannels: bool) -> Result<file::Users, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        // Redis prints strerror(): Rust's text without its " (os error N)".
        let e = e.to_string();
        let e = e.split(" (os error").next().unwrap_or_default();
        format!("Error loading ACLs, opening file '{}': {e}", path.display())
    })?;
    let mut users = file::parse(path, &text, allchannels)?;
    users
        .entry(Bytes::from_static(b"default"))
        .or_insert_with(User::default_user);
    Ok(users)
}
