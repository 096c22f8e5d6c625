//! Named pipes.

use std::io;
use std::path::Path;

use nix::sys::stat::Mode;

/// `mkfifo(path, mode)` (the umask applies).
pub fn mkfifo(path: &Path, mode: u32) -> io::Result<()> {
    Ok(nix::unistd::mkfifo(path, Mode::from_bits_truncate(mode as libc::mode_t))?)
}

/// Whether `path` is a FIFO (without following a final symlink).
pub fn is_fifo(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt;
    meta.file_type().is_fifo()
}
