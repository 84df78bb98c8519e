//! CLIENT TRACKING / TRACKINGINFO / GETREDIR / CACHING for a server without keys.
//!
//! Redis accepts tracking and sends an invalidation when a key a client read changes.
//! respub has no keys, so no key is ever read or changed: accepting the options (with
//! Redis's argument checks and error texts, 7.0.15 checked) and never sending an
//! invalidation is the exact behaviour of a keyless Redis. TRACKINGINFO reports what was
//! set; `broken_redirect` never appears because Redis sets it only when an invalidation
//! fails to reach its target.

use super::{parse_i64, Ctx};
use crate::conn::session::Tracking;
use crate::error::CmdError;
use bytes::Bytes;
use std::sync::atomic::Ordering::Relaxed;

/// CLIENT TRACKING (ON|OFF) [REDIRECT id] [BCAST] [PREFIX p ...] [OPTIN] [OPTOUT] [NOLOOP]
pub fn tracking(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    let mut next = Tracking::default();
    let mut prefixes: Vec<Bytes> = Vec::new();
    let mut j = 3;
    while j < args.len() {
        let more = j + 1 < args.len();
        let opt = args[j].to_ascii_lowercase();
        match &opt[..] {
            b"redirect" if more => {
                j += 1;
                if next.redirect != 0 {
                    return Err(CmdError::TrackingRedirectTwice);
                }
                next.redirect = parse_i64(&args[j])?;
                let exists = next.redirect > 0
                    && ctx
                        .shared
                        .clients
                        .snapshot()
                        .iter()
                        .any(|c| c.id == next.redirect as u64);
                if !exists {
                    return Err(CmdError::TrackingNoRedirectTarget);
                }
            }
            b"bcast" => next.bcast = true,
            b"optin" => next.optin = true,
            b"optout" => next.optout = true,
            b"noloop" => next.noloop = true,
            b"prefix" if more => {
                j += 1;
                prefixes.push(args[j].clone());
            }
            _ => return Err(CmdError::Syntax),
        }
        j += 1;
    }
    match &args[2].to_ascii_lowercase()[..] {
        b"on" => {}
        b"off" => {
            set(ctx, None);
            ctx.ok();
            return Ok(());
        }
        _ => return Err(CmdError::Syntax),
    }
    if !next.bcast && !prefixes.is_empty() {
        return Err(CmdError::TrackingPrefixWithoutBcast);
    }
    let current = ctx.session.tracking.clone();
    let check = || -> Result<(), CmdError> {
        if current.as_ref().is_some_and(|cur| cur.bcast != next.bcast) {
            return Err(CmdError::TrackingBcastSwitch);
        }
        if next.bcast && (next.optin || next.optout) {
            return Err(CmdError::TrackingOptWithBcast);
        }
        if next.optin && next.optout {
            return Err(CmdError::TrackingOptInAndOut);
        }
        if let Some(cur) = &current {
            if (next.optin && cur.optout) || (next.optout && cur.optin) {
                return Err(CmdError::TrackingOptSwitch);
            }
        }
        if next.bcast {
            for (i, p) in prefixes.iter().enumerate() {
                if let Some(cur) = &current {
                    if let Some(old) = cur.prefixes.iter().find(|old| overlaps(old, p)) {
                        return Err(CmdError::TrackingPrefixOverlapsExisting(
                            p.clone(),
                            old.clone(),
                        ));
                    }
                }
                if let Some(other) = prefixes[i + 1..].iter().find(|o| overlaps(p, o)) {
                    return Err(CmdError::TrackingPrefixOverlapsGiven(
                        p.clone(),
                        other.clone(),
                    ));
                }
            }
        }
        Ok(())
    };
    check()?;
    // Redis's enableTracking: mode flags are replaced, BCAST prefixes accumulate until
    // tracking is turned off, and BCAST without PREFIX tracks the empty prefix.
    if next.bcast {
        next.prefixes = current.map(|c| c.prefixes).unwrap_or_default();
        if prefixes.is_empty() {
            next.prefixes.insert(Bytes::new());
        }
        next.prefixes.extend(prefixes);
    }
    set(ctx, Some(next));
    ctx.ok();
    Ok(())
}

/// Installs the tracking state and its CLIENT LIST mirror (flags t/B, `redir=`).
pub fn set(ctx: &mut Ctx<'_>, t: Option<Tracking>) {
    let (redir, bcast) = t.as_ref().map_or((-1, false), |t| (t.redirect, t.bcast));
    ctx.client.tracking_redir.store(redir, Relaxed);
    ctx.client.tracking_bcast.store(bcast, Relaxed);
    ctx.session.tracking = t;
}

/// Redis `stringCheckPrefix`: one is a prefix of the other.
fn overlaps(a: &[u8], b: &[u8]) -> bool {
    let n = a.len().min(b.len());
    a[..n] == b[..n]
}

pub fn trackinginfo(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    let t = ctx.session.tracking.clone();
    let mut flags: Vec<&str> = Vec::new();
    match &t {
        None => flags.push("off"),
        Some(t) => {
            flags.push("on");
            if t.bcast {
                flags.push("bcast");
            }
            if t.optin {
                flags.push("optin");
                if t.caching {
                    flags.push("caching-yes");
                }
            }
            if t.optout {
                flags.push("optout");
                if t.caching {
                    flags.push("caching-no");
                }
            }
            if t.noloop {
                flags.push("noloop");
            }
        }
    }
    let mut e = ctx.reply();
    e.map(3);
    e.bulk(b"flags");
    e.set(flags.len());
    for f in flags {
        e.bulk(f.as_bytes());
    }
    e.bulk(b"redirect");
    e.int(t.as_ref().map_or(-1, |t| t.redirect));
    e.bulk(b"prefixes");
    let prefixes = t.map(|t| t.prefixes).unwrap_or_default();
    e.array(prefixes.len());
    for p in &prefixes {
        e.bulk(p);
    }
    Ok(())
}

pub fn getredir(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    let redirect = ctx.session.tracking.as_ref().map_or(-1, |t| t.redirect);
    ctx.reply().int(redirect);
    Ok(())
}

/// CLIENT CACHING YES|NO
pub fn caching(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    let Some(t) = ctx.session.tracking.as_mut() else {
        return Err(CmdError::CachingNotOptInOut);
    };
    match &args[2].to_ascii_lowercase()[..] {
        b"yes" if t.optin => t.caching = true,
        b"yes" => return Err(CmdError::CachingYesNotOptIn),
        b"no" if t.optout => t.caching = true,
        b"no" => return Err(CmdError::CachingNoNotOptOut),
        _ => return Err(CmdError::Syntax),
    }
    ctx.ok();
    Ok(())
}

/// Redis `resetClient`: CACHING applies to the next command only (any CLIENT
/// subcommand, and commands queued in MULTI, keep it).
pub fn after_command(ctx: &mut Ctx<'_>, client_cmd: bool) {
    if ctx.session.multi.is_none() && !client_cmd {
        if let Some(t) = ctx.session.tracking.as_mut() {
            t.caching = false;
        }
    }
}
