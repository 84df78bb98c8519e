//! A glob pattern split into tokens, and what those tokens promise about any channel
//! the pattern can match: the literal bytes it must start with and end with.
//!
//! The registry's pattern index uses that promise to look up candidate patterns by a
//! channel's leading or trailing bytes instead of trying every pattern. Matching itself
//! stays in [`super::matches`]; this module only has to agree with it on where each
//! token starts and ends (a test checks that against the matcher's own boundaries).

use std::ops::Range;

/// One pattern element, as Redis's matcher steps over them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    /// Exactly this byte, including an escaped one (`\*`) and a trailing lone `\`.
    Literal(u8),
    /// `?`: any one byte.
    AnyOne,
    /// A run of one or more unescaped `*`.
    Star,
    /// `[...]`: one byte, tested against the class whose members are the pattern bytes
    /// in `members` (after `[` and any leading `^`, before the closing `]` if there is one).
    Class {
        negated: bool,
        members: Range<usize>,
    },
}

/// What a pattern guarantees about the channels it matches, most selective first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// No wildcard at all: matches exactly one channel (the prefix).
    Exact,
    /// Every match starts with a non-empty literal prefix (and may also have a suffix).
    Prefix,
    /// No prefix, but every match ends with a non-empty literal suffix.
    Suffix,
    /// Neither: starts and ends with a wildcard.
    Unanchored,
}

/// A parsed pattern. Parsing never fails: Redis gives every byte string a meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    tokens: Vec<Token>,
    prefix: Vec<u8>,
    suffix: Vec<u8>,
}

impl Pattern {
    pub fn parse(pattern: &[u8]) -> Pattern {
        let tokens = tokenize(pattern);
        let literal = |t: &Token| match t {
            Token::Literal(b) => Some(*b),
            _ => None,
        };
        let prefix: Vec<u8> = tokens.iter().map_while(literal).collect();
        let mut suffix: Vec<u8> = tokens.iter().rev().map_while(literal).collect();
        suffix.reverse();
        Pattern {
            tokens,
            prefix,
            suffix,
        }
    }

    pub fn tokens(&self) -> &[Token] {
        &self.tokens
    }

    /// Bytes every matching channel starts with (unescaped).
    pub fn prefix(&self) -> &[u8] {
        &self.prefix
    }

    /// Bytes every matching channel ends with (unescaped). For an [`Shape::Exact`]
    /// pattern this is the whole channel, like the prefix.
    pub fn suffix(&self) -> &[u8] {
        &self.suffix
    }

    pub fn shape(&self) -> Shape {
        if self.prefix.len() == self.tokens.len() {
            // The empty pattern lands here too: it matches only the empty channel.
            Shape::Exact
        } else if !self.prefix.is_empty() {
            Shape::Prefix
        } else if !self.suffix.is_empty() {
            Shape::Suffix
        } else {
            Shape::Unanchored
        }
    }
}

/// Bytes every channel matching `pattern` starts with. Convenience for one-off use;
/// parse once with [`Pattern::parse`] when you also need the suffix.
pub fn literal_prefix(pattern: &[u8]) -> Vec<u8> {
    Pattern::parse(pattern).prefix
}

/// Bytes every channel matching `pattern` ends with.
pub fn literal_suffix(pattern: &[u8]) -> Vec<u8> {
    Pattern::parse(pattern).suffix
}

fn tokenize(p: &[u8]) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < p.len() {
        let (token, end) = match p[i] {
            b'*' => {
                let run = p[i..].iter().take_while(|&&b| b == b'*').count();
                (Token::Star, i + run)
            }
            b'?' => (Token::AnyOne, i + 1),
            b'\\' => match p.get(i + 1) {
                Some(&e) => (Token::Literal(e), i + 2),
                None => (Token::Literal(b'\\'), i + 1),
            },
            b'[' => scan_class(p, i),
            b => (Token::Literal(b), i + 1),
        };
        tokens.push(token);
        i = end;
    }
    tokens
}

/// Scans the class opened by `p[open] == b'['` with the matcher's rules (escape, then
/// `]`, then range, then literal) and returns it with the index just past it.
fn scan_class(p: &[u8], open: usize) -> (Token, usize) {
    let negated = p.get(open + 1) == Some(&b'^');
    let start = open + 1 + usize::from(negated);
    let mut i = start;
    loop {
        match p.get(i) {
            // Unterminated: members run to the end of the pattern, which ends the class.
            None => {
                let members = start..p.len();
                return (Token::Class { negated, members }, p.len());
            }
            Some(b'\\') if i + 1 < p.len() => i += 2,
            Some(b']') => {
                let members = start..i;
                return (Token::Class { negated, members }, i + 1);
            }
            // A range's end may be `]`; it is then a bound, not the close (`[a-]x`).
            Some(_) if i + 2 < p.len() && p[i + 1] == b'-' => i += 3,
            Some(_) => i += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::glob::matches;
    use crate::test_rng::Rng;

    fn parsed(p: &[u8]) -> (Vec<u8>, Vec<u8>, Shape) {
        let pat = Pattern::parse(p);
        (pat.prefix().to_vec(), pat.suffix().to_vec(), pat.shape())
    }

    #[test]
    fn prefix_stops_at_first_wildcard() {
        assert_eq!(
            parsed(b"tenant:7:*"),
            (b"tenant:7:".to_vec(), vec![], Shape::Prefix)
        );
        assert_eq!(
            parsed(b"ab?c"),
            (b"ab".to_vec(), b"c".to_vec(), Shape::Prefix)
        );
        assert_eq!(parsed(b"a[bc]"), (b"a".to_vec(), vec![], Shape::Prefix));
    }

    #[test]
    fn suffix_only_when_pattern_starts_with_wildcard() {
        assert_eq!(
            parsed(b"*.errors42"),
            (vec![], b".errors42".to_vec(), Shape::Suffix)
        );
        assert_eq!(parsed(b"*7?x*"), (vec![], vec![], Shape::Unanchored));
        assert_eq!(parsed(b"*"), (vec![], vec![], Shape::Unanchored));
    }

    #[test]
    fn escapes_count_as_literal_bytes() {
        assert_eq!(parsed(b"a\\*b*"), (b"a*b".to_vec(), vec![], Shape::Prefix));
        assert_eq!(parsed(b"*\\?"), (vec![], b"?".to_vec(), Shape::Suffix));
        // A trailing lone backslash is a literal backslash.
        assert_eq!(parsed(b"*x\\"), (vec![], b"x\\".to_vec(), Shape::Suffix));
    }

    #[test]
    fn unterminated_class_swallows_the_tail() {
        // `[a-]x` is one class {']'..='a', 'x'}: the `x` is a class member, not a suffix.
        assert_eq!(parsed(b"*[a-]x"), (vec![], vec![], Shape::Unanchored));
        assert_eq!(parsed(b"n[bc"), (b"n".to_vec(), vec![], Shape::Prefix));
        assert_eq!(
            Pattern::parse(b"[a-]x").tokens(),
            &[Token::Class {
                negated: false,
                members: 1..5
            }]
        );
    }

    #[test]
    fn class_tokens_record_members_and_negation() {
        assert_eq!(
            Pattern::parse(b"[^]]x").tokens(),
            &[
                Token::Class {
                    negated: true,
                    members: 2..2
                },
                Token::Literal(b']'),
                Token::Literal(b'x'),
            ]
        );
        assert_eq!(
            Pattern::parse(b"[ab]").tokens(),
            &[Token::Class {
                negated: false,
                members: 1..3
            }]
        );
        assert_eq!(
            Pattern::parse(b"[^").tokens(),
            &[Token::Class {
                negated: true,
                members: 2..2
            }]
        );
    }

    #[test]
    fn star_runs_collapse_and_literal_pattern_is_exact() {
        assert_eq!(
            Pattern::parse(b"a**b").tokens(),
            &[Token::Literal(b'a'), Token::Star, Token::Literal(b'b')]
        );
        assert_eq!(
            parsed(b"abc"),
            (b"abc".to_vec(), b"abc".to_vec(), Shape::Exact)
        );
        assert_eq!(parsed(b""), (vec![], vec![], Shape::Exact));
    }

    #[test]
    fn token_boundaries_agree_with_the_matcher() {
        let alphabet = b"*?[]^-\\ab";
        let mut rng = Rng(0xdead_beef_cafe_f00d);
        for _ in 0..20_000 {
            let len = rng.below(9);
            let p: Vec<u8> = (0..len).map(|_| rng.pick(alphabet)).collect();
            let mut i = 0;
            while i < p.len() {
                let (_, end) = match p[i] {
                    b'[' => scan_class(&p, i),
                    b'*' => (Token::Star, i + 1),
                    _ => (Token::AnyOne, crate::glob::token_end(&p, i)),
                };
                if p[i] != b'*' {
                    assert_eq!(
                        end,
                        crate::glob::token_end(&p, i),
                        "{:?}",
                        p.escape_ascii().to_string()
                    );
                }
                i = end;
            }
        }
    }

    /// A channel built from the pattern's tokens, so that a good share of them match.
    fn instantiate(rng: &mut Rng, pattern: &Pattern, src: &[u8], alphabet: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for t in pattern.tokens() {
            match t {
                Token::Literal(b) => out.push(*b),
                Token::AnyOne => out.push(rng.pick(alphabet)),
                Token::Star => (0..rng.below(3)).for_each(|_| out.push(rng.pick(alphabet))),
                Token::Class { members, .. } if !members.is_empty() && rng.below(2) == 0 => {
                    out.push(src[members.start + rng.below(members.len())]);
                }
                Token::Class { .. } => out.push(rng.pick(alphabet)),
            }
        }
        out
    }

    #[test]
    fn matching_channels_start_with_prefix_and_end_with_suffix() {
        let alphabet = b"*?[]^-\\ab_x\x00\x80\xff";
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let mut hits = 0;
        for _ in 0..5000 {
            let len = rng.below(10);
            let p: Vec<u8> = (0..len).map(|_| rng.pick(alphabet)).collect();
            let pat = Pattern::parse(&p);
            for _ in 0..20 {
                let c = if rng.below(4) == 0 {
                    (0..rng.below(6)).map(|_| rng.pick(alphabet)).collect()
                } else {
                    instantiate(&mut rng, &pat, &p, alphabet)
                };
                if matches(&p, &c) {
                    hits += 1;
                    let show = (p.escape_ascii().to_string(), c.escape_ascii().to_string());
                    assert!(c.starts_with(pat.prefix()), "prefix of {show:?}");
                    assert!(c.ends_with(pat.suffix()), "suffix of {show:?}");
                    if pat.shape() == Shape::Exact {
                        assert_eq!(c, pat.prefix(), "exact {show:?}");
                    }
                }
            }
        }
        assert!(hits > 10_000, "only {hits} matches: generator too weak");
    }
}
