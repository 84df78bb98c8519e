//! State only the connection task touches: protocol, authentication, subscriptions,
//! transaction queue and reply mode.

use crate::conn::outbox::Source;
use crate::resp::Proto;
use bytes::Bytes;
use std::collections::HashSet;

pub type Set = HashSet<Bytes, ahash::RandomState>;

/// Everything a client is subscribed to. The registry holds the other direction.
#[derive(Debug, Default)]
pub struct Subscriptions {
    pub channels: Set,
    pub patterns: Set,
    pub shard_channels: Set,
}

impl Subscriptions {
    /// Whether the client still holds the subscription a delivery came through.
    pub fn holds(&self, source: Source, key: &[u8]) -> bool {
        match source {
            Source::Channel => self.channels.contains(key),
            Source::Pattern => self.patterns.contains(key),
            Source::Shard => self.shard_channels.contains(key),
        }
    }

    /// Count Redis reports in (un)subscribe and (p)(un)subscribe frames.
    pub fn channels_and_patterns(&self) -> i64 {
        (self.channels.len() + self.patterns.len()) as i64
    }

    pub fn total(&self) -> usize {
        self.channels.len() + self.patterns.len() + self.shard_channels.len()
    }
}

/// CLIENT REPLY state, with Redis's one-command delay for SKIP.
#[derive(Debug, Default, Clone, Copy)]
pub struct ReplyMode {
    pub off: bool,
    pub skip: bool,
    pub skip_next: bool,
}

impl ReplyMode {
    pub fn silenced(&self) -> bool {
        self.off || self.skip
    }

    /// After every command (resetClient in Redis).
    pub fn command_done(&mut self) {
        self.skip = self.skip_next;
        self.skip_next = false;
    }
}

#[derive(Debug, Default)]
pub struct Session {
    pub proto: Proto,
    pub authenticated: bool,
    /// The ACL user's snapshot (`None` until the first command: then `default`).
    pub user: Option<std::sync::Arc<crate::acl::rules::User>>,
    /// `Acl::generation` when `user` was taken.
    pub acl_gen: u64,
    pub db: i64,
    pub subs: Subscriptions,
    /// Queued commands while in MULTI.
    pub multi: Option<Vec<Vec<Bytes>>>,
    /// A command queued in MULTI was rejected: EXEC must abort.
    pub multi_dirty: bool,
    /// Executing EXEC's queue (Redis's DENY_BLOCKING while in EXEC).
    pub in_exec: bool,
    pub reply: ReplyMode,
    /// Close once the replies written so far reach the socket (QUIT, protocol error).
    pub close_after_reply: bool,
    /// Deliveries made by this client's PUBLISHes in the current turn (the connection
    /// yields to other tasks when it is large).
    pub deliveries: u64,
    /// The outbox was corked by the running command (`Ctx::cork`); the connection
    /// uncorks it when the command ends.
    pub corked: bool,
    /// CLIENT TRACKING state (None: off). There are no keys, so nothing is ever
    /// invalidated; the state is kept for TRACKINGINFO / GETREDIR / CACHING.
    pub tracking: Option<Tracking>,
    /// The client is a monitor (MONITOR, until RESET or disconnect).
    pub monitor: bool,
    /// Authenticated with a browser token (`AUTH <user> <token>`, issue 12): its
    /// channel grants apply on top of `user` (a synthetic user allowed pub/sub and
    /// connection commands on all channels).
    pub grants: Option<std::sync::Arc<crate::web::auth::Grants>>,
}

/// CLIENT TRACKING ON options, as Redis keeps them.
#[derive(Debug, Default, Clone)]
pub struct Tracking {
    /// Client id invalidations would go to; 0 for this connection.
    pub redirect: i64,
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
    pub noloop: bool,
    /// CLIENT CACHING YES/NO for the next command.
    pub caching: bool,
    /// BCAST prefixes, sorted (Redis keeps them in a radix tree).
    pub prefixes: std::collections::BTreeSet<Bytes>,
}

impl Session {
    /// RESP2 subscribe mode restrictions apply.
    pub fn in_resp2_pubsub(&self) -> bool {
        self.proto == Proto::Resp2 && self.subs.total() > 0
    }
}
