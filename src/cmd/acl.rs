//! The ACL command, the permission checks every command passes (command, then its
//! channels), authentication against ACL users, and revocation of subscriptions when a
//! user's channel permissions shrink. The users themselves live in `crate::acl`.

use super::{parse_i64, Ctx, Spec};
use crate::acl::file;
use crate::acl::log::{now_ms, Reason};
use crate::acl::rules::{self, User};
use crate::conn::outbox::CloseReason;
use crate::conn::session::{Session, Subscriptions};
use crate::error::CmdError;
use bytes::Bytes;
use std::path::Path;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use tracing::{debug, warn};

/// Takes a fresh snapshot of the session's user when the users changed since the last
/// one (one atomic load otherwise).
pub fn refresh_user(ctx: &mut Ctx<'_>) {
    if ctx.session.grants.is_some() {
        // A token's synthetic user is not in the ACL table: nothing to refresh, and an
        // ACL user of the same name must not take its place.
        return;
    }
    let acl = &ctx.shared.acl;
    let generation = acl.generation();
    if generation == ctx.session.acl_gen && ctx.session.user.is_some() {
        return;
    }
    let name = ctx
        .session
        .user
        .as_ref()
        .map_or(Bytes::from_static(b"default"), |u| u.name.clone());
    // A deleted user's clients were closed; the old snapshot serves until they end.
    if let Some(u) = acl.user(&name) {
        ctx.session.user = Some(u);
    } else if ctx.session.user.is_none() {
        ctx.session.user = Some(acl.default_user());
    }
    ctx.session.acl_gen = generation;
}

/// What a denial was about.
enum Denial<'a> {
    Command,
    Channel(&'a [u8]),
}

/// The first argument the user may not use, following Redis's channel positions:
/// PUBLISH/SPUBLISH the channel, SUBSCRIBE/SSUBSCRIBE every channel, PSUBSCRIBE every
/// pattern compared literally. The unsubscribe commands are never checked.
fn denial<'a>(user: &User, spec: &'static Spec, args: &'a [Bytes]) -> Option<Denial<'a>> {
    if !user.may_run(spec, args) {
        return Some(Denial::Command);
    }
    if user.allchannels {
        return None;
    }
    let (channels, literal) = match spec.name {
        "publish" | "spublish" => (&args[1..2], false),
        "subscribe" | "ssubscribe" => (&args[1..], false),
        "psubscribe" => (&args[1..], true),
        _ => return None,
    };
    channels
        .iter()
        .find(|c| !user.may_access_channel(c, literal))
        .map(|c| Denial::Channel(c))
}

/// The ACL check of `processCommand`, without side effects (CLIENT PAUSE asks it too):
/// NOPERM for a command the user may not run or one denied channel (the whole command
/// is refused). `run` logs the denial with `log_denial`.
pub fn permitted(session: &Session, spec: &'static Spec, args: &[Bytes]) -> Result<(), CmdError> {
    let Some(user) = session.user.as_deref() else {
        return Ok(());
    };
    if let Some(g) = &session.grants {
        if !token_permits(g, spec, args) {
            return Err(CmdError::NoPermChannel);
        }
    }
    if user.allcommands && user.allchannels {
        return Ok(());
    }
    match denial(user, spec, args) {
        None => Ok(()),
        Some(Denial::Command) => Err(CmdError::NoPermCommand(user.name.clone(), spec.name)),
        Some(Denial::Channel(_)) => Err(CmdError::NoPermChannel),
    }
}

/// A token's grants over RESP: PUBLISH/SPUBLISH need a `publish` grant, the subscribe
/// commands a `subscribe` grant for every argument (patterns literally).
fn token_permits(g: &crate::web::auth::Grants, spec: &'static Spec, args: &[Bytes]) -> bool {
    match spec.name {
        "publish" | "spublish" => args.get(1).is_some_and(|c| g.may_publish(c)),
        "subscribe" | "ssubscribe" => args[1..].iter().all(|c| g.may_subscribe(c, false)),
        "psubscribe" => args[1..].iter().all(|c| g.may_subscribe(c, true)),
        _ => true,
    }
}

/// `AUTH <user> <token>` when tokens are configured: the token must verify and name
/// `user` (`sub`). Its expiry is checked here, once, as Redis checks a password once.
pub fn authenticate_token(
    ctx: &Ctx<'_>,
    name: &[u8],
    token: &[u8],
) -> Option<crate::web::auth::Grants> {
    let jwt = ctx.shared.web.jwt.as_ref()?;
    let token = std::str::from_utf8(token).ok()?;
    if token.bytes().filter(|&b| b == b'.').count() != 2 {
        return None;
    }
    jwt.verify(token).ok().filter(|g| g.user[..] == *name)
}

/// The client is now a token's user: pub/sub and connection commands, its grants for
/// channels.
pub fn login_token(ctx: &mut Ctx<'_>, grants: crate::web::auth::Grants) {
    let mut user = User::new(grants.user.clone(), true);
    for rule in ["on", "nopass", "+@pubsub", "+@connection", "allchannels"] {
        user.apply(rule.as_bytes(), true)
            .expect("token user rules are valid");
    }
    ctx.client.set_user(user.name.clone());
    ctx.session.user = Some(Arc::new(user));
    ctx.session.grants = Some(Arc::new(grants));
    ctx.session.authenticated = true;
}

/// Records a denial `permitted` reported: ACL LOG, INFO `acl_access_denied_*`.
pub fn log_denial(ctx: &Ctx<'_>, spec: &'static Spec, args: &[Bytes]) {
    let Some(user) = ctx.session.user.as_deref() else {
        return;
    };
    if let Some(d) = denial(user, spec, args) {
        let context = if ctx.session.multi.is_some() {
            "multi"
        } else {
            "toplevel"
        };
        record(ctx, user, spec, &d, context, true);
    }
}

fn record(
    ctx: &Ctx<'_>,
    user: &User,
    spec: &'static Spec,
    d: &Denial<'_>,
    context: &'static str,
    looked_up: bool,
) -> CmdError {
    let acl = &ctx.shared.acl;
    let (reason, object, err) = match d {
        Denial::Command => {
            acl.denied.cmd.fetch_add(1, Relaxed);
            (
                Reason::Command,
                spec.name.as_bytes(),
                CmdError::NoPermCommand(user.name.clone(), spec.name),
            )
        }
        Denial::Channel(c) => {
            acl.denied.channel.fetch_add(1, Relaxed);
            (Reason::Channel, *c, CmdError::NoPermChannel)
        }
    };
    // Redis sets the client's last command at lookup, so client-info (and CLIENT LIST)
    // names the denied command; inside EXEC it stays `exec`.
    if looked_up {
        ctx.client.last_cmd.store(spec.addr(), Relaxed);
    }
    let info = super::client::client_line(ctx.client);
    let max = ctx.shared.config().acllog_max_len as usize;
    acl.log()
        .add(reason, context, object, &user.name, info, max);
    err
}

/// EXEC runs each queued command's ACL check again (Redis execCommand): permissions
/// may have changed since it was queued.
pub fn check_in_exec(ctx: &Ctx<'_>, spec: &'static Spec, args: &[Bytes]) -> Result<(), CmdError> {
    let Some(user) = ctx.session.user.as_deref() else {
        return Ok(());
    };
    if user.allcommands && user.allchannels {
        return Ok(());
    }
    let Some(d) = denial(user, spec, args) else {
        return Ok(());
    };
    let why = match d {
        Denial::Command => "no permission to execute the command or subcommand",
        Denial::Channel(_) => "no permission to access one of the channels used as arguments",
    };
    record(ctx, user, spec, &d, "multi", false);
    Err(CmdError::NoPermChangedInMulti(why))
}

/// After a subscribe added `names` to the client's mirror: if the users changed since
/// the check used the session's snapshot, check again with the current user, and close
/// the client if it now holds what it may not (see `crate::acl`, Revocation).
pub fn recheck_after_subscribe(ctx: &mut Ctx<'_>, names: &[Bytes], literal: bool) {
    if ctx.shared.acl.generation() == ctx.session.acl_gen {
        return;
    }
    refresh_user(ctx);
    if let Some(user) = ctx.session.user.as_deref() {
        if !names.iter().all(|n| user.may_access_channel(n, literal)) {
            ctx.client.kill(CloseReason::Killed);
        }
    }
}

/// Checks `user`'s credentials; on failure logs it (rate-limited server log, ACL LOG
/// with the command name as typed as its object, INFO). Returns the user to
/// authenticate as.
pub fn authenticate(ctx: &Ctx<'_>, command: &[u8], name: &[u8], pass: &[u8]) -> Option<Arc<User>> {
    let acl = &ctx.shared.acl;
    let found = acl.user(name).filter(|u| u.enabled && u.password_ok(pass));
    if found.is_none() {
        acl.denied.auth.fetch_add(1, Relaxed);
        let context = if ctx.session.multi.is_some() {
            "multi"
        } else {
            "toplevel"
        };
        let info = super::client::client_line(ctx.client);
        let max = ctx.shared.config().acllog_max_len as usize;
        acl.log()
            .add(Reason::Auth, context, command, name, info, max);
        if crate::logging::budget(&crate::logging::AUTH_FAILURE_LOG) {
            warn!(
                client = ctx.client.id,
                peer = %ctx.client.addr,
                user = %String::from_utf8_lossy(name),
                reason = "auth_failure",
                "authentication failed"
            );
        }
    }
    found
}

/// The client is now `user`.
pub fn login(ctx: &mut Ctx<'_>, user: Arc<User>) {
    ctx.session.grants = None;
    ctx.client.set_user(user.name.clone());
    ctx.session.user = Some(user);
    ctx.session.authenticated = true;
}

/// RESET: back to the `default` user, authenticated only if it needs no password.
pub fn logout(ctx: &mut Ctx<'_>) {
    ctx.session.grants = None;
    let default = ctx.shared.acl.default_user();
    ctx.session.authenticated = default.nopass && default.enabled;
    ctx.client.set_user(default.name.clone());
    ctx.session.user = Some(default);
}

// ---------------------------------------------------------------------------------
// Revocation
// ---------------------------------------------------------------------------------

/// Whether a client holding `subs` keeps them all under `user`.
fn subscriptions_allowed(user: &User, subs: &Subscriptions) -> bool {
    subs.patterns
        .iter()
        .all(|p| user.may_access_channel(p, true))
        && subs
            .channels
            .iter()
            .all(|c| user.may_access_channel(c, false))
        && subs
            .shard_channels
            .iter()
            .all(|c| user.may_access_channel(c, false))
}

/// `old` became `new` (`None`: deleted). Closes the clients of that user that may no
/// longer keep a subscription, or every client of a deleted user, at once and without
/// a message (Redis `ACLKillPubsubClientsIfNeeded`, `ACLFreeUserAndKillClients`).
/// The client running the command is closed after its reply instead (Redis frees the
/// calling client asynchronously).
fn revoke(ctx: &mut Ctx<'_>, old: &User, new: Option<&User>) {
    if new.is_some_and(|n| n.channels_cover(old)) {
        return;
    }
    let mut doomed = Vec::new();
    ctx.shared.clients.for_each(|c| {
        if c.user() != old.name {
            return;
        }
        let kill = match new {
            None => true,
            Some(n) => c.is_pubsub() && !subscriptions_allowed(n, &c.subscriptions()),
        };
        if kill {
            doomed.push(c.clone());
        }
    });
    for c in doomed {
        debug!(client = c.id, user = %String::from_utf8_lossy(&old.name), reason = "acl_revoked", "closing client");
        if Arc::ptr_eq(&c, ctx.client) {
            ctx.session.close_after_reply = true;
        } else {
            c.kill(CloseReason::Killed);
        }
    }
}

// ---------------------------------------------------------------------------------
// ACL subcommands
// ---------------------------------------------------------------------------------

fn allchannels_default(ctx: &Ctx<'_>) -> bool {
    ctx.shared.config().acl_pubsub_allchannels
}

pub fn setuser(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    let name = &args[2];
    if rules::has_spaces(name) {
        return Err(CmdError::AclUsernameSpaces);
    }
    let all = allchannels_default(ctx);
    let (old, new) = ctx.shared.acl.update(name, |old| {
        let mut u = old.cloned().unwrap_or_else(|| User::new(name.clone(), all));
        for rule in &args[3..] {
            u.apply(rule, all)
                .map_err(|e| CmdError::AclRule(rule.clone(), e.text()))?;
        }
        Ok(u)
    })?;
    if let Some(old) = old {
        revoke(ctx, &old, Some(&new));
    }
    ctx.ok();
    Ok(())
}

pub fn getuser(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    let Some(u) = ctx.shared.acl.user(&args[2]) else {
        ctx.reply().null();
        return Ok(());
    };
    let flags = u.flag_words();
    let passwords = u.password_hex();
    let mut e = ctx.reply();
    e.map(6);
    e.bulk(b"flags");
    e.set(flags.len());
    for f in flags {
        e.bulk(f.as_bytes());
    }
    e.bulk(b"passwords");
    e.array(passwords.len());
    for p in passwords {
        e.bulk(p.as_bytes());
    }
    e.bulk(b"commands");
    e.bulk(u.describe_commands().as_bytes());
    e.bulk(b"keys");
    e.bulk(&u.describe_keys());
    e.bulk(b"channels");
    e.bulk(&u.describe_channels());
    e.bulk(b"selectors");
    e.array(0);
    Ok(())
}

pub fn deluser(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    let names = &args[2..];
    if names.iter().any(|n| n[..] == *b"default") {
        return Err(CmdError::AclDeleteDefault);
    }
    let gone = ctx.shared.acl.remove(names);
    for u in &gone {
        revoke(ctx, u, None);
    }
    ctx.reply().int(gone.len() as i64);
    Ok(())
}

pub fn list(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    let users = ctx.shared.acl.users();
    let mut e = ctx.reply();
    e.array(users.len());
    for u in users {
        let mut line = b"user ".to_vec();
        line.extend_from_slice(&u.name);
        line.push(b' ');
        line.extend_from_slice(&u.describe());
        e.bulk(&line);
    }
    Ok(())
}

pub fn users(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    let users = ctx.shared.acl.users();
    let mut e = ctx.reply();
    e.array(users.len());
    for u in users {
        e.bulk(&u.name);
    }
    Ok(())
}

pub fn whoami(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    let name = ctx.client.user();
    ctx.reply().bulk(&name);
    Ok(())
}

pub fn cat(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    match args.get(2) {
        None => {
            let mut e = ctx.reply();
            e.array(rules::CATEGORIES.len());
            for c in rules::CATEGORIES {
                e.bulk(c.as_bytes());
            }
        }
        Some(_) if args.len() > 3 => {
            return Err(CmdError::SubcommandArity(args[0].clone(), args[1].clone()))
        }
        Some(cat) => {
            let lower = String::from_utf8_lossy(cat).to_ascii_lowercase();
            if !rules::CATEGORIES.contains(&lower.as_str()) {
                return Err(CmdError::AclUnknownCategory(cat.clone()));
            }
            let names: Vec<&str> = rules::all_specs()
                .iter()
                .filter(|s| s.acl.contains(&lower.as_str()))
                .map(|s| s.name)
                .collect();
            let mut e = ctx.reply();
            e.array(names.len());
            for n in names {
                e.bulk(n.as_bytes());
            }
        }
    }
    Ok(())
}

pub fn log(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    if args.len() > 3 {
        return Err(CmdError::SubcommandArity(args[0].clone(), args[1].clone()));
    }
    let count = match args.get(2) {
        None => 10,
        Some(a) if a.eq_ignore_ascii_case(b"reset") => {
            ctx.shared.acl.log().reset();
            ctx.ok();
            return Ok(());
        }
        Some(a) => parse_i64(a)?.max(0) as usize,
    };
    let entries = ctx.shared.acl.log().newest(count);
    let now = now_ms();
    let mut e = ctx.reply();
    e.array(entries.len());
    for entry in entries {
        // Redis 7.2 fields; 7.0 stops after client-info.
        e.map(10);
        e.bulk(b"count");
        e.int(entry.count as i64);
        e.bulk(b"reason");
        e.bulk(entry.reason.word().as_bytes());
        e.bulk(b"context");
        e.bulk(entry.context.as_bytes());
        e.bulk(b"object");
        e.bulk(&entry.object);
        e.bulk(b"username");
        e.bulk(&entry.username);
        e.bulk(b"age-seconds");
        let age = now.saturating_sub(entry.updated_ms) as f64 / 1000.0;
        e.double(&age.to_string());
        e.bulk(b"client-info");
        e.bulk(entry.client_info.as_bytes());
        e.bulk(b"entry-id");
        e.int(entry.entry_id as i64);
        e.bulk(b"timestamp-created");
        e.int(entry.created_ms as i64);
        e.bulk(b"timestamp-last-updated");
        e.int(entry.updated_ms as i64);
    }
    Ok(())
}

pub fn dryrun(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    let Some(user) = ctx.shared.acl.user(&args[2]) else {
        return Err(CmdError::AclUserNotFound(args[2].clone()));
    };
    // The original table: ACL rules name commands by their real names, not renames.
    let cmd_args = &args[3..];
    let spec = super::table::find(None, &cmd_args[0])
        .filter(|s| !s.name.contains('|'))
        .and_then(|s| match (s.subcommands.is_empty(), cmd_args.get(1)) {
            (true, _) => Some(s),
            (false, Some(sub)) => super::table::find(Some(s), sub),
            (false, None) => Some(s),
        })
        .ok_or_else(|| CmdError::AclCommandNotFound(cmd_args[0].clone()))?;
    if !super::arity_ok(spec.arity, cmd_args.len()) {
        return Err(CmdError::WrongArity(spec.name));
    }
    // Redis 7.2 wording (getAclErrorMessage, verbose); 7.0 said "This user has no
    // permissions to ...".
    let text = match denial(&user, spec, cmd_args) {
        None => {
            ctx.ok();
            return Ok(());
        }
        Some(Denial::Command) => format!(
            "User {} has no permissions to run the '{}' command",
            String::from_utf8_lossy(&user.name),
            spec.name
        )
        .into_bytes(),
        Some(Denial::Channel(c)) => [
            b"User ".as_slice(),
            &user.name,
            b" has no permissions to access the '",
            c,
            b"' channel",
        ]
        .concat(),
    };
    ctx.reply().bulk(&text);
    Ok(())
}

pub fn genpass(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    if args.len() > 3 {
        return Err(CmdError::SubcommandArity(args[0].clone(), args[1].clone()));
    }
    let bits = match args.get(2) {
        Some(a) => parse_i64(a)?,
        None => 256,
    };
    if bits <= 0 || bits > 4096 {
        return Err(CmdError::AclGenpassBits);
    }
    let chars = (bits as usize).div_ceil(4);
    let mut bytes = vec![0u8; chars.div_ceil(2)];
    random_bytes(&mut bytes);
    let mut hex = rules::hex(&bytes);
    hex.truncate(chars);
    ctx.reply().bulk(hex.as_bytes());
    Ok(())
}

/// Cryptographic random bytes from the kernel.
fn random_bytes(buf: &mut [u8]) {
    use std::io::Read;
    let ok = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(buf));
    if let Err(e) = ok {
        // Without a kernel RNG there is no safe password to give: fail loudly.
        panic!("cannot read /dev/urandom for ACL GENPASS: {e}");
    }
}

fn aclfile(ctx: &Ctx<'_>) -> Result<String, CmdError> {
    ctx.shared.config().aclfile.ok_or(CmdError::AclNoFile)
}

pub fn save(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    let path = aclfile(ctx)?;
    let users = ctx.shared.acl.users();
    let text = file::render(users.iter().map(|u| &**u));
    if let Err(e) = file::save(Path::new(&path), &text) {
        warn!(file = %path, error = %e, "ACL SAVE failed");
        return Err(CmdError::AclSave);
    }
    ctx.ok();
    Ok(())
}

/// ACL LOAD: all or nothing. Users whose permissions did not shrink keep their
/// clients; clients of users no longer in the file are closed (Redis 7.2; 7.0 closed
/// every client of every user).
pub fn load(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    let path = aclfile(ctx)?;
    let users = crate::acl::load_file(Path::new(&path), allchannels_default(ctx))
        .map_err(CmdError::AclLoad)?;
    let old = ctx.shared.acl.replace_all(users);
    for (name, old_user) in &old {
        let new = ctx.shared.acl.user(name);
        revoke(ctx, old_user, new.as_deref());
    }
    ctx.ok();
    Ok(())
}

pub fn help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    super::pubsub::help_lines(ctx, HELP);
    Ok(())
}

const HELP: &[&str] = &[
    "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
    "HELP",
    "    Prints this help.",
];
