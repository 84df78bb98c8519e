//! A connection's address as Redis shows it (CLIENT LIST `addr=`/`laddr=`, CLIENT KILL
//! ADDR/LADDR, logs), and whether it counts as local for protected mode.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

/// One end of a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peer {
    Tcp(SocketAddr),
    /// The listening socket's path exactly as configured (`unixsocket`). Redis prints it,
    /// with port 0, for both ends of every Unix-socket client (networking.c
    /// `genClientAddrString`: `"%s:0", server.unixsocket`).
    Unix(Arc<str>),
}

impl Peer {
    /// Whether protected mode lets this peer in without a password. Redis 7.0.15 lets in
    /// Unix-socket clients and TCP peers whose address is exactly `127.0.0.1` or `::1`
    /// (it compares the printed address): a client bound to 127.0.0.2 gets `-DENIED`
    /// from redis-server, so the rest of 127.0.0.0/8 is not local here either.
    /// `::ffff:127.0.0.1` is the IPv4 loopback seen through a dual-stack IPv6 socket;
    /// Redis sets IPV6_V6ONLY and never sees that form, so it counts as `127.0.0.1`.
    pub fn is_loopback(&self) -> bool {
        match self {
            Peer::Unix(_) => true,
            Peer::Tcp(a) => match a.ip() {
                IpAddr::V4(ip) => ip == Ipv4Addr::LOCALHOST,
                IpAddr::V6(ip) => {
                    ip == Ipv6Addr::LOCALHOST || ip.to_ipv4_mapped() == Some(Ipv4Addr::LOCALHOST)
                }
            },
        }
    }

    /// A Unix-socket connection (CLIENT LIST flag `U`).
    pub fn is_unix(&self) -> bool {
        matches!(self, Peer::Unix(_))
    }
}

impl fmt::Display for Peer {
    /// `127.0.0.1:5555`, `[::1]:5555` (brackets, as redis-server 7.0.15 prints them;
    /// anet.c `anetFormatAddr`), `/run/redis.sock:0`. An IPv6 scope id is left out, as
    /// `inet_ntop` leaves it out in Redis.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Peer::Tcp(SocketAddr::V4(a)) => write!(f, "{}:{}", a.ip(), a.port()),
            Peer::Tcp(SocketAddr::V6(a)) => write!(f, "[{}]:{}", a.ip(), a.port()),
            Peer::Unix(path) => write!(f, "{path}:0"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddrV6;

    fn tcp(s: &str) -> Peer {
        Peer::Tcp(s.parse().expect("test address"))
    }

    #[test]
    fn addresses_print_as_redis_prints_them() {
        assert_eq!(tcp("127.0.0.1:5555").to_string(), "127.0.0.1:5555");
        assert_eq!(tcp("[::1]:5555").to_string(), "[::1]:5555");
        let scoped = SocketAddrV6::new("fe80::1".parse().expect("ip"), 7, 0, 3);
        assert_eq!(Peer::Tcp(SocketAddr::V6(scoped)).to_string(), "[fe80::1]:7");
        assert_eq!(
            Peer::Unix("/tmp/redis.sock".into()).to_string(),
            "/tmp/redis.sock:0"
        );
    }

    #[test]
    fn only_redis_local_addresses_are_loopback() {
        assert!(Peer::Unix("x.sock".into()).is_loopback());
        assert!(tcp("127.0.0.1:1").is_loopback());
        assert!(tcp("[::1]:1").is_loopback());
        assert!(tcp("[::ffff:127.0.0.1]:1").is_loopback());
        assert!(!tcp("127.0.0.2:1").is_loopback());
        assert!(!tcp("10.0.0.1:1").is_loopback());
        assert!(!tcp("[::2]:1").is_loopback());
    }
}
