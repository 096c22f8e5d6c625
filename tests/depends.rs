//! Dependencies between services (`depends`, `oneshot`; docs/EXTENSIONS.md)
//! with the real runsvdir, runsv and sv: start order and readiness, the
//! ordered stop, cycles, missing and soft dependencies, oneshots.
//!
//! Each test has its own services directory `sd` with links to `sv/NAME`
//! and its own runsvdir (without -P, so every runsv and service stays in
//! its process group and goes with it). Run scripts append
//! `NAME start|finish NANOSECONDS` to the file `events`.

mod util;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;
use supervise::SuperviseDir;
use util::{wait_for, Proc};

struct Tree {
    tmp: tempfile::TempDir,
    sd: PathBuf,
    runsvdir: Option<Proc>,
}

/// TAI64N as nanoseconds (only differences matter).
fn nanos(t: unix::tai64n::Tai64n) -> i128 {
    t.secs as i128 * 1_000_000_000 + t.nanos as i128
}

impl Tree {
    fn new() -> Tree {
        let tmp = tempfile::Builder::new().prefix("depends-test").tempdir().unwrap();
        let sd = tmp.path().join("sd");
        fs::create_dir(&sd).unwrap();
        fs::create_dir(tmp.path().join("sv")).unwrap();
        fs::write(tmp.path().join("events"), b"").unwrap();
        Tree { tmp, sd, runsvdir: None }
    }

    fn dir(&self, name: &str) -> PathBuf {
        self.tmp.path().join("sv").join(name)
    }

    /// `sv/NAME` whose `run` logs its start, then runs `body`; a `finish`
    /// logs the end.
    fn service(&self, name: &str, body: &str) -> &Self {
        let d = self.dir(name);
        fs::create_dir_all(&d).unwrap();
        let ev = self.tmp.path().join("events");
        util::script(&d.join("run"), &format!("echo \"{name} start $(date +%s%N)\" >>{}\n{body}", ev.display()));
        util::script(&d.join("finish"), &format!("echo \"{name} finish $(date +%s%N)\" >>{}", ev.display()));
        self
    }

    /// A service that sleeps, ready (notification-fd 3) after `delay`.
    fn notifying(&self, name: &str, delay: &str) -> &Self {
        self.service(name, &format!("sleep {delay}\necho ready >&3\nexec sleep 100000"));
        self.file(name, "notification-fd", "3\n")
    }

    fn file(&self, name: &str, file: &str, content: &str) -> &Self {
        fs::write(self.dir(name).join(file), content).unwrap();
        self
    }

    fn link(&self, name: &str) -> &Self {
        symlink(self.dir(name), self.sd.join(name)).unwrap();
        self
    }

    fn start(&mut self) {
        let err = fs::File::create(self.tmp.path().join("stderr")).unwrap();
        let mut cmd = Command::new(util::bin("runsvdir"));
        cmd.arg(&self.sd).stdin(Stdio::null()).stdout(Stdio::null()).stderr(err);
        self.runsvdir = Some(Proc::spawn(&mut cmd));
    }

    fn stderr(&self) -> String {
        fs::read_to_string(self.tmp.path().join("stderr")).unwrap_or_default()
    }

    fn sv(&self, args: &[&str]) -> (i32, String, String) {
        util::run(Command::new(util::bin("sv")).args(args).env("SVDIR", &self.sd))
    }

    fn stat(&self, name: &str) -> String {
        fs::read_to_string(self.dir(name).join("supervise/stat")).unwrap_or_default()
    }

    fn status(&self, name: &str) -> Option<supervise::Status> {
        supervise::status::read_status(&self.dir(name).join("supervise/status")).ok()
    }

    fn running(&self, name: &str) -> bool {
        self.status(name).is_some_and(|s| s.state == 1 && s.pid != 0)
    }

    fn wait_run(&self, name: &str) {
        wait_for(&format!("{name} to run (stat {:?})", self.stat(name)), || self.running(name));
    }

    fn wait_down(&self, name: &str) {
        wait_for(&format!("{name} to be down (stat {:?})", self.stat(name)), || {
            self.status(name).is_some_and(|s| s.state == 0)
        });
    }

    /// `(name, what, ns)` in file order.
    fn events(&self) -> Vec<(String, String, u128)> {
        fs::read_to_string(self.tmp.path().join("events"))
            .unwrap()
            .lines()
            .filter_map(|l| {
                let mut w = l.split(' ');
                Some((w.next()?.to_string(), w.next()?.to_string(), w.next()?.parse().ok()?))
            })
            .collect()
    }

    fn count(&self, name: &str, what: &str) -> usize {
        self.events().iter().filter(|(n, w, _)| n == name && w == what).count()
    }

    /// When NAME last logged WHAT.
    fn last(&self, name: &str, what: &str) -> u128 {
        self.events().iter().rev().find(|(n, w, _)| n == name && w == what).map(|e| e.2).unwrap()
    }

    fn waiting(&self, name: &str) -> String {
        fs::read_to_string(self.dir(name).join("supervise/waiting")).unwrap_or_default()
    }

    /// Proves runsv had every chance to act: a fresh service linked now
    /// runs (runsvdir scanned, its runsv started and ran it).
    fn settle(&self, marker: &str) {
        self.service(marker, "exec sleep 100000").link(marker);
        self.wait_run(marker);
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn web_starts_after_db_is_ready_every_time() {
    let mut t = Tree::new();
    t.notifying("db", "0.2").link("db");
    // web fails loudly if it ever starts before db's readiness record.
    let db_ready = t.dir("db").join("supervise/ready");
    t.service(
        "web",
        &format!("test -e {} || echo \"web early 0\" >>../../events\nexec sleep 100000", db_ready.display()),
    )
    .file("web", "depends", "db\n")
    .link("web");
    t.start();
    let mut lat = Vec::new();
    for i in 0..20 {
        t.wait_run("web");
        let ready = supervise::extras::read_ready(&SuperviseDir::of(&t.dir("db"))).unwrap().expect("db ready");
        let web = t.status("web").unwrap();
        let ms = (nanos(web.stamp) - nanos(ready.stamp)) as f64 / 1e6;
        assert!(ms >= 0.0, "web started {ms} ms before db was ready");
        lat.push(ms);
        if i < 19 {
            assert_eq!(t.sv(&["down", "db"]).0, 0);
            t.wait_down("db");
            t.wait_down("web");
            assert_eq!(t.sv(&["up", "db"]).0, 0);
        }
    }
    assert_eq!(t.count("web", "early"), 0, "web ran before db was ready");
    lat.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median = (lat[9] + lat[10]) / 2.0;
    eprintln!(
        "depends: db ready -> web ./run started: median {median:.2} ms, min {:.2}, max {:.2} (20 runs)",
        lat[0], lat[19]
    );
    // How soon is a figure for a benchmark (printed above), not a test's
    // assertion on a shared machine: a start that never comes fails the
    // wait for it.
}

#[test]
fn down_db_stops_web_first_and_up_brings_both_back() {
    let mut t = Tree::new();
    t.notifying("db", "0").link("db");
    t.service("web", "exec sleep 100000").file("web", "depends", "db\n").link("web");
    t.start();
    t.wait_run("web");
    let (code, _, _) = t.sv(&["-w", "15", "down", "db"]);
    assert_eq!(code, 0);
    t.wait_down("web");
    assert!(t.last("web", "finish") < t.last("db", "finish"), "web's finish ran before db's: {:?}", t.events());
    assert_eq!(t.status("web").unwrap().want, b'u', "web still wanted up: it waits");
    assert_eq!(t.waiting("web"), "wanted-down db\n");
    let (_, out, _) = t.sv(&["-j", "status", "web"]);
    assert!(out.contains("\"waiting_for\":[\"db\"]"), "{out}");
    let (_, out, _) = t.sv(&["status", "web"]);
    assert!(out.starts_with("down: web: ") && out.ends_with("normally up, want up\n"), "runit's line: {out}");

    assert_eq!(t.sv(&["up", "db"]).0, 0);
    t.wait_run("db");
    t.wait_run("web");
    assert_eq!(t.waiting("web"), "", "no waiting file once started");
}

#[test]
fn an_admins_down_is_respected_and_web_never_runs() {
    let mut t = Tree::new();
    t.notifying("db", "0").file("db", "down", "").link("db");
    t.service("web", "exec sleep 100000").file("web", "depends", "db\n").link("web");
    t.start();
    wait_for("web to say what it waits for", || t.waiting("web") == "wanted-down db\n");
    t.settle("marker");
    assert_eq!(t.count("web", "start"), 0, "web's ./run ran");
    assert_eq!(t.count("db", "start"), 0, "db was started for web");
    // sv waits through the dependency wait like a slow start.
    let (code, out, _) = t.sv(&["-w", "1", "start", "web"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.starts_with("timeout: down: web: "), "{out}");
    assert_eq!(t.sv(&["up", "db"]).0, 0);
    let (code, out, _) = t.sv(&["-w", "15", "start", "web"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("ok: run: web: "), "{out}");
}

#[test]
fn sighup_stops_a_three_level_chain_in_reverse_order() {
    let mut t = Tree::new();
    t.notifying("a", "0").link("a");
    t.notifying("b", "0").file("b", "depends", "a\n").link("b");
    t.service("c", "exec sleep 100000").file("c", "depends", "b\n").link("c");
    t.start();
    t.wait_run("c");
    t.runsvdir.as_ref().unwrap().signal(libc::SIGHUP);
    wait_for("every finish", || ["a", "b", "c"].iter().all(|n| t.count(n, "finish") == 1));
    let (a, b, c) = (t.last("a", "finish"), t.last("b", "finish"), t.last("c", "finish"));
    assert!(c < b && b < a, "finish order c {c} < b {b} < a {a}");
    t.runsvdir.as_mut().unwrap().wait_exit();
}

/// runsvdir as a container's PID 1 (`RUNIT_RS_CONTAINER=1`, in a PID
/// namespace of its own) stops the chain leaf first on SIGTERM, then exits 0.
#[test]
fn container_mode_sigterm_stops_a_three_level_chain_in_reverse_order() {
    let t = Tree::new();
    t.notifying("a", "0").link("a");
    t.notifying("b", "0").file("b", "depends", "a\n").link("b");
    t.service("c", "exec sleep 100000").file("c", "depends", "b\n").link("c");
    let err = fs::File::create(t.tmp.path().join("stderr")).unwrap();
    // `--kill-child` takes the namespace down with unshare, which the
    // guard kills if the test fails.
    let mut unshare = Proc::spawn(
        Command::new("unshare")
            .args(["--pid", "--fork", "--mount-proc", "--kill-child"])
            .arg(util::bin("runsvdir"))
            .arg(&t.sd)
            .env("RUNIT_RS_CONTAINER", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err),
    );
    t.wait_run("c");
    let pid1 = util::procfs::namespace_pid1(unshare.pid());
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(pid1, libc::SIGTERM) };
    let code = unshare.wait_exit().code();
    assert_eq!(code, Some(0), "stderr: {}", t.stderr());
    for n in ["a", "b", "c"] {
        assert_eq!(t.count(n, "finish"), 1, "{n} finished once: {:?}", t.events());
    }
    let (a, b, c) = (t.last("a", "finish"), t.last("b", "finish"), t.last("c", "finish"));
    assert!(c < b && b < a, "finish order c {c} < b {b} < a {a}");
}

#[test]
fn cycles_of_length_one_two_three_start_nothing_and_resume_when_broken() {
    let mut t = Tree::new();
    t.service("solo", "exec sleep 100000").file("solo", "depends", "solo\n").link("solo");
    t.service("p", "exec sleep 100000").file("p", "depends", "q\n").link("p");
    t.service("q", "exec sleep 100000").file("q", "depends", "p\n").link("q");
    t.service("x", "exec sleep 100000").file("x", "depends", "y\n").link("x");
    t.service("y", "exec sleep 100000").file("y", "depends", "z\n").link("y");
    t.service("z", "exec sleep 100000").file("z", "depends", "x\n").link("z");
    t.start();
    for line in [
        "runsv solo: warning: dependency cycle: solo -> solo",
        "runsv p: warning: dependency cycle: p -> q -> p",
        "runsv q: warning: dependency cycle: q -> p -> q",
        "runsv x: warning: dependency cycle: x -> y -> z -> x",
        "runsv z: warning: dependency cycle: z -> x -> y -> z",
    ] {
        wait_for(&format!("{line:?} in {:?}", t.stderr()), || t.stderr().contains(line));
    }
    t.settle("marker");
    for n in ["solo", "p", "q", "x", "y", "z"] {
        assert_eq!(t.count(n, "start"), 0, "{n} started inside a cycle");
    }
    assert_eq!(t.stderr().matches("dependency cycle: solo").count(), 1, "reported once");
    let (_, out, _) = t.sv(&["-j", "status", "x"]);
    assert!(out.contains("\"cycle\":[\"x\",\"y\",\"z\",\"x\"]"), "{out}");

    t.file("solo", "depends", "# none\n").file("q", "depends", "").file("z", "depends", "");
    for n in ["solo", "p", "q", "x", "y", "z"] {
        t.wait_run(n);
    }
}

#[test]
fn soft_on_missing_starts_at_once_hard_waits_until_linked() {
    let mut t = Tree::new();
    t.service("soft", "exec sleep 100000").file("soft", "depends", "nothere soft\n").link("soft");
    t.service("hard", "exec sleep 100000").file("hard", "depends", "late\n").link("hard");
    t.start();
    t.wait_run("soft");
    wait_for("hard to wait for late", || t.waiting("hard") == "missing late\n");
    assert_eq!(t.count("hard", "start"), 0);
    t.service("late", "exec sleep 100000").link("late");
    t.wait_run("hard");
    let late = t.status("late").unwrap();
    let hard = t.status("hard").unwrap();
    let ms = (nanos(hard.stamp) - nanos(late.stamp)) as f64 / 1e6;
    eprintln!("depends: late linked and started -> hard ./run started {ms:.2} ms after late's ./run");
    assert!((0.0..1000.0).contains(&ms), "{ms} ms");
}

#[test]
fn oneshot_exit_0_releases_dependents_exit_1_holds_them() {
    let mut t = Tree::new();
    t.service("setup", "exit 0").file("setup", "oneshot", "").link("setup");
    t.service("broken", "exit 1").file("broken", "oneshot", "").link("broken");
    t.service("app", "exec sleep 100000").file("app", "depends", "setup\n").link("app");
    t.service("app2", "exec sleep 100000").file("app2", "depends", "broken\n").link("app2");
    t.start();
    t.wait_run("app");
    wait_for("broken to fail", || t.waiting("app2") == "failed broken\n");
    t.settle("marker");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(t.count("setup", "start"), 1, "a oneshot is not restarted");
    assert_eq!(t.count("broken", "start"), 1, "a failed oneshot without restart-backoff is not retried");
    assert_eq!(t.count("app2", "start"), 0);
    let (_, out, _) = t.sv(&["status", "setup"]);
    assert!(out.starts_with("down: setup: ") && out.ends_with("s, normally up\n"), "runit's line: {out}");
    let (_, out, _) = t.sv(&["-j", "status", "setup", "broken"]);
    assert!(out.contains("\"state\":\"done\"") && out.contains("\"oneshot\":\"done\""), "{out}");
    assert!(out.contains("\"state\":\"failed\""), "{out}");
    // sv up runs it again; fixed, it releases app2.
    util::script(&t.dir("broken").join("run"), "exit 0");
    assert_eq!(t.sv(&["up", "broken"]).0, 0);
    t.wait_run("app2");
}

#[test]
fn a_failed_oneshot_with_restart_backoff_is_retried() {
    let mut t = Tree::new();
    let flag = t.tmp.path().join("second");
    t.service("init", &format!("test -e {0} && exit 0; touch {0}; exit 1", flag.display()))
        .file("init", "oneshot", "")
        .file("init", "restart-backoff", "100 200\n")
        .link("init");
    t.service("app", "exec sleep 100000").file("app", "depends", "init\n").link("app");
    t.start();
    t.wait_run("app");
    assert_eq!(t.count("init", "start"), 2);
}

#[test]
fn a_malformed_line_is_reported_once_and_ignored() {
    let mut t = Tree::new();
    t.service("db", "exec sleep 100000").link("db");
    t.service("web", "exec sleep 100000").file("web", "depends", "db\ndb sometimes\n").link("web");
    t.start();
    t.wait_run("web");
    t.settle("marker");
    let want = "runsv web: warning: depends:2: unknown kind (want soft or hard): db sometimes (line ignored)";
    assert_eq!(t.stderr().matches(want).count(), 1, "{}", t.stderr());
}

#[test]
fn a_service_without_depends_publishes_nothing_new() {
    let mut t = Tree::new();
    t.service("plain", "exec sleep 100000").link("plain");
    t.start();
    t.wait_run("plain");
    let mut names: Vec<String> = fs::read_dir(t.dir("plain").join("supervise"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    // `start` is the no-duplicate record every runsv keeps (docs/EXTENSIONS.md).
    assert_eq!(names, ["control", "lock", "ok", "pid", "start", "stat", "status"]);
}

/// Voluntary context switches of a process: each wake-up from poll adds one.
fn wakeups(pid: i32) -> u64 {
    let st = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    st.lines().find_map(|l| l.strip_prefix("voluntary_ctxt_switches:")).unwrap().trim().parse().unwrap()
}

#[test]
fn waiting_and_running_dependents_sleep_while_nothing_changes() {
    let mut t = Tree::new();
    t.notifying("db", "0").link("db");
    t.service("web", "exec sleep 100000").file("web", "depends", "db\n").link("web");
    t.service("idle", "exec sleep 100000").file("idle", "depends", "nothere\n").link("idle");
    t.start();
    t.wait_run("web");
    wait_for("idle to wait", || t.waiting("idle") == "missing nothere\n");
    let runsvdir = t.runsvdir.as_ref().unwrap().pid();
    let runsv_of = |name: &str| {
        util::procfs::children(runsvdir)
            .into_iter()
            .find(|(p, _)| util::procfs::arg1(*p).as_deref() == Some(name))
            .map(|(p, _)| p)
            .unwrap()
    };
    let (web, idle) = (runsv_of("web"), runsv_of("idle"));
    // Let the start-up settle (the last status writes): two samples alike.
    let mut before = (wakeups(web), wakeups(idle));
    wait_for("the start-up to settle", || {
        std::thread::sleep(Duration::from_millis(300));
        let now = (wakeups(web), wakeups(idle));
        std::mem::replace(&mut before, now) == now
    });
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!((wakeups(web), wakeups(idle)), before, "a runsv woke up while nothing changed");
}

#[test]
fn debians_sv_down_stops_the_tree_in_order_too() {
    let mut t = Tree::new();
    t.notifying("db", "0").link("db");
    t.service("web", "exec sleep 100000").file("web", "depends", "db\n").link("web");
    t.start();
    t.wait_run("web");
    let (code, out, err) =
        util::run(Command::new(util::debian("sv")).args(["-w", "15", "down", "db"]).env("SVDIR", &t.sd));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.starts_with("ok: down: db: "), "{out}");
    t.wait_down("web");
    assert!(t.last("web", "finish") < t.last("db", "finish"), "{:?}", t.events());
}

#[test]
fn a_check_script_gates_readiness_like_sv_check() {
    let mut t = Tree::new();
    let flag = t.tmp.path().join("db-open");
    t.service("db", "exec sleep 100000").link("db");
    util::script(&t.dir("db").join("check"), &format!("test -e {}", flag.display()));
    t.service("web", "exec sleep 100000").file("web", "depends", "db\n").link("web");
    t.start();
    t.wait_run("db");
    wait_for("web to wait for db's check", || t.waiting("web") == "not-ready db\n");
    assert_eq!(t.count("web", "start"), 0);
    fs::write(&flag, b"").unwrap();
    t.wait_run("web");
}

#[test]
fn log_depends_holds_the_log_service_only() {
    let mut t = Tree::new();
    t.service("app", "exec sleep 100000");
    fs::create_dir(t.dir("app").join("log")).unwrap();
    util::script(&t.dir("app").join("log/run"), "exec cat >/dev/null");
    fs::write(t.dir("app").join("log/depends"), "sink\n").unwrap();
    t.link("app");
    t.start();
    t.wait_run("app");
    let log_waiting = || fs::read_to_string(t.dir("app").join("log/supervise/waiting")).unwrap_or_default();
    wait_for("the log service to wait", || log_waiting() == "missing sink\n");
    let (_, out, _) = t.sv(&["-j", "status", "app"]);
    assert!(out.contains("\"log\":{") && out.ends_with("\"waiting_for\":[\"sink\"]}}\n"), "{out}");
    t.service("sink", "exec sleep 100000").link("sink");
    wait_for("the log service to run", || {
        supervise::status::read_status(&t.dir("app").join("log/supervise/status")).is_ok_and(|s| s.state == 1)
    });
    assert_eq!(log_waiting(), "");
}

#[test]
fn down_on_the_root_of_a_chain_stops_it_from_the_leaf_and_up_restores_it() {
    let mut t = Tree::new();
    t.notifying("a", "0").link("a");
    t.notifying("b", "0").file("b", "depends", "a\n").link("b");
    t.service("c", "exec sleep 100000").file("c", "depends", "b\n").link("c");
    t.start();
    t.wait_run("c");
    // Its first line written: a TERM before it would leave no start
    // behind, and the count below would wait for one too many.
    wait_for("c's ./run to have begun", || t.count("c", "start") == 1);
    assert_eq!(t.sv(&["down", "a"]).0, 0);
    wait_for("every finish", || ["a", "b", "c"].iter().all(|n| t.count(n, "finish") == 1));
    let (a, b, c) = (t.last("a", "finish"), t.last("b", "finish"), t.last("c", "finish"));
    assert!(c < b && b < a, "finish order c {c} < b {b} < a {a}");
    assert_eq!(t.sv(&["up", "a"]).0, 0);
    wait_for("c to start again", || t.count("c", "start") == 2);
    let ev = t.events();
    assert!(t.last("a", "start") < t.last("b", "start") && t.last("b", "start") < t.last("c", "start"), "{ev:?}");
}

/// Reads what is pending in a non-blocking FIFO.
fn drain(fifo: &mut fs::File) -> Vec<u8> {
    use std::io::Read;
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    while let Ok(n @ 1..) = fifo.read(&mut buf) {
        got.extend_from_slice(&buf[..n]);
    }
    got
}

/// Without inotify a dependent learns of its dependency's changes only
/// through the "dependencies changed" byte (docs/PROTOCOL.md, section 5)
/// that the dependency's runsv writes to the dependent's
/// `supervise/control`. Here the dependent is a FIFO the test reads: the
/// byte comes when db becomes ready and again when it goes down, and is
/// not one of runit's letters.
#[test]
fn a_dependency_pokes_its_dependents_control_fifo_on_ready_and_down() {
    use std::os::unix::fs::OpenOptionsExt;
    let t = Tree::new();
    t.service("db", "exec sleep 100000").file("db", "down", "");
    symlink(t.dir("db"), t.sd.join("db")).unwrap();
    let web = t.sd.join("web");
    fs::create_dir_all(web.join("supervise")).unwrap();
    fs::write(web.join("depends"), "db\n").unwrap();
    unix::fifo::mkfifo(&web.join("supervise/control"), 0o600).unwrap();
    let mut control =
        fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(web.join("supervise/control")).unwrap();
    let err = fs::File::create(t.tmp.path().join("stderr")).unwrap();
    let _runsv =
        Proc::spawn(Command::new(util::bin("runsv")).arg("db").current_dir(&t.sd).stdin(Stdio::null()).stderr(err));
    wait_for("db's runsv", || t.status("db").is_some() && fs::metadata(t.dir("db").join("supervise/ok")).is_ok());
    // What web's runsv would do on reading db: enter web in db's index.
    let mark = supervise::depstate::Mark::of(&web, false).unwrap();
    assert!(supervise::depstate::mark_depended_on(&supervise::SuperviseDir::of(&t.dir("db")), &mark));
    let entry = fs::read_dir(t.dir("db").join("supervise/dependents")).unwrap().next().unwrap().unwrap();
    assert_eq!(fs::read_link(entry.path()).unwrap(), web, "the entry leads to web");
    let _ = drain(&mut control);
    // After each change of db, web's control FIFO gets only `D` bytes.
    let mut expect_poke = |what: &str| {
        let mut got = Vec::new();
        wait_for(what, || {
            got.extend(drain(&mut control));
            !got.is_empty()
        });
        assert!(got.iter().all(|&b| b == b'D'), "{what}: {got:?}");
    };
    let (code, out, _) = t.sv(&["up", "db"]);
    assert_eq!(code, 0, "{out}");
    t.wait_run("db");
    expect_poke("a poke after db's start");
    assert!(!supervise::control::LETTERS.contains(&b'D'));
    let (code, out, _) = t.sv(&["down", "db"]);
    assert_eq!(code, 0, "{out}");
    t.wait_down("db");
    expect_poke("a poke after db's stop");
    assert_eq!(t.stderr(), "", "runsv complained");
}

/// A process of its own, running as `uid`, that holds every inotify
/// instance that user may have (fs.inotify.max_user_instances counts per
/// user): the user's runsvs then run without inotify, honestly.
struct InotifyHog {
    pid: libc::pid_t,
}

impl InotifyHog {
    fn new(uid: u32) -> InotifyHog {
        let limit: usize =
            fs::read_to_string("/proc/sys/fs/inotify/max_user_instances").unwrap().trim().parse().unwrap();
        let (r, w) = unix::fd::pipe_cloexec().unwrap();
        // SAFETY: the child only makes system calls (no allocation, no
        // lock) and never returns into the test harness.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork");
        if pid == 0 {
            // SAFETY: plain system calls on values owned by this process.
            unsafe {
                if libc::setgid(uid) != 0 || libc::setuid(uid) != 0 {
                    libc::_exit(1);
                }
                let mut held = 0;
                while held <= limit && libc::inotify_init1(libc::IN_CLOEXEC) >= 0 {
                    held += 1;
                }
                let done = [if held <= limit { b'y' } else { b'n' }];
                libc::write(std::os::fd::AsRawFd::as_raw_fd(&w), done.as_ptr().cast(), 1);
                loop {
                    libc::pause();
                }
            }
        }
        drop(w);
        let hog = InotifyHog { pid };
        let mut answer = [0u8; 1];
        let got = std::io::Read::read(&mut fs::File::from(r), &mut answer).unwrap();
        assert_eq!(got, 1, "hog did not start");
        assert_eq!(&answer, b"y", "the inotify instances of uid {uid} could not be exhausted");
        hog
    }
}

impl Drop for InotifyHog {
    fn drop(&mut self) {
        // SAFETY: kill and waitpid on our own child.
        unsafe {
            libc::kill(self.pid, libc::SIGKILL);
            libc::waitpid(self.pid, std::ptr::null_mut(), 0);
        }
    }
}

fn chown_tree(p: &std::path::Path, uid: u32) {
    std::os::unix::fs::lchown(p, Some(uid), Some(uid)).unwrap();
    if fs::symlink_metadata(p).unwrap().is_dir() {
        for e in fs::read_dir(p).unwrap() {
            chown_tree(&e.unwrap().path(), uid);
        }
    }
}

/// With no inotify instance left for the user running runsvdir, a
/// dependent waiting for its dependency sleeps (no 1-second polling: the
/// dependency is there and its runsv announces changes) and starts as soon
/// as the dependency is up, woken by the "dependencies changed" byte. A
/// dependency not linked yet is read again every second instead.
#[test]
fn without_inotify_dependents_are_poked_and_missing_ones_polled() {
    // An unprivileged uid of this test's own (no account needed).
    const UID: u32 = 61_937;
    let mut t = Tree::new();
    t.service("db", "exec sleep 100000").file("db", "down", "").link("db");
    t.service("web", "exec sleep 100000").file("web", "depends", "db\n").link("web");
    t.service("late", "exec sleep 100000");
    t.service("app", "exec sleep 100000").file("app", "depends", "late\n").link("app");
    chown_tree(t.tmp.path(), UID);
    let _hog = InotifyHog::new(UID);
    let err = fs::File::create(t.tmp.path().join("stderr")).unwrap();
    // Copies that uid may run, wherever the checkout lives (runsvdir
    // starts the runsv beside it).
    let public = util::public::Public::bins(&["runsvdir", "runsv"]);
    let mut cmd = Command::new(public.join("runsvdir"));
    cmd.arg(&t.sd).uid(UID).gid(UID).stdin(Stdio::null()).stdout(Stdio::null()).stderr(err);
    use std::os::unix::process::CommandExt;
    t.runsvdir = Some(Proc::spawn(&mut cmd));
    wait_for("web to wait for db", || t.waiting("web") == "wanted-down db\n");
    wait_for("app to wait for late", || t.waiting("app") == "missing late\n");
    wait_for("runsv's warning", || t.stderr().contains("runsv web: warning: inotify not available"));
    let runsvdir = t.runsvdir.as_ref().unwrap().pid();
    let web = util::procfs::children(runsvdir)
        .into_iter()
        .find(|(p, _)| util::procfs::arg1(*p).as_deref() == Some("web"))
        .map(|(p, _)| p)
        .unwrap();
    let mut before = wakeups(web);
    wait_for("web's runsv to settle", || {
        std::thread::sleep(Duration::from_millis(300));
        let now = wakeups(web);
        std::mem::replace(&mut before, now) == now
    });
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(wakeups(web), before, "web's runsv polled while its dependency is there");
    assert!(!t.running("web"));

    let (code, out, _) = t.sv(&["up", "db"]);
    assert_eq!(code, 0, "{out}");
    t.wait_run("web");
    // The run scripts log their start a moment after runsv records it.
    wait_for("web's and db's start lines", || t.count("web", "start") == 1 && t.count("db", "start") == 1);
    assert!(t.last("web", "start") >= t.last("db", "start"));
    // Linked later, seen by the 1-second re-read (or late's poke).
    t.link("late");
    t.wait_run("app");
}
