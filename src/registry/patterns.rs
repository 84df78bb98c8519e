//! Pattern index: distinct patterns, each with a value (the registry keeps its
//! subscriber set there). (API fixed; implementation in progress.)

use bytes::Bytes;
use std::collections::HashMap;

/// Distinct patterns -> `V`, with lookup of every pattern matching a channel.
#[derive(Debug)]
pub struct PatternIndex<V> {
    all: HashMap<Bytes, V>,
}

impl<V> Default for PatternIndex<V> {
    fn default() -> Self {
        PatternIndex {
            all: HashMap::new(),
        }
    }
}

impl<V> PatternIndex<V> {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn len(&self) -> usize {
        self.all.len()
    }
    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }
    pub fn get(&self, pattern: &[u8]) -> Option<&V> {
        self.all.get(pattern)
    }
    pub fn get_mut(&mut self, pattern: &[u8]) -> Option<&mut V> {
        self.all.get_mut(pattern)
    }
    /// Returns the entry for `pattern`, inserting `make()` if it is new.
    pub fn get_or_insert_with(&mut self, pattern: Bytes, make: impl FnOnce() -> V) -> &mut V {
        self.all.entry(pattern).or_insert_with(make)
    }
    pub fn remove(&mut self, pattern: &[u8]) -> Option<V> {
        self.all.remove(pattern)
    }
    /// Calls `f` for every pattern that matches `channel` (Redis glob rules).
    pub fn for_each_match(&self, channel: &[u8], mut f: impl FnMut(&Bytes, &V)) {
        for (p, v) in &self.all {
            if crate::glob::matches(p, channel) {
                f(p, v);
            }
        }
    }
    pub fn iter(&self) -> impl Iterator<Item = (&Bytes, &V)> {
        self.all.iter()
    }
}
