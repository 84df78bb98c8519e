//! Resumable request decoder. (API fixed; implementation in progress.)

use bytes::{Bytes, BytesMut};

/// Limits the decoder enforces; all come from `Config`.
#[derive(Clone, Copy, Debug)]
pub struct DecodeLimits {
    /// `proto-max-bulk-len`: largest accepted bulk argument, bytes. Default 512 MiB.
    pub max_bulk_len: usize,
    /// Largest accepted multibulk count (`*<n>`). Redis: INT_MAX.
    pub max_multibulk_len: usize,
    /// Longest inline command line / count line before a protocol error. Redis: 64 KiB.
    pub max_inline_len: usize,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits {
            max_bulk_len: 512 * 1024 * 1024,
            max_multibulk_len: i32::MAX as usize,
            max_inline_len: 64 * 1024,
        }
    }
}

/// A malformed request; the connection replies `-ERR Protocol error: ...` and closes.
/// The wording lives in `crate::error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtocolError {
    TooBigInlineRequest,
    UnbalancedQuotes,
    TooBigMbulkCountString,
    InvalidMultibulkLength,
    UnauthenticatedMultibulkLength,
    TooBigBulkCountString,
    ExpectedDollar(u8),
    InvalidBulkLength,
    UnauthenticatedBulkLength,
}

/// Decodes commands from a read buffer, remembering progress inside a partly
/// received multibulk so that a large request is never re-scanned.
#[derive(Debug, Default)]
pub struct Decoder {
    limits: DecodeLimits,
}

impl Decoder {
    pub fn new(limits: DecodeLimits) -> Self {
        Decoder { limits }
    }

    /// Takes the next complete command off the front of `buf`.
    /// `Ok(None)`: need more bytes. Empty inline lines and `*0`/`*-1` are skipped.
    /// `authenticated == false` applies Redis's unauthenticated limits (count > 10,
    /// bulk > 16384).
    pub fn decode(
        &mut self,
        buf: &mut BytesMut,
        authenticated: bool,
    ) -> Result<Option<Vec<Bytes>>, ProtocolError> {
        let _ = (buf, authenticated, self.limits);
        Ok(None)
    }

    /// Bytes held by the decoder outside `buf` (arguments of a partial command);
    /// counted against the query-buffer limit.
    pub fn pending_bytes(&self) -> usize {
        0
    }

    /// How many more bytes the current partial command needs at least, if known
    /// (lets the reader reserve exactly for a big bulk).
    pub fn needed(&self) -> Option<usize> {
        None
    }
}
