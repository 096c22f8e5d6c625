//! Opt-in supervision beyond runit: the service-directory files runsv
//! honours when they exist, and the readiness record it keeps.
//!
//! A service directory without any of these files is supervised exactly as
//! runit does it. The names follow s6's where s6 has the feature, so a
//! directory written for s6-supervise works here too:
//!
//! | File | Content | Effect |
//! |---|---|---|
//! | `notification-fd` | fd N, 3..=1023 | `./run` gets a pipe on fd N; a newline written there marks it ready (`supervise/ready`) |
//! | `timeout-kill` | milliseconds | KILL when a stop signal has not ended the process by then (0: never) |
//! | `down-signal` | signal name or number | sent by stops instead of TERM |
//! | `timeout-finish` | milliseconds | KILL a `./finish` still running by then (0: never) |
//! | `flag-killpg` | anything | `./run` leads its own process group; stops and KILLs go to the group |
//! | `flag-timeout-killpg` | anything | as s6: own process group, only the `timeout-kill` KILL goes to the group |
//! | `restart-backoff` | `MAX` or `INITIAL MAX` (ms) | delay between restarts of a failing service doubles up to MAX |
//!
//! Nothing here changes `status`, `stat` or `pid`; readiness goes to a
//! separate file, [`READY`], one line `@TAI64N PID\n` (the external TAI64N
//! form, then the pid of the `./run` that became ready), present only
//! while that `./run` lives and after it wrote its newline.

use crate::layout::SuperviseDir;
use std::io::{self, Read};
use std::path::Path;
use unix::atomic::{replace, ReplaceError};
use unix::tai64n::Tai64n;

pub const NOTIFICATION_FD: &str = "notification-fd";
pub const TIMEOUT_KILL: &str = "timeout-kill";
pub const TIMEOUT_FINISH: &str = "timeout-finish";
pub const DOWN_SIGNAL: &str = "down-signal";
pub const FLAG_KILLPG: &str = "flag-killpg";
pub const FLAG_TIMEOUT_KILLPG: &str = "flag-timeout-killpg";
pub const RESTART_BACKOFF: &str = "restart-backoff";
/// The readiness record under `supervise/`.
pub const READY: &str = "ready";

/// Lowest and highest descriptor accepted in `notification-fd`: 0-2 are the
/// service's standard descriptors, and runit-style services never need more.
pub const NOTIFICATION_FD_MIN: i32 = 3;
pub const NOTIFICATION_FD_MAX: i32 = 1023;
/// Largest accepted timeout or back-off: one year, in milliseconds.
pub const MAX_MILLIS: u64 = 365 * 24 * 3600 * 1000;
/// runit's delay between two fast restarts, the default `INITIAL`.
pub const DEFAULT_BACKOFF_INITIAL: u64 = 1000;

/// Reads a small configuration file: `Ok(None)` when it does not exist.
/// At most 64 bytes are read; every accepted value is shorter.
pub fn read_config(path: &Path) -> io::Result<Option<Vec<u8>>> {
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut buf = Vec::with_capacity(64);
    f.take(64).read_to_end(&mut buf)?;
    Ok(Some(buf))
}

/// Whether a flag file exists (any type; like runit's `down`).
pub fn flag(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

fn trimmed(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !c.is_ascii_whitespace()).map_or(start, |i| i + 1);
    &b[start..end.max(start)]
}

fn decimal(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 19 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    b.iter().try_fold(0u64, |n, &d| n.checked_mul(10)?.checked_add(u64::from(d - b'0')))
}

/// `notification-fd`: a descriptor number in 3..=1023.
pub fn parse_notification_fd(b: &[u8]) -> Option<i32> {
    let n = decimal(trimmed(b))?;
    let n = i32::try_from(n).ok()?;
    (NOTIFICATION_FD_MIN..=NOTIFICATION_FD_MAX).contains(&n).then_some(n)
}

/// `timeout-kill`, `timeout-finish`: milliseconds, 0 meaning "never".
pub fn parse_millis(b: &[u8]) -> Option<u64> {
    decimal(trimmed(b)).filter(|&n| n <= MAX_MILLIS)
}

/// The delays of `restart-backoff`, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub initial: u64,
    pub max: u64,
}

/// `restart-backoff`: `MAX` (INITIAL is runit's 1000) or `INITIAL MAX`,
/// with 1 <= INITIAL <= MAX.
pub fn parse_backoff(b: &[u8]) -> Option<Backoff> {
    let mut words = trimmed(b).split(|c| c.is_ascii_whitespace()).filter(|w| !w.is_empty());
    let first = decimal(words.next()?)?;
    let (initial, max) = match words.next() {
        None => (DEFAULT_BACKOFF_INITIAL.min(first), first),
        Some(w) => (first, decimal(w)?),
    };
    if words.next().is_some() || initial == 0 || initial > max || max > MAX_MILLIS {
        return None;
    }
    Some(Backoff { initial, max })
}

const SIGNALS: &[(&str, libc::c_int)] = &[
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ILL", libc::SIGILL),
    ("TRAP", libc::SIGTRAP),
    ("ABRT", libc::SIGABRT),
    ("IOT", libc::SIGABRT),
    ("BUS", libc::SIGBUS),
    ("FPE", libc::SIGFPE),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("SEGV", libc::SIGSEGV),
    ("USR2", libc::SIGUSR2),
    ("PIPE", libc::SIGPIPE),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    ("STKFLT", libc::SIGSTKFLT),
    ("CHLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("WINCH", libc::SIGWINCH),
    ("IO", libc::SIGIO),
    ("POLL", libc::SIGIO),
    ("PWR", libc::SIGPWR),
    ("SYS", libc::SIGSYS),
];

/// `down-signal`: a name with or without `SIG` (any case), or a number
/// 1..=64.
pub fn parse_signal(b: &[u8]) -> Option<libc::c_int> {
    let t = trimmed(b);
    if let Some(n) = decimal(t) {
        return (1..=64).contains(&n).then_some(n as libc::c_int);
    }
    let upper = t.to_ascii_uppercase();
    let name = upper.strip_prefix(b"SIG").unwrap_or(&upper);
    SIGNALS.iter().find(|(n, _)| n.as_bytes() == name).map(|&(_, s)| s)
}

/// One readiness record: when `./run` (pid) wrote its newline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ready {
    pub stamp: Tai64n,
    pub pid: u32,
}

impl Ready {
    /// `@` + 24 hex digits, a space, the decimal pid, a newline.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = self.stamp.to_hex().to_vec();
        v.push(b' ');
        v.extend_from_slice(self.pid.to_string().as_bytes());
        v.push(b'\n');
        v
    }

    pub fn decode(b: &[u8]) -> Option<Ready> {
        let line = b.strip_suffix(b"\n")?;
        let (hex, pid) = (line.get(..25)?, line.get(25..)?);
        if hex[0] != b'@' || pid.first() != Some(&b' ') {
            return None;
        }
        let mut raw = [0u8; 12];
        for (i, pair) in hex[1..].chunks(2).enumerate() {
            let s = std::str::from_utf8(pair).ok()?;
            raw[i] = u8::from_str_radix(s, 16).ok()?;
        }
        let pid = u32::try_from(decimal(&pid[1..])?).ok()?;
        Some(Ready { stamp: Tai64n::from_bytes(&raw), pid })
    }
}

/// Reads `supervise/ready`: `Ok(None)` when absent (not ready), `Err` with
/// `InvalidData` when it cannot be decoded.
pub fn read_ready(dir: &SuperviseDir) -> io::Result<Option<Ready>> {
    match std::fs::read(dir.file(READY)) {
        Ok(b) => Ready::decode(&b).map(Some).ok_or_else(|| io::Error::from(io::ErrorKind::InvalidData)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Writes `supervise/ready` atomically (`ready.new` + rename, mode 0644).
/// On failure returns the warning text (runit's wording for its other
/// files) and the error, for the caller to print.
pub fn write_ready(dir: &SuperviseDir, r: &Ready) -> Result<(), (Vec<u8>, Option<io::Error>)> {
    let tmp = format!("{READY}.new");
    replace(&dir.file(&tmp), &dir.file(READY), &r.encode(), 0o644).map_err(|e| match e {
        ReplaceError::Open(e) => ([b"unable to open ", &dir.name(&tmp)[..]].concat(), Some(e)),
        ReplaceError::Write(Some(e)) => ([b"unable to write ", &dir.name(&tmp)[..]].concat(), Some(e)),
        ReplaceError::Write(None) => ([b"unable to write ", &dir.name(&tmp)[..], b": partial write."].concat(), None),
        ReplaceError::Rename(e) => {
            ([b"unable to rename ", &dir.name(&tmp)[..], b" to ", &dir.name(READY)].concat(), Some(e))
        }
    })
}

/// Removes `supervise/ready` (absence is fine).
pub fn remove_ready(dir: &SuperviseDir) -> io::Result<()> {
    match std::fs::remove_file(dir.file(READY)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notification_fd_accepts_3_to_1023_only() {
        assert_eq!(parse_notification_fd(b"3\n"), Some(3));
        assert_eq!(parse_notification_fd(b" 1023 "), Some(1023));
        for bad in [&b"0"[..], b"1", b"2", b"1024", b"-4", b"x", b"", b"4 5", b"99999999999999999999999"] {
            assert_eq!(parse_notification_fd(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn millis_are_decimal_and_bounded() {
        assert_eq!(parse_millis(b"0\n"), Some(0));
        assert_eq!(parse_millis(b"1500"), Some(1500));
        assert_eq!(parse_millis(b"1.5"), None);
        assert_eq!(parse_millis(b"99999999999999"), None);
    }

    #[test]
    fn backoff_has_one_or_two_numbers() {
        assert_eq!(parse_backoff(b"60000\n"), Some(Backoff { initial: 1000, max: 60000 }));
        assert_eq!(parse_backoff(b"500"), Some(Backoff { initial: 500, max: 500 }));
        assert_eq!(parse_backoff(b"200 5000"), Some(Backoff { initial: 200, max: 5000 }));
        for bad in [&b"0"[..], b"0 10", b"10 5", b"1 2 3", b"", b"a b"] {
            assert_eq!(parse_backoff(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn signals_by_name_or_number() {
        assert_eq!(parse_signal(b"HUP\n"), Some(libc::SIGHUP));
        assert_eq!(parse_signal(b"SIGINT"), Some(libc::SIGINT));
        assert_eq!(parse_signal(b"usr1"), Some(libc::SIGUSR1));
        assert_eq!(parse_signal(b"9"), Some(9));
        for bad in [&b"0"[..], b"65", b"SIG", b"FOO", b""] {
            assert_eq!(parse_signal(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn ready_record_round_trips() {
        let r = Ready { stamp: Tai64n::from_unix(1795286346, 123456), pid: 4321 };
        let b = r.encode();
        assert_eq!(&b[..17], b"@400000006b01e554");
        assert!(b.ends_with(b" 4321\n"));
        assert_eq!(Ready::decode(&b), Some(r));
        assert_eq!(Ready::decode(b"@400000006b01e554075bcd14 12"), None);
        assert_eq!(Ready::decode(b"garbage\n"), None);
    }

    #[test]
    fn ready_file_is_written_read_and_removed() {
        let d = tempfile::tempdir().unwrap();
        let sup = SuperviseDir::of(d.path());
        std::fs::create_dir(sup.path()).unwrap();
        assert_eq!(read_ready(&sup).unwrap(), None);
        let r = Ready { stamp: Tai64n::now(), pid: 7 };
        write_ready(&sup, &r).unwrap();
        assert_eq!(read_ready(&sup).unwrap(), Some(r));
        remove_ready(&sup).unwrap();
        remove_ready(&sup).unwrap();
        assert_eq!(read_ready(&sup).unwrap(), None);
    }
}
