//! INFO errorstats: error replies counted by their code, the first word of the error
//! text (`ERR`, `NOAUTH`, `WRONGPASS`, `EXECABORT`...), as Redis's `afterErrorReply`
//! does: the code is the text up to the first space within its first 32 bytes, and
//! `ERR` when there is no space there.
//!
//! Errors are not a hot path (a command that errs already costs a formatted reply), so
//! the table is a short list under a mutex. Like Redis (`ERROR_STATS_NUMBER`), at most
//! 128 codes are tracked; later new codes are counted only in the total.

use std::sync::Mutex;

const MAX_CODES: usize = 128;

#[derive(Debug, Default)]
pub struct ErrorStats {
    codes: Mutex<Vec<(String, u64)>>,
}

/// The error code of a reply text without its leading `-`.
pub fn code(text: &[u8]) -> &[u8] {
    let head = &text[..text.len().min(32)];
    match memchr::memchr(b' ', head) {
        Some(n) if n > 0 => &text[..n],
        _ => b"ERR",
    }
}

impl ErrorStats {
    pub fn record(&self, text: &[u8]) {
        let code = String::from_utf8_lossy(code(text));
        let mut codes = self.codes.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = codes.iter_mut().find(|(c, _)| *c == code) {
            entry.1 += 1;
        } else if codes.len() < MAX_CODES {
            codes.push((code.into_owned(), 1));
        }
    }

    /// (code, count), sorted by code as Redis walks its rax.
    pub fn readings(&self) -> Vec<(String, u64)> {
        let mut v = self.codes.lock().unwrap_or_else(|p| p.into_inner()).clone();
        v.sort();
        v
    }

    pub fn reset(&self) {
        self.codes.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_is_the_first_word_or_err() {
        assert_eq!(code(b"NOAUTH Authentication required."), b"NOAUTH");
        assert_eq!(code(b"ERR unknown command"), b"ERR");
        assert_eq!(code(b"nospace"), b"ERR");
        assert_eq!(code(b"A_VERY_LONG_ERROR_CODE_THAT_GOES_PAST_32 x"), b"ERR");
    }
}
