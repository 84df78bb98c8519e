//! What the dispatcher's per-command accounting costs (issue 8): two clock reads, the
//! slot lookup and the Relaxed adds of `stats::commands`, and the slow-log threshold
//! check — per command, whatever its fan-out. Compare with `registry`'s
//! `publish/subs=100/proto=resp2/payload=64` for the share of a fan-out-100 PUBLISH.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use respub::cmd::table;
use respub::stats::Stats;
use std::time::Instant;

fn command_accounting(c: &mut Criterion) {
    let stats = Stats::new(table::all().iter().map(|s| s.name).collect());
    let publish = table::find(None, b"publish").expect("publish is in the table");
    c.bench_function("command_stats/record/cmd=publish", |b| {
        b.iter(|| {
            let started = Instant::now();
            let took = black_box(started).elapsed();
            stats
                .per_command
                .record(table::slot(black_box(publish)), took, false);
            black_box(stats.slowlog.wants(took.as_micros() as u64));
        })
    });
}

fn clock(c: &mut Criterion) {
    c.bench_function("command_stats/clock_read", |b| {
        b.iter(|| black_box(Instant::now()))
    });
}

criterion_group!(benches, command_accounting, clock);
criterion_main!(benches);
