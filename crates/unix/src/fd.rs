//! Descriptor flags and pipes.

use std::io;
use std::os::fd::{BorrowedFd, OwnedFd, RawFd};

use nix::fcntl::{fcntl, FcntlArg, OFlag};

/// Borrows a descriptor given by number for the length of one call.
///
/// The functions here take plain numbers because their callers hold
/// descriptors in many forms (0 for stdin, `as_raw_fd()` of a `File`).
/// A number that is not open makes the call fail with `EBADF`, as the
/// system call itself would; a negative one is `EBADF` at once.
fn borrow<'a>(fd: RawFd) -> nix::Result<BorrowedFd<'a>> {
    if fd < 0 {
        return Err(nix::errno::Errno::EBADF);
    }
    // SAFETY: non-negative, and the borrow lives only for the single fcntl
    // call its caller makes; the descriptor is not closed during that call.
    Ok(unsafe { BorrowedFd::borrow_raw(fd) })
}

/// Sets or clears `O_NONBLOCK`.
pub fn set_nonblock(fd: RawFd, on: bool) -> io::Result<()> {
    let old = OFlag::from_bits_retain(fcntl(borrow(fd)?, FcntlArg::F_GETFL)?);
    let mut new = old;
    new.set(OFlag::O_NONBLOCK, on);
    if new != old {
        fcntl(borrow(fd)?, FcntlArg::F_SETFL(new))?;
    }
    Ok(())
}

/// A pipe whose both ends are close-on-exec: `(read, write)`.
pub fn pipe_cloexec() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(nix::unistd::pipe2(OFlag::O_CLOEXEC)?)
}

/// Whether `fd` is an open descriptor.
pub fn is_open(fd: RawFd) -> bool {
    borrow(fd).and_then(|b| fcntl(b, FcntlArg::F_GETFD)).is_ok()
}

/// A close-on-exec duplicate of `fd` numbered `min` or higher (the lowest
/// free number there): keeps a descriptor clear of numbers a child's
/// descriptor moves will overwrite.
pub fn dup_above(fd: &impl std::os::fd::AsFd, min: RawFd) -> io::Result<OwnedFd> {
    use std::os::fd::FromRawFd;
    let raw = fcntl(fd.as_fd(), FcntlArg::F_DUPFD_CLOEXEC(min)).map_err(io::Error::from)?;
    // SAFETY: fcntl succeeded, so `raw` is a new descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// Reads into `buf` until it is full or end-of-file (retrying on EINTR);
/// returns how many bytes came. Without allocating, for small files
/// such as `supervise/status` and `/proc/PID/stat`.
pub fn read_up_to(r: &mut impl std::io::Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn dup_above_gives_a_number_at_least_min() {
        let (r, _w) = pipe_cloexec().unwrap();
        let d = dup_above(&r, 100).unwrap();
        assert!(d.as_raw_fd() >= 100);
        assert_ne!(fcntl(&d, FcntlArg::F_GETFD).unwrap() & libc::FD_CLOEXEC, 0);
    }

    #[test]
    fn flags_round_trip() {
        let (r, w) = pipe_cloexec().unwrap();
        assert!(is_open(r.as_raw_fd()));
        assert_ne!(fcntl(&r, FcntlArg::F_GETFD).unwrap() & libc::FD_CLOEXEC, 0);
        set_nonblock(w.as_raw_fd(), true).unwrap();
        assert_ne!(fcntl(&w, FcntlArg::F_GETFL).unwrap() & libc::O_NONBLOCK, 0);
        assert!(!is_open(-1));
    }
}
