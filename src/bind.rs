//! TCP listeners from the `bind` setting, parsed as redis-server parses it:
//!
//! - several addresses, each one listener; `*` is every IPv4 address (0.0.0.0) and
//!   `::*` every IPv6 address (::);
//! - a leading `-` makes an address optional: if the machine cannot bind it (no such
//!   address, no IPv6), it is skipped with a notice instead of stopping the start —
//!   this is what lets Redis's default `* -::*` start on a host without IPv6;
//! - IPv6 sockets are IPV6_V6ONLY, so `0.0.0.0:6379` and `[::]:6379` side by side do
//!   not collide ("address in use");
//! - an error names the address and port, in Redis's words.
//!
//! (`port 0` means no TCP listener at all, as in Redis; the server does not call this
//! then. Called with 0 directly, the first listener gets a free port and the others take
//! the same one, which the tests use.)

use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use tokio::net::TcpListener;
use tracing::info;

/// One `bind` word.
#[derive(Debug, PartialEq, Eq)]
pub struct BindAddr {
    pub host: String,
    pub optional: bool,
}

pub fn parse(words: &[String]) -> Vec<BindAddr> {
    words
        .iter()
        .map(|w| match w.strip_prefix('-') {
            Some(rest) => BindAddr {
                host: rest.to_string(),
                optional: true,
            },
            None => BindAddr {
                host: w.clone(),
                optional: false,
            },
        })
        .collect()
}

fn resolve(host: &str, port: u16) -> io::Result<SocketAddr> {
    match host {
        "*" => return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port)),
        "::*" => return Ok(SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port)),
        _ => {}
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    (host, port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::AddrNotAvailable, "no address"))
}

fn listen(addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(backlog.min(i32::MAX as u32) as i32)?;
    TcpListener::from_std(socket.into())
}

/// Errors an optional address may be skipped for (Redis's list in `listenToPort`).
fn skippable(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc_errno::EADDRNOTAVAIL
                | libc_errno::EAFNOSUPPORT
                | libc_errno::EPROTONOSUPPORT
                | libc_errno::ESOCKTNOSUPPORT
                | libc_errno::EPFNOSUPPORT
                | libc_errno::ENOPROTOOPT
        )
    ) || e.kind() == io::ErrorKind::AddrNotAvailable
}

/// Linux errno values (the `libc` crate is not a dependency for six constants).
mod libc_errno {
    pub(super) const ENOPROTOOPT: i32 = 92;
    pub(super) const EPROTONOSUPPORT: i32 = 93;
    pub(super) const ESOCKTNOSUPPORT: i32 = 94;
    pub(super) const EPFNOSUPPORT: i32 = 96;
    pub(super) const EAFNOSUPPORT: i32 = 97;
    pub(super) const EADDRNOTAVAIL: i32 = 99;
}

/// Binds every address of `bind` on `port`. Must run inside the Tokio runtime.
pub fn bind_tcp(bind: &[String], port: u16, backlog: u32) -> io::Result<Vec<TcpListener>> {
    let mut listeners: Vec<TcpListener> = Vec::new();
    let mut port = port;
    for a in parse(bind) {
        let attempt = resolve(&a.host, port).and_then(|addr| listen(addr, backlog));
        match attempt {
            Ok(l) => {
                if port == 0 {
                    port = l.local_addr()?.port();
                }
                listeners.push(l);
            }
            Err(e) if a.optional && skippable(&e) => {
                info!(address = %a.host, port, error = %e, "optional bind address skipped");
            }
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!(
                        "Could not create server TCP listening socket {}:{port}: bind: {e}",
                        a.host
                    ),
                ))
            }
        }
    }
    Ok(listeners)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn parses_optional_and_wildcards() {
        let p = parse(&words("* -::* 127.0.0.1"));
        assert_eq!(
            p[0],
            BindAddr {
                host: "*".into(),
                optional: false
            }
        );
        assert_eq!(
            p[1],
            BindAddr {
                host: "::*".into(),
                optional: true
            }
        );
        assert_eq!(resolve("*", 1).unwrap().to_string(), "0.0.0.0:1");
        assert_eq!(resolve("::*", 1).unwrap().to_string(), "[::]:1");
    }

    #[tokio::test]
    async fn v4_and_v6_wildcards_share_a_port_and_optional_misses_are_skipped() {
        // 192.0.2.77 (TEST-NET-1) is not on this machine: optional, so skipped.
        let ls = bind_tcp(&words("127.0.0.1 -::1 -192.0.2.77"), 0, 16).unwrap();
        let ports: Vec<u16> = ls.iter().map(|l| l.local_addr().unwrap().port()).collect();
        assert!(
            !ports.is_empty() && ports.iter().all(|p| *p == ports[0]),
            "{ports:?}"
        );
        let port = ports[0];
        drop(ls);
        let e = bind_tcp(&words("192.0.2.77"), port, 16).unwrap_err();
        assert!(
            e.to_string().starts_with(&format!(
                "Could not create server TCP listening socket 192.0.2.77:{port}: bind:"
            )),
            "{e}"
        );
        // Address in use is not skippable even when optional.
        let held = bind_tcp(&words("127.0.0.1"), 0, 16).unwrap();
        let busy = held[0].local_addr().unwrap().port();
        assert!(bind_tcp(&words("-127.0.0.1"), busy, 16).is_err());
    }
}
