//! runit-import end to end: units converted by the real binary, then run by
//! our runsvdir, runsv and sv until the daemons are up, ready and serving.
//!
//! Everything runs in a PID and mount namespace of its own (`unshare --pid
//! --fork --mount --mount-proc --kill-child`), runsvdir its PID 1, so the
//! machine's own services are untouched and the guard that SIGKILLs
//! unshare takes every process with it. Debian's daemons (cron, rsyslog,
//! sshd) are fetched with `apt-get download` and unpacked with `dpkg-deb
//! -x`, never installed: inside the namespace an overlay puts their `/usr`
//! and `/etc` over the machine's, and tmpfs covers `/run` and `/var/spool`,
//! where they write. `sv` is run inside the namespace (`nsenter`), where
//! the pids in `supervise/` mean what they say.

mod util;

use std::fs;
use std::io::Read;
use std::net::TcpStream;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use util::{bin, wait_for_within, Proc};

/// Deadline for anything here: starting python and Debian's daemons on a
/// loaded machine can take a while; a passing run never waits this long.
const LONG: Duration = Duration::from_secs(30);

/// [`util::wait_for`] with [`LONG`].
fn wait_for(what: &str, cond: impl FnMut() -> bool) {
    wait_for_within(what, LONG, cond)
}

/// What runsvdir is started with after the namespace's mounts.
const WRAPPER: &str = r#"set -e
if [ -n "$2" ]; then
  mount -t tmpfs tmpfs /run
  mount -t tmpfs tmpfs /var/spool
  mount -t overlay overlay -o "lowerdir=$2/usr:/usr" /usr || exit 3
  mount -t overlay overlay -o "lowerdir=$3:$2/etc:/etc" /etc || exit 3
fi
exec runsvdir "$1""#;

/// runsvdir as PID 1 of a namespace of its own, scanning `scan`. Dropping
/// it SIGKILLs unshare (the [`Proc`] guard), which kills PID 1
/// (`--kill-child`), and the kernel every other process of the namespace.
struct Ns {
    _unshare: Proc,
    pid1: i32,
    stderr: PathBuf,
}

impl Ns {
    /// Starts the namespace; with `debian` = (root, etc), the unpacked
    /// packages' `/usr` and `root/etc` under `etc` cover the machine's. Err
    /// (a reason to skip) when namespaces or overlays are not permitted.
    fn start(scan: &Path, stderr: PathBuf, debian: Option<(&Path, &Path)>) -> Result<Ns, String> {
        if !Command::new("unshare")
            .args(["--pid", "--fork", "--mount", "--mount-proc", "true"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
        {
            return Err("unshare --pid --mount is not permitted here".into());
        }
        let bin_dir = bin("runsvdir").parent().unwrap().to_path_buf();
        // Our programs first on PATH: runsvdir starts our runsv, the
        // services' scripts find our svlogd, sv and chpst.
        let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
        let (root, etc) = debian.map(|(r, e)| (r.as_os_str(), e.as_os_str())).unwrap_or_default();
        let mut unshare = Proc::spawn(
            Command::new("unshare")
                .args(["--pid", "--fork", "--mount", "--mount-proc", "--kill-child", "--propagation", "private"])
                .args(["sh", "-c", WRAPPER, "sh"])
                .arg(scan)
                .arg(root)
                .arg(etc)
                .env("PATH", path)
                .env_remove("SVDIR")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(fs::File::create(&stderr).unwrap()),
        );
        let mut pid1 = 0;
        let mut ended = None;
        wait_for("runsvdir as the namespace's PID 1", || {
            if let Some(st) = unshare.exited() {
                ended = Some(st);
                return true;
            }
            let children = fs::read_to_string(format!("/proc/{0}/task/{0}/children", unshare.pid()));
            pid1 = children.ok().and_then(|c| c.split_whitespace().next()?.parse().ok()).unwrap_or(0);
            pid1 != 0 && fs::read_to_string(format!("/proc/{pid1}/comm")).is_ok_and(|c| c == "runsvdir\n")
        });
        let err = fs::read_to_string(&stderr).unwrap_or_default();
        match ended {
            Some(st) if st.code() == Some(3) => Err(format!("overlay mount not permitted: {}", err.trim())),
            Some(st) => panic!("the namespace ended at once ({st}): {err}"),
            None => Ok(Ns { _unshare: unshare, pid1, stderr }),
        }
    }

    /// `sv ARGS` inside the namespace; (code, stdout, stderr).
    fn sv(&self, args: &[&str]) -> (i32, String, String) {
        util::run(
            Command::new("nsenter")
                .arg("-t")
                .arg(self.pid1.to_string())
                .args(["-p", "-m"])
                .arg(bin("sv"))
                .args(args)
                .env_remove("SVDIR"),
        )
    }

    fn stderr(&self) -> String {
        fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

/// (pid, state) from a service's `supervise/status`.
fn status(dir: &Path) -> Option<(u32, u8)> {
    supervise::status::read_status(&dir.join("supervise/status")).ok().map(|s| (s.pid, s.state))
}

/// The pid in `supervise/ready` (`@TAI64N PID`), if it exists.
fn ready_pid(dir: &Path) -> Option<u32> {
    fs::read_to_string(dir.join("supervise/ready")).ok()?.split_whitespace().nth(1)?.parse().ok()
}

/// Runs runit-import; asserts success and returns its stderr (warnings).
fn import(units: &Path, to: &Path, names: &[&str]) -> String {
    let (code, out, err) =
        util::run(Command::new(bin("runit-import")).arg("--unit-path").arg(units).arg("--to").arg(to).args(names));
    assert_eq!(code, 0, "runit-import {names:?}: {out}{err}");
    err
}

/// A free TCP port on 127.0.0.1 (the kernel's pick, released at once).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The python3 the generated run scripts can find (their PATH is
/// systemd's, not the test's).
fn python3() -> Option<&'static str> {
    ["/usr/bin/python3", "/bin/python3"].into_iter().find(|p| Path::new(p).exists())
}

/// Shared by the test's services: `notify("READY=1")` to $NOTIFY_SOCKET.
const NOTIFY_PY: &str = r#"import os, socket, sys, time
def notify(msg):
    addr = os.environ["NOTIFY_SOCKET"]
    if addr.startswith("@"):
        addr = "\0" + addr[1:]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.connect(addr)
    s.send(msg.encode())
    s.close()
"#;

/// A daemon: notes when it started, becomes ready after argv[2] seconds
/// (noting when, in argv[1]), then sleeps.
const DAEMON_PY: &str = r#"
started = time.time()
time.sleep(float(sys.argv[2]))
ready = time.time()
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d %.6f %.6f\n" % (os.getpid(), started, ready))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
notify("READY=1")
while True:
    time.sleep(3600)
"#;

/// The web app: serves on the socket runsv passes as fd 3 (the
/// sd_listen_fds protocol), after noting when it started.
const APP_PY: &str = r#"
started = time.time()
if os.environ.get("LISTEN_FDS") != "1" or os.environ.get("LISTEN_PID") != str(os.getpid()):
    print("no socket passed: LISTEN_FDS=%s LISTEN_PID=%s pid=%d" % (
        os.environ.get("LISTEN_FDS"), os.environ.get("LISTEN_PID"), os.getpid()), flush=True)
    sys.exit(1)
srv = socket.socket(fileno=3)
with open(sys.argv[1], "w") as f:
    f.write("%d %.6f\n" % (os.getpid(), started))
notify("READY=1")
while True:
    c, _ = srv.accept()
    c.sendall(b"hello from app %d\n" % os.getpid())
    c.close()
"#;

/// Writes `NAME.py` (the notify helper + `body`) into `dir`; returns its path.
fn python_script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(format!("{name}.py"));
    fs::write(&p, format!("{NOTIFY_PY}{body}")).unwrap();
    p
}

/// Reads a marker file's whitespace-separated numbers.
fn marker(p: &Path) -> Option<Vec<f64>> {
    let text = fs::read_to_string(p).ok()?;
    text.split_whitespace().map(|w| w.parse().ok()).collect()
}

/// A line from a TCP server on 127.0.0.1:port.
fn read_banner(port: u16) -> std::io::Result<String> {
    let mut c = TcpStream::connect(("127.0.0.1", port))?;
    c.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while c.read(&mut byte)? == 1 && byte[0] != b'\n' {
        buf.push(byte[0]);
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// `sv -w 30 start DIR` inside the namespace: asserts it says ok and, for
/// a service with readiness (a unit of Type=notify has `notify-socket`),
/// that readiness is already recorded for the pid it started (sv waited
/// for it, not only for the process).
fn start_and_check(ns: &Ns, dir: &Path) -> u32 {
    let readiness = dir.join("notify-socket").exists();
    let d = dir.to_str().unwrap();
    let (code, out, err) = ns.sv(&["-w", "30", "start", d]);
    let (pid, state) = status(dir).unwrap();
    let log = fs::read_to_string(dir.join("log/main/current")).unwrap_or_default();
    assert_eq!(code, 0, "sv start {d}: {out}{err}\nrunsvdir: {}\nlog: {log}", ns.stderr());
    assert!(out.starts_with(&format!("ok: run: {d}: (pid {pid}) ")), "{out}");
    assert_eq!(state, 1, "{out}");
    if readiness {
        assert_eq!(ready_pid(dir), Some(pid), "sv start returned before supervise/ready for pid {pid}: {out}");
    }
    pid
}

#[test]
fn debian_cron_rsyslog_and_sshd_run_converted_and_report_readiness() {
    let Some(python) = python3() else {
        println!("skipped: no /usr/bin/python3 for the template service");
        return;
    };
    for program in ["nsenter", "ssh-keygen", "logger"] {
        if !util::debian::have(program) {
            println!("skipped: {program} is not available");
            return;
        }
    }
    // The daemons and the libraries they need beyond what a Debian base
    // system has.
    let Some(debian) =
        util::debian::fetch(&["cron", "rsyslog", "openssh-server", "libestr0", "libfastjson4", "libwrap0"])
    else {
        return;
    };
    let tmp = debian.tmp.path();
    let sv = tmp.join("sv");
    let warnings = import(&debian.units(), &sv, &["cron", "rsyslog", "ssh"]);
    assert!(warnings.contains("Requires= syslog.socket dropped"), "{warnings}");
    // A template unit of our own, instantiated: %i reaches the command.
    let units = tmp.join("units");
    fs::create_dir(&units).unwrap();
    let daemon = python_script(tmp, "daemon", DAEMON_PY);
    fs::write(
        units.join("tick@.service"),
        format!(
            "[Unit]\nDescription=tick %i\n[Service]\nType=notify\nExecStart={python} {} {}/%i.ready 0.3\n",
            daemon.display(),
            tmp.display()
        ),
    )
    .unwrap();
    assert_eq!(import(&units, &sv, &["tick@one"]), "");

    // What the daemons read, as a post-install script would have left it
    // (covering /etc inside the namespace only): sshd's privilege
    // separation user, cron's group, a host key and a config on a free
    // port of 127.0.0.1; rsyslog listening on a socket of ours, not /dev/log.
    let etc = tmp.join("etc");
    fs::create_dir_all(etc.join("ssh")).unwrap();
    let passwd = fs::read_to_string("/etc/passwd").unwrap();
    fs::write(etc.join("passwd"), format!("{passwd}sshd:x:64999:65534::/run/sshd:/usr/sbin/nologin\n")).unwrap();
    let group = fs::read_to_string("/etc/group").unwrap();
    fs::write(etc.join("group"), format!("{group}crontab:x:64999:\n")).unwrap();
    let key = etc.join("ssh/ssh_host_ed25519_key");
    let (code, _, err) = util::run(Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(&key));
    assert_eq!(code, 0, "ssh-keygen: {err}");
    let port = free_port();
    fs::write(
        etc.join("ssh/sshd_config"),
        format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey /etc/ssh/ssh_host_ed25519_key\nUsePAM no\nPidFile /run/sshd.pid\n"
        ),
    )
    .unwrap();
    let log_sock = tmp.join("log.sock");
    let syslog = tmp.join("syslog.out");
    fs::write(
        etc.join("rsyslog.conf"),
        format!(
            "module(load=\"imuxsock\" SysSock.Use=\"off\")\ninput(type=\"imuxsock\" Socket=\"{}\")\n*.* {}\n",
            log_sock.display(),
            syslog.display()
        ),
    )
    .unwrap();

    // Linked wanted down, so that sv start below is what starts them.
    let scan = tmp.join("service");
    fs::create_dir(&scan).unwrap();
    let names = ["cron", "rsyslog", "ssh", "tick@one"];
    for name in names {
        fs::write(sv.join(name).join("down"), "").unwrap();
        symlink(sv.join(name), scan.join(name)).unwrap();
    }
    let ns = match Ns::start(&scan, tmp.join("runsvdir.stderr"), Some((&debian.root, &etc))) {
        Ok(ns) => ns,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    for name in names {
        wait_for(&format!("runsv for {name}"), || status(&sv.join(name)).is_some());
    }
    // rsyslog and sshd (bookworm's unit) are Type=notify: sv start returns
    // once they said READY=1. cron is Type=simple: once it runs.
    for name in ["rsyslog", "tick@one"] {
        assert!(sv.join(name).join("notify-socket").exists(), "{name} is Type=notify");
    }
    assert!(!sv.join("cron/notify-socket").exists());
    let rsyslog = start_and_check(&ns, &sv.join("rsyslog"));
    let sshd = start_and_check(&ns, &sv.join("ssh"));
    let tick = start_and_check(&ns, &sv.join("tick@one"));
    let cron = start_and_check(&ns, &sv.join("cron"));
    assert!(marker(&tmp.join("one.ready")).is_some_and(|m| m[0] as u32 == tick), "tick@one's %i");

    // Each serves: rsyslog writes what it is sent, sshd greets.
    let sent = format!("roundtrip-{port}");
    let (code, _, err) = util::run(Command::new("logger").arg("-u").arg(&log_sock).arg(&sent));
    assert_eq!(code, 0, "logger: {err}");
    wait_for("rsyslog to write the message", || fs::read_to_string(&syslog).is_ok_and(|s| s.contains(&sent)));
    let banner = read_banner(port).unwrap();
    assert!(banner.starts_with("SSH-2.0-OpenSSH"), "{banner}");

    // Still the same processes: nothing exited and was restarted meanwhile
    // (cron, for one, exits at once when its spool or group is missing).
    for (name, pid) in [("cron", cron), ("rsyslog", rsyslog), ("ssh", sshd), ("tick@one", tick)] {
        let (code, out, _) = ns.sv(&["status", sv.join(name).to_str().unwrap()]);
        assert_eq!(code, 0, "{out}");
        assert!(out.starts_with(&format!("run: {}: (pid {pid}) ", sv.join(name).display())), "{out}");
    }
    // runsv had nothing to warn about in what runit-import wrote.
    assert_eq!(ns.stderr(), "", "runsvdir and runsv stderr");
}

#[test]
fn a_web_app_with_a_database_runs_in_order_on_its_socket() {
    let Some(python) = python3() else {
        println!("skipped: no /usr/bin/python3");
        return;
    };
    let tmp = tempfile::Builder::new().prefix("import-roundtrip").tempdir().unwrap();
    let tmp = tmp.path();
    let units = tmp.join("units");
    fs::create_dir(&units).unwrap();
    let daemon = python_script(tmp, "daemon", DAEMON_PY);
    let app = python_script(tmp, "app", APP_PY);
    let port = free_port();
    let (db_marker, app_marker) = (tmp.join("db.ready"), tmp.join("app.started"));
    fs::write(
        units.join("app.service"),
        format!(
            "[Unit]\nDescription=web app\nRequires=db.service\nAfter=db.service\n\n[Service]\nType=notify\nSockets=app.socket\nExecStart={python} {} {}\n",
            app.display(),
            app_marker.display()
        ),
    )
    .unwrap();
    fs::write(units.join("app.socket"), format!("[Socket]\nListenStream=127.0.0.1:{port}\n")).unwrap();
    // db takes a second to become ready: an app started on db's start
    // rather than its readiness would be seen starting too early.
    fs::write(
        units.join("db.service"),
        format!("[Service]\nType=notify\nExecStart={python} {} {} 1.0\n", daemon.display(), db_marker.display()),
    )
    .unwrap();
    let sv = tmp.join("sv");
    assert_eq!(import(&units, &sv, &["app", "db"]), "");
    assert_eq!(fs::read_to_string(sv.join("app/depends")).unwrap(), "db\n");
    assert_eq!(fs::read_to_string(sv.join("app/listen")).unwrap(), format!("app.socket=tcp:127.0.0.1:{port}\n"));

    let scan = tmp.join("service");
    fs::create_dir(&scan).unwrap();
    for name in ["app", "db"] {
        symlink(sv.join(name), scan.join(name)).unwrap();
    }
    let ns = match Ns::start(&scan, tmp.join("runsvdir.stderr"), None) {
        Ok(ns) => ns,
        Err(why) => {
            println!("skipped: {why}");
            return;
        }
    };
    let (app_dir, db_dir) = (sv.join("app"), sv.join("db"));
    let app_log = || fs::read_to_string(app_dir.join("log/main/current")).unwrap_or_default();
    wait_for("app to be ready", || {
        status(&app_dir).is_some_and(|(pid, state)| state == 1 && ready_pid(&app_dir) == Some(pid))
    });
    let (app_pid, _) = status(&app_dir).unwrap();
    let (db_pid, db_state) = status(&db_dir).unwrap();
    eprintln!(
        "db marker {:?} app marker {:?} db ready {:?} app ready {:?}",
        fs::read_to_string(&db_marker),
        fs::read_to_string(&app_marker),
        fs::read_to_string(db_dir.join("supervise/ready")),
        fs::read_to_string(app_dir.join("supervise/ready"))
    );
    std::thread::sleep(Duration::from_secs(2));
    eprintln!(
        "db marker {:?} app marker {:?} db ready {:?} app ready {:?} {:?}",
        fs::read_to_string(&db_marker),
        fs::read_to_string(&app_marker),
        fs::read_to_string(db_dir.join("supervise/ready")),
        fs::read_to_string(app_dir.join("supervise/ready")),
        ns.stderr()
    );
    assert_eq!((db_state, ready_pid(&db_dir)), (1, Some(db_pid)), "db is up and ready");
    // The order: app's ./run started after db said READY=1.
    let db = marker(&db_marker).expect("db's marker");
    let started = marker(&app_marker).unwrap_or_else(|| panic!("app's marker; app's log: {}", app_log()));
    assert_eq!((db[0] as u32, started[0] as u32), (db_pid, app_pid));
    assert!(started[1] >= db[2], "app started at {} before db was ready at {}", started[1], db[2]);
    // A client is served by app on the socket runsv holds.
    assert_eq!(read_banner(port).unwrap(), format!("hello from app {app_pid}"));
    let (code, out, _) = ns.sv(&["status", app_dir.to_str().unwrap(), db_dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with(&format!("run: {}: (pid {app_pid}) ", app_dir.display())), "{out}");
    assert!(out.contains(&format!("\nrun: {}: (pid {db_pid}) ", db_dir.display())), "{out}");
    // runsv had nothing to warn about in what runit-import wrote.
    assert_eq!(ns.stderr(), "", "runsvdir and runsv stderr");
}
