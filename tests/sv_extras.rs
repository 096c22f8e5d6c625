//! sv's opt-in extras (docs/EXTENSIONS.md): waiting for readiness reported on
//! `notification-fd`, and `sv -j status` JSON, driven against our runsv.

mod util;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;
use util::{bin, run, start_runsv, wait_for, ServiceDir};

/// Our sv run in the directory holding the service, `SVDIR` unset.
fn sv(svc: &ServiceDir, args: &[&str]) -> (i32, String, String) {
    run(Command::new(bin("sv")).args(args).current_dir(svc.scratch()).env_remove("SVDIR").env_remove("SVWAIT"))
}

/// Parses each line of `out` with Python's json module (a strict,
/// independent parser) and returns, per line, its top-level keys with
/// their values re-serialised (nested objects with sorted keys).
fn parse_json_lines(out: &[u8]) -> Vec<BTreeMap<String, String>> {
    let mut p = Command::new("python3")
        .args([
            "-c",
            "import json,sys\nfor i,l in enumerate(sys.stdin.buffer.read().split(b'\\n')[:-1]):\n    \
             o = json.loads(l)\n    print(i, '-', '-')\n    \
             [print(i, k, json.dumps(v, sort_keys=True)) for k, v in o.items()]",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    p.stdin.take().unwrap().write_all(out).unwrap();
    let o = p.wait_with_output().unwrap();
    assert!(o.status.success(), "not JSON: {:?}: {}", String::from_utf8_lossy(out), String::from_utf8_lossy(&o.stderr));
    let mut objs: Vec<BTreeMap<String, String>> = Vec::new();
    for line in String::from_utf8(o.stdout).unwrap().lines() {
        let mut parts = line.splitn(3, ' ');
        let i: usize = parts.next().unwrap().parse().unwrap();
        let (k, v) = (parts.next().unwrap(), parts.next().unwrap());
        if objs.len() <= i {
            objs.push(BTreeMap::new());
        }
        if k != "-" {
            objs[i].insert(k.to_string(), v.to_string());
        }
    }
    objs
}

fn field<'a>(obj: &'a BTreeMap<String, String>, key: &str) -> &'a str {
    obj.get(key).unwrap_or_else(|| panic!("no {key} in {obj:?}"))
}

#[test]
fn start_waits_for_readiness_and_returns_right_after_it() {
    // Ready once the test creates `gate`.
    let svc = ServiceDir::new("while [ ! -e ../gate ]; do sleep 0.05; done; echo >&3; exec sleep 300");
    svc.file("notification-fd", "3\n");
    svc.file("down", "");
    let _p = start_runsv(&svc);
    svc.wait_stat("supervise", "down");
    let gate = svc.scratch().join("gate");
    let sv_run = {
        let (dir, gate) = (svc.scratch().to_path_buf(), gate.clone());
        std::thread::spawn(move || {
            let got =
                run(Command::new(bin("sv")).args(["-w", "30", "start", "./svc"]).current_dir(dir).env_remove("SVWAIT"));
            (got, gate.exists())
        })
    };
    svc.wait_stat("supervise", "run");
    // An sv content with `run` would return in this window.
    std::thread::sleep(Duration::from_millis(300));
    fs::write(&gate, "").unwrap();
    let ((code, out, err), gate_was_there) = sv_run.join().unwrap();
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    assert!(out.starts_with("ok: run: ./svc: (pid "), "{out}");
    assert!(gate_was_there, "sv returned before the service was ready");
    assert!(svc.join("supervise/ready").exists());
}

#[test]
fn readiness_comes_before_the_check_script() {
    let svc = ServiceDir::new("sleep 1; echo >&3; exec sleep 300");
    svc.file("notification-fd", "3");
    svc.file("down", "");
    let trace = svc.scratch().join("checked");
    // ./check records whether it ever ran before readiness
    svc.script("check", &format!("[ -e supervise/ready ] || echo early >> {}; exit 0", trace.display()));
    let _p = start_runsv(&svc);
    svc.wait_stat("supervise", "down");
    let (code, out, _) = sv(&svc, &["-w", "5", "up", "./svc"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("ok: run: "), "{out}");
    assert!(!trace.exists(), "./check ran before the service was ready");
}

#[test]
fn without_notification_fd_start_is_not_held_back() {
    let svc = ServiceDir::new("exec sleep 300");
    svc.file("down", "");
    let _p = start_runsv(&svc);
    svc.wait_stat("supervise", "down");
    // Held back, it would never be ready (nothing reports readiness) and
    // sv would say `timeout:` and exit 1, however long it may wait.
    let (code, out, _) = sv(&svc, &["-w", "5", "start", "./svc"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("ok: run: "), "{out}");
}

#[test]
fn json_status_for_running_down_and_logged_services() {
    let svc = ServiceDir::new("echo >&3; exec sleep 300");
    svc.file("notification-fd", "3");
    svc.script("log/run", "exec cat > /dev/null");
    let _p = start_runsv(&svc);
    svc.wait_stat("supervise", "run");
    svc.wait_stat("log/supervise", "run");
    wait_for("ready", || svc.join("supervise/ready").exists());
    let pid = svc.status("supervise").unwrap().pid;
    let log_pid = svc.status("log/supervise").unwrap().pid;
    let (code, out, err) = sv(&svc, &["-j", "status", "./svc"]);
    assert_eq!((code, err.as_str()), (0, ""));
    let objs = parse_json_lines(out.as_bytes());
    assert_eq!(objs.len(), 1, "{out}");
    let o = &objs[0];
    assert_eq!(field(o, "name"), "\"./svc\"");
    assert_eq!(field(o, "state"), "\"run\"");
    assert_eq!(field(o, "pid"), pid.to_string());
    assert_eq!(field(o, "want"), "\"up\"");
    assert_eq!(field(o, "normally"), "\"up\"");
    assert_eq!(field(o, "paused"), "false");
    assert_eq!(field(o, "got_term"), "false");
    assert_eq!(field(o, "ready"), "true");
    assert!(field(o, "ready_seconds").parse::<u64>().is_ok(), "{o:?}");
    let since = field(o, "ready_since");
    assert!(since.len() == 27 && since.starts_with("\"@4000"), "{since}");
    let log = field(o, "log");
    assert!(log.contains(&format!("\"pid\": {log_pid}")), "{log}");
    assert!(log.contains("\"ready\": null"), "{log}");

    // down, paused flag, normally down; still one valid object
    svc.file("down", "");
    let (code, _, _) = sv(&svc, &["-w", "5", "down", "./svc"]);
    assert_eq!(code, 0);
    let (_, out, _) = sv(&svc, &["-j", "status", "./svc"]);
    let o = &parse_json_lines(out.as_bytes())[0];
    assert_eq!(field(o, "state"), "\"down\"");
    assert_eq!(field(o, "pid"), "null");
    assert_eq!(field(o, "want"), "\"down\"");
    assert_eq!(field(o, "normally"), "\"down\"");
    assert_eq!(field(o, "ready"), "false");
    assert_eq!(field(o, "ready_since"), "null");
}

#[test]
fn json_status_is_valid_for_errors_and_odd_names() {
    let svc = ServiceDir::new("exec sleep 300");
    // a service directory whose runsv is not running, and one with a name
    // that is not UTF-8 and has quotes and a newline
    fs::create_dir_all(svc.scratch().join("idle/supervise")).unwrap();
    let odd = svc.scratch().join(OsStr::from_bytes(b"q\"uo\nte\xff"));
    fs::create_dir(&odd).unwrap();
    let _p = start_runsv(&svc);
    svc.wait_stat("supervise", "run");
    let mut c = Command::new(bin("sv"));
    c.arg("-j")
        .arg("status")
        .arg("svc")
        .arg("missing")
        .arg("idle")
        .arg(OsStr::from_bytes(b"q\"uo\nte\xff"))
        .current_dir(svc.scratch())
        .env("SVDIR", svc.scratch())
        .stdin(Stdio::null());
    let o = c.output().unwrap();
    let objs = parse_json_lines(&o.stdout);
    assert_eq!(objs.len(), 4, "{:?}", String::from_utf8_lossy(&o.stdout));
    assert_eq!(field(&objs[0], "state"), "\"run\"");
    assert_eq!(field(&objs[0], "log"), "null");
    assert_eq!(field(&objs[1], "name"), "\"missing\"");
    assert_eq!(field(&objs[1], "error"), "\"unable to change to service directory: file does not exist\"");
    assert!(field(&objs[2], "error").starts_with("\"unable to open supervise/ok"), "{:?}", objs[2]);
    assert_eq!(field(&objs[3], "name_hex"), "\"7122756f0a7465ff\"");
    // three errors counted, as the text form would
    assert_eq!(o.status.code(), Some(3));
    assert!(o.stderr.is_empty());
}

#[test]
fn json_without_status_leaves_other_commands_alone() {
    let svc = ServiceDir::new("exec sleep 300");
    let _p = start_runsv(&svc);
    svc.wait_stat("supervise", "run");
    let (code, out, _) = sv(&svc, &["-j", "-w", "5", "down", "./svc"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("ok: down: ./svc: "), "{out}");
    let (code, out, _) = sv(&svc, &["status", "./svc"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("down: ./svc: "), "{out}");
    assert!(Path::new(&svc.path).exists());
}
