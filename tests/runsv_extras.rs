//! runsv's opt-in extras (docs/EXTENSIONS.md), driven for real: readiness on
//! `notification-fd`, `down-signal`, `timeout-kill`, `timeout-finish`,
//! process-group stops, `restart-backoff`, the pid for `control/C`, and a
//! directory without any of them matching Debian's runsv.

mod util;

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};
use supervise::extras::Ready;
use util::{debian, runsv_stderr, start_runsv, start_runsv_with, wait_for, wait_for_within, ServiceDir};

const LONG: &str = "exec sleep 300";

/// SIGKILLs process groups a test put services in: they are not in the
/// group of the runsv that `Proc` stops.
struct Groups(Vec<i32>);

impl Groups {
    fn add(&mut self, pgid: u32) {
        self.0.push(pgid as i32);
    }
}

impl Drop for Groups {
    fn drop(&mut self) {
        for &g in &self.0 {
            if g > 1 {
                // SAFETY: kill has no memory-safety preconditions.
                unsafe { libc::kill(-g, libc::SIGKILL) };
            }
        }
    }
}

/// Live (not zombie) processes whose process group is `pgid`.
fn live_in_group(pgid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        let Some(tail) = stat.rsplit_once(") ").map(|(_, t)| t.to_string()) else { continue };
        let f: Vec<&str> = tail.split_whitespace().collect();
        // after the command: state, ppid, pgrp
        if f.len() > 2 && f[2] == pgid.to_string() && f[0] != "Z" && f[0] != "X" {
            found.push(pid);
        }
    }
    found
}

fn pgid_of(pid: u32) -> u32 {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let tail = stat.rsplit_once(") ").unwrap().1.to_string();
    tail.split_whitespace().nth(2).unwrap().parse().unwrap()
}

fn read(p: &Path) -> String {
    fs::read_to_string(p).unwrap_or_default()
}

fn ready(svc: &ServiceDir, sup: &str) -> Option<Ready> {
    fs::read(svc.join(sup).join("ready")).ok().and_then(|b| Ready::decode(&b))
}

#[test]
fn readiness_is_recorded_after_the_newline_and_reset_on_restart() {
    let svc = ServiceDir::new(
        "while [ ! -e ../go ]; do sleep 0.02; done; rm ../go; printf almost >&3; sleep 0.2; echo >&3; \
         echo more >&3; echo and more >&3; exec sleep 300",
    );
    svc.file("notification-fd", "3\n");
    let _p = start_runsv(&svc);
    svc.wait_stat("supervise", "run");
    let pid = svc.status("supervise").unwrap().pid;
    std::thread::sleep(Duration::from_millis(300)); // observing: not ready yet
    assert!(!svc.join("supervise/ready").exists());
    let before = unix::tai64n::Tai64n::now();
    fs::write(svc.scratch().join("go"), "").unwrap();
    wait_for("ready", || ready(&svc, "supervise").is_some());
    let r = ready(&svc, "supervise").unwrap();
    assert_eq!(r.pid, pid);
    assert!(r.stamp >= before, "{r:?} before {before:?}");
    let raw = fs::read(svc.join("supervise/ready")).unwrap();
    assert_eq!(raw.len(), 27 + pid.to_string().len(), "{raw:?}");
    // status and stat are runit's, untouched
    assert_eq!(svc.stat("supervise"), "run\n");
    assert_eq!(svc.status_bytes("supervise").len(), 20);

    // more lines after the first are read and ignored: no SIGPIPE, no restart
    std::thread::sleep(Duration::from_millis(300)); // observing: it stays up
    assert_eq!(svc.status("supervise").unwrap().pid, pid);
    assert_eq!(ready(&svc, "supervise"), Some(r));

    // a restart forgets it until the new ./run reports again
    svc.control("supervise", "t");
    let new = svc.wait_new_pid("supervise", pid);
    assert!(ready(&svc, "supervise").is_none_or(|r| r.pid != new));
    wait_for("old readiness removed", || !svc.join("supervise/ready").exists());
    fs::write(svc.scratch().join("go"), "").unwrap();
    wait_for("ready again", || ready(&svc, "supervise").is_some_and(|r| r.pid == new));
    // and a stop removes it
    svc.control("supervise", "d");
    svc.wait_stat("supervise", "down");
    assert!(!svc.join("supervise/ready").exists());
}

#[test]
fn end_of_file_without_a_newline_is_never_ready() {
    let svc = ServiceDir::new("printf 'no newline' >&5; exec 5>&-; touch ../closed; exec sleep 300");
    svc.file("notification-fd", "5");
    let _p = start_runsv(&svc);
    svc.wait_stat("supervise", "run");
    wait_for("fd closed", || svc.scratch().join("closed").exists());
    std::thread::sleep(Duration::from_millis(500)); // observing: nothing appears
    assert!(!svc.join("supervise/ready").exists());
    assert_eq!(svc.stat("supervise"), "run\n");
}

#[test]
fn invalid_values_are_warned_about_and_ignored() {
    let svc = ServiceDir::new("exec sleep 300");
    svc.file("notification-fd", "2\n");
    svc.file("down-signal", "NOSUCH\n");
    svc.file("timeout-kill", "soon\n");
    svc.file("restart-backoff", "10 5\n");
    let _p = start_runsv(&svc);
    svc.wait_stat("supervise", "run");
    let name = svc.path.display();
    wait_for("notification-fd warning", || {
        runsv_stderr(&svc).contains(&format!("runsv {name}: warning: ignoring invalid notification-fd\n"))
    });
    // the stop falls back to runit's TERM
    svc.control("supervise", "d");
    svc.wait_stat("supervise", "down");
    let err = runsv_stderr(&svc);
    assert!(err.contains(&format!("runsv {name}: warning: ignoring invalid down-signal\n")), "{err}");
    assert!(err.contains(&format!("runsv {name}: warning: ignoring invalid timeout-kill\n")), "{err}");
    // fd 2 of the service is still runsv's stderr, not a pipe
    assert!(!svc.join("supervise/ready").exists());
}

#[test]
fn down_signal_is_sent_instead_of_term() {
    let got = svc_scratch_file();
    let g = got.path().display();
    let svc = ServiceDir::new(&format!(
        "trap 'echo HUP >> {g}; exit 0' HUP; trap 'echo TERM >> {g}; exit 0' TERM; echo up >> {g}; \
         while :; do sleep 0.05; done"
    ));
    svc.file("down-signal", "SIGHUP\n");
    let _p = start_runsv(&svc);
    wait_for("up", || read(got.path()).contains("up"));
    // ./run can write before runsv has recorded it as running; until then
    // the record is the "down" of runsv's start, which must not be taken
    // for the stop.
    svc.wait_stat("supervise", "run");
    svc.control("supervise", "d");
    svc.wait_stat("supervise", "down");
    assert_eq!(read(got.path()), "up\nHUP\n");
}

fn svc_scratch_file() -> tempfile::NamedTempFile {
    tempfile::NamedTempFile::new().unwrap()
}

#[test]
fn timeout_kill_ends_a_service_that_ignores_term() {
    let svc = ServiceDir::new("trap '' TERM; touch ../trapped; while :; do sleep 0.05; done");
    svc.file("timeout-kill", "600\n");
    let log = svc.scratch().join("finish.log");
    svc.script("finish", &format!("echo \"$1 $2\" >> {}", log.display()));
    let _p = start_runsv(&svc);
    svc.wait_stat("supervise", "run");
    wait_for("TERM ignored", || svc.scratch().join("trapped").exists());
    let t0 = Instant::now();
    svc.control("supervise", "d");
    svc.wait_stat("supervise", "run, got TERM, want down");
    wait_for("killed", || read(&log) == "-1 9\n");
    let took = t0.elapsed();
    assert!(took >= Duration::from_millis(550), "killed after {took:?}");
    svc.wait_stat("supervise", "down");
}

#[test]
fn a_control_t_veto_also_holds_off_down_signal_and_timeout_kill() {
    let svc = ServiceDir::new(LONG);
    svc.file("timeout-kill", "200");
    svc.file("down-signal", "KILL");
    let trace = svc.scratch().join("trace");
    svc.script("control/t", &format!("echo t \"$1\" >> {}; exit 0", trace.display()));
    let _p = start_runsv(&svc);
    svc.wait_stat("supervise", "run");
    let pid = svc.status("supervise").unwrap().pid;
    svc.control("supervise", "d");
    wait_for("control/t ran with the pid", || read(&trace) == format!("t {pid}\n"));
    std::thread::sleep(Duration::from_millis(700)); // observing: no KILL comes
    svc.wait_stat("supervise", "run, want down");
    assert_eq!(svc.status("supervise").unwrap().pid, pid);
}

#[test]
fn timeout_finish_kills_a_finish_that_runs_too_long() {
    let svc = ServiceDir::new("exit 0");
    svc.file("down", "");
    svc.file("timeout-finish", "400");
    let marker = svc.scratch().join("finishing");
    svc.script("finish", &format!("touch {}; exec sleep 300", marker.display()));
    let _p = start_runsv(&svc);
    svc.wait_stat("supervise", "down");
    let t0 = Instant::now();
    svc.control("supervise", "o");
    wait_for("finish started", || marker.exists());
    svc.wait_stat("supervise", "finish, want down");
    svc.wait_stat("supervise", "down");
    assert!(t0.elapsed() >= Duration::from_millis(350), "{:?}", t0.elapsed());
}

#[test]
fn group_stop_leaves_no_process_of_the_service_behind() {
    let mut groups = Groups(Vec::new());
    let svc = ServiceDir::new("sleep 300 & sh -c 'exec sleep 301' & exec sleep 302");
    svc.file("flag-killpg", "");
    let p = start_runsv(&svc);
    svc.wait_stat("supervise", "run");
    let pid = svc.status("supervise").unwrap().pid;
    groups.add(pid);
    wait_for("three processes in the group", || live_in_group(pid).len() == 3);
    assert_eq!(pgid_of(pid), pid);
    assert_ne!(pgid_of(p.pid() as u32), pid);
    svc.control("supervise", "d");
    svc.wait_stat("supervise", "down");
    wait_for("group empty", || live_in_group(pid).is_empty());
    // and up starts a new group
    svc.control("supervise", "u");
    let new = svc.wait_new_pid("supervise", pid);
    groups.add(new);
    wait_for("new group", || live_in_group(new).len() == 3);
}

#[test]
fn timeout_kill_reaches_term_ignoring_children_after_the_leader_died() {
    let mut groups = Groups(Vec::new());
    let svc = ServiceDir::new("sh -c \"trap '' TERM; touch ../bg; while :; do sleep 0.05; done\" & exec sleep 300");
    svc.file("flag-killpg", "");
    svc.file("timeout-kill", "500");
    let _p = start_runsv(&svc);
    svc.wait_stat("supervise", "run");
    let pid = svc.status("supervise").unwrap().pid;
    groups.add(pid);
    wait_for("background child", || svc.scratch().join("bg").exists());
    svc.control("supervise", "d");
    // the leader goes at once; the TERM-ignoring child lasts until the KILL
    svc.wait_stat("supervise", "down");
    wait_for("group empty", || live_in_group(pid).is_empty());
}

#[test]
fn without_flag_killpg_the_service_shares_runsvs_group() {
    let svc = ServiceDir::new("sleep 300 & exec sleep 300");
    let p = start_runsv(&svc);
    svc.wait_stat("supervise", "run");
    let pid = svc.status("supervise").unwrap().pid;
    assert_eq!(pgid_of(pid), p.pid() as u32);
}

#[test]
fn flag_timeout_killpg_kills_the_group_only_at_the_timeout() {
    let mut groups = Groups(Vec::new());
    let svc = ServiceDir::new(
        "sh -c \"trap '' TERM; touch ../bg; while :; do sleep 0.05; done\" & trap '' TERM; \
         while :; do sleep 0.05; done",
    );
    svc.file("flag-timeout-killpg", "");
    svc.file("timeout-kill", "500");
    let _p = start_runsv(&svc);
    svc.wait_stat("supervise", "run");
    let pid = svc.status("supervise").unwrap().pid;
    groups.add(pid);
    assert_eq!(pgid_of(pid), pid);
    wait_for("background child", || svc.scratch().join("bg").exists());
    svc.control("supervise", "d");
    svc.wait_stat("supervise", "down");
    wait_for("group empty", || live_in_group(pid).is_empty());
}

#[test]
fn exit_with_a_group_and_a_log_does_not_wait_for_orphans() {
    // runit: a background child holding the log pipe keeps runsv and the
    // log alive after `sv exit` until it ends on its own
    let mut groups = Groups(Vec::new());
    let svc = ServiceDir::new("sleep 300 & echo hello; exec sleep 300");
    svc.file("flag-killpg", "");
    let out = svc.scratch().join("log.out");
    svc.script("log/run", &format!("cat >> {0}; echo eof >> {0}", out.display()));
    let mut p = start_runsv(&svc);
    svc.wait_stat("supervise", "run");
    svc.wait_stat("log/supervise", "run");
    let pid = svc.status("supervise").unwrap().pid;
    groups.add(pid);
    wait_for("line logged", || read(&out) == "hello\n");
    svc.control("supervise", "x");
    assert_eq!(p.wait_exit().code(), Some(0));
    assert_eq!(read(&out), "hello\neof\n");
    wait_for("group empty", || live_in_group(pid).is_empty());
}

/// A `./run` for the back-off tests: run number N (counted in `../count`)
/// copies runsv's own record of its start (`supervise/status` once it
/// names this shell's pid) to `../start.N`, runs `middle`, then writes its
/// clock to `../end.N` and exits 1. The delays are then read from runsv's
/// stamps, not from when this test got to look: load cannot stretch them.
fn recording_run(middle: &str) -> String {
    format!(
        "echo >> ../count; c=$(wc -l < ../count)\n\
         until [ \"$(od -An -tu4 -j12 -N4 supervise/status | tr -d ' ')\" = $$ ]; do sleep 0.01; done\n\
         cp supervise/status ../start.$c\n\
         {middle}\n\
         date +%s.%N > ../end.$c\n\
         exit 1"
    )
}

/// Seconds since the epoch of a status record's TAI64N stamp.
fn stamp_secs(s: &supervise::Status) -> f64 {
    s.stamp.unix_secs() as f64 + s.stamp.nanos as f64 / 1e9
}

/// runsv's record of the start of run `n` (see [`recording_run`]).
fn run_record(svc: &ServiceDir, n: usize) -> Option<supervise::Status> {
    let b = fs::read(svc.scratch().join(format!("start.{n}"))).ok()?;
    supervise::Status::decode(&b).ok()
}

/// The clock `./run` number `n` read just before exiting.
fn run_end(svc: &ServiceDir, n: usize) -> f64 {
    read(&svc.scratch().join(format!("end.{n}"))).trim().parse().unwrap()
}

#[test]
fn restart_backoff_doubles_up_to_the_maximum_and_resets_after_a_long_run() {
    // Runs 1-3 and 5-6 fail at once; run 4 stays up 3.3 s (> MAX).
    let svc = ServiceDir::new(&recording_run("if [ $c -eq 4 ]; then sleep 3.3; fi"));
    svc.file("restart-backoff", "1000 3000\n");
    let _p = start_runsv(&svc);
    // Each "down" record runsv writes when a run ends, stamped at the
    // reap. The wait for a back-off delay (>= 1 s) leaves time to see it;
    // one that is missed is replaced by the run's own clock at its end,
    // which is earlier, so the delays below can only come out longer.
    let mut downs: Vec<supervise::Status> = Vec::new();
    wait_for_within("six starts", Duration::from_secs(40), || {
        if let Some(s) = svc.status("supervise").filter(|s| s.state == 0 && s.pid == 0) {
            if !downs.contains(&s) {
                downs.push(s);
            }
        }
        run_record(&svc, 6).is_some()
    });
    let starts: Vec<f64> = (1..=6).map(|n| stamp_secs(&run_record(&svc, n).unwrap())).collect();
    let delays: Vec<f64> = (1..=5)
        .map(|n| {
            let (start, next) = (starts[n - 1], starts[n]);
            let end = downs.iter().map(stamp_secs).find(|&t| t > start && t < next).unwrap_or_else(|| run_end(&svc, n));
            next - end
        })
        .collect();
    // INITIAL, doubled, capped at MAX (not 4), none after a run that lasted
    // MAX, INITIAL again. The slack above each (0.9 s of runsv's own
    // lateness) stays below the next wrong value: 1 vs 2 (doubled too
    // early), 2 vs 3, 3 vs 4 (no cap), 0 vs 3 (not reset), 1 vs 3.
    let expected = [1.0, 2.0, 3.0, 0.0, 1.0];
    eprintln!("delays {delays:.3?}");
    for (i, (d, e)) in delays.iter().zip(expected).enumerate() {
        assert!(*d >= e - 0.05 && *d < e + 0.9, "delay {i}: {d:.3}s, expected {e}s; all {delays:?}");
    }
    // Every record during a delay is runit's "down, want up".
    assert!(downs.iter().all(|s| s.want == b'u'), "{downs:?}");
}

#[test]
fn up_cuts_a_restart_backoff_short() {
    // A 60 s first delay: any start before it is the `u`'s doing.
    let svc = ServiceDir::new(&recording_run(":"));
    svc.file("restart-backoff", "60000 60000\n");
    let _p = start_runsv(&svc);
    wait_for("the first start", || run_record(&svc, 1).is_some());
    let first = stamp_secs(&run_record(&svc, 1).unwrap());
    let mut down = None;
    wait_for("runsv to record the end of the first run", || {
        down = svc.status("supervise").filter(|s| s.state == 0 && s.pid == 0 && stamp_secs(s) > first);
        down.is_some()
    });
    svc.control("supervise", "u");
    wait_for("the second start", || run_record(&svc, 2).is_some());
    let gap = stamp_secs(&run_record(&svc, 2).unwrap()) - stamp_secs(&down.unwrap());
    assert!(gap < 30.0, "second start {gap:.3}s after the first run ended: the back-off was not cut");
    assert!(gap >= 0.95, "runit's 1 s still holds: {gap:.3}");
}

#[test]
fn a_stopped_service_is_not_backed_off() {
    let svc = ServiceDir::new(LONG);
    // A back-off longer than the wait for the new pid: had the stop been
    // backed off, that wait would fail.
    svc.file("restart-backoff", "60000 60000\n");
    let _p = start_runsv(&svc);
    svc.wait_stat("supervise", "run");
    std::thread::sleep(Duration::from_millis(1100)); // past runit's 1 s rule
    let pid = svc.status("supervise").unwrap().pid;
    svc.control("supervise", "t");
    svc.wait_new_pid("supervise", pid);
}

#[test]
fn control_scripts_get_the_pid_as_first_argument() {
    let got = svc_scratch_file();
    let g = got.path().display();
    let svc = ServiceDir::new(&format!("trap 'echo HUP >> {g}' HUP; echo up >> {g}; while :; do sleep 0.05; done"));
    let trace = svc.scratch().join("trace");
    let t = trace.display();
    svc.script("control/u", &format!("echo \"u $#\" >> {t}"));
    svc.script("control/h", &format!("echo \"h $# $1\" >> {t}; exit 1"));
    let _p = start_runsv(&svc);
    wait_for("up", || read(got.path()).contains("up"));
    // ./run can print before runsv has recorded its pid
    svc.wait_stat("supervise", "run");
    let pid = svc.status("supervise").unwrap().pid;
    svc.control("supervise", "h");
    wait_for("HUP", || read(got.path()).contains("HUP"));
    // control/u runs before ./run exists: no argument, never a 0
    assert_eq!(read(&trace), format!("u 0\nh 1 {pid}\n"));
}

#[test]
fn the_log_service_honours_its_own_files() {
    let svc = ServiceDir::new(LONG);
    svc.script("log/run", "echo >&4; exec cat > /dev/null");
    svc.file("log/notification-fd", "4");
    let _p = start_runsv(&svc);
    svc.wait_stat("log/supervise", "run");
    let log_pid = svc.status("log/supervise").unwrap().pid;
    wait_for("log ready", || {
        fs::read(svc.join("log/supervise/ready")).ok().and_then(|b| Ready::decode(&b)).is_some_and(|r| r.pid == log_pid)
    });
    // the main service has no notification-fd: no record
    assert!(!svc.join("supervise/ready").exists());
}

/// Ours and Debian's runsv on twin directories without any of the new
/// files: stat lines, record tails, pid files and the set of files under
/// supervise/ agree in every state, including a crash-restart.
#[test]
fn a_directory_without_the_files_matches_debians_runsv() {
    let body =
        "[ -e ../crash ] && { rm ../crash; exit 1; }; trap '' TERM; touch ../trapped; while :; do sleep 0.1; done";
    let ours = ServiceDir::new(body);
    let theirs = ServiceDir::new(body);
    for s in [&ours, &theirs] {
        s.script("log/run", "exec cat > /dev/null");
    }
    let _a = start_runsv(&ours);
    let _b = start_runsv_with(&debian("runsv"), &theirs);
    // `supervise/start` is ours on every start (docs/EXTENSIONS.md, "No
    // duplicate after runsv dies"); runit's tools never read it.
    let files = |s: &ServiceDir, sup: &str| {
        let mut v: Vec<String> = fs::read_dir(s.join(sup))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != "start")
            .collect();
        v.sort();
        v
    };
    let pid_file_ok = |s: &ServiceDir, sup: &str| {
        let st = s.status(sup).unwrap();
        let text = fs::read_to_string(s.join(sup).join("pid")).unwrap_or_default();
        if st.pid == 0 {
            text.is_empty()
        } else {
            text == format!("{}\n", st.pid)
        }
    };
    let same = |what: &str| {
        for sup in ["supervise", "log/supervise"] {
            wait_for(&format!("{what}: {sup} agrees"), || {
                let (a, b) = (ours.status(sup), theirs.status(sup));
                ours.stat(sup) == theirs.stat(sup)
                    && a.zip(b).is_some_and(|(a, b)| {
                        (a.pid != 0, a.paused, a.want, a.term, a.state)
                            == (b.pid != 0, b.paused, b.want, b.term, b.state)
                    })
                    && ours.status_bytes(sup).len() == 20
                    && files(&ours, sup) == files(&theirs, sup)
                    && pid_file_ok(&ours, sup)
                    && pid_file_ok(&theirs, sup)
            });
        }
    };
    for s in [&ours, &theirs] {
        s.wait_stat("supervise", "run");
    }
    same("running");
    for s in [&ours, &theirs] {
        wait_for("TERM ignored", || s.scratch().join("trapped").exists());
        fs::write(s.scratch().join("crash"), "").unwrap();
        s.control("supervise", "t");
    }
    // the TERM is ignored; a k makes it exit, then it restarts
    for (letters, what) in [("d", "stopping with TERM ignored"), ("k", "killed"), ("u", "up again")] {
        ours.control("supervise", letters);
        theirs.control("supervise", letters);
        same(what);
    }
    for s in [&ours, &theirs] {
        s.wait_stat("supervise", "run");
    }
    same("restarted");
}

/// Debian's sv knows nothing of the extras and needs nothing: the status
/// files it reads are runit's.
#[test]
fn debian_sv_drives_a_service_with_every_extra() {
    let mut groups = Groups(Vec::new());
    let svc = ServiceDir::new("echo >&3; trap '' TERM; while :; do sleep 0.05; done");
    for (f, v) in [
        ("notification-fd", "3"),
        ("timeout-kill", "300"),
        ("down-signal", "INT"),
        ("timeout-finish", "1000"),
        ("flag-killpg", ""),
        ("restart-backoff", "1000 5000"),
    ] {
        svc.file(f, v);
    }
    let _p = start_runsv(&svc);
    svc.wait_stat("supervise", "run");
    let pid = svc.status("supervise").unwrap().pid;
    groups.add(pid);
    let name = svc.path.display().to_string();
    let sv = |args: &[&str]| util::run(std::process::Command::new(debian("sv")).args(args).arg(&svc.path));
    let (code, out, _) = sv(&["status"]);
    assert_eq!(code, 0);
    assert!(out.starts_with(&format!("run: {name}: (pid {pid}) ")), "{out}");
    // TERM is ignored; the down-signal (INT) or at the latest timeout-kill ends it
    let (code, out, _) = sv(&["-w", "5", "down"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with(&format!("ok: down: {name}: ")), "{out}");
    wait_for("group empty", || live_in_group(pid).is_empty());
}
