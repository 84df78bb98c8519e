//! Registry publish benches, named `scenario/scale/...` so the output reads as a table:
//! the cost of one PUBLISH inside the server (lookup, body encoding, pushes into
//! subscribers' outboxes), without sockets. Outboxes are drained between iterations so
//! queues stay small. Run briefly on shared machines:
//! `cargo bench --bench registry -- --warm-up-time 1 --measurement-time 2`.

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use respub::config::OutputLimit;
use respub::conn::outbox::{Limits, Outbox};
use respub::registry::{Namespace, Registry};
use std::collections::VecDeque;
use std::hint::black_box;
use std::sync::Arc;

fn limits() -> Limits {
    let pubsub = OutputLimit {
        hard: 32 << 20,
        soft: 8 << 20,
        soft_seconds: 60,
    };
    let none = OutputLimit {
        hard: 0,
        soft: 0,
        soft_seconds: 0,
    };
    Limits::new(pubsub, none)
}

fn drain(subs: &[Arc<Outbox>]) {
    let mut q = VecDeque::new();
    for o in subs {
        o.take_into(&mut q);
        let n: usize = q.iter().map(|b| b.len()).sum();
        o.consumed(n as u64);
        q.clear();
    }
}

fn subscribers(reg: &Registry, channel: &[u8], n: u64, resp3: bool) -> Vec<Arc<Outbox>> {
    (0..n)
        .map(|id| {
            let o = Arc::new(Outbox::new(id));
            o.set_resp3(resp3);
            o.set_pubsub(true);
            reg.subscribe(Namespace::Channel, &[Bytes::copy_from_slice(channel)], &o);
            o
        })
        .collect()
}

fn fanout(c: &mut Criterion) {
    let l = limits();
    let payload = Bytes::from(vec![b'm'; 64]);
    for (subs, proto) in [
        (1, "resp2"),
        (100, "resp2"),
        (1000, "resp2"),
        (100, "resp3"),
    ] {
        let reg = Registry::new();
        let outs = subscribers(&reg, b"news", subs, proto == "resp3");
        c.bench_function(
            &format!("publish/subs={subs}/proto={proto}/payload=64"),
            |b| {
                b.iter(|| {
                    black_box(reg.publish(b"news", &payload, &l));
                    drain(&outs);
                })
            },
        );
    }
    let big = Bytes::from(vec![b'm'; 1 << 20]);
    let reg = Registry::new();
    let outs = subscribers(&reg, b"news", 100, false);
    c.bench_function("publish/subs=100/proto=resp2/payload=1MiB", |b| {
        b.iter(|| {
            black_box(reg.publish(b"news", &big, &l));
            drain(&outs);
        })
    });
}

fn no_subscribers(c: &mut Criterion) {
    let l = limits();
    let payload = Bytes::from(vec![b'm'; 64]);
    let reg = Registry::new();
    let outs: Vec<_> = (0..10_000u64)
        .map(|i| subscribers(&reg, format!("chan:{i}").as_bytes(), 1, false))
        .collect();
    c.bench_function("publish/channels=10k/subs=0/payload=64", |b| {
        b.iter(|| black_box(reg.publish(b"nobody:listens", &payload, &l)))
    });
    let mut i = 0u64;
    c.bench_function("publish/channels=10k/subs=1/payload=64", |b| {
        b.iter(|| {
            i = (i + 1) % 10_000;
            black_box(reg.publish(format!("chan:{i}").as_bytes(), &payload, &l));
            drain(&outs[i as usize]);
        })
    });
}

fn patterns(c: &mut Criterion) {
    let l = limits();
    let payload = Bytes::from(vec![b'm'; 64]);
    for (shape, make) in [
        (
            "prefix",
            (|i: u64| format!("tenant:{i}:*")) as fn(u64) -> String,
        ),
        ("suffix", |i| format!("*.errors{i}")),
        ("unanchored", |i| format!("*x{i}?y*")),
    ] {
        let reg = Registry::new();
        let o = Arc::new(Outbox::new(1));
        let pats: Vec<Bytes> = (0..10_000).map(|i| Bytes::from(make(i))).collect();
        reg.psubscribe(&pats, &o);
        c.bench_function(&format!("publish/patterns=10k/shape={shape}/hit=0"), |b| {
            b.iter(|| black_box(reg.publish(b"service.orders.created", &payload, &l)))
        });
    }
}

criterion_group!(benches, fanout, no_subscribers, patterns);
criterion_main!(benches);
