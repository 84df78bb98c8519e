//! Plain TCP: accepting with Nagle off, and the two addresses CLIENT LIST shows. Binding
//! (bind list, `*`, `-` prefix, v6only) stays with `server`.

use super::{Peer, Stream};
use std::io;
use tokio::net::TcpListener;

pub(super) async fn accept(listener: &TcpListener) -> io::Result<(Stream, Peer, Peer)> {
    let (stream, addr) = listener.accept().await?;
    // Replies and deliveries are written whole, in batches; Nagle would only delay them.
    let _ = stream.set_nodelay(true);
    let laddr = stream.local_addr().unwrap_or(addr);
    Ok((Stream::Tcp(stream), Peer::Tcp(addr), Peer::Tcp(laddr)))
}
