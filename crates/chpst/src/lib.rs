//! `chpst`: change the process state, then exec a program (runit's
//! chpst(8), with its daemontools-style personalities).
//!
//! A tour, in the order chpst applies things to itself:
//!
//! 1. options are parsed ([`main`]); a personality is picked first from
//!    argv[0] ([`personality`]);
//! 2. `-P` starts a new session;
//! 3. `-e DIR` stages environment edits ([`env::read_dir`]), read relative
//!    to the original directory;
//! 4. `-/ ROOT` changes root, `-C DIR` changes directory, `-n` sets the
//!    nice level;
//! 5. `-U` stages `UID`/`GID`, `-u` drops privileges ([`ids`]: groups, then
//!    gid, then uid, each checked afterwards), with names looked up inside
//!    the new root;
//! 6. `-l`/`-L` lock a file as the new user; `-0 -1 -2` close descriptors;
//! 7. soft limits ([`limits`]) are set with the privileges already dropped;
//! 8. the program is executed from chpst's own `PATH` ([`exec`]).
//!
//! Exit codes: 100 for usage errors, 111 when the state cannot be changed
//! or the program cannot be run; otherwise the program's own.

use std::io;

use unix::getopt::{Getopt, Opt};
use unix::msg::{self, Label};

pub mod accounts;
pub mod env;
pub mod exec;
pub mod ids;
pub mod limits;
pub mod personality;

use env::{Edits, Subdirs};
use limits::{Limits, Soft};

const USAGE: &[u8] = b"[-vVP012] [-u user[:group]] [-U user[:group]] [-b argv0] [-e dir] [-/ root] [-C pwd] [-n nice] [-l|-L lock] [-m n] [-d n] [-o n] [-p n] [-f n] [-c n] [-t n] prog";

/// Exit code for usage errors.
pub const EXIT_USAGE: i32 = 100;
/// Exit code when the process state cannot be changed or exec fails.
pub const EXIT_FATAL: i32 = 111;

/// A fatal condition: the text after `chpst: fatal: ` and an optional
/// error whose runit wording follows `: `.
#[derive(Debug)]
pub struct Fatal {
    pub text: Vec<u8>,
    pub err: Option<io::Error>,
}

impl Fatal {
    pub fn new(parts: &[&[u8]]) -> Fatal {
        Fatal { text: parts.concat(), err: None }
    }

    pub fn err(parts: &[&[u8]], e: io::Error) -> Fatal {
        Fatal { text: parts.concat(), err: Some(e) }
    }

    /// Prints `chpst: fatal: ...` and exits 111.
    pub fn die(self) -> ! {
        label().die(EXIT_FATAL, &[&self.text], self.err.as_ref())
    }
}

/// Puts back what Rust's runtime changed before `main` (see
/// `unix::startup`), right before exec: closed standard descriptors are
/// closed again (runit's chpst passes them on closed, and `-0` on a closed
/// stdin is an error) and SIGPIPE gets its original disposition.
pub(crate) fn restore_start_state() {
    for fd in 0..3 {
        if closed_at_start(fd) {
            // SAFETY: closing a descriptor number no Rust object owns.
            unsafe { libc::close(fd) };
        }
    }
    unix::startup::restore_sigpipe();
}

pub(crate) use unix::startup::closed_at_start;

/// Every message, whatever the personality, is labelled `chpst`.
pub(crate) fn label() -> Label {
    Label::new(b"chpst")
}

/// Prints `usage: NAME SYNOPSIS` and exits 100.
pub(crate) fn usage(name: &[u8], synopsis: &[u8]) -> ! {
    msg::usage(name, synopsis, EXIT_USAGE)
}

/// chpst's own usage text, under `name` (also printed by `softlimit` for a
/// bad number, as runit does).
pub(crate) fn main_usage(name: &[u8]) -> ! {
    usage(name, USAGE)
}

/// The name runit dispatches on: argv[0]'s basename minus one leading `d`.
pub fn program_name(argv0: &[u8]) -> &[u8] {
    let base = msg::basename(argv0);
    base.strip_prefix(b"d").unwrap_or(base)
}

/// Entry point of the `chpst` program (and of its personalities).
pub fn main() -> ! {
    let args = unix::getopt::args_bytes();
    let argv0 = args.first().map(Vec::as_slice).unwrap_or(b"");
    let name = program_name(argv0).to_vec();
    personality::dispatch(&name, &args);
    chpst(&name, &args)
}

/// Everything the options ask for.
#[derive(Default)]
struct Options<'a> {
    set_user: Option<&'a [u8]>,
    env_user: Option<&'a [u8]>,
    argv0: Option<&'a [u8]>,
    env_dir: Option<&'a [u8]>,
    root: Option<&'a [u8]>,
    pwd: Option<&'a [u8]>,
    nice: i64,
    lock: Option<(&'a [u8], bool)>,
    limits: Limits,
    verbose: bool,
    new_session: bool,
    close: [bool; 3],
}

/// `-n`: decimal with an optional sign (an empty number is 0, as in runit).
fn parse_nice(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let n = limits::parse_number(digits)?.min(i64::MAX as u64) as i64;
    Some(if neg { -n } else { n })
}

fn chpst(name: &[u8], args: &[Vec<u8>]) -> ! {
    let mut o = Options::default();
    let mut g = Getopt::new(args, b"u:U:b:e:m:d:o:p:f:c:r:t:/:C:n:l:L:vP012V");
    let number = |v: &[u8]| limits::parse_number(v).map(Soft::Value).unwrap_or_else(|| main_usage(name));
    for opt in g.by_ref() {
        let (c, v) = match opt {
            Opt::Flag(c, v) => (c, v.unwrap_or(b"")),
            Opt::Error(_) => main_usage(name),
        };
        match c {
            b'u' => o.set_user = Some(v),
            b'U' => o.env_user = Some(v),
            b'b' => o.argv0 = Some(v),
            b'e' => o.env_dir = Some(v),
            b'm' => o.limits.set_memory(number(v)),
            b'd' => o.limits.data = Some(number(v)),
            b'o' => o.limits.nofile = Some(number(v)),
            b'p' => o.limits.nproc = Some(number(v)),
            b'f' => o.limits.fsize = Some(number(v)),
            b'c' => o.limits.core = Some(number(v)),
            b'r' => o.limits.rss = Some(number(v)),
            b't' => o.limits.cpu = Some(number(v)),
            b'/' => o.root = Some(v),
            b'C' => o.pwd = Some(v),
            b'n' => o.nice = parse_nice(v).unwrap_or_else(|| main_usage(name)),
            b'l' | b'L' => {
                if o.lock.is_some() {
                    main_usage(name);
                }
                o.lock = Some((v, c == b'l'));
            }
            b'v' => o.verbose = true,
            b'P' => o.new_session = true,
            b'0' => o.close[0] = true,
            b'1' => o.close[1] = true,
            b'2' => o.close[2] = true,
            _ => {
                // -V: the version on stderr, then the usage.
                msg::line(&[b"$Id: runit-rs ", env!("CARGO_PKG_VERSION").as_bytes(), b" $"]);
                main_usage(name)
            }
        }
    }
    let operands = g.operands();
    if operands.is_empty() {
        main_usage(name);
    }
    match change_state(&o) {
        Ok(edits) => {
            let mut argv = operands.to_vec();
            if let Some(a0) = o.argv0 {
                argv[0] = a0.to_vec();
            }
            let e = exec::run(&operands[0], &argv, &edits);
            Fatal::err(&[b"unable to run: ", &argv[0]], e).die()
        }
        Err(f) => f.die(),
    }
}

/// Applies the options in runit's order; returns the staged environment.
fn change_state(o: &Options) -> Result<Edits, Fatal> {
    let mut edits = Edits::default();
    if o.new_session {
        // SAFETY: setsid has no preconditions; failing (already a group
        // leader) is ignored, as runit does.
        unsafe { libc::setsid() };
    }
    if let Some(dir) = o.env_dir {
        env::read_dir(dir, Subdirs::Skip { verbose: o.verbose }, &mut edits)?;
    }
    if let Some(root) = o.root {
        chdir(root)?;
        // SAFETY: a valid C string literal.
        if unsafe { libc::chroot(c".".as_ptr()) } == -1 {
            return Err(Fatal::err(&[b"unable to change root directory"], io::Error::last_os_error()));
        }
    }
    if let Some(pwd) = o.pwd {
        chdir(pwd)?;
    }
    if o.nice != 0 {
        set_nice(o.nice)?;
    }
    if let Some(spec) = o.env_user {
        stage_ids(&ids::resolve(spec)?, &mut edits);
    }
    if let Some(spec) = o.set_user {
        ids::become_user(&ids::resolve(spec)?)?;
    }
    if let Some((file, wait)) = o.lock {
        lock(file, wait)?;
    }
    for (fd, (close, what)) in o.close.iter().zip([&b"stdin"[..], b"stdout", b"stderr"]).enumerate() {
        if !*close {
            continue;
        }
        let fd = fd as libc::c_int;
        if closed_at_start(fd) {
            return Err(Fatal::err(&[b"unable to close ", what], io::Error::from_raw_os_error(libc::EBADF)));
        }
        // SAFETY: closing a descriptor number; chpst holds no Rust object
        // owning 0, 1 or 2.
        if unsafe { libc::close(fd) } == -1 {
            return Err(Fatal::err(&[b"unable to close ", what], io::Error::last_os_error()));
        }
    }
    o.limits.apply()?;
    Ok(edits)
}

fn chdir(dir: &[u8]) -> Result<(), Fatal> {
    let path = std::path::Path::new(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(dir));
    std::env::set_current_dir(path).map_err(|e| Fatal::err(&[b"unable to change directory: ", dir], e))
}

fn set_nice(inc: i64) -> Result<(), Fatal> {
    let inc = inc.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as libc::c_int;
    // SAFETY: errno is cleared so a -1 result can be told from an error;
    // nice takes a plain integer.
    let r = unsafe {
        *libc::__errno_location() = 0;
        libc::nice(inc)
    };
    let e = io::Error::last_os_error();
    if r == -1 && e.raw_os_error() != Some(0) {
        return Err(Fatal::err(&[b"unable to set nice level"], e));
    }
    Ok(())
}

/// Stages `GID` (the first gid) and `UID`, in runit's order.
pub(crate) fn stage_ids(ids: &ids::Ids, edits: &mut Edits) {
    edits.set(b"GID", ids.gids[0].to_string().as_bytes());
    edits.set(b"UID", ids.uid.to_string().as_bytes());
}

/// Opens `file` (created 0600, append, write-only) and takes an exclusive
/// lock, waiting or not. The descriptor stays open across exec, so the
/// program holds the lock.
pub(crate) fn lock(file: &[u8], wait: bool) -> Result<(), Fatal> {
    let c = std::ffi::CString::new(file)
        .map_err(|_| Fatal::err(&[b"unable to open lock: ", file], io::Error::from_raw_os_error(libc::EINVAL)))?;
    let flags = libc::O_WRONLY | libc::O_NONBLOCK | libc::O_APPEND | libc::O_CREAT;
    // SAFETY: c is a valid C string; the descriptor is deliberately leaked
    // to the program.
    let fd = unsafe { libc::open(c.as_ptr(), flags, 0o600 as libc::c_uint) };
    if fd == -1 {
        return Err(Fatal::err(&[b"unable to open lock: ", file], io::Error::last_os_error()));
    }
    unix::lock::lock_exclusive(fd, wait).map_err(|e| Fatal::err(&[b"unable to lock: ", file], e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personality_names_lose_one_leading_d() {
        assert_eq!(program_name(b"/usr/bin/dsetlock"), b"setlock");
        assert_eq!(program_name(b"ddsetlock"), b"dsetlock");
        assert_eq!(program_name(b"chpst"), b"chpst");
        assert_eq!(program_name(b"/x/d"), b"");
    }

    #[test]
    fn nice_takes_an_optional_sign() {
        assert_eq!(parse_nice(b"-2"), Some(-2));
        assert_eq!(parse_nice(b"+3"), Some(3));
        assert_eq!(parse_nice(b"5"), Some(5));
        assert_eq!(parse_nice(b""), Some(0));
        assert_eq!(parse_nice(b"--2"), None);
        assert_eq!(parse_nice(b"2x"), None);
    }
}
