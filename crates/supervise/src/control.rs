//! Command letters and the client side of the FIFOs.
//!
//! A client learns whether runsv is alive by opening `supervise/ok` for
//! writing without blocking: it succeeds only while runsv holds the read end
//! open; `ENXIO` means no runsv, `ENOENT` that the directory was never
//! supervised. Commands are bytes written to `supervise/control` in one
//! `write`, opened the same way (a plain shell redirection would block
//! forever when runsv is gone).

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// The letters runsv understands (identical in 2.1.2 and 2.3.0).
pub const LETTERS: &[u8] = b"udoxtkpchaiq12";

/// Outcome of talking to a supervise FIFO.
#[derive(Debug)]
pub enum FifoError {
    /// `ENXIO`: the FIFO exists but no runsv reads it.
    NotRunning,
    /// Any other failure to open it (runit's `unable to open ...: ERR`).
    Open(io::Error),
    /// The write failed (`None`: a short write).
    Write(Option<io::Error>),
}

fn open_nonblocking_writer(path: &Path) -> Result<std::fs::File, FifoError> {
    OpenOptions::new().write(true).custom_flags(libc::O_NONBLOCK).open(path).map_err(|e| {
        if e.raw_os_error() == Some(libc::ENXIO) {
            FifoError::NotRunning
        } else {
            FifoError::Open(e)
        }
    })
}

/// Probes `supervise/ok`: `Ok` while a runsv is running.
pub fn probe_ok(ok: &Path) -> Result<(), FifoError> {
    open_nonblocking_writer(ok).map(drop)
}

/// Writes `letters` to `supervise/control` in one write.
pub fn send(control: &Path, letters: &[u8]) -> Result<(), FifoError> {
    let mut f = open_nonblocking_writer(control)?;
    match f.write(letters) {
        Ok(n) if n == letters.len() => Ok(()),
        Ok(_) => Err(FifoError::Write(None)),
        Err(e) => Err(FifoError::Write(Some(e))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_without_reader_means_not_running() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("control");
        unix::fifo::mkfifo(&p, 0o600).unwrap();
        assert!(matches!(send(&p, b"u"), Err(FifoError::NotRunning)));
        assert!(matches!(probe_ok(&p), Err(FifoError::NotRunning)));
        let missing = d.path().join("nope");
        match probe_ok(&missing) {
            Err(FifoError::Open(e)) => assert_eq!(e.raw_os_error(), Some(libc::ENOENT)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn letters_reach_a_reader() {
        use std::io::Read;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("control");
        unix::fifo::mkfifo(&p, 0o600).unwrap();
        let mut r = OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(&p).unwrap();
        send(&p, b"tcu").unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 8];
        let n = r.read(&mut buf).unwrap();
        got.extend_from_slice(&buf[..n]);
        assert_eq!(got, b"tcu");
    }
}
