//! Long patterns with classes, compiled once per match: each `[...]` becomes a 256-bit
//! set, so testing a channel byte against a class costs the same whatever its length.
//!
//! The direct matcher in `super` re-reads a class's members for every channel byte it
//! tests, like Redis's `stringmatchlen`. For `*[<100 KB of members>]` against a 100 KB
//! channel that is 10^10 steps, and the publisher holding the registry meanwhile stalls
//! everyone else (issue 11, the class half of CVE-2024-31228's "long patterns"). Here
//! the same pattern costs one pass to compile plus one step per channel byte.
//!
//! Semantics are the direct matcher's, token for token: the sets are built by
//! [`super::class_set`], which walks a class exactly as [`super::match_class`] does,
//! and the loop below is [`super::backtrack`] over tokens instead of bytes. Tests
//! compare the two paths and the oracle.

use super::class_set;

/// One compiled token.
#[derive(Clone, Copy, Debug)]
enum Token {
    /// A run of `*`.
    Star,
    /// `?`.
    AnyOne,
    /// A literal byte (escaped or not).
    Byte(u8),
    /// A class, as the set of bytes it accepts (negation already applied).
    Set([u64; 4]),
}

impl Token {
    #[inline]
    fn accepts(&self, c: u8) -> bool {
        match *self {
            Token::AnyOne => true,
            Token::Byte(b) => b == c,
            Token::Set(set) => set[usize::from(c >> 6)] & (1 << (c & 63)) != 0,
            Token::Star => unreachable!("stars are handled by the matching loop"),
        }
    }
}

fn compile(p: &[u8]) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            b'*' => {
                while i < p.len() && p[i] == b'*' {
                    i += 1;
                }
                tokens.push(Token::Star);
            }
            b'?' => {
                tokens.push(Token::AnyOne);
                i += 1;
            }
            b'[' => {
                let (set, end) = class_set(p, i + 1);
                tokens.push(Token::Set(set));
                i = end;
            }
            // A trailing lone backslash is an ordinary literal byte.
            b'\\' => match p.get(i + 1) {
                Some(&e) => {
                    tokens.push(Token::Byte(e));
                    i += 2;
                }
                None => {
                    tokens.push(Token::Byte(b'\\'));
                    i += 1;
                }
            },
            b => {
                tokens.push(Token::Byte(b));
                i += 1;
            }
        }
    }
    tokens
}

/// Glob match of a non-empty `s`, without the nesting limit (the caller applies it).
pub(super) fn matches_nonempty(p: &[u8], s: &[u8]) -> bool {
    let t = compile(p);
    let (mut ti, mut si) = (0usize, 0usize);
    // As in `super::backtrack`: the token after the last star, and where in `s` that
    // star should next try to stop.
    let mut resume: Option<(usize, usize)> = None;
    loop {
        if ti < t.len() {
            if let Token::Star = t[ti] {
                ti += 1;
                if ti == t.len() {
                    return true;
                }
                resume = Some((ti, si));
                continue;
            }
            if let Some(&c) = s.get(si) {
                if t[ti].accepts(c) {
                    ti += 1;
                    si += 1;
                    continue;
                }
            }
        } else if si == s.len() {
            return true;
        }
        match resume {
            Some((rt, rs)) if rs < s.len() => {
                resume = Some((rt, rs + 1));
                ti = rt;
                si = rs + 1;
            }
            _ => return false,
        }
    }
}
