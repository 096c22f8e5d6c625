//! The opt-in `notify-socket` file: the service reports readiness and a
//! status text over a datagram socket, as sd_notify(3) does.
//!
//! With `notify-socket` (an empty file) in the service directory, runsv
//! binds `supervise/notify`, exports its absolute path as `NOTIFY_SOCKET`
//! to `./run`, and reads datagrams of `KEY=VALUE` lines:
//!
//! | Line | Effect |
//! |---|---|
//! | `READY=1` | the service is ready: `supervise/ready`, as with `notification-fd` |
//! | `STATUS=TEXT` | TEXT (at most [`MAX_STATUS`] bytes) kept in `supervise/notify-status`, shown by `sv -j status` |
//! | `STOPPING=1` | the service says it is shutting down: readiness is withdrawn |
//! | `MAINPID=N` | accepted and ignored: runsv supervises `./run` itself |
//!
//! Other keys are ignored. Only datagrams whose sender is `./run`
//! or one of its descendants count (kernel-checked credentials); the rest
//! are dropped. Parsing here is pure.

/// The file in the service directory.
pub const NOTIFY_SOCKET: &str = "notify-socket";
/// The socket under `supervise/`.
pub const SOCKET: &str = "notify";
/// The last `STATUS=` text under `supervise/`.
pub const STATUS_TEXT: &str = "notify-status";
/// Longest `STATUS=` text kept; longer ones are cut.
pub const MAX_STATUS: usize = 256;

/// What one datagram says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Message {
    pub ready: bool,
    pub stopping: bool,
    pub status: Option<Vec<u8>>,
    pub mainpid: Option<u32>,
}

/// Parses a datagram: newline-separated `KEY=VALUE` lines. Later lines win
/// for `STATUS` and `MAINPID`; unknown or malformed lines are skipped.
pub fn parse(datagram: &[u8]) -> Message {
    let mut m = Message::default();
    for line in datagram.split(|&b| b == b'\n') {
        let Some(eq) = line.iter().position(|&b| b == b'=') else { continue };
        let (key, value) = (&line[..eq], &line[eq + 1..]);
        match key {
            b"READY" => m.ready |= value == b"1",
            b"STOPPING" => m.stopping |= value == b"1",
            b"STATUS" => {
                let v = &value[..value.len().min(MAX_STATUS)];
                m.status = Some(v.to_vec());
            }
            b"MAINPID" => {
                let pid = std::str::from_utf8(value).ok().and_then(|s| s.parse::<u32>().ok()).filter(|&p| p > 0);
                if pid.is_some() {
                    m.mainpid = pid;
                }
            }
            _ => {}
        }
    }
    m
}

/// Writes a small record file `name` under `dir` atomically (`NAME.new` +
/// rename, mode 0644), for runsv's extra state that `sv` shows.
pub fn write_record(dir: &crate::SuperviseDir, name: &str, data: &[u8]) -> std::io::Result<()> {
    use unix::atomic::ReplaceError;
    dir.replace(&format!("{name}.new"), name, data, 0o644).map_err(|e| match e {
        ReplaceError::Open(e) | ReplaceError::Rename(e) | ReplaceError::Write(Some(e)) => e,
        ReplaceError::Write(None) => std::io::Error::from(std::io::ErrorKind::WriteZero),
    })
}

/// Removes record file `name` under `dir` (absence is fine).
pub fn remove_record(dir: &crate::SuperviseDir, name: &str) -> std::io::Result<()> {
    match std::fs::remove_file(dir.file(name)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Reads record file `name` under `dir`: `None` when absent or unreadable.
pub fn read_record(dir: &crate::SuperviseDir, name: &str) -> Option<Vec<u8>> {
    std::fs::read(dir.file(name)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        let m = parse(b"READY=1\nSTATUS=serving 3 clients\nMAINPID=42\n");
        assert!(m.ready && !m.stopping);
        assert_eq!(m.status.as_deref(), Some(&b"serving 3 clients"[..]));
        assert_eq!(m.mainpid, Some(42));
        assert_eq!(parse(b"STOPPING=1"), Message { stopping: true, ..Message::default() });
        assert_eq!(parse(b"READY=0\nREADY\nFOO=1\nMAINPID=x\nMAINPID=0"), Message::default());
        assert_eq!(parse(b"STATUS=a\nSTATUS=b").status.as_deref(), Some(&b"b"[..]));
        assert_eq!(parse(b"STATUS=").status.as_deref(), Some(&b""[..]));
        let long = [b"STATUS=".as_slice(), &[b'x'; 1000]].concat();
        assert_eq!(parse(&long).status.unwrap().len(), MAX_STATUS);
    }

    #[test]
    fn records() {
        let d = tempfile::tempdir().unwrap();
        let sup = crate::SuperviseDir::of(d.path());
        std::fs::create_dir(sup.path()).unwrap();
        assert_eq!(read_record(&sup, STATUS_TEXT), None);
        write_record(&sup, STATUS_TEXT, b"serving").unwrap();
        assert_eq!(read_record(&sup, STATUS_TEXT).as_deref(), Some(&b"serving"[..]));
        remove_record(&sup, STATUS_TEXT).unwrap();
        remove_record(&sup, STATUS_TEXT).unwrap();
        assert_eq!(read_record(&sup, STATUS_TEXT), None);
    }
}

#[cfg(test)]
mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_datagram_parses_and_a_ready_line_anywhere_counts(
            before in proptest::collection::vec(any::<u8>(), 0..200),
            after in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let m = parse(&before);
            prop_assert!(m.status.as_ref().is_none_or(|t| t.len() <= MAX_STATUS));
            let with = [&before[..], b"\nREADY=1\n", &after[..]].concat();
            prop_assert!(parse(&with).ready);
        }
    }
}
