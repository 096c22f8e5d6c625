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
use std::os::fd::IntoRawFd;

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use unix::getopt::{Getopt, Opt};
use unix::msg::{self, Label, ProgramError};

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
/// Exit code of `setlock -x` when the lock or the program failed.
pub const EXIT_QUIET: i32 = 0;

const HELP: &str = "\
usage: chpst [-vP012] [-u user[:group]] [-U user[:group]] [-b argv0] [-e dir]
             [-/ root] [-C pwd] [-n nice] [-l|-L lock] [-m n] [-d n] [-o n]
             [-p n] [-f n] [-c n] [-r n] [-t n] prog

Changes the process state, then runs prog (runit's chpst). Also runs as
envdir, envuidgid, pgrphack, setuidgid, setlock and softlimit.

  -u user[:group...]  become user (or :uid:gid[:gid...])
  -U user[:group...]  set $UID and $GID
  -e dir              set the environment from dir's files
  -/ root, -C pwd     change root, change directory
  -n inc              change the nice level
  -l lock, -L lock    lock a file (-l waits, -L does not)
  -m -d -o -p -f -c -r -t n   soft limits
  -b argv0, -P, -0 -1 -2, -v  argv[0], new session, close fds, verbose

Exit codes: 100 usage, 111 failure, else prog's own. See chpst(8).
";

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
}

/// Why the program was not run: `main` prints it and exits with its code
/// (no other function exits).
#[derive(Debug)]
pub enum Error {
    /// `usage: NAME SYNOPSIS`, after the `$Id` line for `-V`.
    Usage { name: Vec<u8>, synopsis: &'static [u8], version: bool },
    /// `chpst: fatal: ...`
    Fatal(Fatal),
    /// `setlock -x`: the failure is silent.
    Quiet,
}

impl From<Fatal> for Error {
    fn from(f: Fatal) -> Error {
        Error::Fatal(f)
    }
}

impl ProgramError for Error {
    fn exit_code(&self) -> i32 {
        match self {
            Error::Usage { .. } => EXIT_USAGE,
            Error::Fatal(_) => EXIT_FATAL,
            Error::Quiet => EXIT_QUIET,
        }
    }

    fn message(&self) -> Vec<u8> {
        match self {
            Error::Usage { name, synopsis, version } => {
                let mut m = Vec::new();
                if *version {
                    m.extend_from_slice(concat!("$Id: runit-rs ", env!("CARGO_PKG_VERSION"), " $\n").as_bytes());
                }
                m.extend(msg::usage_text(name, synopsis));
                m
            }
            Error::Fatal(f) => label().fatal_error(EXIT_FATAL, &[&f.text], f.err.as_ref()).text,
            Error::Quiet => Vec::new(),
        }
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

/// `usage: NAME SYNOPSIS` (exit 100).
pub(crate) fn usage(name: &[u8], synopsis: &'static [u8]) -> Error {
    Error::Usage { name: name.to_vec(), synopsis, version: false }
}

/// chpst's own usage text, under `name` (also printed by `softlimit` for a
/// bad number, as runit does).
pub(crate) fn main_usage(name: &[u8]) -> Error {
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
    if let Some(text) = msg::help_or_version(&args, &String::from_utf8_lossy(&name), HELP) {
        msg::print_and_exit(&text)
    }
    keep_standard_fds_open();
    let e = personality::dispatch(&name, &args).unwrap_or_else(|| chpst(&name, &args));
    msg::exit_with(&e)
}

/// Opens /dev/null on standard descriptors closed at start (chpst starts
/// without Rust's runtime, which would do it: see src/bin/chpst.rs), so that
/// a lock file never lands on 0, 1 or 2; they are closed again right
/// before exec ([`restore_start_state`]).
fn keep_standard_fds_open() {
    for fd in 0..3 {
        if closed_at_start(fd) {
            // The lowest free descriptor is `fd` itself; it stays open.
            if let Ok(f) = std::fs::File::options().read(true).write(true).open("/dev/null") {
                let _ = f.into_raw_fd();
            }
        }
    }
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

/// chpst proper: returns only why the program did not run.
fn chpst(name: &[u8], args: &[Vec<u8>]) -> Error {
    let mut o = Options::default();
    let mut g = Getopt::new(args, b"u:U:b:e:m:d:o:p:f:c:r:t:/:C:n:l:L:vP012V");
    for opt in g.by_ref() {
        let (c, v) = match opt {
            Opt::Flag(c, v) => (c, v.unwrap_or(b"")),
            Opt::Error(_) => return main_usage(name),
        };
        let number = || limits::parse_number(v).map(Soft::Value);
        let limit = match c {
            b'm' | b'd' | b'o' | b'p' | b'f' | b'c' | b'r' | b't' => match number() {
                Some(n) => Some(n),
                None => return main_usage(name),
            },
            _ => None,
        };
        match (c, limit) {
            (b'm', Some(n)) => o.limits.set_memory(n),
            (b'd', n @ Some(_)) => o.limits.data = n,
            (b'o', n @ Some(_)) => o.limits.nofile = n,
            (b'p', n @ Some(_)) => o.limits.nproc = n,
            (b'f', n @ Some(_)) => o.limits.fsize = n,
            (b'c', n @ Some(_)) => o.limits.core = n,
            (b'r', n @ Some(_)) => o.limits.rss = n,
            (b't', n @ Some(_)) => o.limits.cpu = n,
            (b'u', _) => o.set_user = Some(v),
            (b'U', _) => o.env_user = Some(v),
            (b'b', _) => o.argv0 = Some(v),
            (b'e', _) => o.env_dir = Some(v),
            (b'/', _) => o.root = Some(v),
            (b'C', _) => o.pwd = Some(v),
            (b'n', _) => match parse_nice(v) {
                Some(n) => o.nice = n,
                None => return main_usage(name),
            },
            (b'l' | b'L', _) => {
                if o.lock.is_some() {
                    return main_usage(name);
                }
                o.lock = Some((v, c == b'l'));
            }
            (b'v', _) => o.verbose = true,
            (b'P', _) => o.new_session = true,
            (b'0', _) => o.close[0] = true,
            (b'1', _) => o.close[1] = true,
            (b'2', _) => o.close[2] = true,
            // -V: the version on stderr, then the usage.
            _ => return Error::Usage { name: name.to_vec(), synopsis: USAGE, version: true },
        }
    }
    let operands = g.operands();
    if operands.is_empty() {
        return main_usage(name);
    }
    match change_state(&o) {
        Ok(edits) => {
            let mut argv = operands.to_vec();
            if let Some(a0) = o.argv0 {
                argv[0] = a0.to_vec();
            }
            let e = exec::run(&operands[0], &argv, &edits);
            Fatal::err(&[b"unable to run: ", &argv[0]], e).into()
        }
        Err(f) => f.into(),
    }
}

/// Applies the options in runit's order; returns the staged environment.
fn change_state(o: &Options) -> Result<Edits, Fatal> {
    let mut edits = Edits::default();
    if o.new_session {
        // Failing (already a group leader) is ignored, as runit does.
        let _ = nix::unistd::setsid();
    }
    if let Some(dir) = o.env_dir {
        env::read_dir(dir, Subdirs::Skip { verbose: o.verbose }, &mut edits)?;
    }
    if let Some(root) = o.root {
        chdir(root)?;
        nix::unistd::chroot(".").map_err(|e| Fatal::err(&[b"unable to change root directory"], e.into()))?;
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
    let flags = OFlag::O_WRONLY | OFlag::O_NONBLOCK | OFlag::O_APPEND | OFlag::O_CREAT;
    let fd = nix::fcntl::open(file, flags, Mode::from_bits_truncate(0o600))
        .map_err(|e| Fatal::err(&[b"unable to open lock: ", file], e.into()))?
        .into_raw_fd();
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
