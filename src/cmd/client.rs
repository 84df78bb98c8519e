//! CLIENT subcommands: ID, SETNAME, GETNAME, SETINFO, INFO, LIST, KILL, REPLY,
//! NO-EVICT, NO-TOUCH, HELP. PAUSE/UNPAUSE live in `pause`, TRACKING and its
//! companions in `tracking`.

use super::{parse_i64, pubsub::help_lines, table, Ctx};
use crate::conn::client::Client;
use crate::conn::outbox::CloseReason;
use crate::error::CmdError;
use bytes::Bytes;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

pub fn id(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    let id = ctx.client.id as i64;
    ctx.reply().int(id);
    Ok(())
}

/// Names and lib attributes may only hold printable ASCII without spaces.
fn printable(v: &[u8]) -> bool {
    v.iter().all(|&b| (b'!'..=b'~').contains(&b))
}

/// Shared by CLIENT SETNAME and HELLO SETNAME.
pub fn set_name(ctx: &mut Ctx<'_>, name: Bytes) -> Result<(), CmdError> {
    if !printable(&name) {
        return Err(CmdError::ClientNameChars);
    }
    ctx.client
        .set_names(|n| n.name = if name.is_empty() { None } else { Some(name) });
    Ok(())
}

pub fn setname(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    set_name(ctx, args[2].clone())?;
    ctx.ok();
    Ok(())
}

pub fn getname(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    match ctx.client.names().name {
        Some(n) => ctx.reply().bulk(&n),
        None => ctx.reply().null(),
    }
    Ok(())
}

pub fn setinfo(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    let attr = &args[2];
    let value = args[3].clone();
    let is_name = attr.eq_ignore_ascii_case(b"lib-name");
    if !is_name && !attr.eq_ignore_ascii_case(b"lib-ver") {
        return Err(CmdError::UnrecognizedOption(attr.clone()));
    }
    if !printable(&value) {
        return Err(CmdError::ClientInfoChars(if is_name {
            "lib-name"
        } else {
            "lib-ver"
        }));
    }
    let value = if value.is_empty() { None } else { Some(value) };
    ctx.client.set_names(|n| {
        if is_name {
            n.lib_name = value;
        } else {
            n.lib_ver = value;
        }
    });
    ctx.ok();
    Ok(())
}

/// Read chunk the `qbuf-free` / `rbs` fields are reported against.
const QBUF_CHUNK: u64 = 16 * 1024;

/// One CLIENT LIST / CLIENT INFO line, fields in Redis 7.2's order.
pub fn client_line(c: &Client) -> String {
    let names = c.names();
    let text = |b: &Option<Bytes>| {
        b.as_ref()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default()
    };
    let mut flags = String::new();
    if c.monitor.load(Relaxed) {
        flags.push('O');
    }
    if c.is_pubsub() {
        flags.push('P');
    }
    if c.multi.load(Relaxed) >= 0 {
        flags.push('x');
    }
    let redir = c.tracking_redir.load(Relaxed);
    if redir >= 0 {
        flags.push('t');
    }
    if c.tracking_bcast.load(Relaxed) {
        flags.push('B');
    }
    // Redis's order: P x ... t B ... U (redis-server 7.0.15 prints `flags=xU` in MULTI).
    if c.addr.is_unix() {
        flags.push('U');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let omem = c.outbox.queued();
    let qbuf = c.qbuf.load(Relaxed);
    let multi_mem = c.multi_mem.load(Relaxed);
    // respub has no fixed-size query buffer; report what is left of the 16 KiB read
    // chunk the pending bytes would occupy (Redis: sdsavail of its query buffer).
    let qbuf_free = if qbuf == 0 {
        0
    } else {
        QBUF_CHUNK - qbuf % QBUF_CHUNK
    };
    let last = c.last_cmd.load(Relaxed);
    let cmd = if last == usize::MAX {
        "NULL"
    } else {
        table::name_by_addr(last)
    };
    let mut line = String::with_capacity(320);
    let _ = write!(
        line,
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free={} argv-mem={} multi-mem={} rbs={} rbp=0 obl=0 oll=0 omem={} tot-mem={} events=r cmd={} user={} redir={} resp={} lib-name={} lib-ver={}",
        c.id,
        c.addr,
        c.laddr,
        c.fd,
        text(&names.name),
        c.created.elapsed().as_secs(),
        c.idle_secs(),
        flags,
        c.db.load(Relaxed),
        c.sub.load(Relaxed),
        c.psub.load(Relaxed),
        c.ssub.load(Relaxed),
        c.multi.load(Relaxed),
        qbuf,
        qbuf_free,
        c.argv_mem.load(Relaxed),
        multi_mem,
        if qbuf == 0 { 0 } else { QBUF_CHUNK },
        omem,
        omem + qbuf + multi_mem + 1024,
        cmd,
        String::from_utf8_lossy(&c.user()),
        redir,
        c.resp.load(Relaxed),
        text(&names.lib_name),
        text(&names.lib_ver),
    );
    line
}

pub fn info(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    let mut line = client_line(ctx.client);
    line.push('\n');
    ctx.reply().verbatim(b"txt", line.as_bytes());
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Type {
    Normal,
    Pubsub,
    /// master / replica / slave: never present here.
    Other,
}

fn parse_type(v: &[u8]) -> Option<Type> {
    let v = v.to_ascii_lowercase();
    Some(match &v[..] {
        b"normal" => Type::Normal,
        b"pubsub" => Type::Pubsub,
        b"master" | b"replica" | b"slave" => Type::Other,
        _ => return None,
    })
}

fn type_of(c: &Client) -> Type {
    if c.is_pubsub() {
        Type::Pubsub
    } else {
        Type::Normal
    }
}

fn unknown_client_type(v: &[u8]) -> CmdError {
    CmdError::UnknownClientType(Bytes::copy_from_slice(v))
}

/// CLIENT LIST [TYPE normal|master|replica|pubsub] [ID id [id ...]]
pub fn list(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    let mut text = String::new();
    let mut push = |c: &Client| {
        text.push_str(&client_line(c));
        text.push('\n');
    };
    if args.len() == 4 && args[2].eq_ignore_ascii_case(b"type") {
        let want = parse_type(&args[3]).ok_or_else(|| unknown_client_type(&args[3]))?;
        ctx.shared
            .clients
            .snapshot()
            .iter()
            .filter(|c| type_of(c) == want)
            .for_each(|c| push(c));
    } else if args.len() >= 4 && args[2].eq_ignore_ascii_case(b"id") {
        let mut ids = Vec::with_capacity(args.len() - 3);
        for a in &args[3..] {
            ids.push(parse_i64(a).map_err(|_| CmdError::InvalidClientIdList)?);
        }
        // One pass over the clients, then a lookup per id: ids + clients, not
        // ids x clients. Lines come in argument order, a repeated id repeats its line,
        // and an unknown id (0 and negatives included) is skipped; only a non-integer
        // is an error (redis-server 7.0.15: `getLongLongFromObjectOrReply(...,
        // "Invalid client ID")`).
        let by_id: HashMap<u64, Arc<Client>> = ctx
            .shared
            .clients
            .snapshot()
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        for id in ids {
            if let Some(c) = u64::try_from(id).ok().and_then(|id| by_id.get(&id)) {
                push(c);
            }
        }
    } else if args.len() == 2 {
        ctx.shared.clients.snapshot().iter().for_each(|c| push(c));
    } else {
        return Err(CmdError::Syntax);
    }
    ctx.reply().verbatim(b"txt", text.as_bytes());
    Ok(())
}

/// CLIENT KILL addr:port | CLIENT KILL <filter> <value> ...
pub fn kill(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    let clients = ctx.shared.clients.snapshot();
    if args.len() == 3 {
        // Old form: one address, +OK or an error.
        let target = clients
            .iter()
            .find(|c| c.addr.to_string().as_bytes() == &args[2][..]);
        return match target {
            Some(c) => {
                kill_client(ctx, c);
                ctx.ok();
                Ok(())
            }
            None => Err(CmdError::NoSuchClient),
        };
    }
    if !args.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    let mut id = None;
    let mut ty = None;
    let mut addr = None;
    let mut laddr = None;
    let mut user: Option<Bytes> = None;
    let mut skipme = true;
    for pair in args[2..].chunks(2) {
        let (key, value) = (pair[0].to_ascii_lowercase(), &pair[1]);
        match &key[..] {
            b"id" => {
                id = Some(
                    parse_i64(value)
                        .ok()
                        .filter(|&i| i > 0)
                        .ok_or(CmdError::InvalidClientId)? as u64,
                )
            }
            b"type" => ty = Some(parse_type(value).ok_or_else(|| unknown_client_type(value))?),
            b"addr" => addr = Some(value.clone()),
            b"laddr" => laddr = Some(value.clone()),
            b"user" => {
                if ctx.shared.acl.user(value).is_none() {
                    return Err(CmdError::NoSuchUser(value.clone()));
                }
                user = Some(value.clone());
            }
            b"skipme" => {
                skipme = match &value.to_ascii_lowercase()[..] {
                    b"yes" => true,
                    b"no" => false,
                    _ => return Err(CmdError::Syntax),
                }
            }
            b"maxage" => {
                parse_i64(value)?;
            }
            _ => return Err(CmdError::Syntax),
        }
    }
    let mut killed = 0;
    for c in &clients {
        if id.is_some_and(|i| i != c.id)
            || ty.is_some_and(|t| t != type_of(c))
            || addr
                .as_ref()
                .is_some_and(|a| c.addr.to_string().as_bytes() != &a[..])
            || laddr
                .as_ref()
                .is_some_and(|a| c.laddr.to_string().as_bytes() != &a[..])
            || (skipme && c.id == ctx.client.id)
            || user.as_ref().is_some_and(|u| c.user() != *u)
        {
            continue;
        }
        kill_client(ctx, c);
        killed += 1;
    }
    ctx.reply().int(killed);
    Ok(())
}

fn kill_client(ctx: &mut Ctx<'_>, c: &Client) {
    if c.id == ctx.client.id {
        // Killing yourself: the reply is still written, then the connection closes.
        ctx.session.close_after_reply = true;
    } else {
        c.kill(CloseReason::Killed);
    }
}

pub fn reply(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    let mode = args[2].to_ascii_lowercase();
    match &mode[..] {
        b"on" => {
            ctx.session.reply = Default::default();
            // Replies were silenced for this very command; ON answers anyway.
            ctx.out_unsilence();
            ctx.ok();
        }
        b"off" => ctx.session.reply.off = true,
        b"skip" => {
            if !ctx.session.reply.off {
                ctx.session.reply.skip_next = true;
            }
        }
        _ => return Err(CmdError::Syntax),
    }
    Ok(())
}

pub fn no_evict(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    let v = args[2].to_ascii_lowercase();
    if &v[..] != b"on" && &v[..] != b"off" {
        return Err(CmdError::Syntax);
    }
    ctx.ok();
    Ok(())
}

const HELP: &[&str] = &[
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "    * ID <client-id>",
    "      Kill connections by client id.",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "NO-TOUCH (ON|OFF)",
    "    Will not touch LRU/LFU stats when this mode is on.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "SETINFO <option> <value>",
    "    Set client meta attr. Options are:",
    "    * LIB-NAME: the client lib name.",
    "    * LIB-VER: the client lib version.",
    "HELP",
    "    Print this help.",
];

pub fn help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    help_lines(ctx, HELP);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::Peer;

    fn field<'a>(line: &'a str, name: &str) -> &'a str {
        line.split(' ')
            .find_map(|f| f.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
            .unwrap_or_else(|| panic!("no {name} in {line}"))
    }

    #[test]
    fn qbuf_free_is_what_is_left_of_the_read_chunk() {
        let addr = Peer::Tcp("127.0.0.1:1".parse().unwrap());
        let c = Client::new(1, addr.clone(), addr, -1);
        assert_eq!(field(&client_line(&c), "qbuf-free"), "0");
        c.qbuf.store(100, Relaxed);
        let line = client_line(&c);
        assert_eq!(field(&line, "qbuf"), "100");
        assert_eq!(field(&line, "qbuf-free"), (16 * 1024 - 100).to_string());
        c.multi_mem.store(4096, Relaxed);
        assert_eq!(field(&client_line(&c), "multi-mem"), "4096");
    }

    #[test]
    fn unix_socket_clients_show_the_path_and_flag_u() {
        let path = Peer::Unix("/run/respub.sock".into());
        let c = Client::new(1, path.clone(), path, -1);
        let line = client_line(&c);
        assert_eq!(field(&line, "addr"), "/run/respub.sock:0");
        assert_eq!(field(&line, "laddr"), "/run/respub.sock:0");
        assert_eq!(field(&line, "flags"), "U");
        c.multi.store(0, Relaxed);
        assert_eq!(field(&client_line(&c), "flags"), "xU");
    }
}
