//! `supervise/start`: which process runsv started, precisely enough that a
//! later runsv can tell it from a process that merely got the same pid.
//!
//! runsv writes it right after starting `./run` (after `status`), and a
//! runsv starting up reads it to find a `./run` orphaned by a runsv that was
//! killed (see docs/EXTENSIONS.md, "No duplicate after runsv dies"). runit's
//! tools never look at this file.
//!
//! One line: the pid, the process's start time (field 22 of
//! `/proc/PID/stat`, clock ticks since boot) and the boot id, separated by
//! single spaces; then, when `./run` was put in a cgroup, a second line
//! `cgroup PATH`:
//!
//! ```text
//! 4321 1234567 6f1c0a7e-4d8b-4f7e-9a0e-1b2c3d4e5f60
//! cgroup /sys/fs/cgroup/svc
//! ```

use crate::layout::SuperviseDir;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use unix::atomic::ReplaceError;

/// The record's name under `supervise/`.
pub const START: &str = "start";

/// One started `./run`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartRecord {
    pub pid: u32,
    pub start_time: u64,
    pub boot_id: String,
    /// The cgroup `./run` joined, when contained.
    pub cgroup: Option<PathBuf>,
}

fn decimal(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 20 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(b).ok()?.parse().ok()
}

fn valid_boot_id(b: &[u8]) -> bool {
    !b.is_empty() && b.len() <= 64 && b.iter().all(|c| c.is_ascii_hexdigit() || *c == b'-')
}

impl StartRecord {
    pub fn encode(&self) -> Vec<u8> {
        let mut v = format!("{} {} {}\n", self.pid, self.start_time, self.boot_id).into_bytes();
        // A path with a newline cannot be written on one line; the record
        // then simply has no cgroup (the pid checks still apply).
        if let Some(p) = self.cgroup.as_ref().filter(|p| !p.as_os_str().as_bytes().contains(&b'\n')) {
            v.extend_from_slice(b"cgroup ");
            v.extend_from_slice(p.as_os_str().as_bytes());
            v.push(b'\n');
        }
        v
    }

    pub fn decode(b: &[u8]) -> Option<StartRecord> {
        let b = b.strip_suffix(b"\n")?;
        let mut lines = b.split(|&c| c == b'\n');
        let first = lines.next()?;
        let mut words = first.split(|&c| c == b' ');
        let pid = u32::try_from(decimal(words.next()?)?).ok().filter(|&p| p > 0)?;
        let start_time = decimal(words.next()?)?;
        let boot = words.next()?;
        if words.next().is_some() || !valid_boot_id(boot) {
            return None;
        }
        let cgroup = match lines.next() {
            None => None,
            Some(l) => {
                let p = l.strip_prefix(b"cgroup ")?;
                if p.is_empty() {
                    return None;
                }
                Some(PathBuf::from(std::ffi::OsStr::from_bytes(p)))
            }
        };
        if lines.next().is_some() {
            return None;
        }
        Some(StartRecord { pid, start_time, boot_id: String::from_utf8(boot.to_vec()).ok()?, cgroup })
    }

    /// The pid a starting runsv must confirm (by start time) before it
    /// touches the process, when the record is from this boot (start times
    /// restart at boot). `supervise/status` is not consulted: the record is
    /// written before it, so a runsv killed between the two writes leaves
    /// a status that still shows down (or the previous pid) while its
    /// `./run` runs; a record whose process is alive with the recorded
    /// start time names exactly the process runsv started, whatever the
    /// status says.
    pub fn candidate(&self, boot_id: &str) -> Option<u32> {
        (self.boot_id == boot_id).then_some(self.pid)
    }
}

/// Reads `supervise/start`: `Ok(None)` when absent or undecodable (a
/// damaged record only means no orphan can be confirmed).
pub fn read_start(dir: &SuperviseDir) -> io::Result<Option<StartRecord>> {
    read_start_at(&dir.file(START))
}

pub fn read_start_at(path: &Path) -> io::Result<Option<StartRecord>> {
    match std::fs::read(path) {
        Ok(b) => Ok(StartRecord::decode(&b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Writes `supervise/start` atomically (`start.new` + rename, 0644),
/// through the directory held open when it is (as `status`). On
/// failure: the warning text and the error, for the caller to print.
pub fn write_start(dir: &SuperviseDir, r: &StartRecord) -> Result<(), (Vec<u8>, Option<io::Error>)> {
    let tmp = format!("{START}.new");
    dir.replace(&tmp, START, &r.encode(), 0o644).map_err(|e| match e {
        ReplaceError::Open(e) => ([b"unable to open ", &dir.name(&tmp)[..]].concat(), Some(e)),
        ReplaceError::Write(Some(e)) => ([b"unable to write ", &dir.name(&tmp)[..]].concat(), Some(e)),
        ReplaceError::Write(None) => ([b"unable to write ", &dir.name(&tmp)[..], b": partial write."].concat(), None),
        ReplaceError::Rename(e) => {
            ([b"unable to rename ", &dir.name(&tmp)[..], b" to ", &dir.name(START)].concat(), Some(e))
        }
    })
}

/// Removes `supervise/start` (absence is fine).
pub fn remove_start(dir: &SuperviseDir) -> io::Result<()> {
    match std::fs::remove_file(dir.file(START)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BOOT: &str = "6f1c0a7e-4d8b-4f7e-9a0e-1b2c3d4e5f60";

    fn rec(cgroup: Option<&str>) -> StartRecord {
        StartRecord { pid: 4321, start_time: 1234567, boot_id: BOOT.into(), cgroup: cgroup.map(PathBuf::from) }
    }

    #[test]
    fn golden_bytes() {
        assert_eq!(rec(None).encode(), format!("4321 1234567 {BOOT}\n").into_bytes());
        assert_eq!(
            rec(Some("/sys/fs/cgroup/a b")).encode(),
            format!("4321 1234567 {BOOT}\ncgroup /sys/fs/cgroup/a b\n").into_bytes()
        );
        assert_eq!(rec(Some("/x\ny")).encode(), rec(None).encode());
    }

    #[test]
    fn damaged_records_decode_to_nothing() {
        for bad in [
            &b""[..],
            b"4321 1234567 abc",
            b"0 1 abc\n",
            b"-1 1 abc\n",
            b"4321 1234567\n",
            b"4321 1234567 abc extra\n",
            b"4321  1234567 abc\n",
            b"4321 1234567 not/hex\n",
            b"4321 1234567 abc\ncgroup \n",
            b"4321 1234567 abc\nfoo /x\n",
            b"4321 1234567 abc\ncgroup /x\nmore\n",
            b"99999999999 1 abc\n",
        ] {
            assert_eq!(StartRecord::decode(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn only_a_record_of_this_boot_is_a_candidate() {
        let r = rec(None);
        assert_eq!(r.candidate(BOOT), Some(4321));
        assert_eq!(r.candidate("another-boot"), None, "start times restart at boot");
    }

    #[test]
    fn file_is_written_read_and_removed() {
        let d = tempfile::tempdir().unwrap();
        let sup = SuperviseDir::of(d.path());
        std::fs::create_dir(sup.path()).unwrap();
        assert_eq!(read_start(&sup).unwrap(), None);
        write_start(&sup, &rec(Some("/sys/fs/cgroup/svc"))).unwrap();
        assert_eq!(read_start(&sup).unwrap(), Some(rec(Some("/sys/fs/cgroup/svc"))));
        std::fs::write(sup.file(START), b"garbage").unwrap();
        assert_eq!(read_start(&sup).unwrap(), None);
        remove_start(&sup).unwrap();
        remove_start(&sup).unwrap();
        assert_eq!(read_start(&sup).unwrap(), None);
    }

    proptest! {
        #[test]
        fn round_trips(pid in 1u32.., t in any::<u64>(), boot in "[0-9a-f-]{1,64}",
                       cg in proptest::option::of("/[a-zA-Z0-9 ./_-]{1,40}")) {
            let r = StartRecord { pid, start_time: t, boot_id: boot, cgroup: cg.map(PathBuf::from) };
            prop_assert_eq!(StartRecord::decode(&r.encode()), Some(r));
        }

        #[test]
        fn decode_never_panics(b in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = StartRecord::decode(&b);
        }
    }
}
