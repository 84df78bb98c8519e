//! Long patterns, compiled once per match so that their cost stays near one pass over
//! the channel whatever the pattern holds.
//!
//! The direct matcher in `super`, like Redis's `stringmatchlen`, re-reads a class's
//! members for every channel byte it tests, and retries a whole segment from every
//! position a star could stop at. For `*[<100 KB of members>]` or `*<50 000 x ?>b*`
//! against a 100 KB channel that is 10^9 to 10^10 steps, with the publisher holding the
//! registry meanwhile (issue 11; CVE-2024-31228 is Redis's crash on the same kind of
//! long patterns). Here each `[...]` becomes a 256-bit set, and each segment between
//! stars is found with a literal search or a bit-parallel scan (see
//! [`matches_nonempty`]).
//!
//! Semantics are the direct matcher's: the sets are built by [`super::class_set`],
//! which walks a class exactly as [`super::match_class`] does, and tests compare this
//! path with the direct one and with the oracle.

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
            Token::Star => unreachable!("segments never hold a star"),
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
///
/// Between stars a pattern is a run of one-byte tokens (a segment). The first segment
/// must match at the start of `s`, the last at its end, and each one between them is
/// placed at its leftmost fit after the previous one: with only `*` to absorb the gaps,
/// leftmost placement never loses a match. Each search scans a stretch of `s` the
/// previous ones did not, so the whole match is one pass over `s`, each byte costing
/// one step per 64 tokens of the segment being searched.
pub(super) fn matches_nonempty(p: &[u8], s: &[u8]) -> bool {
    let tokens = compile(p);
    let mut segments = tokens.split(|t| matches!(t, Token::Star));
    let first = segments.next().unwrap_or(&[]);
    let Some(last) = segments.next_back() else {
        return s.len() == first.len() && fits(first, s);
    };
    if s.len() < first.len() + last.len() {
        return false;
    }
    let end = s.len() - last.len();
    if !fits(first, &s[..first.len()]) || !fits(last, &s[end..]) {
        return false;
    }
    let mut at = first.len();
    for segment in segments {
        match find(segment, &s[at..end]) {
            Some(i) => at += i + segment.len(),
            None => return false,
        }
    }
    true
}

/// Whether the one-byte tokens of `segment` accept `s` byte for byte (same lengths).
fn fits(segment: &[Token], s: &[u8]) -> bool {
    segment.iter().zip(s).all(|(t, &c)| t.accepts(c))
}

/// Where `segment` (one-byte tokens, non-empty) first fits in `text`.
fn find(segment: &[Token], text: &[u8]) -> Option<usize> {
    let m = segment.len();
    if m > text.len() {
        return None;
    }
    let literal: Option<Vec<u8>> = segment
        .iter()
        .map(|t| match *t {
            Token::Byte(b) => Some(b),
            _ => None,
        })
        .collect();
    if let Some(needle) = literal {
        return memchr::memmem::find(text, &needle);
    }
    shift_and(segment, text)
}

/// Bit-parallel search (Shift-And): bit `j` of the state says "tokens 0..=j fit the
/// bytes just read". One step per text byte per 64 tokens.
fn shift_and(segment: &[Token], text: &[u8]) -> Option<usize> {
    let m = segment.len();
    let words = m.div_ceil(64);
    // masks[c * words + w]: which tokens accept byte c.
    let mut masks = vec![0u64; 256 * words];
    for (j, token) in segment.iter().enumerate() {
        let (w, bit) = (j / 64, 1u64 << (j % 64));
        for c in 0..=255u8 {
            if token.accepts(c) {
                masks[usize::from(c) * words + w] |= bit;
            }
        }
    }
    let mut state = vec![0u64; words];
    let (top_word, top_bit) = ((m - 1) / 64, 1u64 << ((m - 1) % 64));
    for (i, &c) in text.iter().enumerate() {
        let mask = &masks[usize::from(c) * words..][..words];
        // Every position may start a fit: shift a 1 into bit 0.
        let mut carry = 1u64;
        for (word, &accept) in state.iter_mut().zip(mask) {
            let next = *word >> 63;
            *word = ((*word << 1) | carry) & accept;
            carry = next;
        }
        if state[top_word] & top_bit != 0 {
            return Some(i + 1 - m);
        }
    }
    None
}
