//! Reference matcher for tests: a deliberately plain transcription of the rules in
//! redis-pubsub-semantics.md §5, step by step, recursing on `*` exactly as described.
//!
//! It favours being obviously right over being fast: it allocates, parses classes into
//! a member list every time, and has no "give up" flag (the spec says that flag never
//! changes a result, and comparing against this oracle checks that claim too). Keep
//! inputs short: without the flag some patterns take exponential time here.

const MAX_NESTING: usize = 1000;

/// Does `pattern` match `s`, by the §5 rules?
pub(super) fn matches(pattern: &[u8], s: &[u8]) -> bool {
    match_at(pattern, s, 0)
}

fn match_at(mut p: &[u8], mut s: &[u8], nesting: usize) -> bool {
    if nesting > MAX_NESTING {
        return false;
    }
    // Step 1: loop while both are non-empty.
    while !p.is_empty() && !s.is_empty() {
        match p {
            [b'*', ..] => {
                let rest = skip_stars(p);
                if rest.is_empty() {
                    return true;
                }
                // Only non-empty suffixes of S are tried.
                return (0..s.len()).any(|start| match_at(rest, &s[start..], nesting + 1));
            }
            [b'?', tail @ ..] => p = tail,
            [b'[', body @ ..] => {
                let (class, tail) = Class::parse(body);
                if !class.contains(s[0]) {
                    return false;
                }
                p = tail;
            }
            [b'\\', escaped, tail @ ..] => {
                if *escaped != s[0] {
                    return false;
                }
                p = tail;
            }
            [literal, tail @ ..] => {
                if *literal != s[0] {
                    return false;
                }
                p = tail;
            }
            [] => unreachable!("loop condition says P is non-empty"),
        }
        s = &s[1..];
        if s.is_empty() {
            p = skip_stars(p);
            break;
        }
    }
    // Step 2: both fully consumed.
    p.is_empty() && s.is_empty()
}

fn skip_stars(p: &[u8]) -> &[u8] {
    let n = p.iter().take_while(|&&b| b == b'*').count();
    &p[n..]
}

#[derive(Debug)]
enum Member {
    Byte(u8),
    /// Bounds as Redis sees them: signed chars, already put in order.
    Range(i8, i8),
}

#[derive(Debug)]
struct Class {
    negated: bool,
    members: Vec<Member>,
}

impl Class {
    /// Parses the text after `[`; returns the class and the pattern after it.
    fn parse(body: &[u8]) -> (Class, &[u8]) {
        let (negated, mut rest) = match body {
            [b'^', tail @ ..] => (true, tail),
            _ => (false, body),
        };
        let mut members = Vec::new();
        loop {
            match rest {
                // Unterminated: the class runs to the end of the pattern.
                [] => return (Class { negated, members }, rest),
                [b'\\', escaped, tail @ ..] => {
                    members.push(Member::Byte(*escaped));
                    rest = tail;
                }
                [b']', tail @ ..] => return (Class { negated, members }, tail),
                [lo, b'-', hi, tail @ ..] => {
                    let (a, b) = (*lo as i8, *hi as i8);
                    members.push(Member::Range(a.min(b), a.max(b)));
                    rest = tail;
                }
                [byte, tail @ ..] => {
                    members.push(Member::Byte(*byte));
                    rest = tail;
                }
            }
        }
    }

    fn contains(&self, c: u8) -> bool {
        let listed = self.members.iter().any(|m| match *m {
            Member::Byte(b) => b == c,
            Member::Range(lo, hi) => lo <= c as i8 && c as i8 <= hi,
        });
        listed != self.negated
    }
}
