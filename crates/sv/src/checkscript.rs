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

use std::ffi::CStr;
use std::io;
use unix::errtext;

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
    const PATH: &CStr = c"check";
    const ARG0: &CStr = c"./check";
    let argv: [*const libc::c_char; 2] = [ARG0.as_ptr(), std::ptr::null()];
    // The child's failure message, built before fork: prefix, then room for
    // the longest errno text and the newline.
    let mut prefix = b"warning: unable to run ".to_vec();
    prefix.extend_from_slice(name);
    prefix.extend_from_slice(b"/check: ");
    let head = prefix.len();
    prefix.resize(head + 128, 0);

    // SAFETY: fork has no preconditions; sv is single-threaded and the child
    // below only calls async-signal-safe functions on memory prepared above.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        stderr_warning(name, b"unable to fork for ", &io::Error::last_os_error());
        return false;
    }
    if pid == 0 {
        // SAFETY: in the child: close, execv, write and _exit are
        // async-signal-safe; argv and the buffer were allocated before fork.
        unsafe {
            libc::close(1);
            libc::execv(PATH.as_ptr(), argv.as_ptr());
            let text = errtext::text(*libc::__errno_location()).as_bytes();
            let n = text.len().min(127);
            prefix[head..head + n].copy_from_slice(&text[..n]);
            prefix[head + n] = b'\n';
            libc::write(2, prefix.as_ptr().cast(), head + n + 1);
            libc::_exit(0)
        }
    }
    match unix::proc::wait_pid(pid) {
        // runit's wait_exitcode: the second byte of the raw status.
        Ok(w) => (w.0 >> 8) & 0xff == 0,
        Err(e) => {
            stderr_warning(name, b"unable to wait for child ", &e);
            false
        }
    }
}
