//! The part of a connection other tasks may look at: its id, addresses, outbox and the
//! few facts CLIENT LIST / CLIENT KILL / INFO report. Written by the connection task,
//! read by others; hot fields are atomics so a command never takes a shared lock.

use super::outbox::{CloseReason, Outbox};
use super::session::Subscriptions;
use crate::transport::Peer;
use bytes::Bytes;
use std::collections::HashMap;
use std::sync::atomic::{
    AtomicBool, AtomicI64, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering::Relaxed,
};
use std::sync::{Arc, Mutex};
use tokio::time::Instant;

/// Names a client set with CLIENT SETNAME / SETINFO.
#[derive(Debug, Default, Clone)]
pub struct Names {
    pub name: Option<Bytes>,
    pub lib_name: Option<Bytes>,
    pub lib_ver: Option<Bytes>,
}

#[derive(Debug)]
pub struct Client {
    pub id: u64,
    /// The peer (CLIENT LIST `addr=`).
    pub addr: Peer,
    /// This end (CLIENT LIST `laddr=`).
    pub laddr: Peer,
    pub fd: i32,
    pub created: Instant,
    pub outbox: Arc<Outbox>,
    pub names: Mutex<Names>,
    /// Milliseconds since `created` of the last command.
    pub last_active_ms: AtomicU64,
    /// Index of the last command in `cmd::table::FULL_NAMES`.
    pub last_cmd: AtomicUsize,
    pub sub: AtomicU32,
    pub psub: AtomicU32,
    pub ssub: AtomicU32,
    pub db: AtomicI64,
    /// Commands queued in MULTI, or -1.
    pub multi: AtomicI64,
    pub resp: AtomicU8,
    /// Bytes in the query buffer (CLIENT LIST qbuf).
    pub qbuf: AtomicU64,
    // Hook added by the hostile branch (issue 11, MULTI queue bound); written only by
    // cmd::multi / cmd::run on this client's own task.
    /// Memory of the commands queued in MULTI (CLIENT LIST multi-mem).
    pub multi_mem: AtomicU64,
    /// Bytes held by the arguments of a command not yet complete (`argv-mem`).
    pub argv_mem: AtomicU64,
    /// The ACL user the client is authenticated as (CLIENT LIST `user=`, revocation).
    pub user: Mutex<Bytes>,
    /// A copy of the session's subscriptions, so ACL revocation (run on another
    /// connection's task) can see what this client holds (`crate::acl`, Revocation).
    /// Written by this client's task only.
    pub subscriptions: Mutex<Subscriptions>,
    // Hooks added by the admin-cmds branch (issue 8), for CLIENT LIST.
    /// A MONITOR client (flag O).
    pub monitor: AtomicBool,
    /// CLIENT TRACKING: -1 off, else the redirect id (0: none) (flag t, `redir=`).
    pub tracking_redir: AtomicI64,
    /// CLIENT TRACKING BCAST (flag B).
    pub tracking_bcast: AtomicBool,
    /// A browser client (issue 12): 0 none, else `web::session::Transport::code`.
    pub web: AtomicU8,
}

impl Client {
    pub fn new(id: u64, addr: Peer, laddr: Peer, fd: i32) -> Self {
        Client {
            id,
            addr,
            laddr,
            fd,
            created: Instant::now(),
            outbox: Arc::new(Outbox::new(id)),
            names: Mutex::default(),
            last_active_ms: AtomicU64::new(0),
            last_cmd: AtomicUsize::new(usize::MAX),
            sub: AtomicU32::new(0),
            psub: AtomicU32::new(0),
            ssub: AtomicU32::new(0),
            db: AtomicI64::new(0),
            multi: AtomicI64::new(-1),
            resp: AtomicU8::new(2),
            qbuf: AtomicU64::new(0),
            multi_mem: AtomicU64::new(0),
            argv_mem: AtomicU64::new(0),
            user: Mutex::new(Bytes::from_static(b"default")),
            subscriptions: Mutex::default(),
            monitor: AtomicBool::new(false),
            tracking_redir: AtomicI64::new(-1),
            tracking_bcast: AtomicBool::new(false),
            web: AtomicU8::new(0),
        }
    }

    pub fn names(&self) -> Names {
        self.names.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn set_names(&self, f: impl FnOnce(&mut Names)) {
        f(&mut self.names.lock().unwrap_or_else(|p| p.into_inner()));
    }

    pub fn touch(&self) {
        self.last_active_ms
            .store(self.created.elapsed().as_millis() as u64, Relaxed);
    }

    pub fn idle_secs(&self) -> u64 {
        let now = self.created.elapsed().as_millis() as u64;
        now.saturating_sub(self.last_active_ms.load(Relaxed)) / 1000
    }

    /// In pubsub mode (flag P): holds at least one subscription of any kind.
    pub fn is_pubsub(&self) -> bool {
        self.sub.load(Relaxed) + self.psub.load(Relaxed) + self.ssub.load(Relaxed) > 0
    }

    pub fn user(&self) -> Bytes {
        self.user.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn set_user(&self, name: Bytes) {
        *self.user.lock().unwrap_or_else(|p| p.into_inner()) = name;
    }

    pub fn subscriptions(&self) -> std::sync::MutexGuard<'_, Subscriptions> {
        self.subscriptions.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn kill(&self, reason: CloseReason) {
        self.outbox.close(reason);
    }
}

/// All connected clients, for CLIENT LIST/KILL and the cron.
#[derive(Debug, Default)]
pub struct ClientTable {
    map: Mutex<HashMap<u64, Arc<Client>, ahash::RandomState>>,
}

impl ClientTable {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Client>, ahash::RandomState>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn insert(&self, client: Arc<Client>) {
        self.lock().insert(client.id, client);
    }

    pub fn remove(&self, id: u64) {
        let mut map = self.lock();
        map.remove(&id);
        if map.capacity() > 1024 && map.len() * 4 < map.capacity() {
            map.shrink_to_fit();
        }
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls `f` for every client, in no order, under the table's lock (the cron's
    /// passes: no copy of the table, no sort). `f` must not touch the table.
    pub fn for_each(&self, f: impl FnMut(&Arc<Client>)) {
        self.lock().values().for_each(f);
    }

    /// A snapshot sorted by id (CLIENT LIST order in Redis is by creation).
    pub fn snapshot(&self) -> Vec<Arc<Client>> {
        let mut v: Vec<Arc<Client>> = self.lock().values().cloned().collect();
        v.sort_by_key(|c| c.id);
        v
    }
}
