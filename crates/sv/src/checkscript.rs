//! `./check`: the readiness probe sv (never runsv) runs while it waits for
//! a service to be up.
//!
//! runit's rules (`man/sv.8`, COMMANDS): the script runs with the service directory as
//! its working directory, sv's environment, argv `["./check"]`, and
//! standard output **closed**. Exit code 0 passes. A missing script passes;
//! one that exists but cannot be executed also passes, after the child has
//! printed `warning: unable to run NAME/check: ERR` (runit's child does
//! exactly that and exits 0). A script killed by a signal passes too,
//! because runit only looks at the exit-code byte of the wait status.

use std::io;
use unix::errtext;
use unix::spawn::Spawn;

fn stderr_warning(name: &[u8], what: &[u8], e: &io::Error) {
    unix::msg::line(&[b"warning: ", what, name, b"/check: ", errtext::io_text(e).as_bytes()]);
}

/// Runs `./check` in the current directory (the service directory of
/// `name`, used only in messages). Returns whether the service counts as
/// ready.
pub fn passes(name: &[u8]) -> bool {
    match std::fs::metadata("check") {
        Ok(_) => {}
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return true,
        Err(e) => {
            stderr_warning(name, b"unable to stat ", &e);
            return false;
        }
    }
    // The child's failure line: runit's child warns and exits 0, so a
    // check that cannot be run passes.
    const UNRUNNABLE_CHECK_EXIT: i32 = 0;
    let prefix = [b"warning: unable to run ".as_slice(), name, b"/check: "].concat();
    let spawned = Spawn::new(b"check", &[b"./check"], &prefix)
        .and_then(|mut s| s.close(1).exit_code(UNRUNNABLE_CHECK_EXIT).spawn());
    let pid = match spawned {
        Ok(pid) => pid,
        Err(e) => {
            stderr_warning(name, b"unable to fork for ", &e);
            return false;
        }
    };
    match unix::proc::wait_pid(pid) {
        // runit's wait_exitcode: the second byte of the raw status.
        Ok(w) => (w.0 >> 8) & 0xff == 0,
        Err(e) => {
            stderr_warning(name, b"unable to wait for child ", &e);
            false
        }
    }
}
