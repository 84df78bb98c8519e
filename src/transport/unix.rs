//! Unix-domain sockets (Redis `unixsocket` / `unixsocketperm`): binding the way Redis
//! does, accepting, and removing the socket file at shutdown.

use super::{Peer, Stream};
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::sync::Arc;
use tokio::net::{UnixListener, UnixSocket};
use tracing::debug;

/// A listening Unix socket and the path it was configured with.
#[derive(Debug)]
pub struct UnixBinding {
    listener: UnixListener,
    path: Arc<str>,
    /// (device, inode) of the socket file we created, so shutdown removes only ours.
    file_id: Option<(u64, u64)>,
}

/// Binds `path` as Redis does (server.c `listenToPort`/anet.c `anetUnixServer`):
/// whatever is at the path is unlinked first (a stale socket left by a crash, or any
/// other file: Redis does not look), the listen backlog is `tcp-backlog`, and a
/// non-zero `perm` is applied with chmod after bind (0 leaves the umask's mode). Between
/// bind and chmod the file briefly has the umask's mode, as in Redis.
pub fn bind_unix(path: &str, perm: u32, backlog: u32) -> io::Result<UnixBinding> {
    let context = |e: io::Error| io::Error::new(e.kind(), format!("unix socket {path}: {e}"));
    match std::fs::remove_file(path) {
        Ok(()) => debug!(path, "removed the file at the unix socket path"),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        // Redis ignores this too; bind then reports what is wrong.
        Err(e) => debug!(path, error = %e, "could not remove the file at the unix socket path"),
    }
    let socket = UnixSocket::new_stream().map_err(context)?;
    socket.bind(path).map_err(context)?;
    let listener = socket.listen(backlog).map_err(context)?;
    if perm != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(perm)).map_err(context)?;
    }
    let file_id = std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()));
    Ok(UnixBinding {
        listener,
        path: path.into(),
        file_id,
    })
}

impl UnixBinding {
    pub(super) async fn accept(&self) -> io::Result<(Stream, Peer, Peer)> {
        let (stream, _) = self.listener.accept().await?;
        // An accepted Unix socket has no address of its own: Redis names both ends
        // after the listening path.
        let peer = Peer::Unix(self.path.clone());
        // Read interest only (`socket` says why): tokio's registration is dropped here.
        let socket = super::UnixSocket::new(stream.into_std()?, |s| s.set_nonblocking(true))?;
        Ok((Stream::Unix(socket), peer.clone(), peer))
    }

    pub(super) fn path(&self) -> &str {
        &self.path
    }

    /// Removes the socket file if it is still the one bound here (another server may
    /// have replaced it since, as Redis would: its file is left alone).
    pub(super) fn remove_file(self) {
        let path = &*self.path;
        let still_ours = std::fs::symlink_metadata(path)
            .ok()
            .map(|m| (m.dev(), m.ino()))
            .is_some_and(|id| Some(id) == self.file_id);
        drop(self.listener);
        if still_ours {
            match std::fs::remove_file(path) {
                Ok(()) => debug!(path, "removed the unix socket file"),
                Err(e) => debug!(path, error = %e, "could not remove the unix socket file"),
            }
        }
    }
}
