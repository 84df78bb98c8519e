//! The latency monitor (LATENCY LATEST / HISTORY / RESET): with
//! `latency-monitor-threshold` > 0 (milliseconds), commands that took at least that long
//! are recorded as Redis's `command` (or `fast-command`) events; 0, the default, records
//! nothing. Samples in the same second keep the largest; each event keeps its last 160
//! samples (Redis `LATENCY_TS_LEN`).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

const HISTORY: usize = 160;

#[derive(Debug, Clone)]
pub struct Event {
    pub name: &'static str,
    /// (unix seconds, milliseconds), oldest first.
    pub samples: VecDeque<(u64, u64)>,
    /// Largest latency ever seen (milliseconds).
    pub max: u64,
}

#[derive(Debug, Default)]
pub struct LatencyMonitor {
    /// `latency-monitor-threshold`, milliseconds; 0 = off.
    pub threshold_ms: AtomicU64,
    events: Mutex<Vec<Event>>,
}

impl LatencyMonitor {
    pub fn wants(&self, millis: u64) -> bool {
        let t = self.threshold_ms.load(Relaxed);
        t > 0 && millis >= t
    }

    pub fn add(&self, name: &'static str, now: u64, millis: u64) {
        let mut events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        let i = match events.iter().position(|e| e.name == name) {
            Some(i) => i,
            None => {
                events.push(Event {
                    name,
                    samples: VecDeque::new(),
                    max: 0,
                });
                events.len() - 1
            }
        };
        let e = &mut events[i];
        e.max = e.max.max(millis);
        match e.samples.back_mut() {
            Some(last) if last.0 == now => last.1 = last.1.max(millis),
            _ => {
                e.samples.push_back((now, millis));
                if e.samples.len() > HISTORY {
                    e.samples.pop_front();
                }
            }
        }
    }

    pub fn events(&self) -> Vec<Event> {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Drops the named events (all if `names` is empty); returns how many were dropped.
    pub fn reset(&self, names: &[String]) -> usize {
        let mut events = self.events.lock().unwrap_or_else(|p| p.into_inner());
        let before = events.len();
        if names.is_empty() {
            events.clear();
        } else {
            events.retain(|e| !names.iter().any(|n| n.eq_ignore_ascii_case(e.name)));
        }
        before - events.len()
    }
}
