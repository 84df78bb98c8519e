//! `rename-command OLD NEW` (redis.conf / flags): applied in order at start, as Redis
//! does — the old name stops working, the new one runs the command, an empty NEW
//! removes the command. Subcommands cannot be renamed (Redis neither). A server started
//! without renames pays one `is_empty` check per command.

use std::collections::{HashMap, HashSet};

#[derive(Debug, Default)]
pub struct Renames {
    /// Names that no longer run anything (lower case).
    removed: HashSet<Vec<u8>>,
    /// New name -> the command's table name (lower case).
    added: HashMap<Vec<u8>, Vec<u8>>,
}

impl Renames {
    pub fn new(pairs: &[(String, String)]) -> Renames {
        let mut r = Renames::default();
        for (old, new) in pairs {
            let old = old.as_bytes().to_ascii_lowercase();
            let original = match r.added.remove(&old) {
                Some(orig) => orig,
                None if r.removed.contains(&old) => continue,
                None => old.clone(),
            };
            r.removed.insert(old);
            if !new.is_empty() {
                let new = new.as_bytes().to_ascii_lowercase();
                r.removed.remove(&new);
                r.added.insert(new, original);
            }
        }
        r
    }

    pub fn is_empty(&self) -> bool {
        self.removed.is_empty() && self.added.is_empty()
    }

    /// The table name the typed name runs, or `None` if it was renamed away.
    pub fn resolve<'a>(&'a self, typed: &'a [u8]) -> Option<&'a [u8]> {
        let lower = typed.to_ascii_lowercase();
        if let Some(orig) = self.added.get(&lower) {
            return Some(orig);
        }
        if self.removed.contains(&lower) {
            return None;
        }
        Some(typed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(pairs: &[(&str, &str)]) -> Renames {
        let p: Vec<(String, String)> = pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        Renames::new(&p)
    }

    #[test]
    fn rename_remove_and_chain() {
        let x = r(&[("CONFIG", ""), ("publish", "pub2"), ("pub2", "pub3")]);
        assert_eq!(x.resolve(b"config"), None);
        assert_eq!(x.resolve(b"PUBLISH"), None);
        assert_eq!(x.resolve(b"pub2"), None);
        assert_eq!(x.resolve(b"PUB3"), Some(&b"publish"[..]));
        assert_eq!(x.resolve(b"Subscribe"), Some(&b"Subscribe"[..]));
        assert!(r(&[]).is_empty());
    }
}
