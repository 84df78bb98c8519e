//! The subscribers of one channel or pattern, keyed by client id. Most channels have
//! exactly one subscriber (per-user, per-entity channels), so that case is stored
//! inline; a table is allocated only from the second subscriber on.

use crate::conn::outbox::Outbox;
use indexmap::IndexMap;
use std::sync::Arc;

type Table = IndexMap<u64, Arc<Outbox>, ahash::RandomState>;

#[derive(Debug, Default)]
pub enum Subscribers {
    #[default]
    Empty,
    One(u64, Arc<Outbox>),
    Many(Box<Table>),
}

impl Subscribers {
    /// Adds (or replaces) the subscriber `sub`.
    pub fn insert(&mut self, sub: &Arc<Outbox>) {
        let id = sub.id();
        match self {
            Subscribers::Empty => *self = Subscribers::One(id, sub.clone()),
            Subscribers::One(existing, _) if *existing == id => {}
            Subscribers::One(..) => {
                let Subscribers::One(first_id, first) = std::mem::take(self) else {
                    unreachable!("matched One above")
                };
                let mut table = Table::default();
                table.insert(first_id, first);
                table.insert(id, sub.clone());
                *self = Subscribers::Many(Box::new(table));
            }
            Subscribers::Many(table) => {
                table.insert(id, sub.clone());
            }
        }
    }

    /// Removes client `id` if present.
    pub fn remove(&mut self, id: u64) {
        match self {
            Subscribers::One(existing, _) if *existing == id => *self = Subscribers::Empty,
            Subscribers::Many(table) => {
                table.swap_remove(&id);
                if table.len() == 1 {
                    let (id, sub) = table.pop().expect("one entry left");
                    *self = Subscribers::One(id, sub);
                } else if table.capacity() > 16 && table.len() * 4 < table.capacity() {
                    table.shrink_to_fit();
                }
            }
            _ => {}
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Subscribers::Empty => 0,
            Subscribers::One(..) => 1,
            Subscribers::Many(table) => table.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        matches!(self, Subscribers::Empty)
    }

    /// Every subscriber.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Outbox>> {
        let (one, many) = match self {
            Subscribers::Empty => (None, None),
            Subscribers::One(_, sub) => (Some(sub), None),
            Subscribers::Many(table) => (None, Some(table.values())),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }

    /// Calls `f` for every subscriber.
    pub fn for_each(&self, mut f: impl FnMut(&Arc<Outbox>)) {
        match self {
            Subscribers::Empty => {}
            Subscribers::One(_, sub) => f(sub),
            Subscribers::Many(table) => table.values().for_each(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outbox(id: u64) -> Arc<Outbox> {
        Arc::new(Outbox::new(id))
    }

    fn ids(s: &Subscribers) -> Vec<u64> {
        let mut v = Vec::new();
        s.for_each(|o| v.push(o.id()));
        v.sort_unstable();
        v
    }

    #[test]
    fn grows_from_inline_to_table_and_back() {
        let mut s = Subscribers::default();
        assert!(s.is_empty());
        s.insert(&outbox(1));
        s.insert(&outbox(1));
        assert!(matches!(s, Subscribers::One(1, _)));
        s.insert(&outbox(2));
        s.insert(&outbox(3));
        assert_eq!(ids(&s), [1, 2, 3]);
        s.remove(2);
        s.remove(9);
        assert_eq!(s.len(), 2);
        s.remove(1);
        assert!(matches!(s, Subscribers::One(3, _)));
        s.remove(3);
        assert!(s.is_empty());
    }
}
