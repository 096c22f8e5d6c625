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
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::ffi::OsStringExt;

use unix::getopt::{Getopt, Opt};
use unix::msg::{self, Label};

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

fn open(path: &[u8], flags: libc::c_int) -> io::Result<File> {
    let c = std::ffi::CString::new(path).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    // SAFETY: c is a valid C string; the fd is owned by the File below.
    let fd = unsafe { libc::open(c.as_ptr(), flags | libc::O_CLOEXEC, 0o600 as libc::c_uint) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd was just opened and is owned by nobody else.
    Ok(unsafe { File::from_raw_fd(fd) })
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
    let mut f = open(path, libc::O_RDWR).map_err(|e| fatal(&[b"unable to open ", path], Some(e)))?;
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
    let flags = libc::O_WRONLY | libc::O_NONBLOCK | libc::O_APPEND | libc::O_CREAT;
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
            Err(Failure::NotDone(Some(res.err().unwrap_or_else(|| io::Error::from_raw_os_error(libc::ENOSPC)))))
        }
    }
}

fn usage(argv0: &[u8]) -> ! {
    msg::usage(argv0, b"[-w] line", 1)
}

/// Entry point of the `utmpset` program.
pub fn main() -> ! {
    let args = unix::getopt::args_bytes();
    let argv0 = args.first().cloned().unwrap_or_default();
    let mut wtmp = false;
    let mut g = Getopt::new(&args, b"wV");
    for opt in g.by_ref() {
        match opt {
            Opt::Flag(b'w', _) => wtmp = true,
            Opt::Flag(b'V', _) => {
                msg::line(&[b"$Id: runit-rs ", env!("CARGO_PKG_VERSION").as_bytes(), b" $"]);
                usage(&argv0)
            }
            _ => usage(&argv0),
        }
    }
    let Some(line) = g.operands().first() else { usage(&argv0) };
    let label = Label::new(b"utmpset");
    let fail = |f: Failure, db: &[u8]| -> ! {
        match f {
            Failure::Fatal(text, e) => label.die(111, &[&text], e.as_ref()),
            Failure::NotDone(e) => {
                let what: &[&[u8]] = &[b"unable to logout line ", line, b" in ", db];
                match (db, e) {
                    (b"wtmp", Some(e)) => label.warn_err(what, &e),
                    (b"wtmp", None) => label.warn(what),
                    _ => label.warn(&[&what.concat(), b": no such entry"]),
                }
                std::process::exit(111)
            }
        }
    };
    if let Err(f) = utmp_logout(&path_from_env("RUNIT_RS_UTMP", UTMP), line) {
        fail(f, b"utmp")
    }
    if wtmp {
        if let Err(f) = wtmp_logout(&path_from_env("RUNIT_RS_WTMP", WTMP), line) {
            fail(f, b"wtmp")
        }
    }
    std::process::exit(0)
}
