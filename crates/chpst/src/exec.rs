//! Executing the program: the name is searched on chpst's own `PATH`
//! (never on a `PATH` staged by `-e`), and the staged edits make the
//! program's environment.

use std::ffi::CString;
use std::io;

use crate::env::{self, Edits};

/// Replaces the process with `prog`, run with `argv` and chpst's
/// environment changed by `edits`. Returns only on failure, with the errno
/// runit would report.
pub fn run(prog: &[u8], argv: &[Vec<u8>], edits: &Edits) -> io::Error {
    let own = env::current();
    let candidates = candidates(prog, env::get(&own, b"PATH"));
    let envp = env::apply(own, edits);
    let (Some(argv), Some(envp)) = (cstrings(argv), cstrings(&envp)) else {
        return io::Error::from_raw_os_error(libc::EINVAL);
    };
    let argv_ptrs = pointers(&argv);
    let envp_ptrs = pointers(&envp);
    let mut saved = 0;
    let mut last = libc::ENOENT;
    crate::restore_start_state();
    for path in &candidates {
        let Ok(path) = CString::new(path.as_slice()) else { continue };
        // SAFETY: path, argv and envp are NUL-terminated arrays of valid C
        // strings that outlive the call.
        unsafe { libc::execve(path.as_ptr(), argv_ptrs.as_ptr(), envp_ptrs.as_ptr()) };
        last = unix::errtext::errno();
        if last != libc::ENOENT {
            saved = last;
            // Keep looking past directories we may not use; stop at real
            // failures (runit's pathexec rules).
            if ![libc::EACCES, libc::EPERM, libc::EISDIR].contains(&last) {
                break;
            }
        }
    }
    io::Error::from_raw_os_error(if saved != 0 { saved } else { last })
}

/// The paths to try for `prog`: itself when it contains a `/`, else each
/// `PATH` entry (an empty entry is the current directory; `/bin:/usr/bin`
/// when `PATH` is unset).
pub fn candidates(prog: &[u8], path: Option<&[u8]>) -> Vec<Vec<u8>> {
    if prog.contains(&b'/') {
        return vec![prog.to_vec()];
    }
    path.unwrap_or(b"/bin:/usr/bin")
        .split(|&b| b == b':')
        .map(|dir| {
            let mut p = if dir.is_empty() { b".".to_vec() } else { dir.to_vec() };
            p.push(b'/');
            p.extend_from_slice(prog);
            p
        })
        .collect()
}

fn cstrings(items: &[Vec<u8>]) -> Option<Vec<CString>> {
    items.iter().map(|i| CString::new(i.as_slice()).ok()).collect()
}

fn pointers(items: &[CString]) -> Vec<*const libc::c_char> {
    items.iter().map(|c| c.as_ptr()).chain(std::iter::once(std::ptr::null())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_follow_the_path() {
        assert_eq!(candidates(b"./x", Some(b"/bin")), vec![b"./x".to_vec()]);
        assert_eq!(candidates(b"x", None), vec![b"/bin/x".to_vec(), b"/usr/bin/x".to_vec()]);
        assert_eq!(candidates(b"x", Some(b"")), vec![b"./x".to_vec()]);
        assert_eq!(
            candidates(b"x", Some(b"/a::/b:")),
            vec![b"/a/x".to_vec(), b"./x".to_vec(), b"/b/x".to_vec(), b"./x".to_vec()]
        );
    }
}
