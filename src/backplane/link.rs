//! The NATS side: the connection and the tasks that use it.
//!
//! - `outbound` drains the publish queue into NATS, one message at a time in queue
//!   order, so one publisher's messages reach NATS in the order they were published
//!   (NATS keeps per-connection order to each subscription).
//! - `reconcile` keeps one NATS subscription per channel with a local subscriber, plus
//!   the channel firehose while there are local patterns (see `interest`). Each NATS
//!   subscription has its own delivery task, so a channel's messages stay in order.
//!   Unsubscribing aborts that task and waits for it to end before anything else, so
//!   the UNSUB goes out before a later SUB of the same name (no double delivery).
//! - `control` says hello, answers cluster-wide PUBSUB requests and routes answers to
//!   this node's requests (`gather`).
//!
//! async-nats does the reconnecting: it tries every known server of the NATS cluster
//! (the configured URLs and the ones the cluster announces), and re-sends the SUBs it
//! holds once connected again, so interest comes back without any client action.
//! While disconnected `outbound` holds its next message until the client is connected
//! again (the client's own buffer is small and counts messages, not bytes), so the
//! publish queue fills and PUBLISH counts the drops; what the queue held goes out once
//! connected. `reconcile` does not wait: it keeps
//! the changes it could not apply and retries once connected.

use super::gather::{Query, HELLO_EVERY};
use super::Outgoing;
use crate::config::backplane::BackplaneConfig;
use crate::registry::Namespace;
use crate::server::Shared;
use async_nats::connection::State;
use async_nats::{Client, ConnectOptions, Event, ServerAddr, Subscriber};
use bytes::Bytes;
use futures_util::StreamExt;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{error, info, warn};

/// Commands async-nats buffers between its callers and its connection task.
const CLIENT_CAPACITY: usize = 128;

/// How often `reconcile` looks again at changes it could not apply (NATS down).
const RETRY_EVERY: Duration = Duration::from_millis(250);

/// Checks the settings before anything binds, so a typo stops the start.
pub(super) fn check(c: &BackplaneConfig) -> Result<(), String> {
    for u in &c.urls {
        u.parse::<ServerAddr>()
            .map_err(|e| format!("backplane-nats-url '{u}': {e}"))?;
    }
    if c.user.is_empty() != c.password.is_empty() {
        return Err("backplane-nats-user and backplane-nats-password go together".into());
    }
    let methods = [
        !c.user.is_empty(),
        !c.token.is_empty(),
        !c.nkey_file.is_empty(),
        !c.creds_file.is_empty(),
    ];
    if methods.iter().filter(|m| **m).count() > 1 {
        return Err("use one NATS authentication: user/password, token, nkey or creds".into());
    }
    if !c.nkey_file.is_empty() {
        let seed = std::fs::read_to_string(&c.nkey_file)
            .map_err(|e| format!("backplane-nats-nkey-file '{}': {e}", c.nkey_file))?;
        if !seed.trim().starts_with('S') {
            return Err(format!(
                "backplane-nats-nkey-file '{}': not an nkey seed (S...)",
                c.nkey_file
            ));
        }
    }
    for (name, path) in [
        ("backplane-nats-creds-file", &c.creds_file),
        ("backplane-nats-tls-ca-file", &c.tls_ca_file),
        ("backplane-nats-tls-cert-file", &c.tls_cert_file),
        ("backplane-nats-tls-key-file", &c.tls_key_file),
    ] {
        if !path.is_empty() {
            std::fs::metadata(path).map_err(|e| format!("{name} '{path}': {e}"))?;
        }
    }
    if c.tls_cert_file.is_empty() != c.tls_key_file.is_empty() {
        return Err(
            "backplane-nats-tls-cert-file and backplane-nats-tls-key-file go together".into(),
        );
    }
    Ok(())
}

async fn options(
    c: &BackplaneConfig,
    shared: Weak<Shared>,
    node: &str,
) -> std::io::Result<ConnectOptions> {
    let mut o = if !c.creds_file.is_empty() {
        ConnectOptions::with_credentials_file(&c.creds_file).await?
    } else {
        ConnectOptions::new()
    };
    if !c.user.is_empty() {
        o = o.user_and_password(c.user.clone(), c.password.clone());
    }
    if !c.token.is_empty() {
        o = o.token(c.token.clone());
    }
    if !c.nkey_file.is_empty() {
        o = o.nkey(std::fs::read_to_string(&c.nkey_file)?.trim().to_string());
    }
    if c.tls || !c.tls_ca_file.is_empty() || !c.tls_cert_file.is_empty() {
        o = o.require_tls(true);
    }
    if !c.tls_ca_file.is_empty() {
        o = o.add_root_certificates(c.tls_ca_file.clone().into());
    }
    if !c.tls_cert_file.is_empty() {
        o = o.add_client_certificate(
            c.tls_cert_file.clone().into(),
            c.tls_key_file.clone().into(),
        );
    }
    Ok(o.name(format!("respub {} {node}", c.cluster_name))
        // A node never hears its own publications (no self-echo).
        .no_echo()
        // Start without NATS and keep trying: local pub/sub does not depend on it.
        .retry_on_initial_connect()
        .max_reconnects(None)
        // First retry at once (another member), then 100 ms doubling up to 1 s: a
        // restarted NATS is found within a second.
        .reconnect_delay_callback(|attempts| {
            if attempts <= 1 {
                Duration::ZERO
            } else {
                Duration::from_millis((100u64 << (attempts - 2).min(4)).min(1000))
            }
        })
        .connection_timeout(Duration::from_secs(2))
        .ping_interval(Duration::from_secs(5))
        .subscription_capacity(c.inbound_capacity as usize)
        // Commands (publishes) the client holds before writing them: small, so what
        // waits for NATS waits in the byte-bounded queue instead.
        .client_capacity(CLIENT_CAPACITY)
        .event_callback(move |ev| {
            let shared = shared.clone();
            async move {
                let Some(shared) = shared.upgrade() else {
                    return;
                };
                let bp = &shared.backplane;
                match ev {
                    Event::Connected => {
                        bp.connected.store(true, Relaxed);
                        bp.stats.connects.fetch_add(1, Relaxed);
                        bp.interest.wake.notify_one();
                        bp.hello_now.notify_one();
                        info!(backplane = "nats", "connected");
                    }
                    Event::Disconnected => {
                        bp.connected.store(false, Relaxed);
                        bp.stats.disconnects.fetch_add(1, Relaxed);
                        warn!(backplane = "nats", "disconnected; reconnecting");
                    }
                    Event::SlowConsumer(_) => {
                        bp.stats.dropped_inbound.fetch_add(1, Relaxed);
                    }
                    other => warn!(backplane = "nats", event = %other),
                }
            }
        }))
}

pub(super) fn start(shared: &Arc<Shared>, token: &CancellationToken, tracker: &TaskTracker) {
    let rx = shared
        .backplane
        .rx
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take();
    let Some(rx) = rx else { return };
    let (shared, token, t) = (shared.clone(), token.clone(), tracker.clone());
    tracker.spawn(async move {
        let bp = &shared.backplane;
        let opts = match options(&bp.config, Arc::downgrade(&shared), &bp.node).await {
            Ok(o) => o,
            Err(e) => {
                error!(backplane = "nats", error = %e, "cannot read NATS credentials; backplane off");
                return;
            }
        };
        let addrs: Vec<ServerAddr> = bp.config.urls.iter().filter_map(|u| u.parse().ok()).collect();
        let client = match async_nats::connect_with_options(addrs, opts).await {
            Ok(c) => c,
            Err(e) => {
                error!(backplane = "nats", error = %e, "cannot start the NATS client; backplane off");
                return;
            }
        };
        let _ = bp.client.set(client.clone());
        t.spawn(outbound(shared.clone(), client.clone(), rx, token.clone()));
        t.spawn(reconcile(shared.clone(), client.clone(), token.clone()));
        t.spawn(control(shared.clone(), client.clone(), token.clone()));
        if bp.config.publish_count_cluster {
            t.spawn(refresh_counts(shared.clone(), client, token));
        }
    });
}

async fn outbound(
    shared: Arc<Shared>,
    client: Client,
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
    token: CancellationToken,
) {
    let bp = &shared.backplane;
    loop {
        let m = tokio::select! {
            _ = token.cancelled() => break,
            m = rx.recv() => match m { Some(m) => m, None => break },
        };
        bp.queued.fetch_sub(m.cost(), Relaxed);
        let subject = bp.subjects.channel(m.ns, &m.channel);
        if subject.len() as u64 > bp.config.max_subject_len {
            bp.stats.dropped_subject_too_long.fetch_add(1, Relaxed);
            continue;
        }
        if m.payload.len() > client.max_payload() {
            bp.stats.dropped_oversize.fetch_add(1, Relaxed);
            continue;
        }
        // While NATS is unreachable the message waits here and the queue behind it
        // fills (PUBLISH then counts drops): the NATS client's own buffer counts
        // messages, not bytes, so nothing is handed to it until it is connected.
        while client.connection_state() != State::Connected {
            tokio::select! {
                _ = token.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_millis(20)) => {}
            }
        }
        let sent = tokio::select! {
            _ = token.cancelled() => break,
            r = client.publish(subject, m.payload) => r,
        };
        match sent {
            Ok(()) => bp.stats.sent.fetch_add(1, Relaxed),
            Err(_) => bp.stats.dropped_nats_error.fetch_add(1, Relaxed),
        };
    }
    // Let what was handed to the client go out before the process ends.
    let _ = tokio::time::timeout(Duration::from_secs(1), client.flush()).await;
}

/// Hands the messages of one channel's NATS subscription to the exact (or shard)
/// subscribers of that channel.
async fn deliver_exact(shared: Arc<Shared>, ns: Namespace, channel: Bytes, mut sub: Subscriber) {
    while let Some(m) = sub.next().await {
        let n = match ns {
            Namespace::Channel => {
                shared
                    .registry
                    .publish_exact(&channel, &m.payload, &shared.limits)
            }
            Namespace::Shard => shared
                .registry
                .spublish(&channel, &m.payload, &shared.limits),
        };
        shared.backplane.stats.consumed.fetch_add(1, Relaxed);
        shared.backplane.stats.received.fetch_add(1, Relaxed);
        shared
            .backplane
            .stats
            .delivered
            .fetch_add(n as u64, Relaxed);
    }
}

/// Hands every channel message to this node's pattern subscribers.
async fn deliver_patterns(shared: Arc<Shared>, mut sub: Subscriber) {
    while let Some(m) = sub.next().await {
        let Some(channel) = shared.backplane.subjects.channel_of(&m.subject) else {
            shared.backplane.stats.consumed.fetch_add(1, Relaxed);
            continue;
        };
        let n = shared
            .registry
            .publish_patterns(&channel, &m.payload, &shared.limits);
        shared.backplane.stats.consumed.fetch_add(1, Relaxed);
        shared.backplane.stats.received.fetch_add(1, Relaxed);
        shared
            .backplane
            .stats
            .delivered
            .fetch_add(n as u64, Relaxed);
    }
}

async fn stop(h: JoinHandle<()>) {
    h.abort();
    let _ = h.await;
}

async fn reconcile(shared: Arc<Shared>, client: Client, token: CancellationToken) {
    let bp = &shared.backplane;
    let mut held: HashMap<(Namespace, Bytes), JoinHandle<()>> = HashMap::new();
    let mut local_only: HashSet<(Namespace, Bytes)> = HashSet::new();
    let mut firehose: Option<JoinHandle<()>> = None;
    bp.interest.mark_patterns();
    'run: loop {
        tokio::select! {
            _ = token.cancelled() => break,
            _ = bp.interest.wake.notified() => {}
            _ = tokio::time::sleep(RETRY_EVERY) => {}
        }
        let connected = client.connection_state() == State::Connected;
        let mut later = Vec::new();
        for key in bp.interest.take() {
            let want = shared.registry.subscriber_count(key.0, &key.1) > 0;
            let have = held.contains_key(&key) || local_only.contains(&key);
            if want == have {
                continue;
            }
            if !want {
                local_only.remove(&key);
                if let Some(h) = held.remove(&key) {
                    stop(h).await;
                }
                continue;
            }
            if !connected {
                later.push(key);
                continue;
            }
            let subject = bp.subjects.channel(key.0, &key.1);
            if subject.len() as u64 > bp.config.max_subject_len {
                local_only.insert(key);
                continue;
            }
            let sub = tokio::select! {
                _ = token.cancelled() => break 'run,
                s = client.subscribe(subject) => s,
            };
            match sub {
                Ok(sub) => {
                    let h = tokio::spawn(deliver_exact(shared.clone(), key.0, key.1.clone(), sub));
                    held.insert(key, h);
                }
                Err(_) => later.push(key),
            }
        }
        bp.interest.put_back(later);
        if bp.interest.take_patterns() {
            let want = shared.registry.pattern_count() > 0;
            match (want, firehose.take()) {
                (true, Some(h)) => firehose = Some(h),
                (false, Some(h)) => stop(h).await,
                (false, None) => {}
                (true, None) if !connected => bp.interest.mark_patterns_later(),
                (true, None) => {
                    let sub = tokio::select! {
                        _ = token.cancelled() => break 'run,
                        s = client.subscribe(bp.subjects.firehose()) => s,
                    };
                    match sub {
                        Ok(sub) => {
                            firehose = Some(tokio::spawn(deliver_patterns(shared.clone(), sub)))
                        }
                        Err(_) => bp.interest.mark_patterns_later(),
                    }
                }
            }
        }
        bp.stats.nats_subscriptions.store(
            (held.len() + usize::from(firehose.is_some())) as u64,
            Relaxed,
        );
        bp.stats.firehose.store(firehose.is_some(), Relaxed);
        bp.stats
            .local_only_channels
            .store(local_only.len() as u64, Relaxed);
    }
    for (_, h) in held {
        h.abort();
    }
    if let Some(h) = firehose {
        h.abort();
    }
}

/// Asks the other nodes for the receiver counts PUBLISH wanted (`counts`), in batches
/// of up to 256 channels per request.
async fn refresh_counts(shared: Arc<Shared>, client: Client, token: CancellationToken) {
    let bp = &shared.backplane;
    loop {
        tokio::select! {
            _ = token.cancelled() => return,
            _ = bp.counts.wake.notified() => {}
        }
        if client.connection_state() != State::Connected {
            // Asked again by the next PUBLISH once connected; stale counts stay.
            continue;
        }
        for ns in [Namespace::Channel, Namespace::Shard] {
            let wanted = bp.counts.take_wanted(ns);
            for batch in wanted.chunks(256) {
                let query = Query::Receivers(ns, batch.to_vec());
                let answers = tokio::select! {
                    _ = token.cancelled() => return,
                    a = bp.gather.ask_async(
                        &client,
                        &bp.subjects,
                        &query,
                        bp.config.request_timeout_ms,
                        &bp.stats,
                    ) => a,
                };
                let mut sums = vec![0u64; batch.len()];
                for a in answers {
                    if let super::Answer::Counts(v) = a {
                        if v.len() == sums.len() {
                            sums.iter_mut().zip(v).for_each(|(s, n)| *s += n);
                        }
                    }
                }
                for (name, n) in batch.iter().zip(sums) {
                    bp.counts.store(ns, name.clone(), n);
                }
            }
        }
    }
}

async fn control(shared: Arc<Shared>, client: Client, token: CancellationToken) {
    let bp = &shared.backplane;
    let node = Bytes::from(bp.node.clone());
    let presence = bp.subjects.presence();
    let subs = async {
        Ok::<_, async_nats::SubscribeError>((
            client.subscribe(presence.clone()).await?,
            client.subscribe(bp.subjects.requests()).await?,
            client
                .subscribe(format!("{}.*", bp.subjects.inbox(&bp.node)))
                .await?,
        ))
    };
    let (mut hellos, mut requests, mut inbox) = tokio::select! {
        _ = token.cancelled() => return,
        s = subs => match s {
            Ok(s) => s,
            Err(e) => {
                error!(backplane = "nats", error = %e, "cannot subscribe control subjects");
                return;
            }
        },
    };
    let hello = |client: &Client| {
        let (client, presence, node) = (client.clone(), presence.clone(), node.clone());
        async move {
            // Only while connected: a hello must never wait for a reconnect.
            if client.connection_state() == State::Connected {
                let _ = client.publish(presence, node).await;
            }
        }
    };
    let mut tick = tokio::time::interval(HELLO_EVERY);
    loop {
        tokio::select! {
            _ = token.cancelled() => break,
            _ = tick.tick() => hello(&client).await,
            _ = bp.hello_now.notified() => hello(&client).await,
            Some(m) = hellos.next() => {
                bp.stats.consumed.fetch_add(1, Relaxed);
                if let Some(gone) = m.payload.strip_prefix(b"-") {
                    bp.gather.forget(gone);
                } else if bp.gather.saw(m.payload) {
                    hello(&client).await;
                }
            }
            Some(m) = requests.next() => {
                bp.stats.consumed.fetch_add(1, Relaxed);
                let (Some(reply), Some(q)) = (m.reply, Query::decode(m.payload)) else {
                    continue;
                };
                let answer = q.answer(&shared.registry).encode(&bp.node);
                // Too large for max_payload: the asker gets no answer from this node
                // and answers with the others' (counted there as partial).
                let _ = client.publish(reply, answer).await;
            }
            Some(m) = inbox.next() => {
                bp.stats.consumed.fetch_add(1, Relaxed);
                if let Some(id) = m.subject.rsplit('.').next() {
                    bp.gather.route(id, m.payload);
                }
            }
        }
    }
    // Tell the others at once that this node is gone, so their requests stop waiting
    // for it.
    if client.connection_state() == State::Connected {
        let mut bye = b"-".to_vec();
        bye.extend_from_slice(&node);
        let _ = client.publish(presence, bye.into()).await;
        let _ = tokio::time::timeout(Duration::from_millis(500), client.flush()).await;
    }
}
