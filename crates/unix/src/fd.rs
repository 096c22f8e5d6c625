//! Descriptor flags and pipes.

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd, RawFd};

use nix::fcntl::{fcntl, FcntlArg, FdFlag, OFlag};

/// Borrows a descriptor given by number for the length of one call.
///
/// The functions here take plain numbers because their callers hold
/// descriptors in many forms (0 for stdin, `as_raw_fd()` of a `File`).
/// A number that is not open makes the call fail with `EBADF`, as the
/// system call itself would.
fn borrow<'a>(fd: RawFd) -> BorrowedFd<'a> {
    // SAFETY: the borrow lives only for the single fcntl call its caller
    // makes; the descriptor is not closed during that call.
    unsafe { BorrowedFd::borrow_raw(fd) }
}

/// Sets or clears `FD_CLOEXEC`.
pub fn set_cloexec(fd: RawFd, on: bool) -> io::Result<()> {
    let old = FdFlag::from_bits_retain(fcntl(borrow(fd), FcntlArg::F_GETFD)?);
    let mut new = old;
    new.set(FdFlag::FD_CLOEXEC, on);
    if new != old {
        fcntl(borrow(fd), FcntlArg::F_SETFD(new))?;
    }
    Ok(())
}

/// Sets or clears `O_NONBLOCK`.
pub fn set_nonblock(fd: RawFd, on: bool) -> io::Result<()> {
    let old = OFlag::from_bits_retain(fcntl(borrow(fd), FcntlArg::F_GETFL)?);
    let mut new = old;
    new.set(OFlag::O_NONBLOCK, on);
    if new != old {
        fcntl(borrow(fd), FcntlArg::F_SETFL(new))?;
    }
    Ok(())
}

/// A pipe whose both ends are close-on-exec: `(read, write)`.
pub fn pipe_cloexec() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(nix::unistd::pipe2(OFlag::O_CLOEXEC)?)
}

/// Whether `fd` is an open descriptor.
pub fn is_open(fd: RawFd) -> bool {
    fd >= 0 && fcntl(borrow(fd), FcntlArg::F_GETFD).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn flags_round_trip() {
        let (r, w) = pipe_cloexec().unwrap();
        assert!(is_open(r.as_raw_fd()));
        set_cloexec(r.as_raw_fd(), false).unwrap();
        assert_eq!(fcntl(&r, FcntlArg::F_GETFD).unwrap() & libc::FD_CLOEXEC, 0);
        set_nonblock(w.as_raw_fd(), true).unwrap();
        assert_ne!(fcntl(&w, FcntlArg::F_GETFL).unwrap() & libc::O_NONBLOCK, 0);
        assert!(!is_open(-1));
    }
}
