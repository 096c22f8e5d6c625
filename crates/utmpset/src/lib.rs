//! `utmpset`: log a line out of utmp (and, with `-w`, wtmp), as runit's
//! utmpset(8) does for getty run scripts.
//!
//! `utmpset [-w] LINE`: the first utmp record with a user and with
//! `ut_line` equal to LINE is rewritten in place as a DEAD_PROCESS record
//! without user and host, stamped now. With `-w`, a DEAD_PROCESS record for
//! LINE is appended to wtmp.
//!
//! Files: `/var/run/utmp` and `/var/log/wtmp`, runit's defaults. For tests
//! (and unusual systems) the environment variables `RUNIT_RS_UTMP` and
//! `RUNIT_RS_WTMP` replace these paths.
//!
//! Exit codes: 0 done, 1 usage, 111 anything else.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStringExt;

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use unix::getopt::{Getopt, Opt};
use unix::msg::{self, Fatal, Label, ProgramError};

pub mod record;

use record::{Record, DEAD_PROCESS, LINE_LEN, SIZE};

/// runit's utmp file.
pub const UTMP: &[u8] = b"/var/run/utmp";
/// runit's wtmp file.
pub const WTMP: &[u8] = b"/var/log/wtmp";

fn path_from_env(var: &str, default: &[u8]) -> Vec<u8> {
    std::env::var_os(var).map(OsString::into_vec).unwrap_or_else(|| default.to_vec())
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

fn open(path: &[u8], flags: OFlag) -> io::Result<File> {
    let mode = Mode::from_bits_truncate(0o600);
    Ok(File::from(nix::fcntl::open(path, flags | OFlag::O_CLOEXEC, mode)?))
}

/// Why a logout did not happen.
#[derive(Debug)]
pub enum Failure {
    /// Fatal before anything was looked at: `utmpset: fatal: TEXT[: ERR]`.
    Fatal(Vec<u8>, Option<io::Error>),
    /// The line was not found, or its record could not be rewritten.
    NotDone(Option<io::Error>),
}

fn fatal(parts: &[&[u8]], e: Option<io::Error>) -> Failure {
    Failure::Fatal(parts.concat(), e)
}

/// Reads one whole record; `None` at the end (or on a short record).
fn read_record(f: &mut File) -> Option<Record> {
    let mut r = Record::default();
    f.read_exact(&mut r.0).ok().map(|_| r)
}

/// Logs `line` out of the utmp file at `path`.
pub fn utmp_logout(path: &[u8], line: &[u8]) -> Result<(), Failure> {
    if line.len() > LINE_LEN {
        return Err(fatal(&[b"unable to logout line ", line, b" in utmp: name too long"], None));
    }
    let mut f = open(path, OFlag::O_RDWR).map_err(|e| fatal(&[b"unable to open ", path], Some(e)))?;
    unix::lock::lock_exclusive(f.as_raw_fd(), true).map_err(|e| fatal(&[b"unable to lock: ", path], Some(e)))?;
    while let Some(mut r) = read_record(&mut f) {
        if !r.has_user() || !r.line_is(line) {
            continue;
        }
        r.clear_user_and_host();
        r.set_time(now());
        r.set_kind(DEAD_PROCESS);
        f.seek(SeekFrom::Current(-(SIZE as i64))).map_err(|e| Failure::NotDone(Some(e)))?;
        f.write_all(&r.0).map_err(|e| Failure::NotDone(Some(e)))?;
        return Ok(());
    }
    Err(Failure::NotDone(None))
}

/// Appends a DEAD_PROCESS record for `line` to the wtmp file at `path`
/// (created 0600); a partly written record is cut off again.
pub fn wtmp_logout(path: &[u8], line: &[u8]) -> Result<(), Failure> {
    let flags = OFlag::O_WRONLY | OFlag::O_NONBLOCK | OFlag::O_APPEND | OFlag::O_CREAT;
    let mut f = open(path, flags).map_err(|e| fatal(&[b"unable to open ", path], Some(e)))?;
    unix::lock::lock_exclusive(f.as_raw_fd(), true).map_err(|e| fatal(&[b"unable to lock ", path], Some(e)))?;
    let size = f.metadata().map_err(|e| Failure::NotDone(Some(e)))?.len();
    let mut r = Record::default();
    // As runit: a name longer than the field is cut to two bytes less.
    r.set_line(if line.len() > LINE_LEN { &line[..LINE_LEN - 2] } else { line });
    r.set_time(now());
    r.set_kind(DEAD_PROCESS);
    match f.write(&r.0) {
        Ok(SIZE) => Ok(()),
        res => {
            let _ = f.set_len(size);
            Err(Failure::NotDone(Some(res.err().unwrap_or_else(|| nix::errno::Errno::ENOSPC.into()))))
        }
    }
}

/// Exit codes of `utmpset` (see utmpset(8)).
pub mod exit {
    pub const OK: i32 = 0;
    pub const USAGE: i32 = 1;
    /// The line was not logged out, or a file could not be used.
    pub const FAILED: i32 = 111;
}

/// Why `utmpset` exits unsuccessfully; `main` prints and exits.
#[derive(Debug)]
pub enum UtmpsetError {
    /// The usage (after the version line for `-V`), exit 1.
    Usage { argv0: Vec<u8>, version: bool },
    /// `utmpset: fatal: ...`, exit 111.
    Fatal(Fatal),
    /// `utmpset: warning: unable to logout line ...`, exit 111.
    NotDone(Vec<u8>),
}

impl ProgramError for UtmpsetError {
    fn exit_code(&self) -> i32 {
        match self {
            UtmpsetError::Usage { .. } => exit::USAGE,
            UtmpsetError::Fatal(f) => f.exit_code(),
            UtmpsetError::NotDone(_) => exit::FAILED,
        }
    }
    fn message(&self) -> Vec<u8> {
        match self {
            UtmpsetError::Usage { argv0, version } => {
                let mut v = Vec::new();
                if *version {
                    v.extend_from_slice(concat!("$Id: runit-rs ", env!("CARGO_PKG_VERSION"), " $\n").as_bytes());
                }
                v.extend_from_slice(&msg::usage_text(argv0, b"[-w] line"));
                v
            }
            UtmpsetError::Fatal(f) => f.message(),
            UtmpsetError::NotDone(m) => m.clone(),
        }
    }
}

/// The error `main` reports for a failed logout of `line` in `db`.
fn report(f: Failure, line: &[u8], db: &[u8]) -> UtmpsetError {
    let label = Label::new(b"utmpset");
    match f {
        Failure::Fatal(text, e) => UtmpsetError::Fatal(label.fatal_error(exit::FAILED, &[&text], e.as_ref())),
        Failure::NotDone(e) => {
            let what = [b"unable to logout line ".as_slice(), line, b" in ", db].concat();
            let mut m = [b"utmpset: warning: ".as_slice(), &what].concat();
            match (db, e) {
                (b"wtmp", Some(e)) => {
                    m.extend_from_slice(b": ");
                    m.extend_from_slice(unix::errtext::io_text(&e).as_bytes());
                }
                (b"wtmp", None) => {}
                _ => m.extend_from_slice(b": no such entry"),
            }
            m.push(b'\n');
            UtmpsetError::NotDone(m)
        }
    }
}

/// `utmpset --help`.
pub const HELP: &str = "\
usage: utmpset [-w] line

Logs LINE out of utmp (the record becomes DEAD_PROCESS, without user and
host), as a getty's finish script needs.

  -w          also append a logout record for LINE to wtmp
  -V          print the version, then the usage (exit 1)
  --help      print this help and exit
  --version   print the version and exit

Example (in /etc/sv/getty-tty1/finish):
  exec utmpset -w tty1
";

/// Entry point of the `utmpset` program: prints and exits, nothing else
/// does.
pub fn main() -> ! {
    let args = unix::getopt::args_bytes();
    if let Some(text) = msg::help_or_version(&args, "utmpset", HELP) {
        msg::print_and_exit(&text);
    }
    match run(&args) {
        Ok(()) => std::process::exit(exit::OK),
        Err(e) => msg::exit_with(&e),
    }
}

/// Logs the line named in `args` out.
pub fn run(args: &[Vec<u8>]) -> Result<(), UtmpsetError> {
    let argv0 = args.first().cloned().unwrap_or_default();
    let usage = |version| UtmpsetError::Usage { argv0: argv0.clone(), version };
    let mut wtmp = false;
    let mut g = Getopt::new(args, b"wV");
    for opt in g.by_ref() {
        match opt {
            Opt::Flag(b'w', _) => wtmp = true,
            Opt::Flag(b'V', _) => return Err(usage(true)),
            _ => return Err(usage(false)),
        }
    }
    let Some(line) = g.operands().first() else { return Err(usage(false)) };
    utmp_logout(&path_from_env("RUNIT_RS_UTMP", UTMP), line).map_err(|f| report(f, line, b"utmp"))?;
    if wtmp {
        wtmp_logout(&path_from_env("RUNIT_RS_WTMP", WTMP), line).map_err(|f| report(f, line, b"wtmp"))?;
    }
    Ok(())
}
