//! Per-command statistics (INFO commandstats / latencystats, LATENCY HISTOGRAM,
//! /metrics): calls, time, rejected and failed calls and a latency histogram for every
//! command and subcommand.
//!
//! One slot per command, in a fixed array indexed by the command's position in the
//! command table (`cmd::table::slot`), so recording a call is a few Relaxed atomic adds
//! and no lock. This module knows command names only as strings handed in at start.

use super::histogram::{Histogram, Snapshot};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

#[derive(Debug, Default)]
pub struct CommandStat {
    pub calls: AtomicU64,
    pub nanos: AtomicU64,
    /// Refused before running (arity, authentication, subscribe context...).
    pub rejected: AtomicU64,
    /// Ran and answered with an error.
    pub failed: AtomicU64,
    pub latency: Histogram,
}

/// A reading of one command's counters.
#[derive(Debug, Clone)]
pub struct CommandReading {
    pub name: &'static str,
    pub calls: u64,
    pub nanos: u64,
    pub rejected: u64,
    pub failed: u64,
    pub latency: Snapshot,
}

/// Calls of one command gathered by a connection during one read batch and added to the
/// shared counters at once (`Stats::gather`): PUBLISH pipelines from several connections
/// on both workers otherwise bump the same few counters (calls, time, a latency bucket,
/// published, delivered) and their cache lines move between the cores on every call.
#[derive(Debug, Default)]
pub struct Pending {
    slot: Option<usize>,
    calls: u64,
    nanos: u64,
    failed: u64,
    /// (latency bucket, calls) for the first few buckets seen; more flush early.
    buckets: [(usize, u64); PENDING_BUCKETS],
    used: usize,
    /// PUBLISH / SPUBLISH calls and their deliveries (`Stats::published` and friends).
    pub published: u64,
    pub spublished: u64,
    pub delivered: u64,
}

const PENDING_BUCKETS: usize = 4;

impl Pending {
    pub fn is_empty(&self) -> bool {
        self.slot.is_none() && self.published + self.spublished + self.delivered == 0
    }

    pub fn slot(&self) -> Option<usize> {
        self.slot
    }

    /// Counts a call of `slot` (which must be this one's, or none yet); false, having
    /// counted nothing, when its latency bucket does not fit: flush and count again.
    pub(super) fn count(&mut self, slot: usize, nanos: u64, failed: bool, tracking: bool) -> bool {
        if tracking {
            let bucket = super::histogram::index(nanos);
            match self.buckets[..self.used].iter_mut().find(|b| b.0 == bucket) {
                Some(b) => b.1 += 1,
                None if self.used < PENDING_BUCKETS => {
                    self.buckets[self.used] = (bucket, 1);
                    self.used += 1;
                }
                None => return false,
            }
        }
        self.slot = Some(slot);
        self.calls += 1;
        self.nanos += nanos;
        self.failed += u64::from(failed);
        true
    }
}

#[derive(Debug)]
pub struct CommandStats {
    names: Vec<&'static str>,
    slots: Box<[CommandStat]>,
    /// `latency-tracking`: whether calls feed the histograms (Redis default yes).
    pub tracking: AtomicBool,
}

impl CommandStats {
    /// `names[i]` is the full name (`publish`, `client|list`) of slot `i`.
    pub fn new(names: Vec<&'static str>) -> Self {
        let slots = names.iter().map(|_| CommandStat::default()).collect();
        CommandStats {
            names,
            slots,
            tracking: AtomicBool::new(true),
        }
    }

    pub fn record(&self, slot: usize, took: Duration, failed: bool) {
        let Some(s) = self.slots.get(slot) else {
            return;
        };
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        s.calls.fetch_add(1, Relaxed);
        s.nanos.fetch_add(nanos, Relaxed);
        if failed {
            s.failed.fetch_add(1, Relaxed);
        }
        if self.tracking.load(Relaxed) {
            s.latency.record(nanos);
        }
    }

    /// Adds what a connection gathered for `slot` (`Pending`).
    pub(super) fn add(&self, p: &Pending) {
        let Some(s) = p.slot.and_then(|slot| self.slots.get(slot)) else {
            return;
        };
        s.calls.fetch_add(p.calls, Relaxed);
        s.nanos.fetch_add(p.nanos, Relaxed);
        if p.failed > 0 {
            s.failed.fetch_add(p.failed, Relaxed);
        }
        for &(bucket, count) in &p.buckets[..p.used] {
            s.latency.add(bucket, count);
        }
    }

    pub fn reject(&self, slot: usize) {
        if let Some(s) = self.slots.get(slot) {
            s.rejected.fetch_add(1, Relaxed);
        }
    }

    /// CONFIG RESETSTAT.
    pub fn reset(&self) {
        for s in self.slots.iter() {
            s.calls.store(0, Relaxed);
            s.nanos.store(0, Relaxed);
            s.rejected.store(0, Relaxed);
            s.failed.store(0, Relaxed);
            s.latency.reset();
        }
    }

    /// Commands that were called, rejected or failed at least once, in table order.
    pub fn readings(&self) -> Vec<CommandReading> {
        self.names
            .iter()
            .zip(self.slots.iter())
            .filter_map(|(name, s)| {
                let r = CommandReading {
                    name,
                    calls: s.calls.load(Relaxed),
                    nanos: s.nanos.load(Relaxed),
                    rejected: s.rejected.load(Relaxed),
                    failed: s.failed.load(Relaxed),
                    latency: s.latency.snapshot(),
                };
                (r.calls + r.rejected + r.failed > 0).then_some(r)
            })
            .collect()
    }

    /// The reading of one command by full name, even if never called.
    pub fn reading(&self, name: &str) -> Option<CommandReading> {
        let i = self.names.iter().position(|n| *n == name)?;
        let s = &self.slots[i];
        Some(CommandReading {
            name: self.names[i],
            calls: s.calls.load(Relaxed),
            nanos: s.nanos.load(Relaxed),
            rejected: s.rejected.load(Relaxed),
            failed: s.failed.load(Relaxed),
            latency: s.latency.snapshot(),
        })
    }
}
