//! Pattern index: the distinct patterns, each with a value (the registry keeps its
//! subscriber set there), and a fast answer to "which patterns match this channel?".
//!
//! Matching semantics belong to `glob`; this module only narrows down which patterns
//! are worth asking about. Every candidate is still confirmed with `glob::matches`, so
//! the index can only make lookups cheaper, never change their answer.
//!
//! # Layout
//!
//! - `entries` holds each pattern once, densely, with its value and its `Place`.
//! - A pattern with a literal prefix (`tenant:7:*`, or a wildcard-free `news`) is filed
//!   in `prefixed` under that prefix. A pattern without one but with a literal suffix
//!   (`*.errors`) is filed in `suffixed` under the suffix. The rest (`*`, `*x?*`, `?a`)
//!   go to `residual` and are tried on every lookup, but each carries the set of bytes
//!   its literal tokens require (`*42?x*` needs `4`, `2`, `x`), and a pattern whose set
//!   is not inside the channel's byte set is skipped without running the matcher.
//! - Each side keeps the sorted list of distinct key lengths in use, so a lookup hashes
//!   one slice of the channel per distinct length (`channel[..len]` or the last `len`
//!   bytes), not one per pattern.
//!
//! # Insert, remove, lookup
//!
//! - Insert: parse the pattern once, push its entry index onto the bucket for its key
//!   (creating the bucket and bumping the length count as needed), and record the
//!   position in the bucket in the entry.
//! - Remove: `swap_remove` the id from its bucket (fixing the position stored by the id
//!   moved into its slot), drop empty buckets and unused lengths, then `swap_remove` the
//!   entry (re-pointing the bucket slot of the entry moved into its index). Containers
//!   shrink when they fall to a quarter of their capacity, so an index that once held
//!   100k patterns and now holds none costs what a new one does.
//! - Lookup: for each distinct prefix length that fits, hash `channel[..len]`; the same
//!   with suffixes; then the residual list. Confirm each candidate with the matcher.

use crate::glob;
use crate::glob::pattern::{Pattern, Token};
use ahash::RandomState;
use bytes::Bytes;
use indexmap::IndexMap;
use std::collections::HashMap;

/// Distinct patterns -> `V`, with lookup of every pattern matching a channel.
#[derive(Debug)]
pub struct PatternIndex<V> {
    entries: IndexMap<Bytes, Entry<V>, RandomState>,
    prefixed: Anchored,
    suffixed: Anchored,
    residual: Vec<Residual>,
}

#[derive(Debug)]
struct Residual {
    id: usize,
    /// Bytes any matching channel must contain: every literal token consumes its byte.
    needs: ByteSet,
}

/// A set of byte values, for the residual pre-filter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct ByteSet([u64; 4]);

impl ByteSet {
    fn insert(&mut self, b: u8) {
        self.0[usize::from(b >> 6)] |= 1 << (b & 63);
    }

    fn of(bytes: &[u8]) -> ByteSet {
        let mut set = ByteSet::default();
        bytes.iter().for_each(|&b| set.insert(b));
        set
    }

    fn is_subset_of(&self, other: &ByteSet) -> bool {
        self.0.iter().zip(&other.0).all(|(a, b)| a & !b == 0)
    }
}

#[derive(Debug)]
struct Entry<V> {
    value: V,
    place: Place,
}

/// Where an entry's index is filed, so removal is O(1) instead of a scan.
#[derive(Debug, Clone)]
enum Place {
    Prefixed { key: Bytes, pos: usize },
    Suffixed { key: Bytes, pos: usize },
    Residual { pos: usize },
}

/// Entry indices bucketed by a literal key (a prefix or a suffix).
#[derive(Debug, Default)]
struct Anchored {
    buckets: HashMap<Bytes, Vec<usize>, RandomState>,
    /// Distinct key lengths in ascending order, each with the number of patterns filed
    /// under a key of that length.
    lens: Vec<(usize, usize)>,
}

/// Below this capacity a container is never shrunk: the memory is trivial, and
/// shrinking would just cause regrowth churn for small, busy indexes.
const SHRINK_MIN_CAPACITY: usize = 16;

impl<V> Default for PatternIndex<V> {
    fn default() -> Self {
        PatternIndex {
            entries: IndexMap::default(),
            prefixed: Anchored::default(),
            suffixed: Anchored::default(),
            residual: Vec::new(),
        }
    }
}

impl<V> PatternIndex<V> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, pattern: &[u8]) -> Option<&V> {
        self.entries.get(pattern).map(|e| &e.value)
    }

    pub fn get_mut(&mut self, pattern: &[u8]) -> Option<&mut V> {
        self.entries.get_mut(pattern).map(|e| &mut e.value)
    }

    /// Returns the entry for `pattern`, inserting `make()` if it is new.
    pub fn get_or_insert_with(&mut self, pattern: Bytes, make: impl FnOnce() -> V) -> &mut V {
        let id = match self.entries.get_index_of(pattern.as_ref()) {
            Some(id) => id,
            None => {
                let id = self.entries.len();
                let place = self.file(&pattern, id);
                self.entries.insert(
                    pattern,
                    Entry {
                        value: make(),
                        place,
                    },
                );
                id
            }
        };
        &mut self.entries[id].value
    }

    pub fn remove(&mut self, pattern: &[u8]) -> Option<V> {
        let id = self.entries.get_index_of(pattern)?;
        let place = self.entries[id].place.clone();
        self.unfile(&place);
        let last = self.entries.len() - 1;
        let (_, entry) = self.entries.swap_remove_index(id)?;
        if id != last {
            // The former last entry now lives at `id`; its bucket slot still says `last`.
            let moved = self.entries[id].place.clone();
            *self.slot_mut(&moved) = id;
        }
        shrink_map(&mut self.entries);
        Some(entry.value)
    }

    /// Calls `f` for every pattern that matches `channel` (Redis glob rules).
    /// The order is unspecified, as in Redis.
    pub fn for_each_match(&self, channel: &[u8], mut f: impl FnMut(&Bytes, &V)) {
        if self.entries.is_empty() {
            return;
        }
        let mut try_candidate = |id: usize| {
            let (pattern, entry) = self
                .entries
                .get_index(id)
                .expect("buckets only hold ids of live entries");
            if glob::matches(pattern, channel) {
                f(pattern, &entry.value);
            }
        };
        for &(len, _) in &self.prefixed.lens {
            let Some(key) = channel.get(..len) else {
                break;
            };
            if let Some(ids) = self.prefixed.buckets.get(key) {
                ids.iter().for_each(|&id| try_candidate(id));
            }
        }
        for &(len, _) in &self.suffixed.lens {
            let Some(start) = channel.len().checked_sub(len) else {
                break;
            };
            if let Some(ids) = self.suffixed.buckets.get(&channel[start..]) {
                ids.iter().for_each(|&id| try_candidate(id));
            }
        }
        if !self.residual.is_empty() {
            let present = ByteSet::of(channel);
            for r in &self.residual {
                if r.needs.is_subset_of(&present) {
                    try_candidate(r.id);
                }
            }
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Bytes, &V)> {
        self.entries.iter().map(|(p, e)| (p, &e.value))
    }

    /// Files entry `id` under the key its pattern's shape allows, returning where.
    fn file(&mut self, pattern: &[u8], id: usize) -> Place {
        let parsed = Pattern::parse(pattern);
        // Prefer the prefix: for `a*b` either works, and one rule keeps it predictable.
        if !parsed.prefix().is_empty() {
            let key = Bytes::copy_from_slice(parsed.prefix());
            let pos = self.prefixed.insert(key.clone(), id);
            Place::Prefixed { key, pos }
        } else if !parsed.suffix().is_empty() {
            let key = Bytes::copy_from_slice(parsed.suffix());
            let pos = self.suffixed.insert(key.clone(), id);
            Place::Suffixed { key, pos }
        } else {
            let mut needs = ByteSet::default();
            for token in parsed.tokens() {
                if let Token::Literal(b) = token {
                    needs.insert(*b);
                }
            }
            self.residual.push(Residual { id, needs });
            Place::Residual {
                pos: self.residual.len() - 1,
            }
        }
    }

    /// Takes the id filed at `place` out of its bucket.
    fn unfile(&mut self, place: &Place) {
        let moved = match place {
            Place::Prefixed { key, pos } => self.prefixed.remove(key, *pos),
            Place::Suffixed { key, pos } => self.suffixed.remove(key, *pos),
            Place::Residual { pos } => {
                self.residual.swap_remove(*pos);
                shrink_vec(&mut self.residual);
                self.residual.get(*pos).map(|r| r.id)
            }
        };
        // Whichever id took the vacated slot must learn its new position.
        if let Some(moved) = moved {
            let new_pos = match place {
                Place::Prefixed { pos, .. }
                | Place::Suffixed { pos, .. }
                | Place::Residual { pos } => *pos,
            };
            match &mut self.entries[moved].place {
                Place::Prefixed { pos, .. }
                | Place::Suffixed { pos, .. }
                | Place::Residual { pos } => *pos = new_pos,
            }
        }
    }

    /// The bucket slot that holds the id of the entry filed at `place`.
    fn slot_mut(&mut self, place: &Place) -> &mut usize {
        let slot = match place {
            Place::Prefixed { key, pos } => {
                self.prefixed.bucket_mut(key).and_then(|b| b.get_mut(*pos))
            }
            Place::Suffixed { key, pos } => {
                self.suffixed.bucket_mut(key).and_then(|b| b.get_mut(*pos))
            }
            Place::Residual { pos } => self.residual.get_mut(*pos).map(|r| &mut r.id),
        };
        slot.expect("every live entry is filed where its place says")
    }
}

impl Anchored {
    /// Adds `id` under `key`; returns its position in the bucket.
    fn insert(&mut self, key: Bytes, id: usize) -> usize {
        let len = key.len();
        match self.lens.binary_search_by_key(&len, |&(l, _)| l) {
            Ok(i) => self.lens[i].1 += 1,
            Err(i) => self.lens.insert(i, (len, 1)),
        }
        let bucket = self.buckets.entry(key).or_default();
        bucket.push(id);
        bucket.len() - 1
    }

    /// Removes the id at `pos` in `key`'s bucket and returns the id moved into `pos`.
    fn remove(&mut self, key: &[u8], pos: usize) -> Option<usize> {
        let bucket = self
            .buckets
            .get_mut(key)
            .expect("a filed entry's bucket exists");
        bucket.swap_remove(pos);
        let moved = bucket.get(pos).copied();
        if bucket.is_empty() {
            self.buckets.remove(key);
            shrink_map(&mut self.buckets);
        } else {
            shrink_vec(bucket);
        }
        if let Ok(i) = self.lens.binary_search_by_key(&key.len(), |&(l, _)| l) {
            self.lens[i].1 -= 1;
            if self.lens[i].1 == 0 {
                self.lens.remove(i);
            }
        }
        moved
    }

    fn bucket_mut(&mut self, key: &[u8]) -> Option<&mut Vec<usize>> {
        self.buckets.get_mut(key)
    }
}

/// Hash containers keep their peak capacity forever unless told otherwise; give memory
/// back once three quarters of it is unused, keeping headroom so we do not flap.
trait Shrink {
    fn len_and_capacity(&self) -> (usize, usize);
    fn shrink_to(&mut self, min_capacity: usize);
}

impl<K: std::hash::Hash + Eq, V> Shrink for HashMap<K, V, RandomState> {
    fn len_and_capacity(&self) -> (usize, usize) {
        (self.len(), self.capacity())
    }
    fn shrink_to(&mut self, min_capacity: usize) {
        HashMap::shrink_to(self, min_capacity);
    }
}

impl<K: std::hash::Hash + Eq, V> Shrink for IndexMap<K, V, RandomState> {
    fn len_and_capacity(&self) -> (usize, usize) {
        (self.len(), self.capacity())
    }
    fn shrink_to(&mut self, min_capacity: usize) {
        IndexMap::shrink_to(self, min_capacity);
    }
}

fn shrink_map(m: &mut impl Shrink) {
    let (len, cap) = m.len_and_capacity();
    // An empty container gives everything back: an index that emptied out should cost
    // exactly what a new one does.
    if (cap > SHRINK_MIN_CAPACITY && len * 4 < cap) || (len == 0 && cap > 0) {
        m.shrink_to(len * 2);
    }
}

fn shrink_vec<T>(v: &mut Vec<T>) {
    let (len, cap) = (v.len(), v.capacity());
    if (cap > SHRINK_MIN_CAPACITY && len * 4 < cap) || (len == 0 && cap > 0) {
        v.shrink_to(v.len() * 2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::Rng;
    use std::collections::BTreeSet;

    impl<V> PatternIndex<V> {
        /// Every filed id points back at an entry whose place names that slot, and every
        /// entry is filed exactly once.
        fn check_invariants(&self) {
            let mut seen = 0;
            let mut check_side = |side: &Anchored, prefix: bool| {
                let mut per_len = std::collections::BTreeMap::new();
                for (key, ids) in &side.buckets {
                    assert!(!ids.is_empty(), "empty bucket kept");
                    *per_len.entry(key.len()).or_insert(0) += ids.len();
                    for (pos, &id) in ids.iter().enumerate() {
                        seen += 1;
                        match &self.entries[id].place {
                            Place::Prefixed { key: k, pos: p } if prefix => {
                                assert_eq!((k, *p), (key, pos));
                            }
                            Place::Suffixed { key: k, pos: p } if !prefix => {
                                assert_eq!((k, *p), (key, pos));
                            }
                            other => panic!("id {id} filed under {key:?} but place {other:?}"),
                        }
                    }
                }
                let lens: Vec<(usize, usize)> = per_len.into_iter().collect();
                assert_eq!(side.lens, lens);
            };
            check_side(&self.prefixed, true);
            check_side(&self.suffixed, false);
            for (pos, &Residual { id, .. }) in self.residual.iter().enumerate() {
                seen += 1;
                assert!(matches!(self.entries[id].place, Place::Residual { pos: p } if p == pos));
            }
            assert_eq!(seen, self.entries.len());
        }

        fn footprint(&self) -> usize {
            self.entries.capacity()
                + self.prefixed.buckets.capacity()
                + self.suffixed.buckets.capacity()
                + self.residual.capacity()
                + self.prefixed.lens.len()
                + self.suffixed.lens.len()
        }
    }

    fn matching(index: &PatternIndex<u32>, channel: &[u8]) -> BTreeSet<Bytes> {
        let mut out = BTreeSet::new();
        index.for_each_match(channel, |p, v| {
            assert_eq!(index.get(p), Some(v));
            assert!(out.insert(p.clone()), "pattern {p:?} reported twice");
        });
        out
    }

    fn brute_force(index: &PatternIndex<u32>, channel: &[u8]) -> BTreeSet<Bytes> {
        index
            .iter()
            .filter(|(p, _)| glob::matches(p, channel))
            .map(|(p, _)| p.clone())
            .collect()
    }

    #[test]
    fn patterns_are_stored_once() {
        let mut index = PatternIndex::new();
        *index.get_or_insert_with(Bytes::from_static(b"n.*"), || 1) += 10;
        let v = index.get_or_insert_with(Bytes::from_static(b"n.*"), || panic!("made twice"));
        assert_eq!(*v, 11);
        assert_eq!(index.len(), 1);
        assert_eq!(matching(&index, b"n.x").len(), 1);
    }

    #[test]
    fn lookup_uses_prefix_suffix_and_residual() {
        let mut index = PatternIndex::new();
        for p in [&b"tenant:1:*"[..], b"*.errors", b"*", b"news", b"", b"*x?*"] {
            index.get_or_insert_with(Bytes::copy_from_slice(p), || 0);
        }
        index.check_invariants();
        let got = |c: &[u8]| matching(&index, c).into_iter().collect::<Vec<_>>();
        assert_eq!(got(b"tenant:1:a"), [&b"*"[..], b"tenant:1:*"]);
        assert_eq!(got(b"db.errors"), [&b"*"[..], b"*.errors"]);
        assert_eq!(got(b"news"), [&b"*"[..], b"news"]);
        assert_eq!(got(b"axbx"), [&b"*"[..], b"*x?*"]);
        // Only the empty pattern matches the empty channel; `*` does not.
        assert_eq!(got(b""), [&b""[..]]);
    }

    #[test]
    fn residual_patterns_need_their_literal_bytes_in_the_channel() {
        let needs = |p: &[u8]| {
            let mut index = PatternIndex::new();
            index.get_or_insert_with(Bytes::copy_from_slice(p), || 0);
            index.residual[0].needs
        };
        // Escaped bytes are literals; class members and wildcards are not required.
        assert_eq!(needs(b"*4\\*?x*"), ByteSet::of(b"4*x"));
        assert_eq!(needs(b"?[ab]*"), ByteSet::default());
        assert!(ByteSet::of(b"x").is_subset_of(&ByteSet::of(b"\xffx\x00")));
        assert!(!ByteSet::of(b"\x80").is_subset_of(&ByteSet::of(b"\x00\x7f\xff")));
        let mut index = PatternIndex::new();
        index.get_or_insert_with(Bytes::from_static(b"*42?x*"), || 0);
        assert!(matching(&index, b"svc.payments.latency").is_empty());
        assert_eq!(matching(&index, b"svc.42qx").len(), 1);
    }

    #[test]
    fn escaped_prefix_is_looked_up_unescaped() {
        let mut index = PatternIndex::new();
        index.get_or_insert_with(Bytes::from_static(b"a\\*b*"), || 0);
        assert_eq!(matching(&index, b"a*bc").len(), 1);
        assert!(matching(&index, b"axbc").is_empty());
    }

    #[test]
    fn remove_returns_value_and_forgets_pattern() {
        let mut index = PatternIndex::new();
        index.get_or_insert_with(Bytes::from_static(b"a*"), || 7);
        index.get_or_insert_with(Bytes::from_static(b"b*"), || 8);
        assert_eq!(index.remove(b"a*"), Some(7));
        assert_eq!(index.remove(b"a*"), None);
        assert_eq!(index.get(b"b*"), Some(&8));
        assert!(matching(&index, b"ax").is_empty());
        index.check_invariants();
    }

    #[test]
    fn removing_everything_shrinks_back_to_empty() {
        let mut index = PatternIndex::new();
        let fresh = index.footprint();
        let patterns: Vec<Bytes> = (0..5000)
            .flat_map(|n| {
                [
                    Bytes::from(format!("tenant:{n}:*")),
                    Bytes::from(format!("*.errors{n}")),
                    Bytes::from(format!("*{n}?x*")),
                ]
            })
            .collect();
        for p in &patterns {
            index.get_or_insert_with(p.clone(), || 0);
        }
        for p in &patterns {
            assert!(index.remove(p).is_some());
        }
        index.check_invariants();
        assert!(index.is_empty());
        assert!(index.prefixed.lens.is_empty() && index.suffixed.lens.is_empty());
        assert_eq!(index.footprint(), fresh, "capacity left after removing all");
    }

    #[test]
    fn agrees_with_brute_force_through_inserts_and_removals() {
        let mut rng = Rng(0x1234_5678_9abc_def1);
        let pattern_alphabet = b"ab:.*?[]^-\\";
        let channel_alphabet = b"ab:.-]";
        let mut index = PatternIndex::new();
        let mut live: Vec<Bytes> = Vec::new();
        let mut compared = 0;
        let mut nonempty = 0;
        for round in 0..6 {
            // Grow in the first rounds, shrink in the later ones.
            let (adds, removes) = if round < 3 { (300, 100) } else { (50, 250) };
            for _ in 0..adds {
                let p = Bytes::from(rng.bytes(pattern_alphabet, 6));
                let id = index.len() as u32;
                if index.get(&p).is_none() {
                    live.push(p.clone());
                }
                index.get_or_insert_with(p, || id);
            }
            for _ in 0..removes.min(live.len()) {
                let p = live.swap_remove(rng.below(live.len()));
                assert!(index.remove(&p).is_some());
            }
            index.check_invariants();
            assert_eq!(index.len(), live.len());
            for _ in 0..400 {
                let c = rng.bytes(channel_alphabet, 7);
                let want = brute_force(&index, &c);
                nonempty += usize::from(!want.is_empty());
                assert_eq!(matching(&index, &c), want, "channel {c:?}");
                compared += 1;
            }
        }
        assert!(index.len() < 100, "the test should end mostly drained");
        assert!(
            nonempty > compared / 4,
            "only {nonempty} of {compared} channels matched"
        );
    }
}
