//! COMMAND [COUNT | INFO | DOCS | LIST | HELP], generated from the command table.

use super::pubsub::help_lines;
use super::table::{self, Spec, COMMANDS};
use super::Ctx;
use crate::error::CmdError;
use crate::resp::Encoder;
use bytes::Bytes;

fn visible() -> impl Iterator<Item = &'static Spec> {
    COMMANDS.iter().filter(|s| !s.summary.is_empty())
}

fn write_info(e: &mut Encoder<'_>, s: &Spec) {
    e.array(10);
    e.bulk(s.name.as_bytes());
    e.int(s.arity as i64);
    e.set(s.info_flags.len());
    for f in s.info_flags {
        e.simple(f);
    }
    // Keys: only SPUBLISH/SSUBSCRIBE/SUNSUBSCRIBE name shard channels as keys.
    let (first, last) = match s.name {
        "spublish" => (1, 1),
        "ssubscribe" | "sunsubscribe" => (1, -1),
        _ => (0, 0),
    };
    e.int(first);
    e.int(last);
    e.int(if first == 0 { 0 } else { 1 });
    e.set(s.acl.len());
    for c in s.acl {
        e.simple(&format!("@{c}"));
    }
    e.array(0); // tips
    e.array(0); // key specs
    e.array(s.subcommands.len());
    for sub in s.subcommands {
        write_info(e, sub);
    }
}

fn write_docs(e: &mut Encoder<'_>, s: &Spec) {
    let has_args = !s.args.is_empty();
    let has_subs = !s.subcommands.is_empty();
    e.map(4 + has_args as usize + has_subs as usize);
    e.bulk(b"summary");
    e.bulk(s.summary.as_bytes());
    e.bulk(b"since");
    e.bulk(s.since.as_bytes());
    e.bulk(b"group");
    e.bulk(s.group.as_bytes());
    e.bulk(b"complexity");
    e.bulk(s.complexity.as_bytes());
    if has_args {
        e.bulk(b"arguments");
        e.array(s.args.len());
        for a in s.args {
            let flags = a.optional as usize + a.multiple as usize;
            e.map(3 + a.token.is_some() as usize + (flags > 0) as usize);
            e.bulk(b"name");
            e.bulk(a.name.as_bytes());
            e.bulk(b"type");
            e.bulk(a.kind.as_bytes());
            e.bulk(b"display_text");
            e.bulk(a.name.as_bytes());
            if let Some(t) = a.token {
                e.bulk(b"token");
                e.bulk(t.as_bytes());
            }
            if flags > 0 {
                e.bulk(b"flags");
                e.set(flags);
                if a.optional {
                    e.simple("optional");
                }
                if a.multiple {
                    e.simple("multiple");
                }
            }
        }
    }
    if has_subs {
        e.bulk(b"subcommands");
        e.map(s.subcommands.len());
        for sub in s.subcommands {
            e.bulk(sub.name.as_bytes());
            write_docs(e, sub);
        }
    }
}

/// COMMAND with no subcommand: INFO for every command.
pub fn all(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    let mut e = ctx.reply();
    e.array(visible().count());
    for s in visible() {
        write_info(&mut e, s);
    }
    Ok(())
}

pub fn count(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    let n = visible().count() as i64;
    ctx.reply().int(n);
    Ok(())
}

/// A name as COMMAND INFO/DOCS accept it: `publish` or `pubsub|numsub`.
fn find_named(name: &[u8]) -> Option<&'static Spec> {
    let mut parts = name.splitn(2, |&b| b == b'|');
    let top = table::find(None, parts.next()?)?;
    if top.summary.is_empty() {
        return None;
    }
    match parts.next() {
        None => Some(top),
        Some(sub) => table::find(Some(top), sub),
    }
}

pub fn info(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    if args.len() == 2 {
        return all(ctx, args);
    }
    let mut e = ctx.reply();
    e.array(args.len() - 2);
    for name in &args[2..] {
        match find_named(name) {
            Some(s) => write_info(&mut e, s),
            None => e.null_array(),
        }
    }
    Ok(())
}

pub fn docs(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    let specs: Vec<&Spec> = if args.len() == 2 {
        visible().collect()
    } else {
        args[2..].iter().filter_map(|n| find_named(n)).collect()
    };
    let mut e = ctx.reply();
    e.map(specs.len());
    for s in specs {
        e.bulk(s.name.as_bytes());
        write_docs(&mut e, s);
    }
    Ok(())
}

pub fn list(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<(), CmdError> {
    let filter: Box<dyn Fn(&Spec) -> bool> = match args.len() {
        2 => Box::new(|_| true),
        5 if args[2].eq_ignore_ascii_case(b"filterby") => {
            let kind = args[3].to_ascii_lowercase();
            let value = args[4].to_ascii_lowercase();
            match &kind[..] {
                b"pattern" => Box::new(move |s| crate::glob::matches(&value, s.name.as_bytes())),
                b"aclcat" => Box::new(move |s| s.acl.iter().any(|c| c.as_bytes() == &value[..])),
                b"module" => Box::new(|_| false),
                _ => return Err(CmdError::Syntax),
            }
        }
        _ => return Err(CmdError::Syntax),
    };
    let names: Vec<&str> = visible()
        .flat_map(|s| std::iter::once(s).chain(s.subcommands.iter()))
        .filter(|s| filter(s))
        .map(|s| s.name)
        .collect();
    let mut e = ctx.reply();
    e.array(names.len());
    for n in names {
        e.bulk(n.as_bytes());
    }
    Ok(())
}

const HELP: &[&str] = &[
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "HELP",
    "    Print this help.",
];

pub fn help(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> Result<(), CmdError> {
    help_lines(ctx, HELP);
    Ok(())
}
