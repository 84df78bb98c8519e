//! respub: a pub/sub server that speaks the Redis protocol (RESP2 and RESP3) and behaves
//! like Redis 7.2 for pub/sub, byte for byte.
//!
//! Data flows one way:
//!
//! ```text
//! socket -> transport -> resp::Decoder -> args -> cmd (checks, handlers) -> registry
//!        -> outbox -> transport -> socket
//! ```
//!
//! - [`resp`] knows bytes and frames: a resumable request decoder and a reply encoder.
//! - [`cmd`] knows argument grammar and Redis's wording (through [`error`]), not sockets.
//! - [`registry`] knows who is subscribed to what; publish encodes a message body once
//!   and pushes pre-encoded bytes into subscribers' outboxes.
//! - [`conn`] owns a socket, its protocol version, its subscriptions and its outbox — a
//!   byte-bounded queue that enforces Redis's `client-output-buffer-limit`, so a slow
//!   subscriber is dropped while publishers never wait.
//! - [`glob`] is Redis's pattern matcher, byte-exact, used by PSUBSCRIBE and PUBSUB.
//! - [`transport`] is the byte pipe under a connection: TCP, TLS (rustls) or a Unix
//!   socket, one enum the connection loop reads and writes through.
//! - [`server`] accepts connections, runs the cron and shuts down gracefully.
//! - [`admin`] is the optional HTTP port: Prometheus `/metrics`, `/healthz`, `/readyz`.
//! - [`stats`] holds the counters, per-command histograms, SLOWLOG and latency monitor.

pub mod acl;
pub mod admin;
pub mod backplane;
pub mod bind;
pub mod cmd;
pub mod config;
pub mod conn;
pub mod error;
#[doc(hidden)]
pub mod fuzz;
pub mod glob;
pub mod logging;
pub mod memtrim;
pub mod registry;
pub mod resp;
pub mod server;
pub mod stats;
#[cfg(test)]
mod test_rng;
pub mod transport;
pub mod web;
