//! Glob matcher and pattern index benches, named `scenario/scale/shape` so the output
//! reads as a table. Run briefly on shared machines:
//! `cargo bench --bench glob -- --warm-up-time 1 --measurement-time 2`.
//!
//! Shapes: `prefix` = `tenant:N:*`, `suffix` = `*.errorsN`, `unanchored` = `*N?x*`.
//! Channels are 20 bytes, like a typical `service.entity.event` name.

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use respub::glob::matches;
use respub::registry::PatternIndex;
use std::hint::black_box;

#[derive(Clone, Copy)]
enum Shape {
    Prefix,
    Suffix,
    Unanchored,
}

impl Shape {
    const ALL: [Shape; 3] = [Shape::Prefix, Shape::Suffix, Shape::Unanchored];

    fn name(self) -> &'static str {
        match self {
            Shape::Prefix => "prefix",
            Shape::Suffix => "suffix",
            Shape::Unanchored => "unanchored",
        }
    }

    fn pattern(self, n: usize) -> Bytes {
        Bytes::from(match self {
            Shape::Prefix => format!("tenant:{n}:*"),
            Shape::Suffix => format!("*.errors{n}"),
            Shape::Unanchored => format!("*{n}?x*"),
        })
    }

    /// A 20-byte channel that matches none of the patterns, or (`hit`) the one with
    /// n = 42; for `unanchored` also n = 2, since `*2?x*` matches inside `42qx`.
    fn channel(self, hit: bool) -> &'static [u8] {
        match (self, hit) {
            (Shape::Prefix, false) => b"tenant:x:orders:eu.1",
            (Shape::Prefix, true) => b"tenant:42:orders:eu1",
            (Shape::Suffix, false) => b"svc.payments.latency",
            (Shape::Suffix, true) => b"svc.payment.errors42",
            (Shape::Unanchored, false) => b"svc.payments.latency",
            (Shape::Unanchored, true) => b"svc.pay#42qx.latency",
        }
    }
}

fn scale_name(n: usize) -> String {
    match n {
        0 => "0".into(),
        n if n % 1000 == 0 => format!("{}k", n / 1000),
        n => n.to_string(),
    }
}

fn index_of(shape: Shape, n: usize) -> PatternIndex<u32> {
    let mut index = PatternIndex::new();
    for i in 0..n {
        index.get_or_insert_with(shape.pattern(i), || 0);
    }
    index
}

fn count_matches(index: &PatternIndex<u32>, channel: &[u8]) -> usize {
    let mut hits = 0;
    index.for_each_match(black_box(channel), |_, _| hits += 1);
    hits
}

fn bench_match(c: &mut Criterion) {
    let cases: [(&str, &[u8], &[u8]); 6] = [
        ("prefix-star", b"tenant:42:*", b"tenant:42:orders:eu1"),
        ("suffix", b"*.errors42", b"svc.payment.errors42"),
        ("unanchored-miss", b"*42?x*", b"svc.payments.latency"),
        ("class", b"svc.[a-p]*.errors[0-9]", b"svc.payment.errors42"),
        ("literal", b"svc.payment.errors42", b"svc.payment.errors42"),
        ("backtrack", b"*a*a*a*a*b", b"aaaaaaaaaaaaaaaaaaaa"),
    ];
    let mut group = c.benchmark_group("match");
    for (name, pattern, channel) in cases {
        group.bench_function(format!("shape={name}"), |b| {
            b.iter(|| matches(black_box(pattern), black_box(channel)))
        });
    }
    group.finish();
}

fn bench_index(c: &mut Criterion) {
    let mut group = c.benchmark_group("index");
    for n in [0, 1_000, 10_000, 100_000] {
        for shape in Shape::ALL {
            let index = index_of(shape, n);
            for hit in [false, true] {
                if hit && n == 0 {
                    continue;
                }
                let channel = shape.channel(hit);
                let expected = match (shape, hit, n) {
                    (_, false, _) => 0,
                    (Shape::Unanchored, true, _) => 2,
                    (_, true, _) => 1,
                };
                assert_eq!(
                    count_matches(&index, channel),
                    expected,
                    "{n} {}",
                    shape.name()
                );
                let id = format!(
                    "patterns={}/shape={}/hit={}",
                    scale_name(n),
                    shape.name(),
                    u8::from(hit)
                );
                group.bench_function(BenchmarkId::from_parameter(id), |b| {
                    b.iter(|| count_matches(&index, channel))
                });
            }
        }
    }
    // Insert 10k, remove them all: a lookup must cost what it costs on an empty index.
    for shape in Shape::ALL {
        let mut index = index_of(shape, 10_000);
        for i in 0..10_000 {
            index.remove(&shape.pattern(i));
        }
        let channel = shape.channel(true);
        let id = format!("after-remove/patterns=10k/shape={}", shape.name());
        group.bench_function(BenchmarkId::from_parameter(id), |b| {
            b.iter(|| count_matches(&index, channel))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_match, bench_index);
criterion_main!(benches);
