//! Redis-exact glob matching (`stringmatchlen` with nocase = 0), byte for byte.
//! (API fixed; implementation in progress.)

/// Does `pattern` match `s` exactly as Redis 7.2+ decides it?
pub fn matches(pattern: &[u8], s: &[u8]) -> bool {
    pattern == s
}
