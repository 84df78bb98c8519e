//! A lock-free latency histogram: log2 buckets split in 8 linear sub-buckets (HDR-like,
//! at most 12.5% relative error), one `AtomicU64` per bucket, recorded with one Relaxed
//! add. Read by INFO latencystats (percentiles), LATENCY HISTOGRAM (power-of-two
//! microsecond buckets, as Redis prints them) and /metrics (Prometheus buckets).
//!
//! Values are nanoseconds. Every power of two is a bucket boundary, so the coarser views
//! (2^k ns) are exact sums of fine buckets.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Sub-buckets per power of two: 2^SUB_BITS.
const SUB_BITS: u32 = 3;
const SUB: usize = 1 << SUB_BITS;
/// Largest power of two tracked: 2^36 ns is about 69 s; longer values land in the last
/// bucket.
const MAX_EXP: u32 = 36;
/// Values below SUB get one bucket each; then SUB buckets per power of two.
pub const BUCKETS: usize = SUB + (MAX_EXP as usize - SUB_BITS as usize + 1) * SUB;

/// Bucket index of `v` nanoseconds.
pub fn index(v: u64) -> usize {
    if v < SUB as u64 {
        return v as usize;
    }
    let exp = 63 - v.leading_zeros();
    if exp > MAX_EXP {
        return BUCKETS - 1;
    }
    let sub = ((v >> (exp - SUB_BITS)) as usize) & (SUB - 1);
    SUB + (exp - SUB_BITS) as usize * SUB + sub
}

/// Smallest value of bucket `i` (nanoseconds).
fn lower(i: usize) -> u64 {
    if i < SUB {
        return i as u64;
    }
    let exp = (i - SUB) / SUB + SUB_BITS as usize;
    let sub = ((i - SUB) % SUB) as u64;
    (1u64 << exp) + (sub << (exp - SUB_BITS as usize))
}

/// Largest value of bucket `i` (nanoseconds).
fn upper(i: usize) -> u64 {
    if i + 1 >= BUCKETS {
        u64::MAX
    } else {
        lower(i + 1) - 1
    }
}

#[derive(Debug)]
pub struct Histogram {
    buckets: Box<[AtomicU64]>,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

impl Histogram {
    pub fn record(&self, nanos: u64) {
        self.buckets[index(nanos)].fetch_add(1, Relaxed);
    }

    /// `count` values that fell in bucket `bucket` (`index`).
    pub fn add(&self, bucket: usize, count: u64) {
        if let Some(b) = self.buckets.get(bucket) {
            b.fetch_add(count, Relaxed);
        }
    }

    pub fn reset(&self) {
        for b in self.buckets.iter() {
            b.store(0, Relaxed);
        }
    }

    /// A copy of the counts (buckets keep moving while it is taken; each is one load).
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            counts: self.buckets.iter().map(|b| b.load(Relaxed)).collect(),
        }
    }
}

/// Counts at one moment.
#[derive(Debug, Clone)]
pub struct Snapshot {
    counts: Vec<u64>,
}

impl Snapshot {
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The value (ns) at percentile `p` (0..=100): the upper end of the bucket holding
    /// it, as HDR's `value_at_percentile` reports its highest equivalent value.
    pub fn percentile(&self, p: f64) -> u64 {
        let total = self.total();
        if total == 0 {
            return 0;
        }
        let want = ((p / 100.0) * total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= want {
                return upper(i).min(1 << (MAX_EXP + 1));
            }
        }
        upper(BUCKETS - 1)
    }

    /// Values below `bound_ns`, which must be a power of two (an exact bucket boundary).
    pub fn count_below(&self, bound_ns: u64) -> u64 {
        debug_assert!(bound_ns.is_power_of_two());
        self.counts[..index(bound_ns)].iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_values_without_gaps() {
        for i in 0..BUCKETS - 1 {
            assert_eq!(upper(i) + 1, lower(i + 1), "bucket {i}");
            assert_eq!(index(lower(i)), i);
            assert_eq!(index(upper(i)), i);
        }
        assert_eq!(index(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn powers_of_two_are_boundaries() {
        for k in 0..=MAX_EXP {
            assert_eq!(lower(index(1 << k)), 1 << k);
        }
    }

    #[test]
    fn percentile_is_within_an_eighth() {
        let h = Histogram::default();
        for v in 1..=1000u64 {
            h.record(v * 1000);
        }
        let s = h.snapshot();
        assert_eq!(s.total(), 1000);
        let p50 = s.percentile(50.0) as f64;
        assert!((500_000.0..=500_000.0 * 1.125).contains(&p50), "{p50}");
        assert_eq!(s.count_below(1 << 19), 524); // 1000, 2000 .. 524000 are below 524288
        assert_eq!(s.count_below(1 << 20), 1000);
    }
}
