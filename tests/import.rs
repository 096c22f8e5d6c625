//! runit-import: the real binary on unit files written into temporary
//! directories (and, when apt can fetch them, units from Debian packages):
//! what it writes, what it reports, its exit codes, and a converted
//! service running under our runsvdir and runsv.

mod util;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use util::{wait_for, Proc};

fn import_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_runit-import"))
}

/// A unit directory and an output directory.
struct Fixture {
    tmp: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let tmp = tempfile::Builder::new().prefix("import-test").tempdir().unwrap();
        fs::create_dir(tmp.path().join("units")).unwrap();
        Fixture { tmp }
    }

    fn units(&self) -> PathBuf {
        self.tmp.path().join("units")
    }

    fn out(&self) -> PathBuf {
        self.tmp.path().join("sv")
    }

    fn unit(&self, name: &str, text: &str) -> &Self {
        let p = self.units().join(name);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
        self
    }

    /// Runs runit-import with --unit-path and --to set; (code, stdout, stderr).
    fn import(&self, args: &[&str]) -> (i32, String, String) {
        util::run(
            Command::new(import_bin())
                .arg("--unit-path")
                .arg(self.units())
                .arg("--to")
                .arg(self.out())
                .args(args)
                .env_remove("SVDIR"),
        )
    }

    fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.out().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

/// `sh -n` on every executable file under `dir`; returns how many.
fn syntax_check(dir: &Path) -> usize {
    let mut n = 0;
    for e in fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            n += syntax_check(&p);
        } else if mode(&p) & 0o111 != 0 {
            let out = Command::new("sh").arg("-n").arg(&p).output().unwrap();
            assert!(out.status.success(), "sh -n {}: {}", p.display(), String::from_utf8_lossy(&out.stderr));
            n += 1;
        }
    }
    n
}

const PLAIN: &str = "[Unit]\nDescription=Plain\n[Service]\nExecStart=/bin/sleep 1000\n";

#[test]
fn a_plain_unit_by_name_becomes_a_service_directory() {
    let f = Fixture::new();
    f.unit("plain.service", PLAIN);
    let (code, out, err) = f.import(&["plain"]);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    let dir = f.out().join("plain");
    assert!(f.read("plain/run").ends_with("\nexec /bin/sleep 1000\n"));
    assert_eq!(mode(&dir.join("run")), 0o755);
    assert_eq!(mode(&dir), 0o755);
    assert!(dir.join("log/run").exists() && dir.join("finish").exists());
    assert_eq!(syntax_check(&dir), 3);
    assert_eq!(
        out,
        format!(
            "runit-import: converted plain.service to {d}\nrunit-import: nothing is enabled; to start supervising, run:\n  ln -s {d} /etc/service/\n",
            d = dir.display()
        )
    );
    // Nothing else beside it: no temporary directory left.
    let names: Vec<_> = fs::read_dir(f.out()).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(names, ["plain"]);
}

#[test]
fn the_report_links_into_svdir() {
    let f = Fixture::new();
    f.unit("plain.service", PLAIN);
    let out = Command::new(import_bin())
        .arg("--unit-path")
        .arg(f.units())
        .arg("--to")
        .arg(f.out())
        .arg("plain")
        .env("SVDIR", "/var/service")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&out.stdout);
    assert!(out.ends_with(&format!("  ln -s {} /var/service/\n", f.out().join("plain").display())), "{out}");
}

#[test]
fn dry_run_prints_every_file_and_writes_nothing() {
    let f = Fixture::new();
    f.unit("plain.service", PLAIN);
    let (code, out, _) = f.import(&["--dry-run", "plain"]);
    assert_eq!(code, 0);
    assert!(!f.out().exists());
    let d = f.out().join("plain");
    assert!(out.contains(&format!("==> {}/run (mode 0755)\n#!/bin/sh\n", d.display())), "{out}");
    assert!(out.contains(&format!("==> {}/timeout-kill (mode 0644)\n90000\n", d.display())), "{out}");
    assert!(out.contains(&format!("==> {}/cgroup/ (directory, mode 0755)\n", d.display())), "{out}");
    assert!(out.ends_with(&format!("runit-import: would convert plain.service to {}\n", d.display())), "{out}");
}

#[test]
fn an_existing_directory_is_kept_unless_forced() {
    let f = Fixture::new();
    f.unit("plain.service", PLAIN);
    fs::create_dir_all(f.out().join("plain")).unwrap();
    fs::write(f.out().join("plain/run"), "mine").unwrap();
    let (code, _, err) = f.import(&["plain"]);
    assert_eq!(code, 1);
    assert!(err.starts_with("runit-import: plain.service: skipped: ") && err.contains("exists (use --force"), "{err}");
    assert_eq!(f.read("plain/run"), "mine");
    let (code, _, err) = f.import(&["--force", "plain"]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert!(f.read("plain/run").starts_with("#!/bin/sh\n"));
    assert_eq!(fs::read_dir(f.out()).unwrap().count(), 1);
}

#[test]
fn warnings_name_file_and_line_and_strict_writes_nothing() {
    let f = Fixture::new();
    f.unit("hard.service", "[Service]\nExecStart=/bin/true\nPrivateTmp=yes\n\nWatchdogSec=5\n");
    let unit = f.units().join("hard.service");
    let (code, _, err) = f.import(&["--strict", "hard"]);
    assert_eq!(code, 1);
    assert!(!f.out().exists(), "--strict wrote something");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines[0], format!("runit-import: warning: {}:3: PrivateTmp= not supported: sandboxing has no runit counterpart; the service runs without it", unit.display()));
    assert!(lines[1].starts_with(&format!("runit-import: warning: {}:5: WatchdogSec= not supported: ", unit.display())));
    assert!(lines[2].starts_with("runit-import: --strict: 2 warning(s), 0 unit(s) skipped: nothing written"), "{err}");
    let (code, _, err) = f.import(&["hard"]);
    assert_eq!(code, 0);
    assert_eq!(err.lines().count(), 2, "{err}");
    assert!(f.out().join("hard/run").exists());
    // All or nothing: a target that exists fails --strict before anything is written.
    f.unit("plain.service", PLAIN);
    let (code, _, err) = f.import(&["--strict", "plain", "hard"]);
    assert_eq!(code, 1);
    assert!(err.contains("runit-import: hard.service: skipped: ") && err.contains("exists (use --force"), "{err}");
    assert!(!f.out().join("plain").exists());
}

#[test]
fn exit_code_says_all_some_or_none_with_one_line_per_bad_unit() {
    let f = Fixture::new();
    f.unit("good.service", PLAIN)
        .unit("malformed.service", "[Service]\nExecStart=/bin/true\nthis is not a unit line\n")
        .unit("section.service", "[Servic]\nExecStart=/bin/true\n")
        .unit("forking.service", "[Service]\nType=forking\nExecStart=/usr/sbin/d\n")
        .unit("daily.timer", "[Timer]\nOnCalendar=daily\n");
    let (code, _, err) = f.import(&["good", "malformed", "section", "forking", "nothing", "daily.timer"]);
    assert_eq!(code, 2, "{err}");
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 5, "{err}");
    assert!(
        lines[0].starts_with("runit-import: malformed.service: skipped: ")
            && lines[0].ends_with("malformed.service:3: missing '=': this is not a unit line"),
        "{err}"
    );
    assert!(lines[1].ends_with("section.service:2: unknown section [Servic] in a service unit"), "{err}");
    assert!(lines[2].ends_with("Type=forking without PIDFile=: runsv cannot find the daemon's process"), "{err}");
    assert!(lines[3].starts_with("runit-import: nothing: skipped: no unit file nothing.service in "), "{err}");
    assert!(lines[4].contains("timer units have no runit counterpart"), "{err}");
    assert!(f.out().join("good/run").exists());
    let (code, out, _) = f.import(&["nothing"]);
    assert_eq!((code, out.as_str()), (1, ""));
    // An unreadable unit: a directory where the file should be.
    fs::create_dir(f.units().join("dir.service")).unwrap();
    let (code, _, err) = f.import(&["dir"]);
    assert_eq!(code, 1);
    assert!(err.starts_with("runit-import: dir.service: skipped: unable to read "), "{err}");
}

#[test]
fn usage_errors_exit_100() {
    let (code, _, err) = util::run(&mut Command::new(import_bin()));
    assert_eq!(code, 100);
    assert_eq!(err, "runit-import: usage error: no unit given (try --help)\n");
    let (code, _, _) = util::run(Command::new(import_bin()).arg("--bogus"));
    assert_eq!(code, 100);
    let (code, _, err) = util::run(Command::new(import_bin()).args(["--env-file", "x", "unit"]));
    assert_eq!((code, err.as_str()), (100, "runit-import: usage error: --env-file takes no units (try --help)\n"));
    let (code, out, _) = util::run(Command::new(import_bin()).arg("--help"));
    assert_eq!(code, 0);
    assert!(out.contains("--dry-run"));
}

#[test]
fn templates_drop_ins_and_specifiers() {
    let f = Fixture::new();
    f.unit("agent@.service", "[Service]\nExecStart=/usr/bin/agent --name %i --unit %n\nUser=nobody\n")
        .unit("agent@.service.d/10-env.conf", "[Service]\nEnvironment=MODE=slow\nUser=daemon\n")
        .unit(
            "agent@one.service.d/20-env.conf",
            "[Service]\nEnvironment=MODE=fast\nExecStart=\nExecStart=/usr/bin/agent -v %I\n",
        );
    let (code, _, err) = f.import(&["agent@one"]);
    assert_eq!((code, err.as_str()), (0, ""));
    let run = f.read("agent@one/run");
    assert!(run.contains("\nexport MODE=slow\nexport MODE=fast\n") || run.contains("\nexport MODE=fast\n"), "{run}");
    assert!(!run.contains("MODE=slow"), "a later Environment= of the same name replaces it:\n{run}");
    assert!(run.ends_with("\nexec chpst -u daemon /usr/bin/agent -v one\n"), "{run}");
    let (code, _, err) = f.import(&["agent@"]);
    assert_eq!(code, 1);
    assert!(err.contains("is a template"), "{err}");
}

#[test]
fn a_socket_unit_gives_its_service_a_listen_file() {
    let f = Fixture::new();
    f.unit("web.socket", "[Socket]\nListenStream=8080\nListenStream=/run/web.sock\nSocketMode=0600\n")
        .unit("web.service", "[Service]\nExecStart=/usr/bin/web\n")
        .unit("multi.socket", "[Socket]\nListenStream=9\nAccept=yes\n");
    let (code, out, err) = f.import(&["web.socket"]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert!(out.contains("converted web.socket to "), "{out}");
    assert_eq!(f.read("web/listen"), "web.socket=tcp:[::]:8080\nweb.socket=unix:/run/web.sock mode=0600\n");
    // Only the socket was named: the service starts at the first connection.
    assert_eq!(f.read("web/flag-on-demand"), "");
    // Named together, the service starts at once; one directory, one report line.
    let (code, out, err) = f.import(&["--force", "web", "web.socket"]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert!(out.contains("converted web.service and web.socket to "), "{out}");
    assert!(f.out().join("web/listen").exists() && !f.out().join("web/flag-on-demand").exists());
    // Sockets= in a service reads those socket units.
    f.unit("api.service", "[Service]\nSockets=api-a.socket api-b.socket\nExecStart=/usr/bin/api\n")
        .unit("api-a.socket", "[Socket]\nListenStream=127.0.0.1:7000\nFileDescriptorName=a\n")
        .unit("api-b.socket", "[Socket]\nListenDatagram=[::1]:7001\n");
    let (code, _, err) = f.import(&["api"]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(f.read("api/listen"), "a=tcp:127.0.0.1:7000\napi-b.socket=udp:[::1]:7001\n");
    assert!(!f.out().join("api/flag-on-demand").exists());
    let (code, _, err) = f.import(&["multi.socket"]);
    assert_eq!(code, 1);
    assert!(err.contains("Accept=yes (one service instance per connection) is not supported"), "{err}");
}

#[test]
fn the_env_file_helper_prints_exports_and_run_scripts_use_it() {
    let f = Fixture::new();
    let envfile = f.tmp.path().join("env");
    fs::write(&envfile, "# settings\nGREETING=\"hello  world\"\nQUOTED='$(id)'\nbad line\n").unwrap();
    let (code, out, err) =
        util::run(Command::new(import_bin()).arg("--env-file").arg(&envfile).arg("--env-file").arg("-/nonexistent/x"));
    assert_eq!(code, 0);
    assert_eq!(out, "export GREETING='hello  world'\nexport QUOTED='$(id)'\n");
    assert!(err.contains("line 4: no '='"), "{err}");
    let (code, out, err) = util::run(Command::new(import_bin()).args(["--env-file", "/nonexistent/x"]));
    assert_eq!((code, out.as_str()), (111, ""));
    assert_eq!(err, "runit-import: fatal: unable to read /nonexistent/x: file does not exist\n");

    // The generated run script, run by sh: the variables reach the command.
    let result = f.tmp.path().join("result");
    f.unit(
        "env.service",
        &format!(
            "[Service]\nEnvironment=FIRST=1 GREETING=overridden\nEnvironmentFile={}\nExecStart=/bin/sh -c 'printf \"%%s|%%s|%%s\" \"$FIRST\" \"$GREETING\" \"$QUOTED\" >{}'\nStandardOutput=null\n",
            envfile.display(),
            result.display()
        ),
    );
    let (code, _, err) = f.import(&["env"]);
    assert_eq!((code, err.as_str()), (0, ""));
    let st = Command::new("sh").arg(f.out().join("env/run")).stdin(Stdio::null()).status().unwrap();
    assert!(st.success());
    assert_eq!(fs::read_to_string(&result).unwrap(), "1|hello  world|$(id)");
}

#[test]
fn every_long_option_is_in_the_man_page() {
    let (_, help, _) = util::run(Command::new(import_bin()).arg("--help"));
    let man = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("man/runit-import.8")).unwrap();
    let mut seen = 0;
    for word in help.split(|c: char| c.is_whitespace() || c == ',') {
        if let Some(opt) = word.strip_prefix("--") {
            let opt: String = opt.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
            assert!(man.contains(&format!("\\-\\-{}", opt.replace('-', "\\-"))), "man/runit-import.8 lacks --{opt}");
            seen += 1;
        }
    }
    assert!(seen >= 7, "{help}");
}

#[test]
fn the_completions_offer_every_option() {
    let (_, help, _) = util::run(Command::new(import_bin()).arg("--help"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bash = fs::read_to_string(root.join("completions/runit-import.bash")).unwrap();
    let zsh = fs::read_to_string(root.join("completions/_runit-import")).unwrap();
    for word in help.split_whitespace() {
        let opt: String = word.trim_end_matches(',').chars().take_while(|c| !matches!(c, '<' | '=')).collect();
        if opt.starts_with("--") && opt.len() > 2 {
            assert!(bash.contains(&format!(" {opt}")), "bash completion lacks {opt}");
            assert!(
                zsh.contains(&format!("{opt}[")) || zsh.contains(&format!("{opt}=[")),
                "zsh completion lacks {opt}"
            );
        }
    }
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", "source completions/runit-import.bash && complete -p runit-import"])
        .current_dir(root)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "complete -F _runit_import runit-import\n");
}

/// Units from Debian packages, fetched at test time (never committed).
fn debian_units() -> Option<(tempfile::TempDir, PathBuf)> {
    let have = |p: &str| {
        Command::new("sh").arg("-c").arg(format!("command -v {p}")).output().is_ok_and(|o| o.status.success())
    };
    if !have("apt-get") || !have("dpkg-deb") {
        println!("skipped: apt-get or dpkg-deb is not available");
        return None;
    }
    let tmp = tempfile::Builder::new().prefix("import-debian").tempdir().unwrap();
    let dl = tmp.path().join("debs");
    fs::create_dir(&dl).unwrap();
    // Readable by apt's sandbox user, so apt does not warn.
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(&dl, fs::Permissions::from_mode(0o777)).unwrap();
    let st = Command::new("apt-get")
        .args(["download", "-q", "cron", "rsyslog", "openssh-server", "openvpn"])
        .current_dir(&dl)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    if !st.status.success() {
        println!("skipped: apt-get download failed: {}", String::from_utf8_lossy(&st.stderr).trim());
        return None;
    }
    let root = tmp.path().join("root");
    for e in fs::read_dir(&dl).unwrap().flatten() {
        let ok = Command::new("dpkg-deb").arg("-x").arg(e.path()).arg(&root).status().unwrap();
        assert!(ok.success(), "dpkg-deb -x {}", e.path().display());
    }
    for d in ["lib/systemd/system", "usr/lib/systemd/system"] {
        let p = root.join(d);
        if p.join("cron.service").exists() {
            return Some((tmp, p));
        }
    }
    panic!("no cron.service in the extracted packages under {}", root.display());
}

#[test]
fn units_from_debian_packages_convert_to_sane_directories() {
    let Some((tmp, units)) = debian_units() else { return };
    let out = tmp.path().join("sv");
    let (code, stdout, err) = util::run(
        Command::new(import_bin())
            .arg("--unit-path")
            .arg(&units)
            .arg("--to")
            .arg(&out)
            .args(["cron", "rsyslog", "ssh", "ssh.socket", "openvpn@home"])
            .env_remove("SVDIR"),
    );
    assert_eq!(code, 0, "{stdout}{err}");
    for line in err.lines() {
        assert!(line.starts_with(&format!("runit-import: warning: {}/", units.display())), "{line}");
    }
    for name in ["cron", "rsyslog", "ssh", "openvpn@home"] {
        let d = out.join(name);
        assert!(d.join("run").exists(), "{name}");
        assert!(syntax_check(&d) >= 2, "{name}");
        assert!(stdout.contains(&format!("  ln -s {} /etc/service/\n", d.display())), "{stdout}");
    }
    let read = |rel: &str| fs::read_to_string(out.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    // cron: EnvironmentFile=-/etc/default/cron, $EXTRA_OPTS, Restart=on-failure, KillMode=process.
    let run = read("cron/run");
    assert!(run.contains("--env-file -/etc/default/cron) || exit 111\n"), "{run}");
    assert!(run.contains("exec /usr/sbin/cron -f ${EXTRA_OPTS}\n"), "{run}");
    assert!(read("cron/finish").contains("sv down ."));
    assert!(!out.join("cron/cgroup").exists());
    // rsyslog: Type=notify, StandardOutput=null, LimitNOFILE.
    assert_eq!(read("rsyslog/notify-socket"), "");
    assert!(read("rsyslog/run").contains("exec chpst -o 16384 /usr/sbin/rsyslogd -n"), "{}", read("rsyslog/run"));
    assert!(!out.join("rsyslog/log").exists());
    assert!(err.contains("Requires= syslog.socket dropped"), "{err}");
    // ssh: pre-check, runtime directory, reload script, the socket's listen file.
    let run = read("ssh/run");
    assert!(run.contains("mkdir -p /run/sshd") && run.contains("/usr/sbin/sshd -t || exit 111\n"), "{run}");
    assert!(read("ssh/control/h").contains("/bin/kill -HUP ${MAINPID}"));
    assert_eq!(read("ssh/listen"), "ssh.socket=tcp:[::]:22\n");
    assert!(!out.join("ssh/flag-on-demand").exists());
    assert!(err.contains("ConditionPathExists= not supported"), "{err}");
    // openvpn@home: a template with %i, Type=notify, RestartSec=, TasksMax=.
    let run = read("openvpn@home/run");
    assert!(run.contains("--config /etc/openvpn/home.conf") && run.contains("cd /etc/openvpn || exit 111"), "{run}");
    assert_eq!(read("openvpn@home/restart-backoff"), "5000 5000\n");
    assert_eq!(read("openvpn@home/cgroup/pids.max"), "10\n");
    assert!(err.contains("ProtectSystem= not supported"), "{err}");
}

#[test]
fn a_converted_unit_runs_under_runsvdir_and_runsv() {
    let f = Fixture::new();
    let marker = f.tmp.path().join("started");
    f.unit(
        "tiny.service",
        &format!(
            "[Service]\nExecStartPre=/bin/sh -c 'echo pre >{m}'\nExecStart=/bin/sh -c 'echo tiny is up; exec sleep 1000'\nRestart=always\n",
            m = marker.display()
        ),
    );
    let (code, _, err) = f.import(&["tiny"]);
    assert_eq!((code, err.as_str()), (0, ""));
    let scan = f.tmp.path().join("service");
    fs::create_dir(&scan).unwrap();
    std::os::unix::fs::symlink(f.out().join("tiny"), scan.join("tiny")).unwrap();
    // Our programs first on PATH: runsvdir starts our runsv, log/run finds our svlogd.
    let bin_dir = import_bin().parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let _runsvdir = Proc::spawn(
        Command::new(util::bin("runsvdir"))
            .arg(&scan)
            .env("PATH", &path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let status = || {
        let o = Command::new(util::bin("sv")).arg("status").arg(scan.join("tiny")).output().unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    wait_for("sv status to say run: for the service and its log", || {
        let s = status();
        s.starts_with("run: ") && s.contains("; run: log:")
    });
    // runsv says run: as soon as ./run started; ExecStartPre= runs inside it.
    wait_for("ExecStartPre= to have run", || fs::read_to_string(&marker).is_ok_and(|s| s == "pre\n"));
    let current = f.out().join("tiny/log/main/current");
    wait_for("the service's output in log/main/current", || {
        fs::read_to_string(&current).is_ok_and(|s| s.contains("tiny is up"))
    });
}

#[test]
fn restart_no_keeps_a_finished_service_down_under_runsv() {
    let f = Fixture::new();
    let runs = f.tmp.path().join("runs");
    // Restart=no (the default): after a clean exit, finish asks for down.
    f.unit(
        "once.service",
        &format!("[Service]\nExecStart=/bin/sh -c 'echo ran >>{}'\nStandardOutput=null\n", runs.display()),
    );
    let (code, _, err) = f.import(&["once"]);
    assert_eq!((code, err.as_str()), (0, ""));
    let bin_dir = import_bin().parent().unwrap().to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let svc = f.out().join("once");
    let _runsv = Proc::spawn(
        Command::new(util::bin("runsv"))
            .arg(&svc)
            .env("PATH", &path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let status = || {
        let o = Command::new(util::bin("sv")).arg("status").arg(&svc).output().unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    // Down and wanted down: runsv will not start it again.
    wait_for("once to be down and wanted down", || {
        let s = status();
        s.starts_with("down: ") && s.contains("normally up") && !s.contains("want up")
    });
    assert_eq!(fs::read_to_string(&runs).unwrap(), "ran\n");
}
