//! runsvdir: which entries get a runsv, identity by device and inode,
//! restarts, signals, `-P`, the LOG title area, and a thousand services.
//!
//! Each test runs its own runsvdir (a process-group leader, see
//! `util::Proc`) on its own temporary scan directory (`util::scan::Scan`)
//! whose entries are symlinks to service directories kept beside it.
//! runsvdir starts the runsv built beside it (ours). Setting
//! `RUNSVDIR_TEST_RUNSV` to another runsv (e.g. Debian's `/usr/bin/runsv`)
//! runs the same tests with that one placed beside a copy of our runsvdir.
mod util;

use std::fs;
use std::os::unix::fs::symlink;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use util::procfs::alive;
use util::scan::{beside, runsv_children, runsvdir, Scan};
use util::{wait_for, wait_for_within, Proc};

/// How long a change in the scan directory may take to be acted on.
/// runit's runsvdir notices changes on its 5 s poll; ours has no timer at
/// all (`an_idle_runsvdir_does_not_wake_up` holds it to that), so a pickup
/// within any deadline came from the change itself. How fast it is, is a
/// benchmark's business, not a test's on a shared machine.
const PICKUP: Duration = util::DEADLINE;

struct ProcStat {
    pgrp: i32,
    session: i32,
}

fn proc_stat(pid: i32) -> Option<ProcStat> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    Some(ProcStat { pgrp: f.get(2)?.parse().ok()?, session: f.get(3)?.parse().ok()? })
}

#[test]
fn usage_without_a_directory() {
    let (code, _, err) = util::run(&mut Command::new(util::bin("runsvdir")));
    assert_eq!(code, 1);
    assert_eq!(err, format!("usage: {} [-P] dir\n\n", util::bin("runsvdir").display()));
    let (code, _, err) = util::run(Command::new(util::bin("runsvdir")).arg("-P"));
    assert_eq!(code, 1);
    assert!(err.starts_with("usage: "), "{err}");
}

#[test]
fn an_entry_added_later_is_started_at_once() {
    let mut s = Scan::new();
    s.link("first");
    s.start(&[], &[]);
    s.wait_run("first");
    // A rename into the directory, as tools do: picked up well before a
    // 5 s poll would.
    let target = s.service("late");
    symlink(&target, s.path("late.tmp")).unwrap();
    let t0 = Instant::now();
    fs::rename(s.path("late.tmp"), s.sd.join("late")).unwrap();
    wait_for_within("late to run", PICKUP, || s.stat("late") == "run\n");
    eprintln!("pickup took {:?}", t0.elapsed());
}

#[test]
fn a_directory_made_in_place_starts_with_its_log_service() {
    let mut s = Scan::new();
    s.start(&[], &[]);
    s.sync("ready");
    // mkdir first, then fill: runsv must not start before log/ exists.
    let dir = s.sd.join("inplace");
    fs::create_dir(&dir).unwrap();
    util::script(&dir.join("run"), "echo hello; exec sleep 100000");
    fs::create_dir(dir.join("log")).unwrap();
    util::script(&dir.join("log/run"), "exec cat >out");
    s.wait_run("inplace");
    wait_for("log/supervise/stat == run", || {
        fs::read_to_string(dir.join("log/supervise/stat")).unwrap_or_default() == "run\n"
    });
    wait_for("the log service to get the output", || {
        fs::read_to_string(dir.join("log/out")).unwrap_or_default() == "hello\n"
    });
}

#[test]
fn a_removed_entry_has_its_runsv_terminated() {
    let mut s = Scan::new();
    s.link("a");
    s.link("b");
    s.start(&[], &[]);
    s.wait_run("a");
    s.wait_run("b");
    let pid = s.wait_runsv("a");
    let svc = fs::read_to_string(s.sd.join("a/supervise/pid")).unwrap().trim().parse::<i32>().unwrap();
    fs::remove_file(s.sd.join("a")).unwrap();
    wait_for_within("runsv a to exit", PICKUP + util::DEADLINE, || !alive(pid));
    wait_for("service a to stop", || !alive(svc));
    // It is forgotten: never restarted, while b carries on.
    s.sync("c");
    assert_eq!(s.runsv_of("a"), None);
    assert!(s.runsv_of("b").is_some());
}

#[test]
fn a_renamed_entry_keeps_its_runsv() {
    let mut s = Scan::new();
    s.link("old");
    s.start(&[], &[]);
    s.wait_run("old");
    let pid = s.wait_runsv("old");
    fs::rename(s.sd.join("old"), s.sd.join("new")).unwrap();
    s.sync("later");
    assert!(alive(pid), "the runsv of the renamed entry was stopped");
    // Same runsv, still named as it was started: no second one.
    let all = runsv_children(s.pid());
    assert_eq!(all.iter().filter(|(_, n)| n == "old" || n == "new").count(), 1, "{all:?}");
    assert_eq!(s.runsv_of("old"), Some(pid));
}

#[test]
fn a_repointed_symlink_gets_a_new_runsv() {
    let mut s = Scan::new();
    s.link("svc");
    s.start(&[], &[]);
    s.wait_run("svc");
    let old = s.wait_runsv("svc");
    let other = s.service("other");
    // Atomic repoint: new link under a temporary name, renamed over.
    symlink(&other, s.sd.join(".svc.new")).unwrap();
    fs::rename(s.sd.join(".svc.new"), s.sd.join("svc")).unwrap();
    wait_for("the old runsv to exit", || !alive(old));
    wait_for("a new runsv for svc", || s.runsv_of("svc").is_some_and(|p| p != old));
    wait_for("the new target to run", || {
        fs::read_to_string(other.join("supervise/stat")).unwrap_or_default() == "run\n"
    });
}

#[test]
fn dotted_entries_and_plain_files_are_never_started() {
    let mut s = Scan::new();
    let hidden = s.service("hidden");
    symlink(&hidden, s.sd.join(".hidden")).unwrap();
    fs::create_dir(s.sd.join(".dotdir")).unwrap();
    util::script(&s.sd.join(".dotdir/run"), "exec sleep 100000");
    fs::write(s.sd.join("plain"), "not a service").unwrap();
    s.start(&[], &[]);
    s.sync("visible");
    assert_eq!(runsv_children(s.pid()).len(), 1, "{:?}", runsv_children(s.pid()));
    assert!(!hidden.join("supervise").exists());
    assert!(!s.stderr().contains("plain"), "plain files are skipped silently: {}", s.stderr());
}

#[test]
fn a_dangling_symlink_is_warned_about_on_every_scan() {
    let mut s = Scan::new();
    symlink(s.path("nowhere"), s.sd.join("dangling")).unwrap();
    s.start(&[], &[]);
    let warning = format!("runsvdir {}: warning: unable to stat dangling: file does not exist\n", s.sd.display());
    wait_for("the first warning", || s.stderr().contains(&warning));
    s.sync("x");
    wait_for("the warning again", || s.stderr().matches(&warning).count() >= 2);
    // Once the target exists, a scan starts it.
    s.service("nowhere");
    fs::rename(s.path("sv/nowhere"), s.path("nowhere")).unwrap();
    s.sync("y");
    s.wait_run("dangling");
}

#[test]
fn a_link_made_just_before_its_target_is_started_when_the_target_appears() {
    let mut s = Scan::new();
    s.start(&[], &[]);
    s.sync("ready");
    symlink(s.path("target"), s.sd.join("early")).unwrap();
    let warning = format!("runsvdir {}: warning: unable to stat early: file does not exist\n", s.sd.display());
    wait_for("the scan to see the dangling link", || s.stderr().contains(&warning));
    s.service("target.tmp");
    fs::rename(s.path("sv/target.tmp"), s.path("target")).unwrap();
    wait_for_within("early to run", PICKUP, || s.stat("early") == "run\n");
}

#[test]
fn an_idle_runsvdir_does_not_wake_up() {
    // runit wakes every 5 s to stat DIR; with the watch in place we sleep
    // until something happens. Counted over 6 s (runit: at least one).
    let mut s = Scan::new();
    s.link("a");
    let log = format!("log: {}", ".".repeat(20));
    s.start(&["-P"], &[&log]);
    s.wait_run("a");
    let switches = |pid: i32| -> u64 {
        let st = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        st.lines()
            .filter(|l| l.contains("ctxt_switches"))
            .map(|l| l.rsplit('\t').next().unwrap().trim().parse::<u64>().unwrap())
            .sum()
    };
    // Let the start-up settle (runsv's own writes to the title pipe): two
    // samples alike, however long the machine takes to get there.
    let mut before = switches(s.pid());
    wait_for("the start-up to settle", || {
        std::thread::sleep(Duration::from_millis(300));
        let now = switches(s.pid());
        std::mem::replace(&mut before, now) == now
    });
    // Observing: nothing happens for 6 s.
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(switches(s.pid()) - before, 0, "runsvdir woke up while nothing changed");
}

#[test]
fn a_killed_runsv_is_restarted_promptly() {
    let mut s = Scan::new();
    s.link("svc");
    s.start(&[], &[]);
    s.wait_run("svc");
    let old = s.wait_runsv("svc");
    let svc_pid = fs::read_to_string(s.sd.join("svc/supervise/pid")).unwrap().trim().parse::<i32>().unwrap();
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(old, libc::SIGKILL) };
    let t0 = Instant::now();
    wait_for_within("a new runsv", PICKUP, || s.runsv_of("svc").is_some_and(|p| p != old));
    eprintln!("restart took {:?}", t0.elapsed());
    // Unlike runit's, the new runsv first stops the orphaned service (man
    // runsv(8), AFTER A KILLED RUNSV), then starts a new one: never two.
    let pid_file = s.sd.join("svc/supervise/pid");
    wait_for("the orphan stopped and a new service started", || {
        let now = fs::read_to_string(&pid_file).ok().and_then(|p| p.trim().parse::<i32>().ok());
        !alive(svc_pid) && now.is_some_and(|p| p != svc_pid && alive(p))
    });
}

#[test]
fn a_runsv_that_keeps_failing_is_retried_about_once_a_second() {
    // No runsv beside our copy and none on PATH: every start fails.
    let bin = beside(None);
    let mut s = Scan::new();
    s.link("svc");
    s.start_with(&bin, &[], &[], |c| {
        c.env("PATH", "/nonexistent");
    });
    let msg = format!("runsvdir {}: fatal: unable to start runsv svc: file does not exist\n", s.sd.display());
    wait_for("the exec failure", || s.stderr().contains(&msg));
    let t0 = Instant::now();
    wait_for("two more attempts", || s.stderr().matches(&msg).count() >= 3);
    let took = t0.elapsed();
    assert!(took >= Duration::from_millis(1500), "retried too fast: {took:?} for 2 attempts");
    assert!(s.runsvdir.as_mut().unwrap().running());
}

#[test]
fn hup_stops_every_runsv_and_exits_111() {
    let mut s = Scan::new();
    s.link("a");
    s.link("b");
    s.start(&["-P"], &[]);
    s.wait_run("a");
    s.wait_run("b");
    let pids: Vec<i32> = runsv_children(s.pid()).into_iter().map(|(p, _)| p).collect();
    assert_eq!(pids.len(), 2);
    let svcs: Vec<i32> = ["a", "b"]
        .iter()
        .map(|n| fs::read_to_string(s.sd.join(n).join("supervise/pid")).unwrap())
        .map(|t| t.trim().parse().unwrap())
        .collect();
    let p = s.runsvdir.as_mut().unwrap();
    p.signal(libc::SIGHUP);
    assert_eq!(p.wait_exit().code(), Some(111));
    for pid in pids.iter().chain(&svcs) {
        wait_for(&format!("{pid} to exit"), || !alive(*pid));
    }
}

#[test]
fn term_exits_0_and_leaves_every_runsv_running() {
    let mut s = Scan::new();
    s.link("a");
    s.start(&["-P"], &[]);
    s.wait_run("a");
    let pid = s.wait_runsv("a");
    let p = s.runsvdir.as_mut().unwrap();
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit().code(), Some(0));
    assert!(alive(pid));
    assert_eq!(s.stat("a"), "run\n");
    // Reparented, so Scan's drop cannot find it: stop it here.
    // SAFETY: kill has no memory-safety preconditions.
    unsafe {
        libc::kill(-pid, libc::SIGKILL);
    }
}

/// runsvdir as PID 1 of a PID namespace gets SIGTERM; returns whether each
/// service was stopped by its runsv (its TERM trap ran) and runsvdir's exit.
fn term_runsvdir_as_pid_1(container: bool) -> (Vec<bool>, Option<i32>, Scan) {
    // A container's entrypoint: runsvdir is PID 1 of a PID namespace
    // (`unshare --kill-child` takes the namespace down with the guard).
    let s = Scan::new();
    for name in ["a", "b"] {
        let dir = s.service(name);
        util::script(
            &dir.join("run"),
            &format!(
                "trap 'echo stopped > ../../{name}.stopped; exit 0' TERM\n: > ../../{name}.trapped\n\
                 while :; do sleep 1 & wait $!; done"
            ),
        );
        symlink(&dir, s.sd.join(name)).unwrap();
    }
    let err = fs::File::create(s.path("stderr")).unwrap();
    let mut cmd = Command::new("unshare");
    if container {
        cmd.env("RUNIT_RS_CONTAINER", "1");
    } else {
        cmd.env_remove("RUNIT_RS_CONTAINER");
    }
    // Kept until the end: a copy's directory goes when this is dropped.
    let bin = runsvdir();
    let mut unshare = Proc::spawn(
        cmd.args(["--pid", "--fork", "--mount-proc", "--kill-child"])
            .arg(&bin)
            .arg(&s.sd)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err),
    );
    // "run" is written at fork: wait until each shell has set its trap.
    for name in ["a", "b"] {
        wait_for(&format!("{name} to set its trap"), || s.path(&format!("{name}.trapped")).exists());
    }
    let pid1 = util::procfs::namespace_pid1(unshare.pid());
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(pid1, libc::SIGTERM) };
    let code = unshare.wait_exit().code();
    let stopped = ["a", "b"].iter().map(|n| s.path(&format!("{n}.stopped")).exists()).collect();
    (stopped, code, s)
}

#[test]
fn as_pid_1_with_container_mode_term_stops_every_service_before_exiting() {
    let (stopped, code, s) = term_runsvdir_as_pid_1(true);
    assert_eq!(code, Some(0), "stderr: {}", s.stderr());
    // Each service got TERM from its runsv (not the kernel's SIGKILL).
    assert_eq!(stopped, [true, true]);
    for name in ["a", "b"] {
        assert_eq!(s.stat(name), "down\n");
    }
}

#[test]
fn as_pid_1_without_container_mode_term_exits_at_once_as_runit() {
    // runit's behaviour: runsvdir exits, the kernel kills the rest of the
    // namespace, and no service runs its TERM trap.
    let (stopped, code, s) = term_runsvdir_as_pid_1(false);
    assert_eq!(code, Some(0), "stderr: {}", s.stderr());
    assert_eq!(stopped, [false, false]);
}

#[test]
fn dash_p_makes_each_runsv_a_session_leader() {
    let mut s = Scan::new();
    s.link("a");
    s.start(&["-P"], &[]);
    let pid = s.wait_runsv("a");
    let st = proc_stat(pid).unwrap();
    assert_eq!((st.session, st.pgrp), (pid, pid));

    let mut t = Scan::new();
    t.link("b");
    t.start(&[], &[]);
    let pid = t.wait_runsv("b");
    let st = proc_stat(pid).unwrap();
    let dir = proc_stat(t.pid()).unwrap();
    assert_eq!((st.session, st.pgrp), (dir.session, t.pid()));
}

#[test]
fn services_start_with_sigpipe_at_its_default() {
    // runsv is a Rust program (its runtime ignores SIGPIPE); what matters is
    // that the service gets SIGPIPE as runsvdir found it, which it can only
    // if runsvdir hands it to runsv that way.
    let mut s = Scan::new();
    s.link("a");
    s.start(&["-P"], &[]);
    s.wait_run("a");
    let pid = fs::read_to_string(s.sd.join("a/supervise/pid")).unwrap().trim().to_string();
    // "run" is written at fork: wait for the exec.
    wait_for("the service to exec sleep", || {
        fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default() == "sleep\n"
    });
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let ign = status.lines().find_map(|l| l.strip_prefix("SigIgn:")).unwrap().trim();
    let ign = u64::from_str_radix(ign, 16).unwrap();
    assert_eq!(ign & (1 << (libc::SIGPIPE - 1)), 0, "SIGPIPE ignored in the service: {status}");
}

#[test]
fn a_double_dash_is_skipped_and_sigalrm_is_harmless() {
    let mut s = Scan::new();
    s.link("a");
    s.start(&["--"], &[]);
    s.wait_run("a");
    s.runsvdir.as_ref().unwrap().signal(libc::SIGALRM);
    s.sync("b");
    assert!(s.runsvdir.as_mut().unwrap().running());
}

#[test]
fn the_log_argument_shows_recent_stderr_in_the_process_title() {
    let mut s = Scan::new();
    let log = format!("log: {}", ".".repeat(120));
    symlink(s.path("nowhere"), s.sd.join("dangling")).unwrap();
    s.start(&["-P"], &[&log]);
    let pid = s.pid();
    let want = format!("runsvdir {}: warning: unable to stat dangling: file does not exist\n", s.sd.display());
    let title = || {
        let cmd = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let args: Vec<Vec<u8>> = cmd.split(|&b| b == 0).map(|a| a.to_vec()).collect();
        args.get(3).cloned().unwrap_or_default()
    };
    // runit's order: the scan's warning, then the first `.` of the 900 s
    // clock.
    let want = format!("{want}.");
    wait_for("the warning in the title", || title().ends_with(want.as_bytes()));
    let t = title();
    assert_eq!(t.len(), log.len(), "the area keeps its size");
    assert!(t.starts_with(b"log: ."), "{}", String::from_utf8_lossy(&t));
    // Nothing went to the real stderr: it is the pipe now.
    assert_eq!(s.stderr(), "");
    // A service's stderr lands there too.
    let dir = s.service("talker");
    util::script(&dir.join("run"), "echo talker-says-hi >&2; exec sleep 100000");
    symlink(&dir, s.sd.join("talker")).unwrap();
    wait_for("the service's line in the title", || title().ends_with(b"talker-says-hi\n"));
}

#[test]
fn a_short_log_argument_is_refused_with_a_warning() {
    let mut s = Scan::new();
    s.link("a");
    s.start(&[], &["log: "]);
    s.wait_run("a");
    let label = format!("runsvdir {}: warning: ", s.sd.display());
    assert_eq!(s.stderr(), format!("{label}log must have at least seven characters.\n{label}log service disabled.\n"));
}

#[test]
fn a_missing_directory_is_warned_about_and_picked_up_when_it_appears() {
    let mut s = Scan::new();
    fs::remove_dir(&s.sd).unwrap();
    s.start(&[], &[]);
    let warning =
        format!("runsvdir {}: warning: unable to stat {}: file does not exist\n", s.sd.display(), s.sd.display());
    wait_for("the warning", || s.stderr().contains(&warning));
    fs::create_dir(s.path("sd.new")).unwrap();
    symlink(s.service("a"), s.path("sd.new/a")).unwrap();
    fs::rename(s.path("sd.new"), &s.sd).unwrap();
    wait_for_within("a to run", Duration::from_secs(8), || s.stat("a") == "run\n");
}

#[test]
fn a_switched_current_link_is_followed() {
    // runsvdir on .../current, switched by runsvchdir: the services of the
    // new directory start, those of the old one stop.
    let mut s = Scan::new();
    let root = s.path("runsvdir");
    fs::create_dir_all(root.join("default")).unwrap();
    fs::create_dir_all(root.join("single")).unwrap();
    symlink(s.service("web"), root.join("default/web")).unwrap();
    symlink(s.service("shell"), root.join("single/shell")).unwrap();
    symlink("default", root.join("current")).unwrap();
    s.sd = root.join("current");
    s.start(&[], &[]);
    s.wait_run("web");
    let web = s.wait_runsv("web");
    let (code, out, err) = util::run(Command::new(util::bin("runsvchdir")).arg("single").env("RUNSVDIR", &root));
    assert_eq!((code, out.as_str(), err.as_str()), (0, "runsvchdir: single: now current.\n", ""));
    wait_for_within("shell to run", PICKUP, || s.stat("shell") == "run\n");
    wait_for("web's runsv to exit", || !alive(web));
}

#[test]
fn a_thousand_services_all_reach_run() {
    let mut s = Scan::new();
    let n = 1000;
    let sv = s.path("sv");
    for i in 0..n {
        let dir = sv.join(format!("s{i}"));
        fs::create_dir(&dir).unwrap();
        util::script(&dir.join("run"), "exec sleep 100000");
        symlink(&dir, s.sd.join(format!("s{i}"))).unwrap();
    }
    let t0 = Instant::now();
    s.start(&[], &[]);
    let left = || (0..n).filter(|i| s.stat(&format!("s{i}")) != "run\n").count();
    wait_for_within("all services to run", Duration::from_secs(40), || left() == 0);
    eprintln!("1000 services up in {:?}", t0.elapsed());
    let p = s.runsvdir.as_mut().unwrap();
    p.signal(libc::SIGHUP);
    assert_eq!(p.wait_exit().code(), Some(111));
    // Every runsv and its service exits (the rest is killed with the group).
    wait_for_within("every service to stop", Duration::from_secs(30), || {
        (0..n).all(|i| fs::read_to_string(sv.join(format!("s{i}/supervise/stat"))).unwrap_or_default() != "run\n")
    });
}

#[test]
fn runsvdir_starts_debians_runsv_when_it_is_beside_it() {
    let bin = beside(Some(&util::debian("runsv")));
    let mut s = Scan::new();
    s.link("a");
    s.start_with(&bin, &["-P"], &[], |_| {});
    s.wait_run("a");
    let pid = s.wait_runsv("a");
    assert_eq!(fs::read_link(format!("/proc/{pid}/exe")).unwrap(), fs::canonicalize(util::debian("runsv")).unwrap());
}

/// The runsvs one scan starts are started dependencies first, whatever
/// the directory order: two chains, one created from its root, the other
/// from its leaf, so that no order of creation (nor the same order
/// reversed) lists both roots first. runsvdir forks them one after the
/// other, so their pids tell the order.
#[test]
fn the_runsvs_of_one_scan_start_dependencies_first() {
    let mut s = Scan::new();
    let from_root = ["a1", "a2", "a3", "a4"];
    let from_leaf = ["b4", "b3", "b2", "b1"];
    for name in from_root.iter().chain(&from_leaf) {
        let dir = s.link(name);
        let (chain, level) = name.split_at(1);
        let level: u32 = level.parse().unwrap();
        if level > 1 {
            fs::write(dir.join("depends"), format!("{chain}{}\n", level - 1)).unwrap();
        }
    }
    s.start(&[], &[]);
    let mut kids = Vec::new();
    wait_for("eight runsvs", || {
        kids = runsv_children(s.pid());
        kids.len() == 8
    });
    let pid = |name: &str| kids.iter().find(|(_, n)| n == name).map(|(p, _)| *p).unwrap();
    for chain in ["a", "b"] {
        let pids: Vec<i32> = (1..=4).map(|l| pid(&format!("{chain}{l}"))).collect();
        assert!(pids.windows(2).all(|w| w[0] < w[1]), "chain {chain}: runsv pids by level {pids:?}");
    }
}
