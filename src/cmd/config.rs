//! CONFIG GET / SET / REWRITE / RESETSTAT / HELP over the settings table
//! (`config::settings`). Redis parameters that describe a keyspace or persistence answer
//! with the value that means "off" (`settings::COMPAT`), so tools that read them see a
//! consistent picture.

use super::pubsub::help_lines;
use super::Ctx;
use crate::config::settings::{self, COMPAT, SETTINGS};
use crate::config::Config;
use crate::error::CmdError;
use bytes::Bytes;

fn values(c: &Config) -> Vec<(&'static str, String)> {
    let mut v: Vec<(&'static str, String)> =
        SETTINGS.iter().map(|s| (s.name, (s.get)(c))).collect();
    v.extend(COMPAT.iter().map(|(k, val)| (*k, val.to_string())));
    v
}

pub fn get(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    let all = values(&ctx.shared.config());
    let mut found: Vec<&(&str, String)> = Vec::new();
    for pattern in &args[2..] {
        let pattern = pattern.to_ascii_lowercase();
        for entry in &all {
            if crate::glob::matches(&pattern, entry.0.as_bytes())
                && !found.iter().any(|f| f.0 == entry.0)
            {
                found.push(entry);
            }
        }
    }
    let mut e = ctx.reply();
    e.map(found.len());
    for (k, v) in found {
        e.bulk(k.as_bytes());
        e.bulk(v.as_bytes());
    }
    Ok(())
}

pub fn set(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    if !args.len().is_multiple_of(2) {
        return Err(CmdError::WrongArity("config|set"));
    }
    // One read-modify-write under the config lock: two clients setting different
    // parameters at the same time both keep their change (issue 11). Either every pair
    // applies or none does, as in Redis.
    ctx.shared.update_config(|next| {
        for pair in args[2..].chunks(2) {
            let name = String::from_utf8_lossy(&pair[0]).to_ascii_lowercase();
            let value = String::from_utf8_lossy(&pair[1]).into_owned();
            let invalid = |why: String| {
                CmdError::ConfigInvalidArgument(pair[0].clone(), pair[1].clone(), why)
            };
            if let Some((_, fixed)) = COMPAT.iter().find(|(k, _)| *k == name) {
                // Fixtures send `CONFIG SET save ""`: asking for what is already so is fine.
                if value.trim() == *fixed {
                    continue;
                }
                return Err(invalid(format!(
                    "respub has no keyspace or persistence; '{name}' stays '{fixed}'"
                )));
            }
            let Some(s) = settings::find(&name) else {
                return Err(CmdError::ConfigUnknownOption("SET", pair[0].clone()));
            };
            if !s.mutable {
                return Err(CmdError::ConfigImmutable(pair[0].clone()));
            }
            (s.set)(next, &value).map_err(invalid)?;
        }
        // Any tls-* change re-reads the files (setting the same path again reloads a
        // renewed certificate, as in Redis); new connections get it, connected ones
        // keep their session. A configuration that does not load refuses the whole SET.
        let tls_pair = args[2..]
            .chunks(2)
            .find(|p| p[0].len() > 4 && p[0][..4].eq_ignore_ascii_case(b"tls-"));
        if let (Some(pair), true) = (tls_pair, ctx.shared.tls.enabled()) {
            if let Err(e) = ctx.shared.tls.reload(next) {
                tracing::warn!(error = %e, "Failed applying new configuration");
                return Err(CmdError::ConfigTls(pair[0].clone()));
            }
        }
        Ok(())
    })?;
    crate::logging::set_level(&ctx.shared.config().loglevel);
    if args[2..]
        .chunks(2)
        .any(|p| p[0].eq_ignore_ascii_case(b"requirepass"))
    {
        // requirepass is the `default` user's password (acl.c ACLUpdateDefaultUserPassword).
        let pass = ctx.shared.config().requirepass;
        let _ = ctx.shared.acl.update(b"default", |old| {
            let mut u = old
                .cloned()
                .unwrap_or_else(crate::acl::rules::User::default_user);
            crate::acl::apply_requirepass(&mut u, pass.as_deref());
            Ok::<_, ()>(u)
        });
    }
    ctx.ok();
    Ok(())
}

pub fn rewrite(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    let Some(file) = ctx.shared.config_file.as_ref() else {
        return Err(CmdError::ConfigNoFile);
    };
    let mut config = ctx.shared.config();
    config.users = rewrite_users(ctx);
    crate::config::rewrite::rewrite(file, &config).map_err(CmdError::ConfigRewrite)?;
    tracing::info!(file = %file.path().display(), "CONFIG REWRITE executed with success");
    ctx.ok();
    Ok(())
}

/// The running ACL users as `user` line values (name and rules). Redis writes every
/// user; respub writes none while the only user is the built-in `default` unchanged
/// (or changed only by `requirepass`, which has its own line), so a CONFIG REWRITE of a
/// server without ACL users leaves the file's users alone.
fn rewrite_users(ctx: &Ctx<'_>) -> Vec<String> {
    use crate::acl::rules::User;
    let users = ctx.shared.acl.users();
    let mut builtin = User::default_user();
    crate::acl::apply_requirepass(&mut builtin, ctx.shared.config().requirepass.as_deref());
    if users.len() == 1 && *users[0] == builtin {
        return Vec::new();
    }
    users
        .iter()
        .map(|u| {
            format!(
                "{} {}",
                String::from_utf8_lossy(&u.name),
                String::from_utf8_lossy(&u.describe())
            )
        })
        .collect()
}

pub fn resetstat(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    ctx.shared.stats.reset();
    ctx.shared.acl.denied.reset();
    ctx.ok();
    Ok(())
}

const HELP: &[&str] = &[
    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
    "HELP",
    "    Prints this help.",
];

pub fn help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    help_lines(ctx, HELP);
    Ok(())
}
