//! Replacing a file atomically: write `NAME.new`, then `rename` over `NAME`.
//!
//! Readers (sv, monitoring) never see a half-written file. The steps are
//! reported separately because runit's warnings name the step that failed.

use std::ffi::CString;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::fd::{BorrowedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use nix::unistd::UnlinkatFlags;

/// Which step of a replacement failed.
#[derive(Debug)]
pub enum ReplaceError {
    /// Opening (creating) the `.new` file.
    Open(io::Error),
    /// Writing it; `None` means a short write with no errno.
    Write(Option<io::Error>),
    /// Renaming it over the destination.
    Rename(io::Error),
}

/// Writes `data` to `tmp` (created `O_WRONLY|O_TRUNC|O_CREAT|O_NONBLOCK`,
/// `mode` minus umask) and renames it to `dst`. The temporary file is never
/// followed if it is a symlink planted by someone else (`O_NOFOLLOW`; such a
/// link is removed and the open retried once), so the write cannot be
/// redirected to another file. After a failed write the temporary file is
/// removed.
pub fn replace(tmp: &Path, dst: &Path, data: &[u8], mode: u32) -> Result<(), ReplaceError> {
    let open = || {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
            .open(tmp)
    };
    let mut f = match open() {
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            let _ = std::fs::remove_file(tmp);
            open()
        }
        r => r,
    }
    .map_err(ReplaceError::Open)?;
    match f.write(data) {
        Ok(n) if n == data.len() => {}
        Ok(_) => {
            let _ = std::fs::remove_file(tmp);
            return Err(ReplaceError::Write(None));
        }
        Err(e) => {
            let _ = std::fs::remove_file(tmp);
            return Err(ReplaceError::Write(Some(e)));
        }
    }
    drop(f);
    std::fs::rename(tmp, dst).map_err(ReplaceError::Rename)
}

/// [`replace`] with both names relative to the directory open as `dir`
/// (`openat`/`renameat`), so the files land in that directory even after
/// the path that led to it was removed or now leads elsewhere.
pub fn replace_at(dir: RawFd, tmp: &Path, dst: &Path, data: &[u8], mode: u32) -> Result<(), ReplaceError> {
    if dir < 0 {
        return Err(ReplaceError::Open(Errno::EBADF.into()));
    }
    // SAFETY: non-negative; the caller holds `dir` open for the whole
    // call, and the borrow does not outlive it.
    let dir = unsafe { BorrowedFd::borrow_raw(dir) };
    // Converted once, on the heap: given a `Path`, nix copies each name into
    // a 1 KiB stack buffer per call (two for `renameat`), and runsv writes
    // its status through here from deep in its loop, so those buffers would
    // add to the stack pages every runsv keeps dirty for its whole life.
    let (tmp, dst) = match (CString::new(tmp.as_os_str().as_bytes()), CString::new(dst.as_os_str().as_bytes())) {
        (Ok(t), Ok(d)) => (t, d),
        _ => return Err(ReplaceError::Open(Errno::EINVAL.into())),
    };
    let (tmp, dst) = (tmp.as_c_str(), dst.as_c_str());
    let flags =
        OFlag::O_WRONLY | OFlag::O_TRUNC | OFlag::O_CREAT | OFlag::O_NONBLOCK | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let mode = Mode::from_bits_truncate(mode as libc::mode_t);
    let open = || nix::fcntl::openat(dir, tmp, flags, mode);
    let unlink = || nix::unistd::unlinkat(dir, tmp, UnlinkatFlags::NoRemoveDir);
    let fd = match open() {
        Err(Errno::ELOOP) => {
            let _ = unlink();
            open()
        }
        r => r,
    }
    .map_err(|e| ReplaceError::Open(e.into()))?;
    let mut f = std::fs::File::from(fd);
    let written = match f.write(data) {
        Ok(n) if n == data.len() => Ok(()),
        Ok(_) => Err(ReplaceError::Write(None)),
        Err(e) => Err(ReplaceError::Write(Some(e))),
    };
    drop(f);
    if let Err(e) = written {
        let _ = unlink();
        return Err(e);
    }
    nix::fcntl::renameat(dir, tmp, dir, dst).map_err(|e| ReplaceError::Rename(e.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_leaves_no_temporary() {
        let d = tempfile::tempdir().unwrap();
        let (tmp, dst) = (d.path().join("x.new"), d.path().join("x"));
        std::fs::write(&dst, b"old").unwrap();
        replace(&tmp, &dst, b"new\n", 0o644).unwrap();
        assert_eq!(std::fs::read(&dst).unwrap(), b"new\n");
        assert!(!tmp.exists());
    }

    #[test]
    fn a_planted_symlink_is_not_followed() {
        let d = tempfile::tempdir().unwrap();
        let victim = d.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        let tmp = d.path().join("x.new");
        std::os::unix::fs::symlink(&victim, &tmp).unwrap();
        replace(&tmp, &d.path().join("x"), b"mine", 0o644).unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert_eq!(std::fs::read(d.path().join("x")).unwrap(), b"mine");
    }

    #[test]
    fn replace_at_writes_into_the_open_directory_even_after_it_moved() {
        use std::os::fd::AsRawFd;
        let d = tempfile::tempdir().unwrap();
        let sub = d.path().join("sup");
        std::fs::create_dir(&sub).unwrap();
        let fd = std::fs::File::open(&sub).unwrap();
        std::fs::rename(&sub, d.path().join("moved")).unwrap();
        let victim = d.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        std::os::unix::fs::symlink(&victim, d.path().join("moved/x.new")).unwrap();
        replace_at(fd.as_raw_fd(), Path::new("x.new"), Path::new("x"), b"new\n", 0o644).unwrap();
        assert_eq!(std::fs::read(d.path().join("moved/x")).unwrap(), b"new\n");
        assert!(!d.path().join("moved/x.new").exists());
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    }
}
