//! Connection commands: PING, ECHO, QUIT, RESET, HELLO, AUTH, SELECT, and the keyspace
//! commands clients and tools send that have nothing to act on here (FLUSHALL, DBSIZE).

use super::{acl, parse_i64, subscribe, Ctx};
use crate::conn::outbox::CloseReason;
use crate::error::CmdError;
use crate::resp::Proto;
use bytes::Bytes;
use std::sync::atomic::Ordering::Relaxed;
use tracing::warn;

/// The Redis version respub reports (HELLO, INFO): the release whose pub/sub
/// behaviour it follows. Clients gate features on it.
pub const REDIS_VERSION: &str = "7.2.4";

pub fn ping(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    if args.len() > 2 {
        return Err(CmdError::WrongArity("ping"));
    }
    // RESP2 clients in subscribe mode get a `pong` array (redis-py and go-redis health
    // checks parse exactly this shape).
    if ctx.session.in_resp2_pubsub() {
        let mut e = ctx.reply();
        e.array(2);
        e.bulk(b"pong");
        e.bulk(args.get(1).map_or(&b""[..], |a| &a[..]));
    } else {
        match args.get(1) {
            Some(msg) => ctx.reply().bulk(msg),
            None => ctx.reply().simple("PONG"),
        }
    }
    Ok(())
}

pub fn echo(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    ctx.reply().bulk(&args[1]);
    Ok(())
}

pub fn quit(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    ctx.ok();
    ctx.session.close_after_reply = true;
    Ok(())
}

/// RESET: back to a fresh connection's state, dropping subscriptions without frames.
pub fn reset(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    subscribe::drop_all(ctx);
    super::multi::clear(ctx);
    ctx.session.reply = Default::default();
    super::tracking::set(ctx, None);
    super::monitor::stop(ctx);
    // Replies were off when RESET started; Redis clears the flag first and answers.
    ctx.out_unsilence();
    ctx.session.db = 0;
    ctx.client.db.store(0, Relaxed);
    set_proto(ctx, Proto::Resp2);
    ctx.client.set_names(|n| n.name = None);
    acl::logout(ctx);
    ctx.reply().simple("RESET");
    Ok(())
}

/// The outbox switches when the reply is queued (outbox rule 5), not here.
fn set_proto(ctx: &mut Ctx<'_>, proto: Proto) {
    ctx.session.proto = proto;
    ctx.client.resp.store(proto.version() as u8, Relaxed);
}

pub fn auth(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let (user, pass) = match args.len() {
        2 => (None, &args[1]),
        _ => (Some(&args[1][..]), &args[2]),
    };
    if user.is_none() && ctx.shared.acl.default_user().nopass {
        return Err(CmdError::AuthNotConfigured);
    }
    if let Some(grants) = user.and_then(|u| acl::authenticate_token(ctx, u, pass)) {
        acl::login_token(ctx, grants);
        ctx.ok();
        return Ok(());
    }
    let Some(found) = acl::authenticate(ctx, &args[0], user.unwrap_or(b"default"), pass) else {
        return Err(CmdError::WrongPass);
    };
    acl::login(ctx, found);
    ctx.ok();
    Ok(())
}

/// HELLO [protover [AUTH user pass] [SETNAME name]]
pub fn hello(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    let mut proto = None;
    if let Some(v) = args.get(1) {
        let v = parse_i64(v).map_err(|_| CmdError::ProtocolVersionNotInteger)?;
        proto = Some(match v {
            2 => Proto::Resp2,
            3 => Proto::Resp3,
            _ => return Err(CmdError::NoProto),
        });
    }
    let mut creds = None;
    let mut name = None;
    let mut j = 2;
    while j < args.len() {
        let more = args.len() - 1 - j;
        let opt = &args[j];
        if opt.eq_ignore_ascii_case(b"AUTH") && more >= 2 {
            creds = Some((args[j + 1].clone(), args[j + 2].clone()));
            j += 3;
        } else if opt.eq_ignore_ascii_case(b"SETNAME") && more >= 1 {
            name = Some(args[j + 1].clone());
            j += 2;
        } else {
            return Err(CmdError::HelloSyntax(opt.clone()));
        }
    }
    if let Some((user, pass)) = creds {
        let Some(found) = acl::authenticate(ctx, &args[0], &user, &pass) else {
            return Err(CmdError::WrongPass);
        };
        acl::login(ctx, found);
    }
    if !ctx.session.authenticated {
        return Err(CmdError::HelloNoAuth);
    }
    if let Some(name) = name {
        super::client::set_name(ctx, name)?;
    }
    if let Some(p) = proto {
        set_proto(ctx, p);
    }
    let id = ctx.client.id as i64;
    let version = ctx.session.proto.version();
    let mut e = ctx.reply();
    e.map(7);
    e.bulk(b"server");
    e.bulk(b"redis");
    e.bulk(b"version");
    e.bulk(REDIS_VERSION.as_bytes());
    e.bulk(b"proto");
    e.int(version);
    e.bulk(b"id");
    e.int(id);
    e.bulk(b"mode");
    e.bulk(b"standalone");
    e.bulk(b"role");
    e.bulk(b"master");
    e.bulk(b"modules");
    e.array(0);
    Ok(())
}

pub fn select(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    let db = parse_i64(&args[1])?;
    if db < 0 || db as u64 >= ctx.shared.databases() {
        return Err(CmdError::DbIndexOutOfRange);
    }
    ctx.session.db = db;
    ctx.client.db.store(db, Relaxed);
    ctx.ok();
    Ok(())
}

/// FLUSHALL / FLUSHDB [ASYNC|SYNC]: there are no keys, so nothing to flush.
pub fn flush(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    match args.len() {
        1 => {}
        2 if args[1].eq_ignore_ascii_case(b"async") || args[1].eq_ignore_ascii_case(b"sync") => {}
        _ => return Err(CmdError::Syntax),
    }
    ctx.ok();
    Ok(())
}

pub fn dbsize(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    ctx.reply().int(0);
    Ok(())
}

pub fn time(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let mut e = ctx.reply();
    e.array(2);
    e.bulk(now.as_secs().to_string().as_bytes());
    e.bulk(now.subsec_micros().to_string().as_bytes());
    Ok(())
}

/// `POST` / `Host:` as a command means a browser was pointed at the port (cross-protocol
/// scripting); Redis logs it and drops the connection at once, discarding even replies
/// to earlier commands that were not written yet.
pub fn security_warning(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    warn!(client = ctx.client.id, peer = %ctx.client.addr, reason = "security", "possible SECURITY ATTACK detected: HTTP sent to the Redis port; connection dropped");
    ctx.session.close_after_reply = true;
    ctx.client.kill(CloseReason::Killed);
    Ok(())
}
