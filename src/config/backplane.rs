//! The `backplane*` settings (issue 10): how a node joins other respub nodes over NATS.
//! Parsed by the rows of [`super::settings::SETTINGS`]; used by `crate::backplane`.

/// What PUBLISH does with a message larger than NATS's `max_payload`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Oversize {
    /// Delivered to this node's subscribers, counted as dropped for the backplane.
    #[default]
    Drop,
    /// Refused with an error before any delivery.
    Refuse,
}

/// All `backplane*` settings. Units, defaults and limits are in the settings table.
#[derive(Clone, Debug, Default)]
pub struct BackplaneConfig {
    /// `none` (false) or `nats` (true).
    pub nats: bool,
    /// NATS server URLs of one NATS cluster, as given (comma-separated).
    pub urls: Vec<String>,
    /// Subject prefix token shared by the nodes of one logical respub cluster.
    pub cluster_name: String,
    pub user: String,
    pub password: String,
    pub token: String,
    /// File holding an nkey seed (`SU...`).
    pub nkey_file: String,
    /// A `.creds` file (user JWT + nkey seed).
    pub creds_file: String,
    /// Require TLS to NATS.
    pub tls: bool,
    pub tls_ca_file: String,
    pub tls_cert_file: String,
    pub tls_key_file: String,
    /// Bytes of messages waiting for NATS; past it a message is dropped for the
    /// backplane (still delivered locally) and counted.
    pub queue_bytes: u64,
    /// Milliseconds a cluster-wide PUBSUB waits for other nodes' answers.
    pub request_timeout_ms: u64,
    pub oversize: Oversize,
    /// `/readyz` answers 503 while the NATS connection is down.
    pub ready_required: bool,
    /// Messages one NATS subscription may buffer before NATS-side drops (slow consumer).
    pub inbound_capacity: u64,
    /// Longest NATS subject, bytes; channels whose subject is longer stay local.
    pub max_subject_len: u64,
    /// PUBLISH replies with this node's receivers plus the other nodes' as last seen.
    pub publish_count_cluster: bool,
    /// Channels whose remote counts are kept for `publish_count_cluster`.
    pub count_cache: u64,
}

/// A cluster name is one NATS subject token that needs no escaping.
pub fn valid_cluster_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
