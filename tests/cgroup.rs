//! `cgroup/` containment (docs/EXTENSIONS.md): each `./run` in a cgroup v2
//! of its own, limits from `cgroup/` files, everything in it ended on stop,
//! "down" only once the cgroup is empty; uncontained with one warning where
//! cgroupfs cannot be written, or down with `cgroup/required`.
//!
//! Each test works below a scratch cgroup of its own (passed to runsv as
//! `RUNIT_CGROUP_ROOT`), removed at the end with anything left in it. On a
//! machine without a writable cgroup v2 hierarchy the tests that need one
//! print why and return.
mod util;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use util::procfs::alive;
use util::{wait_for, Proc, ServiceDir};

fn read(p: &Path) -> String {
    fs::read_to_string(p).unwrap_or_default()
}

/// A scratch cgroup under the real hierarchy, removed (after killing
/// whatever is left in it) on drop.
struct Root {
    path: PathBuf,
}

impl Root {
    fn new(test: &str) -> Option<Root> {
        let base = match unix::cgroup::find_root() {
            Ok(b) => b,
            Err(e) => {
                eprintln!("skipped: {e}");
                return None;
            }
        };
        let name = format!("runit-test-{test}-{}", std::process::id());
        match unix::cgroup::Cgroup::create(&base, Path::new(&name)) {
            Ok(cg) => Some(Root { path: cg.path().to_path_buf() }),
            Err(e) => {
                eprintln!("skipped: {e}");
                None
            }
        }
    }

    fn join(&self, rel: &str) -> PathBuf {
        self.path.join(rel)
    }

    fn controllers(&self) -> String {
        read(&self.join("cgroup.controllers"))
    }
}

/// Depth first: kill, wait until empty, rmdir.
fn remove_tree(p: &Path) {
    if let Ok(rd) = fs::read_dir(p) {
        for e in rd.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_tree(&e.path());
            }
        }
    }
    let _ = fs::write(p.join("cgroup.kill"), "1");
    let events = p.join("cgroup.events");
    let end = std::time::Instant::now() + util::DEADLINE;
    while read(&events).contains("populated 1") && std::time::Instant::now() < end {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let _ = fs::remove_dir(p);
}

impl Drop for Root {
    fn drop(&mut self) {
        remove_tree(&self.path);
    }
}

/// runsv on `svc` with `RUNIT_CGROUP_ROOT=root`, stderr in the scratch dir.
fn runsv_under(root: &Path, svc: &ServiceDir) -> Proc {
    let err = fs::File::create(svc.scratch().join("runsv.stderr")).unwrap();
    Proc::spawn(
        Command::new(util::bin("runsv"))
            .arg(&svc.path)
            .env("RUNIT_CGROUP_ROOT", root)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err),
    )
}

fn pids_in(cg: &Path) -> Vec<i32> {
    read(&cg.join("cgroup.procs")).lines().filter_map(|l| l.trim().parse().ok()).collect()
}

fn contained(run: &str) -> ServiceDir {
    let svc = ServiceDir::new(run);
    fs::create_dir(svc.join("cgroup")).unwrap();
    svc
}

fn sv(args: &[&str], svc: &ServiceDir) -> (i32, String, String) {
    util::run(Command::new(util::bin("sv")).args(args).arg(&svc.path))
}

fn pid_in(p: &Path) -> i32 {
    read(p).trim().parse().unwrap_or(0)
}

#[test]
fn a_setsid_grandchild_is_gone_after_sv_down_and_runsv_stays_outside() {
    let Some(root) = Root::new("grandchild") else { return };
    let svc =
        contained("setsid sh -c 'echo $$ > ../gc; exec sleep 100000' </dev/null >/dev/null 2>&1 &\nexec sleep 100000");
    let runsv = runsv_under(&root.path, &svc);
    let cg = root.join("svc");
    svc.wait_stat("supervise", "run");
    wait_for("the grandchild", || pid_in(&svc.scratch().join("gc")) != 0);
    let (main, gc) = (svc.status("supervise").unwrap().pid as i32, pid_in(&svc.scratch().join("gc")));
    wait_for("both in the service's cgroup", || {
        let p = pids_in(&cg);
        p.contains(&main) && p.contains(&gc)
    });
    assert!(!pids_in(&cg).contains(&runsv.pid()), "runsv itself stays outside");
    let own = read(Path::new(&format!("/proc/{}/cgroup", runsv.pid())));
    assert!(!own.contains("/svc\n"), "{own}");
    let (code, out, err) = sv(&["-w", "15", "down"], &svc);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!alive(main));
    assert!(!alive(gc), "the setsid grandchild was ended with the service");
    assert!(!cg.exists(), "the empty cgroup is removed");
    assert_eq!(util::runsv_stderr(&svc), "");
}

#[test]
fn a_service_ignoring_term_is_ended_by_timeout_kill_and_cgroup_kill() {
    let Some(root) = Root::new("ignoreterm") else { return };
    let svc = contained("trap '' TERM\nsleep 100000 &\necho $! > ../child\nexec sleep 100000");
    svc.file("timeout-kill", "300\n");
    let _runsv = runsv_under(&root.path, &svc);
    svc.wait_stat("supervise", "run");
    wait_for("the child", || pid_in(&svc.scratch().join("child")) != 0);
    let main = svc.status("supervise").unwrap().pid as i32;
    let child = pid_in(&svc.scratch().join("child"));
    svc.control("supervise", "d");
    svc.wait_stat("supervise", "down");
    assert!(!alive(main) && !alive(child), "nothing of the service outlives the stop");
    assert!(!root.join("svc").exists());
    // Up again: a fresh cgroup.
    svc.control("supervise", "u");
    svc.wait_stat("supervise", "run");
    wait_for("a new cgroup", || pids_in(&root.join("svc")).len() == 2);
}

#[test]
fn cgroup_files_are_written_into_the_cgroup() {
    let Some(root) = Root::new("limits") else { return };
    let svc = contained("exec sleep 100000");
    // A core file every cgroup v2 has, whatever the controllers.
    svc.file("cgroup/cgroup.max.descendants", "7\n");
    let ctrls = root.controllers();
    let mut checks = vec![("cgroup.max.descendants", "7")];
    for (file, value, ctrl) in [("pids.max", "33", "pids"), ("memory.max", "67108864", "memory")] {
        if ctrls.split_whitespace().any(|c| c == ctrl) {
            svc.file(&format!("cgroup/{file}"), &format!("{value}\n"));
            checks.push((file, value));
        } else {
            eprintln!(
                "{file} not checked: the {ctrl} controller is not available here (cgroup.controllers: {ctrls:?})"
            );
        }
    }
    let _runsv = runsv_under(&root.path, &svc);
    svc.wait_stat("supervise", "run");
    for (file, value) in checks {
        assert_eq!(read(&root.join("svc").join(file)).trim(), value, "{file}");
    }
}

#[test]
fn a_controller_that_is_missing_is_a_warning_not_a_crash() {
    let Some(root) = Root::new("nocontroller") else { return };
    let svc = contained("exec sleep 100000");
    svc.file("cgroup/nosuchctl.max", "1\n");
    let _runsv = runsv_under(&root.path, &svc);
    svc.wait_stat("supervise", "run");
    let pid = svc.status("supervise").unwrap().pid as i32;
    // The child joins between fork and exec: wait for it.
    wait_for("./run in its cgroup", || pids_in(&root.join("svc")).contains(&pid));
    let err = util::runsv_stderr(&svc);
    assert!(err.contains("warning: ") && err.contains("nosuchctl"), "{err}");
}

#[test]
fn cgroup_path_chooses_the_location() {
    let Some(root) = Root::new("path") else { return };
    let svc = contained("exec sleep 100000");
    svc.file("cgroup/path", "group/web\n");
    let _runsv = runsv_under(&root.path, &svc);
    svc.wait_stat("supervise", "run");
    let pid = svc.status("supervise").unwrap().pid as i32;
    wait_for("./run in group/web", || pids_in(&root.join("group/web")).contains(&pid));
    let (code, out, _) = sv(&["-j", "status"], &svc);
    assert_eq!(code, 0);
    assert!(out.contains(&format!("\"cgroup\":\"{}\"", root.join("group/web").display())), "{out}");
    assert!(out.contains("\"pids_current\":"), "{out}");
}

/// A private mount namespace where the cgroup root is a read-only cgroup2
/// mount: runsv warns once and runs the service as runit would.
fn read_only_run(svc: &ServiceDir) -> Option<Proc> {
    if unix::cgroup::find_root().is_err() {
        eprintln!("skipped: no cgroup2 hierarchy");
        return None;
    }
    let mnt = svc.scratch().join("ro-cgroup");
    fs::create_dir(&mnt).unwrap();
    let err = fs::File::create(svc.scratch().join("runsv.stderr")).unwrap();
    let script = "mount -t cgroup2 -o ro cgroup2 \"$1\" || exit 99; exec \"$2\" \"$3\"";
    let mut p = Proc::spawn(
        Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c", script, "sh"])
            .arg(&mnt)
            .arg(util::bin("runsv"))
            .arg(&svc.path)
            .env("RUNIT_CGROUP_ROOT", &mnt)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err),
    );
    // Either runsv comes up (its status file appears) or the mount failed.
    let mut exited = None;
    wait_for("runsv under unshare, or its failure", || {
        exited = p.child.try_wait().unwrap();
        exited.is_some() || svc.join("supervise/stat").exists()
    });
    if let Some(st) = exited {
        eprintln!("skipped: no private read-only cgroup2 mount here ({st})");
        return None;
    }
    Some(p)
}

#[test]
fn read_only_cgroupfs_runs_uncontained_with_one_warning() {
    let svc = contained("exec sleep 100000");
    let Some(_runsv) = read_only_run(&svc) else { return };
    svc.wait_stat("supervise", "run");
    // A restart does not repeat the warning.
    let first = svc.status("supervise").unwrap().pid;
    svc.control("supervise", "k");
    svc.wait_new_pid("supervise", first);
    let err = util::runsv_stderr(&svc);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(": warning: ") && err.contains("uncontained") && err.contains("read-only"), "{err}");
}

#[test]
fn a_plain_directory_as_root_runs_uncontained_with_one_warning() {
    let svc = contained("exec sleep 100000");
    let dir = svc.scratch().join("not-a-cgroup");
    fs::create_dir(&dir).unwrap();
    let _runsv = runsv_under(&dir, &svc);
    svc.wait_stat("supervise", "run");
    let err = util::runsv_stderr(&svc);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("uncontained"), "{err}");
    assert!(!dir.join("svc").exists(), "nothing created in a directory that is no cgroup");
}

#[test]
fn cgroup_required_keeps_the_service_down_with_a_reason() {
    let svc = contained("echo started > ../started; exec sleep 100000");
    svc.file("cgroup/required", "");
    let Some(_runsv) = read_only_run(&svc) else { return };
    wait_for("the reason on stderr", || util::runsv_stderr(&svc).contains("required"));
    let err = util::runsv_stderr(&svc);
    assert!(err.contains("not starting"), "{err}");
    let (_, out, _) = sv(&["status"], &svc);
    assert!(out.starts_with("down: ") && out.contains("want up"), "{out}");
    assert!(!svc.scratch().join("started").exists());
}

/// A contained service whose runsv was SIGKILLed: the next runsv stops the
/// orphan and empties its cgroup (the setsid grandchild too) before it
/// starts the service again, in a fresh cgroup.
#[test]
fn an_orphaned_contained_service_is_emptied_before_the_next_start() {
    let Some(root) = Root::new("orphan") else { return };
    let svc = contained(
        "echo $$ >> ../starts\nsetsid sh -c 'echo $$ >> ../gc; exec sleep 100000' </dev/null >/dev/null 2>&1 &\nexec sleep 100000",
    );
    let first = runsv_under(&root.path, &svc);
    svc.wait_stat("supervise", "run");
    wait_for("the grandchild", || read(&svc.scratch().join("gc")).lines().count() == 1);
    let old_main = svc.status("supervise").unwrap().pid as i32;
    let old_gc = pid_in(&svc.scratch().join("gc"));
    wait_for("both in the cgroup", || pids_in(&root.join("svc")).len() == 2);
    first.signal(libc::SIGKILL);
    let mut first = first;
    first.wait_exit();
    assert!(alive(old_main) && alive(old_gc), "SIGKILL of runsv leaves the service running");
    let _second = runsv_under(&root.path, &svc);
    wait_for("the second start", || read(&svc.scratch().join("starts")).lines().count() == 2);
    assert!(!alive(old_main), "the orphan was stopped first");
    assert!(!alive(old_gc), "and everything in its cgroup");
    wait_for("the new instance and its grandchild in the cgroup", || pids_in(&root.join("svc")).len() == 2);
    let err = util::runsv_stderr(&svc);
    assert!(err.contains("left running by an earlier runsv"), "{err}");
}
