//! The ACL file (`aclfile`) and `user` config lines: parsing into users, and the text
//! ACL SAVE writes. Loading is all or nothing, as in Redis: one bad line and nothing
//! changes, and the error names every bad line (`<path>:<line>: <why>`).

use super::rules::{has_spaces, User};
use bytes::Bytes;
use std::collections::BTreeMap;
use std::path::Path;

pub type Users = BTreeMap<Bytes, User>;

/// Builds one user from its name and rules, starting from a fresh user (Redis resets
/// `default` before applying its declared rules).
pub fn user_from_rules(name: &[u8], rules: &[Vec<u8>], allchannels: bool) -> Result<User, String> {
    if has_spaces(name) {
        return Err("Usernames can't contain spaces or null characters".into());
    }
    let mut u = User::new(Bytes::copy_from_slice(name), allchannels);
    for rule in rules {
        u.apply(rule, allchannels).map_err(|e| {
            format!(
                "Error in user declaration '{}': {}",
                String::from_utf8_lossy(rule),
                e.text()
            )
        })?;
    }
    Ok(u)
}

/// Parses ACL file text. Empty lines are skipped; every other line is
/// `user <name> <rule>...` (redis.conf quoting rules). The error text is Redis 7's,
/// every bad line in one message.
pub fn parse(path: &Path, text: &str, allchannels: bool) -> Result<Users, String> {
    let mut users = Users::new();
    let mut errors = String::new();
    for (n, line) in text.lines().enumerate() {
        let n = n + 1;
        let loc = path.display();
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let words = match crate::config::redis_conf::split_args(line) {
            Ok(w) => w,
            Err(_) => {
                errors.push_str(&format!("{loc}:{n}: unbalanced quotes in acl line. "));
                continue;
            }
        };
        if words.first().map(String::as_str) != Some("user") || words.len() < 2 {
            errors.push_str(&format!(
                "{loc}:{n} should start with user keyword followed by the username. "
            ));
            continue;
        }
        let name = &words[1];
        if has_spaces(name.as_bytes()) {
            errors.push_str(&format!("{loc}:{n}: Syntax error. "));
            continue;
        }
        if users.contains_key(name.as_bytes()) {
            errors.push_str(&format!(
                "WARNING: Duplicate user '{name}' found on line {n}. "
            ));
            continue;
        }
        let mut u = User::new(Bytes::copy_from_slice(name.as_bytes()), allchannels);
        let mut ok = true;
        for rule in &words[2..] {
            if let Err(e) = u.apply(rule.as_bytes(), allchannels) {
                errors.push_str(&format!(
                    "{loc}:{n}: Error in applying operation '{rule}': {}. ",
                    e.text()
                ));
                ok = false;
            }
        }
        if ok {
            users.insert(u.name.clone(), u);
        }
    }
    if errors.is_empty() {
        Ok(users)
    } else {
        errors.push_str(
            "WARNING: ACL errors detected, no change to the previously active ACL rules was performed",
        );
        Err(errors)
    }
}

/// The file ACL SAVE writes: one `user` line per user, sorted by name.
pub fn render<'a>(users: impl Iterator<Item = &'a User>) -> Vec<u8> {
    let mut out = Vec::new();
    for u in users {
        out.extend_from_slice(b"user ");
        out.extend_from_slice(&u.name);
        out.push(b' ');
        out.extend_from_slice(&u.describe());
        out.push(b'\n');
    }
    out
}

/// Writes `text` to `path` through a temporary file and a rename, so a crash never
/// leaves a half-written ACL file (Redis does the same).
pub fn save(path: &Path, text: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(text)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_round_trips_through_save_text() {
        let text = "user alice on #2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b ~k* resetchannels &news.* -@all +@pubsub\n\nuser default on nopass ~* &* +@all\n";
        let users = parse(Path::new("a.acl"), text, false).unwrap();
        assert_eq!(users.len(), 2);
        assert_eq!(
            String::from_utf8(render(users.values())).unwrap(),
            text.replace("\n\n", "\n")
        );
    }

    #[test]
    fn every_bad_line_is_reported_and_nothing_loads() {
        let text = "user a on\nfoo bar\nuser b +nosuch\nuser a off\n";
        let e = parse(Path::new("x.acl"), text, false).unwrap_err();
        // redis-server 7.0.15's text for the same file.
        assert_eq!(
            e,
            "x.acl:2 should start with user keyword followed by the username. x.acl:3: Error in \
             applying operation '+nosuch': Unknown command or category name in ACL. WARNING: \
             Duplicate user 'a' found on line 4. WARNING: ACL errors detected, no change to the \
             previously active ACL rules was performed"
        );
    }
}
