//! Parsed glob patterns (work in progress).
