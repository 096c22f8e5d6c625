//! `runit-init`: the program installed as `/sbin/init` (see runit-init(8)).
//!
//! As PID 1 (started by the kernel) it replaces itself with `runit`
//! (`/sbin/runit`, settable at build time with `RUNIT_RS_RUNIT`). Otherwise
//! it asks the running runit to shut down: `init 0` halts (power off),
//! `init 6` reboots. It does so by making the stopit file (and, for a reboot,
//! the reboot file) owner-executable and sending SIGCONT to PID 1. Only the
//! first byte of the first argument counts. The files are runit's
//! (`RUNIT_RS_ETC=DIR` moves them, see `runit_runit::config`).

use std::ffi::{CString, OsString};
use std::fs::{OpenOptions, Permissions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use runit_runit::config::{self, Paths};
use unix::path_bytes;

const FATAL: &[u8] = b"init: fatal: ";

fn die(parts: &[&[u8]], e: &io::Error) -> ! {
    let mut v = vec![FATAL];
    v.extend_from_slice(parts);
    v.push(b": ");
    v.push(unix::errtext::io_text(e).as_bytes());
    unix::msg::line(&v);
    std::process::exit(111)
}

/// Entry point of the `runit-init` program.
pub fn main() -> ! {
    let args: Vec<OsString> = std::env::args_os().collect();
    let argv0 = args.first().map(|a| a.as_bytes().to_vec()).unwrap_or_else(|| b"init".to_vec());

    // SAFETY: getpid has no preconditions.
    if unsafe { libc::getpid() } == 1 {
        exec_runit();
    }
    let first = args.get(1).and_then(|a| a.as_bytes().first().copied());
    let paths = Paths::from_env();
    match first {
        Some(b'0') => {
            arm(&paths.stopit);
            match std::fs::set_permissions(&paths.reboot, Permissions::from_mode(0o000)) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => {
                    die(&[b"unable to chmod ", path_bytes(&paths.reboot)], &e)
                }
                _ => {}
            }
        }
        Some(b'6') => {
            arm(&paths.stopit);
            arm(&paths.reboot);
        }
        Some(b'-') if args[1].as_bytes().get(1) == Some(&b'V') => {
            let v = concat!("$Id: runit-rs ", env!("CARGO_PKG_VERSION"), " $\n\n");
            unix::msg::write_all_fd(2, v.as_bytes());
            unix::msg::usage(&argv0, b"0|6", 0)
        }
        _ => unix::msg::usage(&argv0, b"0|6", 0),
    }
    // The result is not checked, as upstream: the files say what to do.
    let _ = unix::proc::kill(1, libc::SIGCONT);
    std::process::exit(0)
}

/// Creates (truncating) `path` and sets its mode to 0100 (owner-execute).
fn arm(path: &Path) {
    if let Err(e) =
        OpenOptions::new().write(true).create(true).truncate(true).mode(0o644).custom_flags(libc::O_NONBLOCK).open(path)
    {
        die(&[b"unable to create ", path_bytes(path)], &e);
    }
    if let Err(e) = std::fs::set_permissions(path, Permissions::from_mode(0o100)) {
        die(&[b"unable to chmod ", path_bytes(path)], &e);
    }
}

/// Replaces this process with runit, argv `["runit"]`, same environment.
fn exec_runit() -> ! {
    let prog = config::runit_program();
    let e = match CString::new(prog) {
        Ok(path) => {
            let argv: [*const libc::c_char; 2] = [c"runit".as_ptr(), std::ptr::null()];
            extern "C" {
                static environ: *const *const libc::c_char;
            }
            // SAFETY: path and argv are NUL-terminated and outlive the call;
            // environ is the process environment.
            unsafe { libc::execve(path.as_ptr(), argv.as_ptr(), environ) };
            io::Error::last_os_error()
        }
        Err(_) => io::Error::from_raw_os_error(libc::EINVAL),
    };
    die(&[b"unable to start runit"], &e)
}
