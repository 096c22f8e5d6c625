//! The daemontools-style personalities: chpst run under the name
//! `envdir`, `envuidgid`, `pgrphack`, `setuidgid`, `setlock` or
//! `softlimit` (or any of them with one leading `d`).
//!
//! Usage lines use the personality name; getopt messages use argv[0]'s
//! basename; fatal messages are labelled `chpst`, all as in runit.
//! `setlock` keeps runit's flags, which are the reverse of daemontools':
//! the default is not to wait, `-n` waits.

use unix::getopt::{Getopt, Opt};

use crate::env::{Edits, Subdirs};
use crate::limits::{Limits, Soft};
use crate::{exec, ids, Error, Fatal};

const SETUIDGID: &[u8] = b"account child";
const ENVUIDGID: &[u8] = b"account child";
const ENVDIR: &[u8] = b"dir child";
const PGRPHACK: &[u8] = b"child";
const SETLOCK: &[u8] = b"[ -nNxX ] file program [ arg ... ]";
const SOFTLIMIT: &[u8] = b"[-a allbytes] [-c corebytes] [-d databytes] [-f filebytes] [-l lockbytes] [-m membytes] [-o openfiles] [-p processes] [-r residentbytes] [-s stackbytes] [-t cpusecs] child";

/// Runs the personality called `name`, if there is one: returns `None`
/// when `name` is none, else why the program did not run.
pub fn dispatch(name: &[u8], args: &[Vec<u8>]) -> Option<Error> {
    Some(match name {
        b"setuidgid" => setuidgid(name, args),
        b"envuidgid" => envuidgid(name, args),
        b"envdir" => envdir(name, args),
        b"pgrphack" => pgrphack(name, args),
        b"setlock" => setlock(name, args),
        b"softlimit" => softlimit(name, args),
        _ => return None,
    })
}

/// `NAME ARG PROG...`: the first operand and the program's argv.
fn arg_and_child<'a>(
    name: &[u8],
    synopsis: &'static [u8],
    args: &'a [Vec<u8>],
) -> Result<(&'a [u8], &'a [Vec<u8>]), Error> {
    match args.get(1..) {
        Some([arg, child @ ..]) if !child.is_empty() => Ok((arg, child)),
        _ => Err(crate::usage(name, synopsis)),
    }
}

/// Execs `argv` with `edits`; returns only why it could not.
fn run(argv: &[Vec<u8>], edits: &Edits) -> Error {
    let e = exec::run(&argv[0], argv, edits);
    Fatal::err(&[b"unable to run: ", &argv[0]], e).into()
}

/// The `Ok` of a personality never happens: the program replaced chpst.
fn either(r: Result<Error, Error>) -> Error {
    r.unwrap_or_else(|e| e)
}

fn setuidgid(name: &[u8], args: &[Vec<u8>]) -> Error {
    either((|| {
        let (account, child) = arg_and_child(name, SETUIDGID, args)?;
        ids::become_user(&ids::resolve_account(account)?)?;
        Ok(run(child, &Edits::default()))
    })())
}

fn envuidgid(name: &[u8], args: &[Vec<u8>]) -> Error {
    either((|| {
        let (account, child) = arg_and_child(name, ENVUIDGID, args)?;
        let mut edits = Edits::default();
        crate::stage_ids(&ids::resolve_account(account)?, &mut edits);
        Ok(run(child, &edits))
    })())
}

fn envdir(name: &[u8], args: &[Vec<u8>]) -> Error {
    either((|| {
        let (dir, child) = arg_and_child(name, ENVDIR, args)?;
        let mut edits = Edits::default();
        crate::env::read_dir(dir, Subdirs::Fatal, &mut edits)?;
        Ok(run(child, &edits))
    })())
}

fn pgrphack(name: &[u8], args: &[Vec<u8>]) -> Error {
    let child = match args.get(1..) {
        Some(child) if !child.is_empty() => child,
        _ => return crate::usage(name, PGRPHACK),
    };
    // Failing (already a group leader) is ignored, as runit does.
    let _ = nix::unistd::setsid();
    run(child, &Edits::default())
}

fn setlock(name: &[u8], args: &[Vec<u8>]) -> Error {
    let mut wait = false;
    let mut quiet = false;
    let mut g = Getopt::new(args, b"nNxX");
    for opt in g.by_ref() {
        match opt {
            Opt::Flag(b'n', _) => wait = true,
            Opt::Flag(b'N', _) => wait = false,
            Opt::Flag(b'x', _) => quiet = true,
            Opt::Flag(b'X', _) => quiet = false,
            _ => return crate::usage(name, SETLOCK),
        }
    }
    let (file, child) = match g.operands() {
        [file, child @ ..] if !child.is_empty() => (file, child),
        _ => return crate::usage(name, SETLOCK),
    };
    if let Err(f) = crate::lock(file, wait) {
        return if quiet { Error::Quiet } else { f.into() };
    }
    let e = exec::run(&child[0], child, &Edits::default());
    if quiet {
        return Error::Quiet;
    }
    Fatal::err(&[b"unable to run: ", &child[0]], e).into()
}

fn softlimit(name: &[u8], args: &[Vec<u8>]) -> Error {
    let mut l = Limits::default();
    let mut g = Getopt::new(args, b"a:c:d:f:l:m:o:p:r:s:t:");
    for opt in g.by_ref() {
        let (c, v) = match opt {
            Opt::Flag(c, Some(v)) => (c, v),
            _ => return crate::usage(name, SOFTLIMIT),
        };
        let soft = if v == b"=" {
            Soft::Hard
        } else {
            // runit prints chpst's usage here, under the personality name.
            match crate::limits::parse_number(v) {
                Some(n) => Soft::Value(n),
                None => return crate::main_usage(name),
            }
        };
        let slot = match c {
            b'a' => &mut l.address_space,
            b'c' => &mut l.core,
            b'd' => &mut l.data,
            b'f' => &mut l.fsize,
            b'l' => &mut l.memlock,
            b'm' => {
                l.set_memory(soft);
                continue;
            }
            b'o' => &mut l.nofile,
            b'p' => &mut l.nproc,
            b'r' => &mut l.rss,
            b's' => &mut l.stack,
            _ => &mut l.cpu,
        };
        *slot = Some(soft);
    }
    let child = g.operands();
    if child.is_empty() {
        return crate::usage(name, SOFTLIMIT);
    }
    if let Err(f) = l.apply() {
        return f.into();
    }
    run(child, &Edits::default())
}
