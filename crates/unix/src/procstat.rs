//! Telling one process from another that later got the same pid.
//!
//! A pid alone names a process only while it lives: after it ends, the
//! kernel hands the number to the next process. A supervisor that finds a
//! pid in a file written by an earlier (now dead) supervisor therefore
//! confirms it with the process's start time (field 22 of `/proc/PID/stat`,
//! clock ticks since boot, fixed at `fork`) and the boot id
//! (`/proc/sys/kernel/random/boot_id`, new on every boot, because start times
//! restart from zero). Same pid, same start time, same boot: same process.

use std::io;

/// The start time of `pid` in clock ticks since boot, from `/proc/PID/stat`.
/// `NotFound` when no such process exists.
pub fn start_time(pid: libc::pid_t) -> io::Result<u64> {
    if pid <= 0 {
        return Err(io::ErrorKind::NotFound.into());
    }
    // One buffer on the stack (a stat line is a few hundred bytes; the
    // command name is at most 16): this runs after every start of ./run.
    let mut f = std::fs::File::open(format!("/proc/{pid}/stat"))?;
    let mut buf = [0u8; 1024];
    let n = crate::fd::read_up_to(&mut f, &mut buf)?;
    parse_start_time(&buf[..n]).ok_or_else(|| io::ErrorKind::InvalidData.into())
}

/// Field 22 (`starttime`) of a `/proc/PID/stat` line. The second field,
/// the command name in parentheses, may itself hold spaces and `)`, so
/// counting starts after the LAST `)`.
pub fn parse_start_time(stat: &[u8]) -> Option<u64> {
    let close = stat.iter().rposition(|&c| c == b')')?;
    // After the name: field 3 (state) is the first word, so field 22 is
    // the 20th.
    let word = stat[close + 1..].split(|c| c.is_ascii_whitespace()).filter(|w| !w.is_empty()).nth(19)?;
    if word.is_empty() || word.len() > 20 || !word.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(word).ok()?.parse().ok()
}

/// The state letter (field 3 of `/proc/PID/stat`: `R`, `S`, `Z`, ...).
pub fn parse_state(stat: &[u8]) -> Option<u8> {
    let close = stat.iter().rposition(|&c| c == b')')?;
    let word = stat[close + 1..].split(|c| c.is_ascii_whitespace()).find(|w| !w.is_empty())?;
    (word.len() == 1).then(|| word[0])
}

/// Whether `pid` is the process that started at `start_time` and has not
/// ended (a zombie has ended).
pub fn is_live(pid: libc::pid_t, start_time: u64) -> bool {
    if pid <= 0 {
        return false;
    }
    match std::fs::read(format!("/proc/{pid}/stat")) {
        Ok(raw) => parse_start_time(&raw) == Some(start_time) && !matches!(parse_state(&raw), Some(b'Z' | b'X') | None),
        Err(_) => false,
    }
}

/// This boot's id (a UUID, without the newline).
pub fn boot_id() -> io::Result<String> {
    let s = std::fs::read_to_string("/proc/sys/kernel/random/boot_id")?;
    let id = s.trim();
    if id.is_empty() || id.bytes().any(|c| !(c.is_ascii_hexdigit() || c == b'-')) {
        return Err(io::ErrorKind::InvalidData.into());
    }
    Ok(id.to_string())
}

/// What `/proc` shows of a process that a status record names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activity {
    /// Waiting in the kernel (`S`) or stopped (`T`, `t`): it got as far as
    /// waiting for something, as a started daemon does.
    Waiting,
    /// Running or runnable (`R`), or in uninterruptible sleep (`D`): still
    /// busy, for instance still starting up.
    Busy,
    /// Ended (a zombie, or no such process).
    Ended,
    /// Not known here: `/proc` hides it, or the pid names another process
    /// (the record comes from another pid namespace).
    Unknown,
}

/// The [`Activity`] of `pid`, taken to be the process that started at
/// `started_unix` (seconds since the epoch): a process whose start time is
/// more than 2 s away from that is someone else's, so [`Activity::Unknown`].
pub fn activity(pid: libc::pid_t, started_unix: u64) -> Activity {
    if pid <= 0 {
        return Activity::Unknown;
    }
    let raw = match std::fs::read(format!("/proc/{pid}/stat")) {
        Ok(raw) => raw,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Activity::Ended,
        Err(_) => return Activity::Unknown,
    };
    let (Some(state), Some(ticks)) = (parse_state(&raw), parse_start_time(&raw)) else {
        return Activity::Unknown;
    };
    if matches!(state, b'Z' | b'X') {
        return Activity::Ended;
    }
    match (boot_time(), clock_ticks()) {
        (Some(boot), Some(hz)) if (boot + ticks / hz).abs_diff(started_unix) <= 2 => {}
        _ => return Activity::Unknown,
    }
    match state {
        b'S' | b'T' | b't' => Activity::Waiting,
        _ => Activity::Busy,
    }
}

/// When the machine booted (`btime` in `/proc/stat`), seconds since the epoch.
fn boot_time() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/stat").ok()?;
    s.lines().find_map(|l| l.strip_prefix("btime "))?.trim().parse().ok()
}

/// Clock ticks per second, the unit of `/proc` start times.
fn clock_ticks() -> Option<u64> {
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok()??;
    u64::try_from(hz).ok().filter(|&h| h > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_time_is_field_22_even_with_odd_names() {
        let tail = " S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 424242 20 21 22\n";
        assert_eq!(parse_start_time(format!("77 (sleep){tail}").as_bytes()), Some(424242));
        assert_eq!(parse_state(format!("77 (a) Z x){tail}").as_bytes()), Some(b'S'));
        assert_eq!(parse_state(b"77 (zombie) Z 1 2"), Some(b'Z'));
        assert_eq!(parse_start_time(format!("77 (a) b ) c){tail}").as_bytes()), Some(424242));
        assert_eq!(parse_start_time(format!("77 (x y\nz){tail}").as_bytes()), Some(424242));
        assert_eq!(parse_start_time(b"77 (sleep) S 1 2 3"), None);
        assert_eq!(parse_start_time(b"no parenthesis at all"), None);
        let bad = " S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 -5 20\n";
        assert_eq!(parse_start_time(format!("77 (x){bad}").as_bytes()), None);
    }

    #[test]
    fn own_start_time_is_stable_and_a_child_starts_later() {
        let me = std::process::id() as libc::pid_t;
        let t = start_time(me).unwrap();
        assert_eq!(start_time(me).unwrap(), t);
        let mut child = std::process::Command::new("sleep").arg("5").spawn().unwrap();
        let c = start_time(child.id() as libc::pid_t).unwrap();
        assert!(c >= t);
        assert!(is_live(child.id() as libc::pid_t, c));
        assert!(!is_live(child.id() as libc::pid_t, c + 1), "another start time: another process");
        child.kill().unwrap();
        // SAFETY: waitid with WNOWAIT only fills the zeroed siginfo.
        unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            libc::waitid(libc::P_PID, child.id(), &mut info, libc::WEXITED | libc::WNOWAIT);
        }
        assert!(!is_live(child.id() as libc::pid_t, c), "a zombie has ended");
        child.wait().unwrap();
        assert_eq!(start_time(child.id() as libc::pid_t).unwrap_err().kind(), io::ErrorKind::NotFound);
        assert_eq!(start_time(0).unwrap_err().kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn boot_id_is_a_uuid() {
        let id = boot_id().unwrap();
        assert_eq!(id.len(), 36, "{id}");
        assert_eq!(boot_id().unwrap(), id);
    }

    #[test]
    fn activity_tells_a_waiting_process_from_an_ended_one() {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let mut child = std::process::Command::new("sleep").arg("10").spawn().unwrap();
        let pid = child.id() as libc::pid_t;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while activity(pid, now) != Activity::Waiting {
            assert!(std::time::Instant::now() < deadline, "sleep never waited: {:?}", activity(pid, now));
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(activity(pid, now + 3600), Activity::Unknown, "started an hour from now: not this one");
        child.kill().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while activity(pid, now) != Activity::Ended {
            assert!(std::time::Instant::now() < deadline, "killed sleep never ended");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        child.wait().unwrap();
        assert_eq!(activity(pid, now), Activity::Ended);
    }
}
