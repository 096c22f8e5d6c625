//! Reading other processes' state from /proc, for tests that watch the
//! supervisors (children, descriptors, memory) rather than their files.

use std::fs;
use std::time::Duration;

/// (state letter, ppid) of a process, None once it is gone.
pub fn proc_state(pid: i32) -> Option<(char, i32)> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let mut f = rest.split(' ');
    let state = f.next()?.chars().next()?;
    let ppid = f.next()?.parse().ok()?;
    Some((state, ppid))
}

/// Running (not a zombie, not gone).
pub fn alive(pid: i32) -> bool {
    proc_state(pid).is_some_and(|(s, _)| s != 'Z')
}

/// Every process whose parent is `ppid`: (pid, state letter).
pub fn children(ppid: i32) -> Vec<(i32, char)> {
    let mut out = Vec::new();
    for ent in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = ent.file_name().to_string_lossy().parse::<i32>() else { continue };
        if let Some((s, pp)) = proc_state(pid) {
            if pp == ppid {
                out.push((pid, s));
            }
        }
    }
    out
}

/// The PID 1 of the PID namespace `unshare --pid --fork` made (its only
/// child), as the host sees it; waited for.
pub fn namespace_pid1(unshare: i32) -> i32 {
    let mut found = 0;
    super::wait_for("the namespace's PID 1", || {
        found = children(unshare).first().map_or(0, |c| c.0);
        found != 0
    });
    found
}

/// The process's command name (`/proc/PID/comm`), "" once it is gone.
pub fn comm(pid: i32) -> String {
    fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default().trim().to_string()
}

/// argv[1] of a process (runsv's service name), if readable.
pub fn arg1(pid: i32) -> Option<String> {
    let cmd = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let mut it = cmd.split(|&b| b == 0);
    it.next()?;
    Some(String::from_utf8_lossy(it.next()?).into_owned())
}

/// Number of open file descriptors of a process.
pub fn fd_count(pid: i32) -> usize {
    fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0)
}

/// The fd count of a process at rest: the least of a few samples, so a
/// pipe that lives only while it forks a child is not counted.
pub fn settled_fds(pid: i32) -> usize {
    (0..40)
        .map(|_| {
            std::thread::sleep(Duration::from_millis(5));
            fd_count(pid)
        })
        .min()
        .unwrap()
}

/// A `kB` field of `/proc/PID/status` (`VmRSS`, `VmData`, ...), 0 if absent.
fn status_kb(pid: i32, field: &str) -> u64 {
    let s = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find(|l| l.strip_prefix(field).is_some_and(|r| r.starts_with(':')))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Resident set size in kB.
pub fn rss_kb(pid: i32) -> u64 {
    status_kb(pid, "VmRSS")
}

/// Heap and other private data mappings (VmData) in kB: unlike RSS it does
/// not grow as more pages of the binary or the heap are merely touched, so
/// it is the figure that shows a leak.
pub fn data_kb(pid: i32) -> u64 {
    status_kb(pid, "VmData")
}
