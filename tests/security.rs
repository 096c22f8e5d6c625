//! Privilege boundaries: who may control a service, the modes
//! of every file runsv and svlogd create whatever the umask, what chpst
//! leaves of root behind, and symlinks planted in `supervise/`.
//!
//! These tests need root (they compare root-owned state with what user
//! `nobody`, 65534, can do); without root they print SKIPPED and pass.
mod util;

use std::fs;
use std::io::Write;
use std::os::unix::fs::{symlink, FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use util::{wait_for, Proc, ServiceDir};

fn root() -> bool {
    // SAFETY: geteuid has no preconditions.
    let r = unsafe { libc::geteuid() } == 0;
    if !r {
        println!("SKIPPED: needs root");
    }
    r
}

fn mode(p: &Path) -> u32 {
    fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

/// `setpriv` as nobody:nogroup with no supplementary group, then `argv`.
fn as_nobody(argv: &[&std::ffi::OsStr]) -> Command {
    let mut c = Command::new("setpriv");
    // From `/`: the test's own directory (the checkout) may be closed to
    // nobody, and sv opens its current directory first.
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups"]).args(argv).current_dir("/");
    c
}

/// A service directory reachable by other users (the temporary directory
/// itself is 0700).
fn public_service(run: &str) -> ServiceDir {
    let svc = ServiceDir::new(run);
    fs::set_permissions(svc.scratch(), fs::Permissions::from_mode(0o755)).unwrap();
    svc
}

// ----- control by another user ------------------------------------------------

/// `sv down` by nobody on a root service: the `supervise/` directory is
/// 0700, so sv cannot even open `supervise/ok` and prints runit's warning
/// line (byte for byte what Debian's sv prints); the service keeps running.
#[test]
fn nobody_cannot_stop_a_root_service_and_sv_says_so() {
    if !root() {
        return;
    }
    let svc = public_service("exec sleep 100000");
    let _p = util::start_runsv(&svc);
    svc.wait_stat("supervise", "run");
    let pid = svc.status("supervise").unwrap().pid;
    let public = util::public::Public::bins(&["sv"]);
    for sv in [public.join("sv"), util::debian("sv")] {
        let (code, out, err) = util::run(&mut as_nobody(&[sv.as_os_str(), "down".as_ref(), svc.path.as_os_str()]));
        assert_eq!(
            out,
            format!("warning: {}: unable to open supervise/ok: access denied\n", svc.path.display()),
            "{}",
            sv.display()
        );
        assert_eq!((code, err.as_str()), (1, ""), "{}", sv.display());
    }
    // Writing the FIFO directly fails too.
    let ctl = svc.join("supervise/control");
    let (code, _, _) =
        util::run(&mut as_nobody(&["sh".as_ref(), "-c".as_ref(), "printf d > \"$0\"".as_ref(), ctl.as_os_str()]));
    assert_ne!(code, 0);
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(svc.stat("supervise"), "run\n");
    assert_eq!(svc.status("supervise").unwrap().pid, pid);
}

/// Even with `supervise/` opened up to 0755 by an administrator, `control`
/// and `ok` stay 0600: nobody gets `access denied` on `supervise/ok` (sv
/// opens it first), exactly as with Debian's sv.
#[test]
fn an_opened_up_supervise_dir_still_keeps_control_private() {
    if !root() {
        return;
    }
    let svc = public_service("exec sleep 100000");
    let _p = util::start_runsv(&svc);
    svc.wait_stat("supervise", "run");
    fs::set_permissions(svc.join("supervise"), fs::Permissions::from_mode(0o755)).unwrap();
    let mut outs = Vec::new();
    let public = util::public::Public::bins(&["sv"]);
    for sv in [public.join("sv"), util::debian("sv")] {
        let (code, out, _) = util::run(&mut as_nobody(&[sv.as_os_str(), "term".as_ref(), svc.path.as_os_str()]));
        outs.push((code, out));
    }
    assert_eq!(outs[0], outs[1], "ours vs Debian's sv");
    assert_eq!(outs[0].1, format!("warning: {}: unable to open supervise/ok: access denied\n", svc.path.display()));
    // `sv status` opens `supervise/ok` first as well, so it is refused in
    // the same way (runit's sv too), while the 0644 files stay readable.
    let (code, out, _) =
        util::run(&mut as_nobody(&[public.join("sv").as_os_str(), "status".as_ref(), svc.path.as_os_str()]));
    let (dcode, dout, _) =
        util::run(&mut as_nobody(&[util::debian("sv").as_os_str(), "status".as_ref(), svc.path.as_os_str()]));
    assert_eq!((code, &out), (dcode, &dout));
    let status = svc.join("supervise/status");
    let (code, _, _) = util::run(&mut as_nobody(&["cp".as_ref(), status.as_os_str(), "/dev/null".as_ref()]));
    assert_eq!(code, 0, "status is world-readable");
    assert_eq!(svc.stat("supervise"), "run\n");
}

// ----- modes under any umask -------------------------------------------------------

/// (path relative to the service dir, mode) of everything under
/// `supervise/` and `log/supervise/`, with the file type letter.
fn supervise_modes(dir: &Path) -> Vec<(String, char, u32)> {
    let mut v = Vec::new();
    for sup in ["supervise", "log/supervise"] {
        let p = dir.join(sup);
        v.push((sup.to_string(), 'd', mode(&p)));
        let mut names: Vec<_> = fs::read_dir(&p).unwrap().map(|e| e.unwrap().file_name()).collect();
        names.sort();
        for n in names {
            let q = p.join(&n);
            let ft = fs::symlink_metadata(&q).unwrap().file_type();
            let t = if ft.is_fifo() {
                'p'
            } else if ft.is_dir() {
                'd'
            } else {
                '-'
            };
            v.push((format!("{sup}/{}", n.to_string_lossy()), t, mode(&q)));
        }
    }
    v
}

/// Starts `runsv` (or `prog`) under `umask`, with a log service, and
/// returns the modes once both are up.
fn modes_under(prog: &Path, umask: u32) -> Vec<(String, char, u32)> {
    let svc = ServiceDir::new("exec sleep 100000");
    svc.script("log/run", "exec cat >/dev/null");
    let err = fs::File::create(svc.scratch().join("runsv.stderr")).unwrap();
    let mut p = Proc::spawn(
        Command::new("sh")
            .arg("-c")
            .arg(format!("umask {umask:03o}; exec \"$0\" \"$1\""))
            .arg(prog)
            .arg(&svc.path)
            .stderr(err),
    );
    svc.wait_stat("supervise", "run");
    svc.wait_stat("log/supervise", "run");
    let m = supervise_modes(&svc.path);
    p.signal(libc::SIGTERM);
    p.wait_exit();
    m
}

/// runit applies the umask to everything runsv creates (mkdir 0700,
/// FIFOs and lock 0600, status/stat/pid 0644). Since none of those base
/// modes has a group or other write bit, nothing is ever world-writable:
/// umask 000 gives exactly the base modes. Ours matches Debian's runsv
/// under 022, 077 and 000.
#[test]
fn supervise_files_have_runits_modes_under_any_umask() {
    for umask in [0o022, 0o077, 0o000] {
        let ours = modes_under(&util::bin("runsv"), umask);
        let debian = modes_under(&util::debian("runsv"), umask);
        // `supervise/start` is ours alone (docs/EXTENSIONS.md, "No duplicate
        // after runsv dies"); it gets the base-mode check below like status.
        let runits: Vec<_> = ours.iter().filter(|(n, _, _)| !n.ends_with("/start")).cloned().collect();
        assert_eq!(runits, debian, "umask {umask:03o}");
        assert_eq!(ours.len(), debian.len() + 2, "supervise/start and log/supervise/start");
        for (name, t, m) in &ours {
            let base = match (name.rsplit('/').next().unwrap(), t) {
                (_, 'd') => 0o700,
                ("lock" | "control" | "ok", _) => 0o600,
                _ => 0o644,
            };
            assert_eq!(*m, base & !umask, "{name} under umask {umask:03o}");
            assert_eq!(m & 0o002, 0, "{name} world-writable under umask {umask:03o}");
        }
        assert!(ours.iter().any(|(n, _, _)| n == "log/supervise/pid"));
    }
}

/// svlogd's files under each umask, ours next to Debian's: `current`
/// 0744 after a clean exit, rotated `@….s` 0744, `lock` 0600 minus the
/// umask, `state`/`newstate` of a processor 0644 minus the umask. Nothing
/// world-writable.
#[test]
fn svlogd_files_have_runits_modes_under_any_umask() {
    let run = |prog: &Path, umask: u32| -> Vec<(String, u32)> {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("log");
        fs::create_dir(&d).unwrap();
        fs::write(d.join("config"), "s100\n!cat\n").unwrap();
        let mut p = Proc::spawn(
            Command::new("sh")
                .arg("-c")
                .arg(format!("umask {umask:03o}; exec \"$0\" \"$1\""))
                .arg(prog)
                .arg(&d)
                .stdin(Stdio::piped())
                .stderr(Stdio::null()),
        );
        let mut stdin = p.child.stdin.take().unwrap();
        for i in 0..20 {
            writeln!(stdin, "line {i:03} with some padding").unwrap();
        }
        drop(stdin);
        assert_eq!(p.wait_exit().code(), Some(0));
        let mut v: Vec<(String, u32)> = fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| {
                let n = p.file_name().unwrap().to_string_lossy().into_owned();
                let n = if n.starts_with('@') { format!("@{}", &n[25..]) } else { n };
                (n, mode(&p))
            })
            .collect();
        v.sort();
        v.dedup();
        v
    };
    for umask in [0o022, 0o077, 0o000] {
        let ours = run(&util::bin("svlogd"), umask);
        let debian = run(&util::debian("svlogd"), umask);
        assert_eq!(ours, debian, "umask {umask:03o}");
        let get = |n: &str| ours.iter().find(|(x, _)| x == n).map(|(_, m)| *m);
        assert_eq!(get("current"), Some(0o744));
        assert_eq!(get("@.s"), Some(0o744));
        assert_eq!(get("lock"), Some(0o600 & !umask));
        for (n, m) in &ours {
            assert_eq!(m & 0o002, 0, "{n} world-writable under umask {umask:03o}");
        }
    }
}

// ----- chpst drops everything of root ------------------------------------------

/// (Uid, Gid, Groups) lines of /proc/self/status as seen by `cat` run
/// through chpst with the given options.
fn ids_through_chpst(args: &[&str]) -> (String, String, String) {
    let (code, out, err) = util::run(Command::new(util::bin("chpst")).args(args).args(["cat", "/proc/self/status"]));
    assert_eq!(code, 0, "{err}");
    let line = |k: &str| {
        out.lines().find(|l| l.starts_with(k)).unwrap().split_whitespace().skip(1).collect::<Vec<_>>().join(" ")
    };
    (line("Uid:"), line("Gid:"), line("Groups:"))
}

/// `chpst -u` sets real, effective, saved and filesystem ids and replaces
/// the supplementary list: no 0 is left anywhere, and no group from
/// /etc/group is added (no initgroups), whatever root had before.
#[test]
fn chpst_leaves_no_uid_gid_or_group_of_root_behind() {
    if !root() {
        return;
    }
    let cases: [(&[&str], &str, &str, &str); 4] = [
        (&["-u", "nobody"], "65534 65534 65534 65534", "65534 65534 65534 65534", "65534"),
        (&["-u", "nobody:nogroup:daemon"], "65534 65534 65534 65534", "65534 65534 65534 65534", "1 65534"),
        (&["-u", ":65534:65534:100:5"], "65534 65534 65534 65534", "65534 65534 65534 65534", "5 100 65534"),
        // -U only sets the environment: still root.
        (&["-U", "nobody"], "0 0 0 0", "0 0 0 0", ""),
    ];
    for (args, uid, gid, groups) in cases {
        let (u, g, gr) = ids_through_chpst(args);
        let mut grv: Vec<u32> = gr.split_whitespace().map(|x| x.parse().unwrap()).collect();
        grv.sort();
        let gr = grv.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(" ");
        if args[0] == "-U" {
            assert_eq!((u.as_str(), g.as_str()), (uid, gid), "{args:?}");
            continue;
        }
        assert_eq!((u.as_str(), g.as_str(), gr.as_str()), (uid, gid, groups), "{args:?}");
    }
    // The same when root starts with extra supplementary groups.
    let (code, out, err) =
        util::run(Command::new("setpriv").args(["--groups=0,4,27", "--"]).arg(util::bin("chpst")).args([
            "-u",
            "nobody",
            "cat",
            "/proc/self/status",
        ]));
    assert_eq!(code, 0, "{err}");
    let groups = out.lines().find(|l| l.starts_with("Groups:")).unwrap();
    assert_eq!(groups.split_whitespace().skip(1).collect::<Vec<_>>(), ["65534"], "{groups}");
}

// ----- planted symlinks -------------------------------------------------------------

/// `status.new`, `stat.new` and `pid.new` (main and log) planted as
/// symlinks to another file before runsv starts: runsv never writes
/// through them (O_NOFOLLOW; the link is removed and the file created
/// afresh), the victims keep their content and the real files are right.
#[test]
fn planted_new_file_symlinks_cannot_redirect_runsvs_writes() {
    let svc = ServiceDir::new("exec sleep 100000");
    svc.script("log/run", "exec cat >/dev/null");
    let mut victims: Vec<PathBuf> = Vec::new();
    for sup in ["supervise", "log/supervise"] {
        fs::create_dir_all(svc.join(sup)).unwrap();
        for name in ["status.new", "stat.new", "pid.new"] {
            let victim = svc.scratch().join(format!("victim-{}-{name}", sup.replace('/', "-")));
            fs::write(&victim, b"precious\n").unwrap();
            symlink(&victim, svc.join(sup).join(name)).unwrap();
            victims.push(victim);
        }
    }
    // A dangling one too: it must not create its target.
    let nowhere = svc.scratch().join("created-through-link");
    fs::remove_file(svc.join("supervise/stat.new")).unwrap();
    symlink(&nowhere, svc.join("supervise/stat.new")).unwrap();
    let mut p = util::start_runsv(&svc);
    svc.wait_stat("supervise", "run");
    svc.wait_stat("log/supervise", "run");
    svc.control("supervise", "d");
    svc.wait_stat("supervise", "down");
    svc.control("supervise", "u");
    svc.wait_stat("supervise", "run");
    for v in &victims {
        assert_eq!(fs::read(v).unwrap(), b"precious\n", "{}", v.display());
    }
    assert!(!nowhere.exists(), "a dangling link was followed");
    let pid = svc.status("supervise").unwrap().pid;
    assert_eq!(fs::read_to_string(svc.join("supervise/pid")).unwrap(), format!("{pid}\n"));
    for sup in ["supervise", "log/supervise"] {
        for name in ["status", "stat", "pid"] {
            let m = fs::symlink_metadata(svc.join(sup).join(name)).unwrap();
            assert!(m.file_type().is_file(), "{sup}/{name} is a regular file");
        }
    }
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit().code(), Some(0));
    assert!(util::runsv_stderr(&svc).is_empty(), "{}", util::runsv_stderr(&svc));
}

/// A symlink planted while runsv runs (between two updates) is handled
/// the same way.
#[test]
fn a_symlink_planted_while_running_is_not_followed() {
    let svc = ServiceDir::new("exec sleep 100000");
    let _p = util::start_runsv(&svc);
    svc.wait_stat("supervise", "run");
    let victim = svc.scratch().join("victim");
    fs::write(&victim, b"precious\n").unwrap();
    symlink(&victim, svc.join("supervise/status.new")).unwrap();
    svc.control("supervise", "p");
    svc.wait_stat("supervise", "run, paused");
    svc.control("supervise", "c");
    svc.wait_stat("supervise", "run");
    assert_eq!(fs::read(&victim).unwrap(), b"precious\n");
    wait_for("no link left", || !svc.join("supervise/status.new").exists());
}

/// `lock`, `control` and `ok` planted as symlinks in a `supervise/` that
/// someone else owns: runit would follow them (creating the file a `lock`
/// link names, as root, or reading commands from another FIFO). Ours
/// refuses to start with runit's `unable to open` fatal line and exit 111,
/// and creates nothing.
#[test]
fn planted_lock_and_fifo_symlinks_are_refused() {
    for (name, verb) in [("lock", "open"), ("control", "open"), ("ok", "read")] {
        let svc = ServiceDir::new("exec sleep 100000");
        let sup = svc.join("supervise");
        fs::create_dir(&sup).unwrap();
        let victim = svc.scratch().join("victim");
        if name != "lock" {
            assert!(Command::new("mkfifo").arg(&victim).status().unwrap().success());
        }
        symlink(&victim, sup.join(name)).unwrap();
        let mut p = util::start_runsv(&svc);
        assert_eq!(p.wait_exit().code(), Some(111), "{name}");
        assert_eq!(
            util::runsv_stderr(&svc),
            format!("runsv {}: fatal: unable to {verb} supervise/{name}: symbolic link loop\n", svc.path.display())
        );
        if name == "lock" {
            assert!(!victim.exists(), "a lock link made runsv create its target");
        }
    }
}
