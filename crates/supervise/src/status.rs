//! `supervise/status` (20 bytes), `supervise/stat` (one line) and
//! `supervise/pid` (decimal + newline, or empty).
//!
//! Layout of the record (docs/PROTOCOL.md, section 3):
//!
//! ```text
//! 0..8   TAI64 seconds, big-endian     8..12  nanoseconds, big-endian
//! 12..16 pid, little-endian            16     paused flag (0/1)
//! 17     want: 'u' or 'd' (exit = 'd') 18     TERM flag (0/1)
//! 19     state: 0 down, 1 run, 2 finish
//! ```
//!
//! The pure functions ([`Status::encode`], [`Status::decode`],
//! [`stat_line`], [`pid_text`]) are separate from the I/O ([`read_status`],
//! [`write_files`]).

use crate::layout::SuperviseDir;
use std::io::{self, Read};
use std::path::Path;
use unix::atomic::ReplaceError;
use unix::tai64n::Tai64n;

/// Size of runit's record; sv rejects anything else ("bad format").
pub const STATUS_LEN: usize = 20;

/// What runsv is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    Down = 0,
    Run = 1,
    Finish = 2,
}

impl State {
    pub fn word(self) -> &'static str {
        match self {
            State::Down => "down",
            State::Run => "run",
            State::Finish => "finish",
        }
    }
}

/// What runsv tries to keep. `Exit` is written as `d` in the record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Want {
    Up,
    Down,
    Exit,
}

impl Want {
    pub fn status_byte(self) -> u8 {
        match self {
            Want::Up => b'u',
            Want::Down | Want::Exit => b'd',
        }
    }
}

/// The 20-byte record, with its flag bytes kept raw so that a reader
/// reproduces exactly what is on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status {
    pub stamp: Tai64n,
    pub pid: u32,
    pub paused: u8,
    pub want: u8,
    pub term: u8,
    pub state: u8,
}

/// Why a record could not be decoded.
#[derive(Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// Not exactly 20 bytes (e.g. daemontools' 18-byte record).
    BadFormat(usize),
}

impl Status {
    /// The record runsv writes for `state`, `want` and its flags.
    pub fn new(stamp: Tai64n, pid: u32, state: State, want: Want, paused: bool, term: bool) -> Status {
        Status { stamp, pid, paused: paused as u8, want: want.status_byte(), term: term as u8, state: state as u8 }
    }

    pub fn encode(&self) -> [u8; STATUS_LEN] {
        let mut b = [0u8; STATUS_LEN];
        b[..12].copy_from_slice(&self.stamp.to_bytes());
        b[12..16].copy_from_slice(&self.pid.to_le_bytes());
        b[16] = self.paused;
        b[17] = self.want;
        b[18] = self.term;
        b[19] = self.state;
        b
    }

    pub fn decode(b: &[u8]) -> Result<Status, DecodeError> {
        match <&[u8; STATUS_LEN]>::try_from(b) {
            Ok(record) => Ok(Status::from_record(record)),
            Err(_) => Err(DecodeError::BadFormat(b.len())),
        }
    }

    /// Decodes a whole record; any 20 bytes are one (unknown state or want
    /// bytes are kept as they are).
    pub fn from_record(b: &[u8; STATUS_LEN]) -> Status {
        let mut t = [0u8; 12];
        t.copy_from_slice(&b[..12]);
        let mut p = [0u8; 4];
        p.copy_from_slice(&b[12..16]);
        Status {
            stamp: Tai64n::from_bytes(&t),
            pid: u32::from_le_bytes(p),
            paused: b[16],
            want: b[17],
            term: b[18],
            state: b[19],
        }
    }

    /// The state byte as a [`State`], if it is one of runit's three.
    pub fn state(&self) -> Option<State> {
        match self.state {
            0 => Some(State::Down),
            1 => Some(State::Run),
            2 => Some(State::Finish),
            _ => None,
        }
    }
}

/// The `supervise/stat` line: `STATE[, paused][, got TERM][, want down|exit]\n`
/// (the want suffix only when not down; want up prints nothing).
pub fn stat_line(state: State, paused: bool, term: bool, want: Want) -> Vec<u8> {
    let mut v = state.word().as_bytes().to_vec();
    if paused {
        v.extend_from_slice(b", paused");
    }
    if term {
        v.extend_from_slice(b", got TERM");
    }
    if state != State::Down {
        match want {
            Want::Up => {}
            Want::Down => v.extend_from_slice(b", want down"),
            Want::Exit => v.extend_from_slice(b", want exit"),
        }
    }
    v.push(b'\n');
    v
}

/// The `supervise/pid` content: decimal pid and `\n`, or nothing for 0.
pub fn pid_text(pid: u32) -> Vec<u8> {
    if pid == 0 {
        Vec::new()
    } else {
        format!("{pid}\n").into_bytes()
    }
}

/// Why `supervise/status` could not be read.
#[derive(Debug)]
pub enum ReadError {
    Open(io::Error),
    Read(io::Error),
    BadFormat,
}

/// Reads and decodes a status file as runit's sv does: one read of 20
/// bytes; fewer is "bad format", anything after the 20th byte is ignored.
pub fn read_status(path: &Path) -> Result<Status, ReadError> {
    let mut f = std::fs::File::open(path).map_err(ReadError::Open)?;
    let mut buf = [0u8; STATUS_LEN];
    let n = unix::fd::read_up_to(&mut f, &mut buf).map_err(ReadError::Read)?;
    Status::decode(&buf[..n]).map_err(|_| ReadError::BadFormat)
}

/// Reads a status file into `buf` exactly as runit's sv does: opened
/// non-blocking, one `read` of 20 bytes. A short read is "bad format" and
/// leaves the rest of `buf` as it was: sv keeps one buffer for a service
/// and its log service, and prints the log part of a damaged record from
/// that mixture, as runit does.
pub fn read_record(path: &Path, buf: &mut [u8; STATUS_LEN]) -> Result<Status, ReadError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f =
        std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path).map_err(ReadError::Open)?;
    let n = loop {
        match f.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ReadError::Read(e)),
            Ok(n) => break n,
        }
    };
    if n == STATUS_LEN {
        Ok(Status::from_record(buf))
    } else {
        Err(ReadError::BadFormat)
    }
}

/// Writes one status update in runit's order (docs/PROTOCOL.md): `pid` when
/// `pid_changed`, then `stat`, then `status`, each as `NAME.new` (mode 0644
/// minus umask, never following a planted symlink) renamed over `NAME`.
///
/// Failures are passed to `warn` as runit's message text (after
/// `warning: `) plus the error, and decide how much of the update happens,
/// as in runit: a failed `pid` abandons the update; a `stat.new` that cannot
/// be created abandons it, a failed `stat` rename does not; `status` is
/// last. Returns whether the `pid` file is now current (the caller retries
/// it on the next update otherwise).
pub fn write_files(
    dir: &SuperviseDir,
    st: &Status,
    stat: &[u8],
    pid_changed: bool,
    mut warn: impl FnMut(Vec<u8>, Option<io::Error>),
) -> bool {
    let mut put = |name: &str, data: &[u8]| -> Result<(), bool> {
        let tmp = format!("{name}.new");
        dir.replace(&tmp, name, data, 0o644).map_err(|e| {
            let cat = |a: &[u8], b: &[u8], c: &[u8]| [a, b, c].concat();
            match e {
                ReplaceError::Open(e) => {
                    warn(cat(b"unable to open ", &dir.name(&tmp), b""), Some(e));
                    true
                }
                ReplaceError::Write(Some(e)) => {
                    warn(cat(b"unable to write ", &dir.name(&tmp), b""), Some(e));
                    false
                }
                ReplaceError::Write(None) => {
                    warn(cat(b"unable to write ", &dir.name(&tmp), b": partial write."), None);
                    false
                }
                ReplaceError::Rename(e) => {
                    warn([b"unable to rename ", tmp.as_bytes(), b" to ", &dir.name(name)].concat(), Some(e));
                    false
                }
            }
        })
    };
    if pid_changed && put("pid", &pid_text(st.pid)).is_err() {
        return false;
    }
    if let Err(true) = put("stat", stat) {
        return true;
    }
    let _ = put("status", &st.encode());
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_record_leaves_the_tail_of_the_buffer_on_a_short_read() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("status");
        let full = Status::new(Tai64n { secs: 7, nanos: 0 }, 42, State::Run, Want::Up, false, false).encode();
        std::fs::write(&p, full).unwrap();
        let mut buf = [0u8; STATUS_LEN];
        assert_eq!(read_record(&p, &mut buf).unwrap().pid, 42);
        std::fs::write(&p, [9u8; 5]).unwrap();
        assert!(matches!(read_record(&p, &mut buf), Err(ReadError::BadFormat)));
        assert_eq!(&buf[..5], &[9u8; 5]);
        assert_eq!(&buf[5..], &full[5..]);
        assert!(matches!(read_record(&d.path().join("none"), &mut buf), Err(ReadError::Open(_))));
    }

    /// The running record as observed from Debian's runsv.
    const GOLDEN_RUN: [u8; 20] = [
        0x40, 0x00, 0x00, 0x00, 0x6b, 0x01, 0xe5, 0x54, 0x01, 0xa0, 0x9a, 0x64, 0x7d, 0x43, 0x00, 0x00, 0x00, 0x75,
        0x00, 0x01,
    ];

    #[test]
    fn golden_running_record_decodes_and_reencodes() {
        let s = Status::decode(&GOLDEN_RUN).unwrap();
        assert_eq!(s.stamp.unix_secs(), 1795286346);
        assert_eq!(s.pid, 17277);
        assert_eq!((s.paused, s.want, s.term, s.state), (0, b'u', 0, 1));
        assert_eq!(s.state(), Some(State::Run));
        assert_eq!(s.encode(), GOLDEN_RUN);
    }

    fn tail(st: State, want: Want, paused: bool, term: bool, pid: u32) -> [u8; 8] {
        let s = Status::new(Tai64n::from_unix(1795286346, 0), pid, st, want, paused, term);
        let mut t = [0u8; 8];
        t.copy_from_slice(&s.encode()[12..]);
        t
    }

    #[test]
    fn golden_tails_of_every_observed_state() {
        // down after `sv down`
        assert_eq!(tail(State::Down, Want::Down, false, false, 0), [0, 0, 0, 0, 0, b'd', 0, 0]);
        // once while running
        assert_eq!(tail(State::Run, Want::Down, false, false, 0x437d), [0x7d, 0x43, 0, 0, 0, b'd', 0, 1]);
        // paused
        assert_eq!(tail(State::Run, Want::Down, true, false, 0x437d), [0x7d, 0x43, 0, 0, 1, b'd', 0, 1]);
        // stop in progress with TERM ignored
        assert_eq!(tail(State::Run, Want::Down, false, true, 0x437d), [0x7d, 0x43, 0, 0, 0, b'd', 1, 1]);
        // finish running
        assert_eq!(tail(State::Finish, Want::Up, false, false, 0x437d), [0x7d, 0x43, 0, 0, 0, b'u', 0, 2]);
        // want exit is written as 'd'
        assert_eq!(tail(State::Run, Want::Exit, false, false, 1)[5], b'd');
    }

    #[test]
    fn wrong_sizes_are_bad_format() {
        assert_eq!(Status::decode(&GOLDEN_RUN[..18]), Err(DecodeError::BadFormat(18)));
        assert_eq!(Status::decode(&[]), Err(DecodeError::BadFormat(0)));
        assert_eq!(Status::decode(&[0; 21]), Err(DecodeError::BadFormat(21)));
    }

    #[test]
    fn stat_lines_match_the_spec_examples() {
        let s = |st, p, t, w| String::from_utf8(stat_line(st, p, t, w)).unwrap();
        assert_eq!(s(State::Run, false, false, Want::Up), "run\n");
        assert_eq!(s(State::Down, false, false, Want::Down), "down\n");
        assert_eq!(s(State::Down, false, false, Want::Up), "down\n");
        assert_eq!(s(State::Finish, false, false, Want::Up), "finish\n");
        assert_eq!(s(State::Run, false, false, Want::Down), "run, want down\n");
        assert_eq!(s(State::Run, true, false, Want::Down), "run, paused, want down\n");
        assert_eq!(s(State::Run, false, true, Want::Down), "run, got TERM, want down\n");
        assert_eq!(s(State::Finish, false, false, Want::Down), "finish, want down\n");
        assert_eq!(s(State::Run, false, false, Want::Exit), "run, want exit\n");
        assert_eq!(s(State::Down, true, false, Want::Down), "down, paused\n");
    }

    #[test]
    fn pid_text_is_empty_for_no_process() {
        assert_eq!(pid_text(0), b"");
        assert_eq!(pid_text(17277), b"17277\n");
    }

    #[test]
    fn write_then_read_round_trips() {
        let d = tempfile::tempdir().unwrap();
        let dir = SuperviseDir::of(d.path());
        std::fs::create_dir(dir.path()).unwrap();
        let st = Status::new(Tai64n::now(), 42, State::Run, Want::Up, false, false);
        let mut warnings = 0;
        assert!(write_files(&dir, &st, &stat_line(State::Run, false, false, Want::Up), true, |_, _| warnings += 1));
        assert_eq!(warnings, 0);
        assert_eq!(read_status(&dir.file("status")).unwrap(), st);
        assert_eq!(std::fs::read(dir.file("stat")).unwrap(), b"run\n");
        assert_eq!(std::fs::read(dir.file("pid")).unwrap(), b"42\n");
        std::fs::write(dir.file("status"), &st.encode()[..18]).unwrap();
        assert!(matches!(read_status(&dir.file("status")), Err(ReadError::BadFormat)));
        // like runit's sv, bytes after the 20th are ignored
        std::fs::write(dir.file("status"), [&st.encode()[..], b"xx"].concat()).unwrap();
        assert_eq!(read_status(&dir.file("status")).unwrap(), st);
    }

    #[test]
    fn a_missing_directory_abandons_the_update_with_runits_message() {
        let d = tempfile::tempdir().unwrap();
        let dir = SuperviseDir::of(&d.path().join("nope"));
        let st = Status::new(Tai64n::now(), 0, State::Down, Want::Up, false, false);
        let mut msgs = Vec::new();
        let pid_ok = write_files(&dir, &st, b"down\n", true, |m, e| msgs.push((m, e.is_some())));
        assert!(!pid_ok);
        assert_eq!(msgs.len(), 1);
        assert!(msgs[0].0.starts_with(b"unable to open "));
        assert!(msgs[0].0.ends_with(b"supervise/pid.new"));
    }
}
