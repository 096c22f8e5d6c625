//! runit as PID 1, in a PID namespace of its own (`unshare --pid --fork
//! --mount-proc`): no container engine is needed. Inside the namespace's
//! private mount namespace a FIFO the test reads is bind-mounted over
//! `/dev/console` (so machine-mode messages are captured instead of reaching
//! the real console) and an empty directory over `/etc/runit` (so nothing
//! can ever run the host's stages); the stage scripts live in a temporary
//! directory selected with `RUNIT_RS_ETC`.
//!
//! `unshare --kill-child` SIGKILLs runit when unshare dies, so the guard
//! that kills unshare takes the whole namespace with it.

mod util;

use std::fs;
use std::io::Read;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use std::os::unix::process::ExitStatusExt;
use util::{bin, script, wait_for, wait_for_within, Proc};

/// The wrapper run as the namespace's first process: set up the mounts, then
/// become the program under test (exec keeps PID 1).
const WRAPPER: &str = r#"mount --bind "$1" /dev/console && mount --bind "$2" /etc/runit && if [ -n "$3" ]; then mount --bind "$3" /sbin/runit; fi && shift 3 && exec "$@""#;

/// How runit should decide on container mode.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Machine,
    Container,
    Detect,
}

struct Ns {
    tmp: tempfile::TempDir,
    console: fs::File,
    console_text: Vec<u8>,
    proc: Option<Proc>,
    started: Instant,
    /// Mount the etc directory itself on `/etc/runit` (and point
    /// `RUNIT_RS_ETC` there), so runit's messages name upstream's paths.
    etc_on_etc_runit: bool,
    /// A command line the program is started through (e.g. `setpriv ...`).
    prefix: Vec<String>,
}

impl Ns {
    fn new() -> Ns {
        let tmp = tempfile::Builder::new().prefix("runit-rs-runit").tempdir().unwrap();
        for d in ["etc", "empty", "log"] {
            fs::create_dir(tmp.path().join(d)).unwrap();
        }
        let fifo = tmp.path().join("console");
        unix::fifo::mkfifo(&fifo, 0o600).unwrap();
        let console = fs::OpenOptions::new().read(true).write(true).custom_flags(libc::O_NONBLOCK).open(&fifo).unwrap();
        fs::write(tmp.path().join("etc/nosync"), "").unwrap();
        Ns {
            tmp,
            console,
            console_text: Vec::new(),
            proc: None,
            started: Instant::now(),
            etc_on_etc_runit: false,
            prefix: Vec::new(),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    fn etc(&self, rel: &str) -> PathBuf {
        self.tmp.path().join("etc").join(rel)
    }

    /// An executable stage (or other) script in the etc directory.
    fn stage(&self, name: &str, body: &str) -> &Self {
        script(&self.etc(name), body);
        self
    }

    fn etc_str(&self) -> String {
        self.etc("").to_str().unwrap().trim_end_matches('/').to_string()
    }

    /// Starts `program` as PID 1 with the given mode and extra environment.
    fn start_program(&mut self, program: &Path, mode: Mode, env: &[(&str, &str)], sbin_runit: Option<&Path>) {
        let err = fs::OpenOptions::new().create(true).append(true).open(self.path("stderr")).unwrap();
        let out = err.try_clone().unwrap();
        let mut cmd = Command::new("unshare");
        cmd.args(["--pid", "--fork", "--mount-proc", "--kill-child", "sh", "-c", WRAPPER, "sh"])
            .arg(self.path("console"))
            .arg(if self.etc_on_etc_runit { self.etc("") } else { self.path("empty") })
            .arg(sbin_runit.map(|p| p.as_os_str().to_owned()).unwrap_or_default())
            .args(&self.prefix)
            .arg(program)
            .env("RUNIT_RS_ETC", if self.etc_on_etc_runit { PathBuf::from("/etc/runit") } else { self.etc("") })
            .env("LOG", self.path("log"))
            .env_remove("RUNIT_RS_CONTAINER")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        match mode {
            Mode::Machine => {
                cmd.env("RUNIT_RS_CONTAINER", "0");
            }
            Mode::Container => {
                cmd.env("RUNIT_RS_CONTAINER", "1");
            }
            Mode::Detect => {}
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        self.started = Instant::now();
        self.proc = Some(Proc::spawn(&mut cmd));
    }

    fn start(&mut self, mode: Mode, env: &[(&str, &str)]) {
        self.start_program(&bin("runit"), mode, env, None);
    }

    /// Everything written to the console FIFO so far.
    fn console(&mut self) -> String {
        let mut buf = [0u8; 4096];
        loop {
            match self.console.read(&mut buf) {
                Ok(n) if n > 0 => self.console_text.extend_from_slice(&buf[..n]),
                _ => break,
            }
        }
        String::from_utf8_lossy(&self.console_text).into_owned()
    }

    /// runit's inherited stdout/stderr (container mode) so far.
    fn stderr(&self) -> String {
        fs::read_to_string(self.path("stderr")).unwrap_or_default()
    }

    /// A line a stage script appended to `$LOG/NAME`.
    fn log(&self, name: &str) -> String {
        fs::read_to_string(self.path("log").join(name)).unwrap_or_default()
    }

    /// The host pid of the namespace's PID 1 (the child of unshare).
    fn pid1(&self) -> i32 {
        util::procfs::namespace_pid1(self.proc.as_ref().unwrap().pid())
    }

    fn signal_pid1(&self, sig: i32) {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(self.pid1(), sig) };
    }

    /// Waits for unshare (and so the namespace) to end.
    fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let p = self.proc.as_mut().unwrap();
        let mut st = None;
        wait_for_within("the namespace's PID 1 to exit", limit, || {
            st = p.exited();
            st.is_some()
        });
        st.unwrap()
    }
}

/// Pids whose parent is `ppid`, from the host's /proc.
fn children_of(ppid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else { continue };
        if let Some((_, state, parent)) = stat_of(pid) {
            if parent == ppid && state != 'X' {
                out.push(pid);
            }
        }
    }
    out
}

/// (pid, state, ppid) from /proc/PID/stat.
fn stat_of(pid: i32) -> Option<(i32, char, i32)> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    let mut f = rest.split(' ');
    let state = f.next()?.chars().next()?;
    let ppid = f.next()?.parse().ok()?;
    Some((pid, state, ppid))
}

/// The lines that start with `- runit: `, in order.
fn runit_lines(text: &str) -> Vec<String> {
    text.lines().filter(|l| l.starts_with("- runit: ")).map(str::to_string).collect()
}

/// How a machine-mode runit ends here: with CAP_SYS_BOOT, `reboot()` in a
/// PID namespace kills its init with SIGINT (power off); without it runit
/// sees the refusal and, not being the machine's init, exits 0.
fn powered_off(st: ExitStatus) -> bool {
    st.signal() == Some(libc::SIGINT) || st.code() == Some(130) || st.code() == Some(0)
}

#[test]
fn runit_refuses_to_run_unless_it_is_process_1() {
    let (code, out, err) = util::run(&mut Command::new(bin("runit")));
    assert_eq!(code, 111);
    assert_eq!(out, "");
    assert_eq!(err, "- runit: fatal: must be run as process no 1.\n");
}

#[test]
fn stages_1_2_3_run_in_order_then_everything_is_killed_and_the_machine_powers_off() {
    let mut ns = Ns::new();
    ns.stage("1", "echo 1 $$ >> \"$LOG/order\"")
        .stage("2", "echo 2 >> \"$LOG/order\"")
        .stage("3", "echo 3 >> \"$LOG/order\"");
    fs::remove_file(ns.etc("nosync")).unwrap(); // this run also syncs
    ns.start(Mode::Machine, &[]);
    let st = ns.wait_exit(util::DEADLINE);
    assert!(powered_off(st), "{st:?}");
    let e = ns.etc_str();
    let mut want = vec![
        "- runit: $Id: runit-rs 0.1.0 $: booting.".to_string(),
        format!("- runit: enter stage: {e}/1"),
        format!("- runit: leave stage: {e}/1"),
        format!("- runit: enter stage: {e}/2"),
        format!("- runit: leave stage: {e}/2"),
        format!("- runit: enter stage: {e}/3"),
        format!("- runit: leave stage: {e}/3"),
        "- runit: sending KILL signal to all processes...".to_string(),
        "- runit: power off...".to_string(),
    ];
    let got = runit_lines(&ns.console());
    if got.len() > want.len() {
        // No CAP_SYS_BOOT: the kernel refused, runit went on to halt.
        want.push("- runit: system halt.".to_string());
        want.push("- runit: halt: exit 0.".to_string());
    }
    assert_eq!(got, want);
    // Stage 1 ran with a pid of its own inside the namespace, then 2 and 3.
    let order = ns.log("order");
    let lines: Vec<&str> = order.lines().collect();
    assert_eq!(lines.len(), 3, "{order}");
    assert!(lines[0].starts_with("1 "));
    assert_eq!(&lines[1..], ["2", "3"]);
    assert_eq!(ns.stderr(), "", "machine mode writes to the console only");
}

#[test]
fn stages_start_with_sigpipe_at_its_default() {
    // Rust's runtime ignores SIGPIPE in runit itself; a stage inheriting
    // that would pass it on to every service.
    let mut ns = Ns::new();
    ns.stage("1", "grep '^SigIgn' /proc/self/status > \"$LOG/sigign\"");
    ns.start(Mode::Machine, &[]);
    ns.wait_exit(util::DEADLINE);
    let line = ns.log("sigign");
    let mask = u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap();
    assert_eq!(mask & (1 << (libc::SIGPIPE - 1)), 0, "{line}");
}

#[test]
fn stage_1_exiting_100_skips_stage_2_and_a_missing_stage_3_counts_as_done() {
    let mut ns = Ns::new();
    ns.stage("1", "exit 100").stage("2", "echo 2 >> \"$LOG/order\"");
    ns.start(Mode::Machine, &[]);
    let st = ns.wait_exit(util::DEADLINE);
    assert!(powered_off(st), "{st:?}");
    let e = ns.etc_str();
    let got = runit_lines(&ns.console());
    assert_eq!(
        got[1..8],
        [
            format!("- runit: enter stage: {e}/1"),
            format!("- runit: warning: child failed: {e}/1"),
            format!("- runit: leave stage: {e}/1"),
            "- runit: warning: skipping stage 2...".to_string(),
            format!("- runit: enter stage: {e}/3"),
            format!("- runit: fatal: unable to start child: {e}/3: file does not exist"),
            format!("- runit: leave stage: {e}/3"),
        ]
    );
    assert_eq!(ns.log("order"), "", "stage 2 must not run");
}

#[test]
fn stage_1_killed_by_a_signal_also_skips_stage_2() {
    let mut ns = Ns::new();
    ns.stage("1", "kill -9 $$").stage("2", "echo 2 >> \"$LOG/order\"");
    ns.start(Mode::Machine, &[]);
    let st = ns.wait_exit(util::DEADLINE);
    assert!(powered_off(st), "{st:?}");
    let e = ns.etc_str();
    let got = runit_lines(&ns.console());
    assert_eq!(
        got[1..5],
        [
            format!("- runit: enter stage: {e}/1"),
            format!("- runit: warning: child crashed: {e}/1"),
            format!("- runit: leave stage: {e}/1"),
            "- runit: warning: skipping stage 2...".to_string(),
        ]
    );
    assert_eq!(ns.log("order"), "", "stage 2 must not run");
}

#[test]
fn stage_2_exiting_111_is_killed_with_its_group_and_restarted_after_5_seconds() {
    let mut ns = Ns::new();
    ns.stage("2", "date +%s%N >> \"$LOG/starts\"\nif [ ! -e \"$LOG/again\" ]; then\n  touch \"$LOG/again\"\n  sleep 1000 &\n  echo $! > \"$LOG/bg\"\n  exit 111\nfi");
    ns.start(Mode::Machine, &[]);
    let st = ns.wait_exit(Duration::from_secs(30));
    assert!(powered_off(st), "{st:?}");
    let starts: Vec<u128> = ns.log("starts").lines().map(|l| l.parse().unwrap()).collect();
    assert_eq!(starts.len(), 2);
    let gap = Duration::from_nanos((starts[1] - starts[0]) as u64);
    // Not before the 5 s; never restarting would fail the wait above.
    assert!(gap >= Duration::from_millis(4900), "{gap:?}");
    let e = ns.etc_str();
    let got = runit_lines(&ns.console());
    let i = got.iter().position(|l| l.contains("child failed")).expect("child failed");
    assert_eq!(
        got[i - 1..i + 5],
        [
            format!("- runit: enter stage: {e}/2"),
            format!("- runit: warning: child failed: {e}/2"),
            "- runit: warning: killing all processes in stage 2...".to_string(),
            "- runit: warning: restarting.".to_string(),
            format!("- runit: enter stage: {e}/2"),
            format!("- runit: leave stage: {e}/2"),
        ]
    );
}

#[test]
fn sigcont_with_an_executable_stopit_terms_stage_2_and_runs_stage_3() {
    let mut ns = Ns::new();
    ns.stage("2", "trap 'echo term >> \"$LOG/order\"; exit 0' TERM\ntouch \"$LOG/up\"\nwhile :; do sleep 0.1; done")
        .stage("3", "echo 3 >> \"$LOG/order\"");
    ns.start(Mode::Machine, &[]);
    wait_for("stage 2 up", || ns.path("log/up").exists());
    fs::write(ns.etc("stopit"), "").unwrap();
    fs::set_permissions(ns.etc("stopit"), fs::Permissions::from_mode(0o100)).unwrap();
    let asked = Instant::now();
    ns.signal_pid1(libc::SIGCONT);
    let st = ns.wait_exit(util::DEADLINE);
    assert!(powered_off(st), "{st:?}");
    // Upstream checks stage 2 at once and then after a 1 s sleep.
    assert!(asked.elapsed() >= Duration::from_secs(1), "{:?}", asked.elapsed());
    assert_eq!(ns.log("order"), "term\n3\n");
    assert_eq!(fs::metadata(ns.etc("stopit")).unwrap().permissions().mode() & 0o7777, 0, "stopit chmod 0");
    let e = ns.etc_str();
    let got = runit_lines(&ns.console());
    assert!(
        got.windows(2).any(|w| w == [format!("- runit: leave stage: {e}/2"), format!("- runit: enter stage: {e}/3")]),
        "{got:?}"
    );
}

#[test]
fn signals_outside_stage_2_are_discarded_with_a_warning() {
    let mut ns = Ns::new();
    ns.stage("1", "touch \"$LOG/up\"\nwhile [ ! -e \"$LOG/go\" ]; do sleep 0.05; done")
        .stage("2", "echo 2 >> \"$LOG/order\"");
    fs::write(ns.etc("stopit"), "").unwrap();
    fs::set_permissions(ns.etc("stopit"), fs::Permissions::from_mode(0o100)).unwrap();
    ns.start(Mode::Machine, &[]);
    wait_for("stage 1 up", || ns.path("log/up").exists());
    ns.signal_pid1(libc::SIGCONT);
    wait_for("the warning", || ns.console().contains("- runit: warning: signals only work in stage 2.\n"));
    fs::write(ns.path("log/go"), "").unwrap();
    let st = ns.wait_exit(util::DEADLINE);
    assert!(powered_off(st), "{st:?}");
    assert_eq!(ns.log("order"), "2\n", "stage 2 still ran");
    assert_eq!(fs::metadata(ns.etc("stopit")).unwrap().permissions().mode() & 0o777, 0o100, "stopit untouched");
}

/// Orphans are re-parented to runit (PID 1 of the namespace), which must
/// reap them as they exit. Each orphan blocks reading a FIFO, so the test
/// first sees all 40 adopted, then releases them at once (end of file for
/// every reader) and waits for runit to have reaped every one.
#[test]
fn orphans_are_reaped_at_once() {
    let mut ns = Ns::new();
    ns.stage(
        "2",
        "mkfifo \"$LOG/hold\"\ni=0\nwhile [ $i -lt 40 ]; do (cat \"$LOG/hold\" >/dev/null &); i=$((i+1)); done\n\
         touch \"$LOG/forked\"\nwhile [ ! -e \"$LOG/go\" ]; do sleep 0.05; done",
    );
    ns.start(Mode::Machine, &[]);
    wait_for("the orphans forked", || ns.path("log/forked").exists());
    let pid1 = ns.pid1();
    let orphans = || children_of(pid1).into_iter().filter(|&p| util::procfs::comm(p) == "cat").count();
    wait_for("all 40 orphans adopted by runit", || orphans() == 40);
    // Opening the FIFO for writing wakes every blocked reader; closing it
    // gives them end of file, and they exit.
    drop(fs::OpenOptions::new().write(true).open(ns.path("log/hold")).unwrap());
    wait_for("no orphan left, zombie or not", || {
        children_of(pid1).len() == 1 // stage 2 itself
    });
    assert!(!children_of(pid1).iter().any(|&p| stat_of(p).map(|s| s.1) == Some('Z')));
    fs::write(ns.path("log/go"), "").unwrap();
    let st = ns.wait_exit(util::DEADLINE);
    assert!(powered_off(st), "{st:?}");
}

/// A stage 2 in the style of a tiny supervisor: one service with a finish
/// script, stopped (and finished) on SIGTERM.
const SUPERVISOR: &str = r#"sleep 1000 &
child=$!
trap 'kill $child; wait $child; echo finish >> "$LOG/order"; exit 0' TERM
touch "$LOG/up"
wait"#;

#[test]
fn sigterm_in_a_container_stops_stage_2_runs_stage_3_and_exits_0_within_the_grace_period() {
    let mut ns = Ns::new();
    ns.stage("2", SUPERVISOR).stage("3", "echo 3 >> \"$LOG/order\"");
    // A grace period longer than the wait below: had runit waited for it,
    // the wait would fail.
    ns.start(Mode::Detect, &[("RUNIT_RS_GRACE", "30")]);
    wait_for("stage 2 up", || ns.path("log/up").exists());
    let asked = Instant::now();
    ns.signal_pid1(libc::SIGTERM);
    let st = ns.wait_exit(util::DEADLINE);
    let took = asked.elapsed();
    assert_eq!(st.code(), Some(0), "{st:?}\n{}", ns.stderr());
    eprintln!("stopped in {took:?}");
    assert_eq!(ns.log("order"), "finish\n3\n");
    let e = ns.etc_str();
    let got = runit_lines(&ns.stderr());
    assert_eq!(
        got[2..],
        [
            format!("- runit: enter stage: {e}/1"),
            format!("- runit: fatal: unable to start child: {e}/1: file does not exist"),
            format!("- runit: leave stage: {e}/1"),
            format!("- runit: enter stage: {e}/2"),
            "- runit: shutdown request...".to_string(),
            format!("- runit: leave stage: {e}/2"),
            format!("- runit: enter stage: {e}/3"),
            format!("- runit: leave stage: {e}/3"),
            "- runit: sending TERM signal to all processes...".to_string(),
            "- runit: sending KILL signal to all processes...".to_string(),
            "- runit: halt: exit 0.".to_string(),
        ]
    );
    assert_eq!(
        got[1], "- runit: container mode (pid namespace), grace period 30.000s.",
        "detected from the PID namespace"
    );
    assert_eq!(ns.console(), "", "container mode keeps the inherited stdio");
}

#[test]
fn a_process_that_ignores_term_is_killed_at_the_grace_deadline() {
    let mut ns = Ns::new();
    ns.stage("2", "sh -c 'trap \"\" TERM; touch \"$LOG/up\"; while :; do sleep 0.1; done' &\ntrap 'exit 0' TERM\nwait");
    ns.start(Mode::Container, &[("RUNIT_RS_GRACE", "3")]);
    wait_for("the stubborn child up", || ns.path("log/up").exists());
    let asked = Instant::now();
    ns.signal_pid1(libc::SIGTERM);
    let st = ns.wait_exit(util::DEADLINE);
    let took = asked.elapsed();
    assert_eq!(st.code(), Some(0), "{st:?}\n{}", ns.stderr());
    // Not before the deadline; not killing at all would fail the wait.
    assert!(took >= Duration::from_millis(2800), "{took:?}");
    let got = runit_lines(&ns.stderr());
    let n = got.len();
    assert_eq!(
        got[n - 3..],
        [
            "- runit: sending TERM signal to all processes...",
            "- runit: sending KILL signal to all processes...",
            "- runit: halt: exit 0.",
        ]
    );
}

#[test]
fn the_builtin_stage_3_sends_x_to_every_runsv_and_their_finish_scripts_run() {
    // Debian's runsvdir and runsv as stage 2; no stage 3 script.
    let mut ns = Ns::new();
    let svdir = ns.path("service");
    for name in ["a", "b"] {
        let d = svdir.join(name);
        fs::create_dir_all(&d).unwrap();
        script(&d.join("run"), &format!("touch \"$LOG/{name}.up\"\nexec sleep 1000"));
        script(&d.join("finish"), &format!("echo finish >> \"$LOG/{name}\""));
    }
    let runsvdir = util::debian("runsvdir");
    ns.stage(
        "2",
        &format!("PATH={}:$PATH\nexec runsvdir -P {}", runsvdir.parent().unwrap().display(), svdir.display()),
    );
    ns.start(Mode::Container, &[("RUNIT_RS_SVDIR", svdir.to_str().unwrap()), ("RUNIT_RS_GRACE", "30")]);
    wait_for("both services up", || ns.path("log/a.up").exists() && ns.path("log/b.up").exists());
    ns.signal_pid1(libc::SIGPWR);
    let st = ns.wait_exit(util::DEADLINE);
    assert_eq!(st.code(), Some(0), "{st:?}\n{}", ns.stderr());
    // Within the wait, far shorter than the 30 s grace: nothing was
    // waited for beyond the services' own stop.
    assert_eq!(ns.log("a"), "finish\n");
    assert_eq!(ns.log("b"), "finish\n");
    let e = ns.etc_str();
    let err = ns.stderr();
    assert!(
        err.contains(&format!("- runit: enter stage: {e}/3 (built-in: x to every runsv in {})\n", svdir.display())),
        "{err}"
    );
    assert!(!err.contains("not stopped in time"), "{err}");
}

#[test]
fn a_reboot_request_in_a_container_exits_129_and_a_halt_uses_the_exit_file() {
    // runit-init 6 inside the namespace: stopit and reboot armed, SIGCONT.
    let mut ns = Ns::new();
    let init = bin("runit-init");
    ns.stage("2", &format!("touch \"$LOG/up\"\n{} 6\nexec sleep 1000", init.display()));
    ns.start(Mode::Container, &[]);
    let st = ns.wait_exit(util::DEADLINE);
    assert_eq!(st.code(), Some(129), "{st:?}\n{}", ns.stderr());
    assert_eq!(fs::metadata(ns.etc("stopit")).unwrap().permissions().mode() & 0o7777, 0, "runit disarmed stopit");
    assert_eq!(fs::metadata(ns.etc("reboot")).unwrap().permissions().mode() & 0o7777, 0o100);
    assert!(ns.stderr().ends_with("- runit: reboot: exit 129.\n"), "{}", ns.stderr());

    // runit-init 0 disarms reboot; the exit file names the code.
    let mut ns2 = Ns::new();
    fs::write(ns2.etc("reboot"), "").unwrap();
    fs::set_permissions(ns2.etc("reboot"), fs::Permissions::from_mode(0o100)).unwrap();
    let code_file = ns2.path("log/code");
    ns2.stage("2", &format!("echo 7 > {}\n{} 0\nexec sleep 1000", code_file.display(), init.display()));
    ns2.start(Mode::Container, &[("RUNIT_RS_EXIT_FILE", code_file.to_str().unwrap())]);
    let st = ns2.wait_exit(util::DEADLINE);
    assert_eq!(st.code(), Some(7), "{st:?}\n{}", ns2.stderr());
    assert_eq!(fs::metadata(ns2.etc("reboot")).unwrap().permissions().mode() & 0o7777, 0);
    assert!(ns2.stderr().ends_with("- runit: halt: exit 7.\n"), "{}", ns2.stderr());
}

#[test]
fn runit_init_as_pid_1_execs_runit() {
    let mut ns = Ns::new();
    ns.stage("2", "echo 2 >> \"$LOG/order\"");
    ns.start_program(&bin("runit-init"), Mode::Container, &[], Some(&bin("runit")));
    let st = ns.wait_exit(util::DEADLINE);
    assert_eq!(st.code(), Some(0), "{st:?}\n{}", ns.stderr());
    assert_eq!(ns.log("order"), "2\n");
    assert!(ns.stderr().starts_with("- runit: $Id: runit-rs 0.1.0 $: booting.\n"), "{}", ns.stderr());
}

/// Runs one scenario under a runit binary with the stages mounted on
/// `/etc/runit`; returns the console lines after the `$Id` line.
fn transcript(runit: &Path, stages: &[(&str, &str)]) -> Vec<String> {
    let mut ns = Ns::new();
    ns.etc_on_etc_runit = true;
    for (name, body) in stages {
        ns.stage(name, body);
    }
    ns.start_program(runit, Mode::Machine, &[], None);
    let st = ns.wait_exit(util::DEADLINE);
    assert!(powered_off(st), "{st:?}");
    let lines = runit_lines(&ns.console());
    assert!(lines[0].starts_with("- runit: $Id: ") && lines[0].ends_with(" $: booting."), "{lines:?}");
    lines[1..].to_vec()
}

#[test]
fn machine_mode_messages_match_debians_runit_side_by_side() {
    let scenarios: [&[(&str, &str)]; 2] =
        [&[("1", "exit 3"), ("2", "exit 5"), ("3", "exit 1")], &[("1", "exit 100"), ("2", "echo never")]];
    for stages in scenarios {
        let ours = transcript(&bin("runit"), stages);
        let debians = transcript(&util::debian("runit"), stages);
        assert_eq!(ours, debians);
        assert!(ours.len() >= 7, "{ours:?}");
    }
}

#[test]
fn sigint_runs_the_ctrlaltdel_script_which_arms_stopit() {
    let mut ns = Ns::new();
    let stopit = ns.etc("stopit");
    ns.stage("2", "trap 'exit 0' TERM\ntouch \"$LOG/up\"\nwhile :; do sleep 0.1; done")
        .stage("ctrlaltdel", &format!("echo cad >> \"$LOG/order\"\n: > {0}\nchmod 100 {0}", stopit.display()))
        .stage("3", "echo 3 >> \"$LOG/order\"");
    ns.start(Mode::Machine, &[]);
    wait_for("stage 2 up", || ns.path("log/up").exists());
    ns.signal_pid1(libc::SIGINT);
    let st = ns.wait_exit(util::DEADLINE);
    assert!(powered_off(st), "{st:?}");
    assert_eq!(ns.log("order"), "cad\n3\n");
    let e = ns.etc_str();
    let got = runit_lines(&ns.console());
    let i = got.iter().position(|l| l == "- runit: ctrl-alt-del request...").expect("request line");
    assert_eq!(
        got[i..i + 5],
        [
            "- runit: ctrl-alt-del request...".to_string(),
            format!("- runit: enter stage: {e}/ctrlaltdel"),
            format!("- runit: leave stage: {e}/ctrlaltdel"),
            format!("- runit: leave stage: {e}/2"),
            format!("- runit: enter stage: {e}/3"),
        ]
    );
}

#[test]
fn a_stage_2_ignoring_term_after_sigcont_is_killed_after_5_seconds() {
    let mut ns = Ns::new();
    ns.stage("2", "trap '' TERM\ntouch \"$LOG/up\"\nwhile :; do sleep 0.1; done");
    ns.start(Mode::Machine, &[]);
    wait_for("stage 2 up", || ns.path("log/up").exists());
    fs::write(ns.etc("stopit"), "").unwrap();
    fs::set_permissions(ns.etc("stopit"), fs::Permissions::from_mode(0o100)).unwrap();
    let asked = Instant::now();
    ns.signal_pid1(libc::SIGCONT);
    let st = ns.wait_exit(Duration::from_secs(30));
    assert!(powered_off(st), "{st:?}");
    let took = asked.elapsed();
    // Not before the 5 s; never killing would fail the wait above.
    assert!(took >= Duration::from_millis(4900), "{took:?}");
    let e = ns.etc_str();
    let got = runit_lines(&ns.console());
    assert!(
        got.windows(2).any(|w| w
            == [
                "- runit: warning: stage 2 not terminated, sending sigkill...".to_string(),
                format!("- runit: leave stage: {e}/2")
            ]),
        "{got:?}"
    );
}

#[test]
fn in_machine_mode_sigterm_stays_pending_and_does_nothing() {
    let mut ns = Ns::new();
    ns.stage("2", "trap 'exit 0' TERM\ntouch \"$LOG/up\"\nwhile :; do sleep 0.1; done");
    ns.start(Mode::Machine, &[]);
    wait_for("stage 2 up", || ns.path("log/up").exists());
    let pid1 = ns.pid1();
    ns.signal_pid1(libc::SIGTERM);
    // The kernel shows it blocked and pending (bit 15 of ShdPnd or SigPnd).
    let pending = || {
        let s = fs::read_to_string(format!("/proc/{pid1}/status")).unwrap_or_default();
        s.lines().filter(|l| l.starts_with("ShdPnd:") || l.starts_with("SigPnd:")).any(|l| {
            u64::from_str_radix(l.split_whitespace().nth(1).unwrap_or("0"), 16).unwrap_or(0)
                & (1 << (libc::SIGTERM - 1))
                != 0
        })
    };
    wait_for("SIGTERM pending in runit", pending);
    // Stage 2 is still there and nothing was logged; then shut down properly.
    assert_eq!(children_of(pid1).len(), 1);
    let leave2 = format!("- runit: leave stage: {}/2", ns.etc_str());
    assert!(!ns.console().contains(&leave2), "{}", ns.console());
    fs::write(ns.etc("stopit"), "").unwrap();
    fs::set_permissions(ns.etc("stopit"), fs::Permissions::from_mode(0o100)).unwrap();
    ns.signal_pid1(libc::SIGCONT);
    let st = ns.wait_exit(util::DEADLINE);
    assert!(powered_off(st), "{st:?}");
}

#[test]
fn in_a_container_a_stage_2_ignoring_term_is_killed_at_half_the_grace_period() {
    let mut ns = Ns::new();
    ns.stage("2", "trap '' TERM\ntouch \"$LOG/up\"\nwhile :; do sleep 0.1; done")
        .stage("3", "echo 3 >> \"$LOG/order\"");
    ns.start(Mode::Container, &[("RUNIT_RS_GRACE", "2")]);
    wait_for("stage 2 up", || ns.path("log/up").exists());
    let asked = Instant::now();
    ns.signal_pid1(libc::SIGTERM);
    let st = ns.wait_exit(util::DEADLINE);
    let took = asked.elapsed();
    assert_eq!(st.code(), Some(0), "{st:?}\n{}", ns.stderr());
    // Not before half the grace; never killing would fail the wait.
    assert!(took >= Duration::from_millis(900), "{took:?}");
    assert_eq!(ns.log("order"), "3\n", "stage 3 still ran");
    let e = ns.etc_str();
    let got = runit_lines(&ns.stderr());
    assert!(
        got.windows(3).any(|w| w
            == [
                "- runit: warning: stage 2 not terminated, sending sigkill...".to_string(),
                format!("- runit: leave stage: {e}/2"),
                format!("- runit: enter stage: {e}/3"),
            ]),
        "{got:?}"
    );
}

#[test]
fn in_a_container_sigterm_during_stage_1_stops_it_and_skips_stage_2() {
    let mut ns = Ns::new();
    ns.stage("1", "trap 'echo term1 >> \"$LOG/order\"; exit 0' TERM\ntouch \"$LOG/up\"\nwhile :; do sleep 0.1; done")
        .stage("2", "echo 2 >> \"$LOG/order\"")
        .stage("3", "echo 3 >> \"$LOG/order\"");
    ns.start(Mode::Container, &[]);
    wait_for("stage 1 up", || ns.path("log/up").exists());
    ns.signal_pid1(libc::SIGTERM);
    let st = ns.wait_exit(util::DEADLINE);
    assert_eq!(st.code(), Some(0), "{st:?}\n{}", ns.stderr());
    assert_eq!(ns.log("order"), "term1\n3\n");
    let e = ns.etc_str();
    let got = runit_lines(&ns.stderr());
    assert!(
        got.windows(3).any(|w| w
            == [
                format!("- runit: leave stage: {e}/1"),
                "- runit: warning: skipping stage 2...".to_string(),
                format!("- runit: enter stage: {e}/3"),
            ]),
        "{got:?}"
    );
}

#[test]
fn when_reboot_is_refused_runit_halts_and_exits_instead_of_hanging() {
    // Without CAP_SYS_BOOT (docker's default) reboot() fails; upstream runit
    // would pause forever. Not being the machine's init, ours exits 0.
    let mut ns = Ns::new();
    ns.prefix = ["setpriv", "--bounding-set", "-sys_boot"].map(String::from).to_vec();
    ns.stage("2", "echo 2 >> \"$LOG/order\"");
    ns.start(Mode::Machine, &[]);
    let st = ns.wait_exit(util::DEADLINE);
    assert_eq!(st.code(), Some(0), "{st:?}");
    assert_eq!(ns.log("order"), "2\n");
    let got = runit_lines(&ns.console());
    let n = got.len();
    assert_eq!(
        got[n - 4..],
        [
            "- runit: sending KILL signal to all processes...",
            "- runit: power off...",
            "- runit: system halt.",
            "- runit: halt: exit 0.",
        ]
    );
}
