//! One browser client (WebSocket or SSE) as the server sees it: a `Client` in the client
//! table (CLIENT LIST, INFO, /metrics, CLIENT KILL, the soft-limit cron), a JSON outbox
//! registered in the same registry as RESP subscribers, and the subscribe / unsubscribe
//! / publish operations of the browser protocol with their replies.
//!
//! Every operation follows the outbox ordering rules (`conn::outbox`): a subscribe corks
//! before its registry insert and queues its confirmations with `finish_command`, so a
//! confirmation precedes the channel's first message; an unsubscribe removes from the
//! registry before its reply is queued; a publish by a subscribed client corks first, so
//! its own deliveries follow its reply. Replies are JSON lines, like deliveries.
//!
//! Cleanup happens in `Drop`, whatever ends the connection.

use super::auth::Principal;
use crate::conn::client::Client;
use crate::conn::outbox::{CloseReason, Finish, Wire};
use crate::conn::session::Subscriptions;
use crate::conn::wire::put_str;
use crate::registry::Namespace;
use crate::server::Shared;
use crate::transport::Peer;
use bytes::{Bytes, BytesMut};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

/// How the client is connected (CLIENT LIST, /metrics `transport` label).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    WebSocket,
    Sse,
}

impl Transport {
    /// The value kept in `Client::web`.
    pub fn code(self) -> u8 {
        match self {
            Transport::WebSocket => 1,
            Transport::Sse => 2,
        }
    }
}

/// A browser client's server side. Dropping it removes every trace.
#[derive(Debug)]
pub struct BrowserConn {
    pub shared: Arc<Shared>,
    pub client: Arc<Client>,
    pub principal: Option<Principal>,
    /// `Acl::generation` when an ACL principal was looked up.
    acl_gen: u64,
    subs: Subscriptions,
    /// The `http-max-clients` slot, given back when the connection ends.
    _slot: super::Slot,
}

/// A refused operation: the text of the error frame.
pub type OpError = &'static str;

impl BrowserConn {
    /// Registers a new client; the caller has checked `http-max-clients` (and holds
    /// its slot in `WebState::clients`, given back here on drop).
    pub fn open(
        shared: Arc<Shared>,
        slot: super::Slot,
        peer: std::net::SocketAddr,
        t: Transport,
    ) -> Self {
        let local = match shared.web.local_addr.get() {
            Some(a) => Peer::Tcp(*a),
            None => Peer::Tcp(peer),
        };
        let id = shared.next_client_id();
        let client = Arc::new(Client::new(id, Peer::Tcp(peer), local, -1));
        client.outbox.set_wire(Wire::Json);
        client.web.store(t.code(), Relaxed);
        shared.clients.insert(client.clone());
        shared.stats.connections_received.fetch_add(1, Relaxed);
        BrowserConn {
            shared,
            client,
            principal: None,
            acl_gen: 0,
            subs: Subscriptions::default(),
            _slot: slot,
        }
    }

    /// Whether every subscription held is allowed to `p` (a re-authentication must not
    /// keep what the new identity may not have).
    pub fn holds_only_allowed(&self, p: &Principal) -> bool {
        self.subs.channels.iter().all(|c| p.may_subscribe(c, false))
            && self.subs.patterns.iter().all(|c| p.may_subscribe(c, true))
    }

    pub fn login(&mut self, p: Principal) {
        self.client.set_user(p.name());
        self.acl_gen = self.shared.acl.generation();
        self.principal = Some(p);
    }

    /// The principal, with an ACL user's snapshot refreshed when the users changed
    /// (a disabled or deleted user loses its rights, as a RESP client's would).
    fn principal(&mut self) -> Result<&Principal, OpError> {
        if let Some(Principal::User(u)) = &self.principal {
            let generation = self.shared.acl.generation();
            if generation != self.acl_gen {
                let name = u.name.clone();
                self.acl_gen = generation;
                match self.shared.acl.user(&name) {
                    Some(u) if u.enabled => self.principal = Some(Principal::User(u)),
                    _ => {
                        self.principal = None;
                        self.client.kill(CloseReason::Killed);
                    }
                }
            }
        }
        self.principal.as_ref().ok_or(crate::error::WEB_NOAUTH)
    }

    /// Subscribes to channels (or patterns): refused whole, before any effect, when
    /// one name is denied or the subscription limit would be crossed (as SUBSCRIBE is).
    /// Queues one confirmation line per name with the count Redis reports.
    pub fn subscribe(
        &mut self,
        names: &[Bytes],
        pattern: bool,
        id: Option<&serde_json::Value>,
    ) -> Result<(), OpError> {
        let principal = self.principal()?;
        if names.iter().any(|n| !principal.may_subscribe(n, pattern)) {
            self.shared.acl.denied.channel.fetch_add(1, Relaxed);
            return Err(crate::error::WEB_NOPERM_CHANNEL);
        }
        let max = self.shared.max_subscriptions.load(Relaxed);
        let set = if pattern {
            &self.subs.patterns
        } else {
            &self.subs.channels
        };
        let mut fresh: Vec<&Bytes> = names.iter().filter(|n| !set.contains(*n)).collect();
        fresh.sort_unstable();
        fresh.dedup();
        if max > 0 && (self.subs.total() + fresh.len()) as u64 > max {
            return Err(crate::error::WEB_TOO_MANY_SUBSCRIPTIONS);
        }
        let was_pubsub = self.subs.total() > 0;
        let mut new = Vec::new();
        let mut reply = BytesMut::new();
        let (kind, key) = if pattern {
            ("psubscribe", "pattern")
        } else {
            ("subscribe", "channel")
        };
        for name in names {
            let set = if pattern {
                &mut self.subs.patterns
            } else {
                &mut self.subs.channels
            };
            if set.insert(name.clone()) {
                new.push(name.clone());
            }
            line(
                &mut reply,
                kind,
                key,
                Some(name),
                self.subs.channels_and_patterns(),
                id,
            );
        }
        if matches!(self.principal, Some(Principal::User(_))) {
            // The mirror ACL revocation reads (`crate::acl`, Revocation).
            let mut mirror = self.client.subscriptions();
            let set = if pattern {
                &mut mirror.patterns
            } else {
                &mut mirror.channels
            };
            set.extend(new.iter().cloned());
        }
        let outbox = &self.client.outbox;
        outbox.cork(true);
        if pattern {
            self.shared.registry.psubscribe(&new, outbox);
        } else {
            self.shared
                .registry
                .subscribe(Namespace::Channel, &new, outbox);
        }
        self.counts_changed(was_pubsub);
        self.finish(&mut reply);
        Ok(())
    }

    /// Unsubscribes from the names given, or from every channel (pattern) when none.
    pub fn unsubscribe(
        &mut self,
        names: Option<&[Bytes]>,
        pattern: bool,
        id: Option<&serde_json::Value>,
    ) {
        let was_pubsub = self.subs.total() > 0;
        let (kind, key) = if pattern {
            ("punsubscribe", "pattern")
        } else {
            ("unsubscribe", "channel")
        };
        let held = if pattern {
            &self.subs.patterns
        } else {
            &self.subs.channels
        };
        let names: Vec<Bytes> = match names {
            Some(n) => n.to_vec(),
            None => held.iter().cloned().collect(),
        };
        let mut reply = BytesMut::new();
        if names.is_empty() {
            line(
                &mut reply,
                kind,
                key,
                None,
                self.subs.channels_and_patterns(),
                id,
            );
        }
        let mut gone = Vec::new();
        for name in &names {
            let set = if pattern {
                &mut self.subs.patterns
            } else {
                &mut self.subs.channels
            };
            if set.remove(name) {
                gone.push(name.clone());
            }
            line(
                &mut reply,
                kind,
                key,
                Some(name),
                self.subs.channels_and_patterns(),
                id,
            );
        }
        {
            let mut mirror = self.client.subscriptions();
            let set = if pattern {
                &mut mirror.patterns
            } else {
                &mut mirror.channels
            };
            for name in &gone {
                set.remove(name);
            }
        }
        let cid = self.client.id;
        if pattern {
            self.shared.registry.punsubscribe(&gone, cid);
        } else {
            self.shared
                .registry
                .unsubscribe(Namespace::Channel, &gone, cid);
        }
        self.counts_changed(was_pubsub);
        self.finish(&mut reply);
    }

    /// PUBLISH from the browser, if the principal may; replies with the receiver count.
    pub fn publish(
        &mut self,
        channel: &Bytes,
        data: &Bytes,
        id: Option<&serde_json::Value>,
    ) -> Result<(), OpError> {
        if !self.principal()?.may_publish(channel) {
            self.shared.acl.denied.channel.fetch_add(1, Relaxed);
            return Err(crate::error::WEB_NOPERM_PUBLISH);
        }
        if self.shared.backplane.check_size(data.len()).is_err() {
            return Err(crate::error::WEB_BACKPLANE_OVERSIZE);
        }
        let outbox = &self.client.outbox;
        let subscribed = self.subs.total() > 0;
        if subscribed {
            // Own deliveries follow the reply (outbox rule 3).
            outbox.cork(false);
        }
        // The same path as a RESP PUBLISH: local, then the other nodes.
        let (n, remote) = self.shared.publish(Namespace::Channel, channel, data);
        let mut reply = BytesMut::new();
        line(
            &mut reply,
            "publish",
            "channel",
            Some(channel),
            (n as u64 + remote) as i64,
            id,
        );
        self.finish(&mut reply);
        Ok(())
    }

    /// Queues a reply line that is not about subscriptions (pong, error, auth).
    pub fn reply(&self, mut text: BytesMut) {
        self.finish(&mut text);
    }

    fn finish(&self, reply: &mut BytesMut) {
        let finish = Finish {
            switch_resp3: None,
            pubsub: self.subs.total() > 0,
        };
        let subs = &self.subs;
        self.client
            .outbox
            .finish_command(reply, &self.shared.limits, finish, |s, k| subs.holds(s, k));
    }

    fn counts_changed(&self, was_pubsub: bool) {
        self.client
            .sub
            .store(self.subs.channels.len() as u32, Relaxed);
        self.client
            .psub
            .store(self.subs.patterns.len() as u32, Relaxed);
        let is_pubsub = self.subs.total() > 0;
        if is_pubsub != was_pubsub {
            let delta = if is_pubsub { 1 } else { -1 };
            self.shared.stats.pubsub_clients.fetch_add(delta, Relaxed);
        }
        self.client.touch();
    }
}

impl Drop for BrowserConn {
    fn drop(&mut self) {
        let id = self.client.id;
        if self.client.outbox.closed() == Some(CloseReason::OutputLimit) {
            self.shared
                .stats
                .output_limit_disconnections
                .fetch_add(1, Relaxed);
            tracing::warn!(
                client = id,
                peer = %self.client.addr,
                reason = "slow_consumer",
                "browser client closed for overcoming of output buffer limits"
            );
        }
        if self.subs.total() > 0 {
            self.shared.stats.pubsub_clients.fetch_sub(1, Relaxed);
        }
        let subs = std::mem::take(&mut self.subs);
        self.shared
            .registry
            .unsubscribe(Namespace::Channel, subs.channels.iter(), id);
        self.shared.registry.punsubscribe(subs.patterns.iter(), id);
        self.client.outbox.close(CloseReason::Shutdown);
        self.shared.clients.remove(id);
    }
}

/// `{"type":kind,key:name,"count":n[,"id":id]}` and a newline.
fn line(
    out: &mut BytesMut,
    kind: &str,
    key: &str,
    name: Option<&[u8]>,
    count: i64,
    id: Option<&serde_json::Value>,
) {
    out.extend_from_slice(b"{\"type\":\"");
    out.extend_from_slice(kind.as_bytes());
    out.extend_from_slice(b"\",\"");
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
    match name {
        Some(n) => put_str(out, n),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"count\":");
    out.extend_from_slice(count.to_string().as_bytes());
    put_id(out, id);
    out.extend_from_slice(b"}\n");
}

/// `,"id":<id>` when the request carried one (echoed so a client can match replies).
pub fn put_id(out: &mut BytesMut, id: Option<&serde_json::Value>) {
    if let Some(id) = id {
        out.extend_from_slice(b",\"id\":");
        out.extend_from_slice(id.to_string().as_bytes());
    }
}

/// An error frame: `{"type":"error","error":text[,"op":op][,"id":id]}` and a newline.
pub fn error_line(text: &str, op: Option<&str>, id: Option<&serde_json::Value>) -> BytesMut {
    let mut out = BytesMut::new();
    out.extend_from_slice(b"{\"type\":\"error\",\"error\":");
    put_str(&mut out, text.as_bytes());
    if let Some(op) = op {
        out.extend_from_slice(b",\"op\":");
        put_str(&mut out, op.as_bytes());
    }
    put_id(&mut out, id);
    out.extend_from_slice(b"}\n");
    out
}
