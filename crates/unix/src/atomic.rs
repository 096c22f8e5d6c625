//! Replacing a file atomically: write `NAME.new`, then `rename` over `NAME`.
//!
//! Readers (sv, monitoring) never see a half-written file. The steps are
//! reported separately because runit's warnings name the step that failed.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

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
}
