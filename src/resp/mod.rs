//! RESP wire format: a resumable request decoder (multibulk and inline commands, with
//! Redis's limits and protocol-error wording) and a reply encoder for RESP2 and RESP3.
//! Knows bytes and frames, nothing about commands.

pub mod decode;
pub mod encode;

pub use decode::{DecodeLimits, Decoder, ProtocolError};
pub use encode::{Encoder, Proto};
