//! Plain TCP: accepting with Nagle off, and the two addresses CLIENT LIST shows. Binding
//! (bind list, `*`, `-` prefix, v6only) stays with `server`.

use super::{Peer, Stream, TcpSocket};
use std::io;
use tokio::net::TcpListener;

pub(super) async fn accept(listener: &TcpListener) -> io::Result<(Stream, Peer, Peer)> {
    let (stream, addr) = listener.accept().await?;
    // Read interest only (`socket` says why): tokio's registration is dropped here.
    let stream = stream.into_std()?;
    // Replies and deliveries are written whole, in batches; Nagle would only delay them.
    let _ = stream.set_nodelay(true);
    let laddr = stream.local_addr().unwrap_or(addr);
    let socket = TcpSocket::new(stream, |s| s.set_nonblocking(true))?;
    Ok((Stream::Tcp(socket), Peer::Tcp(addr), Peer::Tcp(laddr)))
}
