//! respub: a pub/sub server that speaks the Redis protocol.
pub mod glob;
pub mod registry;
pub mod resp;
