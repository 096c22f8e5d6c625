//! Socket activation and sd_notify, driven for real (man/runsv.8, SOCKETS
//! AND NOTIFICATION): runsv holding the sockets of `listen` across
//! restarts, `LISTEN_*` as sd_listen_fds(3) reads them, `flag-on-demand`,
//! unix socket modes and owners, bad `listen` lines, and readiness over
//! `notify-socket`. Services are small python3 programs; every address is
//! on the loopback.

mod util;

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixDatagram, UnixListener, UnixStream};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use util::{bin, run, runsv_stderr, start_runsv, wait_for, ServiceDir, DEADLINE};

/// A loopback port nobody listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn sv(args: &[&str], svc: &ServiceDir) -> (i32, String, String) {
    run(Command::new(bin("sv")).args(args).arg(&svc.path))
}

/// `sv -j status` of the service, one line.
fn json(svc: &ServiceDir) -> String {
    sv(&["-j", "status"], svc).1
}

fn pid(svc: &ServiceDir) -> u32 {
    svc.status("supervise").map(|s| s.pid).unwrap_or(0)
}

/// An echo server on the held socket (fd 3) or, given a port, on one it
/// binds itself. It reports `READY=1` once it listens (so `sv -w restart`
/// waits for that), answers `PID:LINE` and, told to stop, finishes the
/// connection in hand first, as a server that restarts without dropping
/// requests does.
const ECHO: &str = r#"
import os, select, signal, socket, sys
stop = False
def term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, term)
if len(sys.argv) > 1:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(sys.argv[1])))
    s.listen(1024)
else:
    s = socket.socket(fileno=3)
n = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
n.sendto(b"READY=1", os.environ["NOTIFY_SOCKET"])
me = str(os.getpid()).encode()
while not stop:
    try:
        r, _, _ = select.select([s], [], [], 0.05)
    except InterruptedError:
        continue
    if not r:
        continue
    c, _ = s.accept()
    c.sendall(me + b":" + c.recv(64))
    c.close()
"#;

#[derive(Debug, Default)]
struct Tally {
    answered: u64,
    refused: u64,
    unanswered: u64,
    other_errors: u64,
    pids: std::collections::BTreeSet<String>,
}

/// Connects in a tight loop until `stop`, one request per connection.
fn hammer(port: u16, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<Tally> {
    std::thread::spawn(move || {
        let mut t = Tally::default();
        let mut n = 0u64;
        while !stop.load(Ordering::Relaxed) {
            n += 1;
            let mut c = match TcpStream::connect(("127.0.0.1", port)) {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    t.refused += 1;
                    // A breath, so that a refusing service does not
                    // turn the loop into a CPU hog on a shared machine.
                    std::thread::sleep(Duration::from_millis(1));
                    continue;
                }
                Err(_) => {
                    t.other_errors += 1;
                    continue;
                }
            };
            c.set_read_timeout(Some(DEADLINE)).unwrap();
            let line = format!("ping {n}\n");
            let mut got = String::new();
            let ok = c.write_all(line.as_bytes()).is_ok() && c.read_to_string(&mut got).is_ok();
            match got.split_once(':') {
                Some((pid, echo)) if ok && echo == line => {
                    t.answered += 1;
                    t.pids.insert(pid.to_string());
                }
                _ => t.unanswered += 1,
            }
        }
        t
    })
}

/// 20 `sv restart`s while a client connects in a loop, each once the
/// previous process said it is ready.
fn restarts_under_load(svc: &ServiceDir, port: u16) -> Tally {
    let _runsv = start_runsv(svc);
    wait_for("runsv's status", || svc.status("supervise").is_some());
    let (code, out, err) = sv(&["-w", "20", "start"], svc);
    assert_eq!(code, 0, "{out}{err}");
    let stop = Arc::new(AtomicBool::new(false));
    let client = hammer(port, stop.clone());
    for i in 0..20 {
        let before = pid(svc);
        let (code, out, err) = sv(&["-w", "20", "restart"], svc);
        assert_eq!(code, 0, "restart {i}: {out}{err}");
        svc.wait_new_pid("supervise", before);
    }
    stop.store(true, Ordering::Relaxed);
    client.join().unwrap()
}

#[test]
fn a_held_socket_refuses_no_connection_across_20_restarts() {
    let port = free_port();
    let held = ServiceDir::new("exec python3 ./echo.py");
    held.file("echo.py", ECHO).file("notify-socket", "").file("listen", &format!("tcp:127.0.0.1:{port}\n"));
    let t = restarts_under_load(&held, port);

    let own_port = free_port();
    let own = ServiceDir::new(&format!("exec python3 ./echo.py {own_port}"));
    own.file("echo.py", ECHO).file("notify-socket", "");
    let b = restarts_under_load(&own, own_port);

    println!(
        "held socket: {} answered by {} processes, {} refused, {} unanswered, {} other errors",
        t.answered,
        t.pids.len(),
        t.refused,
        t.unanswered,
        t.other_errors
    );
    println!(
        "own port (baseline): {} answered by {} processes, {} refused, {} unanswered, {} other errors",
        b.answered,
        b.pids.len(),
        b.refused,
        b.unanswered,
        b.other_errors
    );
    assert_eq!((t.refused, t.unanswered, t.other_errors), (0, 0, 0), "{t:?}");
    assert!(t.pids.len() >= 15, "clients were served across the restarts: {t:?}");
}

/// An sd_listen_fds(3) user: checks `LISTEN_PID`, records what it got in
/// `../env`, then answers `hello NAME` on every socket.
const SD_LISTEN: &str = r#"
import os, select, socket
assert os.environ["LISTEN_PID"] == str(os.getpid())
n = int(os.environ["LISTEN_FDS"])
names = os.environ["LISTEN_FDNAMES"].split(":")
socks = [socket.socket(fileno=3 + i) for i in range(n)]
with open("../env.new", "w") as f:
    f.write("%s %d %s %d\n" % (os.environ["LISTEN_PID"], n, os.environ["LISTEN_FDNAMES"], os.getpid()))
    for s in socks:
        f.write("%d %d %s\n" % (s.family, s.type, s.getsockname()))
os.rename("../env.new", "../env")
while True:
    for s in select.select(socks, [], [])[0]:
        name = names[socks.index(s)].encode()
        if s.type == socket.SOCK_STREAM:
            c, _ = s.accept()
            c.sendall(b"hello " + name)
            c.close()
        else:
            _, peer = s.recvfrom(64)
            s.sendto(b"hello " + name, peer)
"#;

#[test]
fn listen_fds_pid_and_names_match_the_file_and_an_sd_listen_fds_server_works() {
    let (tcp, udp) = (free_port(), free_port());
    let svc = ServiceDir::new("exec python3 ./server.py");
    svc.file("server.py", SD_LISTEN).file(
        "listen",
        &format!("# three sockets\nweb=tcp:127.0.0.1:{tcp} backlog=16\n\nudp:127.0.0.1:{udp}\nctl=unix:ctl.sock\n"),
    );
    let _runsv = start_runsv(&svc);
    let env = svc.scratch().join("env");
    wait_for("the server to record its environment", || env.exists());
    let text = fs::read_to_string(&env).unwrap();
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split(' ').collect();
    let service_pid = pid(&svc).to_string();
    assert_eq!(head, vec![service_pid.as_str(), "3", "web:unknown:ctl", service_pid.as_str()], "{text}");
    let fds: Vec<&str> = lines.collect();
    assert_eq!(fds[0], format!("2 1 ('127.0.0.1', {tcp})"), "fd 3: AF_INET, SOCK_STREAM");
    assert_eq!(fds[1], format!("2 2 ('127.0.0.1', {udp})"), "fd 4: AF_INET, SOCK_DGRAM");
    assert!(fds[2].starts_with("1 1 ") && fds[2].ends_with("ctl.sock"), "fd 5: AF_UNIX, SOCK_STREAM: {}", fds[2]);

    let mut got = String::new();
    TcpStream::connect(("127.0.0.1", tcp)).unwrap().read_to_string(&mut got).unwrap();
    assert_eq!(got, "hello web");
    let u = UdpSocket::bind("127.0.0.1:0").unwrap();
    u.set_read_timeout(Some(DEADLINE)).unwrap();
    u.send_to(b"hi", ("127.0.0.1", udp)).unwrap();
    let mut buf = [0u8; 64];
    let n = u.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"hello unknown");
    got.clear();
    UnixStream::connect(svc.join("ctl.sock")).unwrap().read_to_string(&mut got).unwrap();
    assert_eq!(got, "hello ctl");
}

/// Records each start in `../ran`, serves one connection, exits.
const ONCE: &str = r#"
import os, socket, time
with open("../ran", "a") as f:
    f.write("%f\n" % time.time())
s = socket.socket(fileno=3)
c, _ = s.accept()
c.sendall(b"served:" + c.recv(64))
c.close()
"#;

fn ran(svc: &ServiceDir) -> usize {
    fs::read_to_string(svc.scratch().join("ran")).map(|t| t.lines().count()).unwrap_or(0)
}

fn ask(port: u16, what: &str) -> String {
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.set_read_timeout(Some(DEADLINE)).unwrap();
    c.write_all(what.as_bytes()).unwrap();
    let mut got = String::new();
    c.read_to_string(&mut got).unwrap();
    got
}

#[test]
fn on_demand_starts_run_at_the_first_client_and_not_again_until_the_next() {
    let port = free_port();
    let svc = ServiceDir::new("exec python3 ./once.py");
    svc.file("once.py", ONCE).file("listen", &format!("tcp:127.0.0.1:{port}\n")).file("flag-on-demand", "");
    let _runsv = start_runsv(&svc);
    wait_for("runsv to wait for a client", || json(&svc).contains(r#""waiting":"connection""#));
    assert_eq!(ran(&svc), 0, "./run has not run before the first connection");
    assert_eq!(sv(&["status"], &svc).1.split(':').next(), Some("down"), "sv status shows it down");
    assert_eq!(svc.stat("supervise"), "down\n");
    assert_eq!(svc.status("supervise").unwrap().want, b'u', "wanted up");

    let t = Instant::now();
    assert_eq!(ask(port, "first"), "served:first", "the first client is answered by the new process");
    let delay = t.elapsed();
    println!("on demand: first answer {delay:?} after connecting");
    assert!(delay < DEADLINE);
    assert_eq!(ran(&svc), 1);

    wait_for("down and waiting again", || {
        svc.stat("supervise") == "down\n" && json(&svc).contains(r#""waiting":"connection""#)
    });
    assert_eq!(ran(&svc), 1, "not restarted without a client");
    assert_eq!(ask(port, "second"), "served:second");
    assert_eq!(ran(&svc), 2);
}

#[test]
fn unix_sockets_get_mode_and_owner_and_replace_a_stale_socket() {
    let svc = ServiceDir::new("exec sleep 300");
    let stale = svc.join("s1.sock");
    drop(UnixListener::bind(&stale).unwrap());
    let e = UnixStream::connect(&stale).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused, "a stale socket: nobody listens");
    svc.file("listen", "unix:s1.sock mode=0600 owner=nobody:65534\nunixgram:s2.sock mode=0666\n");
    let _runsv = start_runsv(&svc);
    svc.wait_stat("supervise", "run");
    let s1 = fs::symlink_metadata(&stale).unwrap();
    assert!(s1.file_type().is_socket());
    assert_eq!(s1.permissions().mode() & 0o7777, 0o600);
    assert_eq!((s1.uid(), s1.gid()), (65534, 65534));
    UnixStream::connect(&stale).expect("replaced: runsv listens on it");
    let s2 = fs::symlink_metadata(svc.join("s2.sock")).unwrap();
    assert!(s2.file_type().is_socket());
    assert_eq!(s2.permissions().mode() & 0o7777, 0o666);
    UnixDatagram::unbound().unwrap().send_to(b"x", svc.join("s2.sock")).expect("runsv holds it");
}

/// Waits for `LISTEN_FDS` in `../env` (a run that records it).
const RECORD_ENV: &str = "echo \"$LISTEN_FDS $LISTEN_FDNAMES\" > ../env.new; mv ../env.new ../env; exec sleep 300";

fn held_for(svc: &ServiceDir, reason: &str) {
    wait_for(&format!("a listen error in sv -j status ({})", json(svc)), || {
        json(svc).contains(&format!(r#""listen_error":"{reason}""#))
    });
    let warning = format!("runsv {}: warning: {reason}\n", svc.path.display());
    wait_for("the warning", || runsv_stderr(svc).contains(&warning));
    assert_eq!(runsv_stderr(svc).matches("warning").count(), 1, "one line: {}", runsv_stderr(svc));
    assert_eq!(svc.stat("supervise"), "down\n");
    assert_eq!(svc.status("supervise").unwrap().want, b'u', "wanted up, held down");
    assert!(!svc.scratch().join("env").exists(), "./run did not start");
}

#[test]
fn a_regular_file_at_a_unix_path_is_refused_until_removed() {
    let svc = ServiceDir::new(RECORD_ENV);
    svc.file("data", "precious\n").file("listen", "x=unix:data\n");
    let runsv = start_runsv(&svc);
    held_for(&svc, "listen: line 1: unix:data: data exists and is not a socket");
    assert_eq!(fs::read_to_string(svc.join("data")).unwrap(), "precious\n", "left alone");
    fs::rename(svc.join("data"), svc.scratch().join("data")).unwrap();
    let (code, _, _) = sv(&["up"], &svc);
    assert_eq!(code, 0);
    let env = svc.scratch().join("env");
    wait_for("./run with its socket", || fs::read_to_string(&env).is_ok_and(|t| t == "1 x\n"));
    assert!(!json(&svc).contains("listen_error\":\""), "{}", json(&svc));
    drop(runsv);
}

#[test]
fn a_port_in_use_is_reported_and_fixing_it_needs_no_new_runsv() {
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let svc = ServiceDir::new(RECORD_ENV);
    svc.file("listen", &format!("# web\nweb=tcp:127.0.0.1:{port}\n"));
    let mut runsv = start_runsv(&svc);
    held_for(&svc, &format!("listen: line 2: tcp:127.0.0.1:{port}: unable to bind: address already used"));
    drop(busy);
    sv(&["up"], &svc);
    let env = svc.scratch().join("env");
    wait_for("./run with its socket", || fs::read_to_string(&env).is_ok_and(|t| t == "1 web\n"));
    assert!(runsv.running(), "the same runsv");
    assert!(json(&svc).contains(r#""listen_error":null"#), "{}", json(&svc));
}

#[test]
fn a_notification_fd_clash_is_reported() {
    let svc = ServiceDir::new(RECORD_ENV);
    svc.file("listen", &format!("tcp:127.0.0.1:{}\nunix:b.sock\n", free_port())).file("notification-fd", "4\n");
    let _runsv = start_runsv(&svc);
    held_for(&svc, "listen: line 2: fd 4 is also notification-fd");
}

/// Sends `READY=1` after a second, from a child of `./run` (the shell
/// does not exec it): a descendant counts.
const READY_LATER: &str = "python3 -c '
import os, socket, time
time.sleep(1)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(b\"READY=1\\nSTATUS=warm\", os.environ[\"NOTIFY_SOCKET\"])
time.sleep(300)
'";

#[test]
fn sv_start_waits_for_ready_1_on_the_notify_socket() {
    let svc = ServiceDir::new(READY_LATER);
    svc.file("notify-socket", "").file("down", "");
    let _runsv = start_runsv(&svc);
    svc.wait_stat("supervise", "down");
    let t = Instant::now();
    let (code, out, err) = sv(&["-w", "5", "start"], &svc);
    let took = t.elapsed();
    assert_eq!(code, 0, "{out}{err}");
    let ready = supervise::extras::read_ready(&supervise::SuperviseDir::of(&svc.path)).unwrap();
    assert_eq!(ready.map(|r| r.pid), Some(pid(&svc)), "ready when sv returned, for this run");
    assert!(took >= Duration::from_millis(900), "sv start returned after {took:?}, before READY=1");
    println!("sv -w 5 start returned after {took:?} (READY=1 sent 1 s after the start)");
    wait_for("the status text", || json(&svc).contains(r#""notify_status":"warm""#));
    assert!(json(&svc).contains(r#""ready":true"#));
}

#[test]
fn ready_1_from_an_unrelated_process_is_ignored() {
    // The service says STATUS=after once ../go exists: when sv shows it,
    // the datagram sent before ../go was handled too.
    let svc = ServiceDir::new(
        "exec python3 -c '
import os, socket, time
while not os.path.exists(\"../go\"):
    time.sleep(0.01)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(b\"STATUS=after\", os.environ[\"NOTIFY_SOCKET\"])
time.sleep(300)
'",
    );
    svc.file("notify-socket", "");
    let _runsv = start_runsv(&svc);
    svc.wait_stat("supervise", "run");
    let notify = svc.join("supervise/notify");
    wait_for("supervise/notify", || notify.exists());
    UnixDatagram::unbound().unwrap().send_to(b"READY=1\nSTATUS=forged", &notify).unwrap();
    fs::write(svc.scratch().join("go"), "").unwrap();
    wait_for("the service's own status text", || json(&svc).contains(r#""notify_status":"after""#));
    assert!(!svc.join("supervise/ready").exists(), "the test process is not the service");
    assert!(json(&svc).contains(r#""ready":false"#));
}

#[test]
fn sv_exit_closes_the_held_sockets() {
    let port = free_port();
    let svc = ServiceDir::new("exec sleep 300");
    svc.file("listen", &format!("tcp:127.0.0.1:{port}\n"));
    let mut runsv = start_runsv(&svc);
    svc.wait_stat("supervise", "run");
    sv(&["down"], &svc);
    svc.wait_stat("supervise", "down");
    TcpStream::connect(("127.0.0.1", port)).expect("held while down: the client queues");
    sv(&["exit"], &svc);
    runsv.wait_exit();
    let refused = TcpStream::connect(("127.0.0.1", port)).unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
}

#[test]
fn fd_0_puts_the_only_socket_on_stdin_and_stdout_without_listen_variables() {
    let svc = ServiceDir::new(
        "exec python3 -c '
import os, socket
s = socket.socket(fileno=0)
c, _ = s.accept()
same = os.path.samestat(os.fstat(0), os.fstat(1))
c.sendall((\"%s %s %s\" % (s.type, same, os.environ.get(\"LISTEN_FDS\", \"unset\"))).encode())
c.close()
import time; time.sleep(300)
'",
    );
    svc.file("listen", "unix:inetd.sock fd=0\n");
    let _runsv = start_runsv(&svc);
    svc.wait_stat("supervise", "run");
    let mut got = String::new();
    let mut c = UnixStream::connect(svc.join("inetd.sock")).unwrap();
    c.set_read_timeout(Some(DEADLINE)).unwrap();
    c.read_to_string(&mut got).unwrap();
    assert_eq!(got, "1 True unset", "a listening stream socket on fd 0 and 1, no LISTEN_FDS");
}

#[test]
fn the_notify_socket_survives_a_restart_of_the_log_service() {
    // The service reports the content of ../go as its status whenever
    // that file appears.
    let svc = ServiceDir::new(
        "exec python3 -c '
import os, socket, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
while True:
    try:
        text = open(\"../go\").read()
        os.remove(\"../go\")
        s.sendto(b\"STATUS=\" + text.encode(), os.environ[\"NOTIFY_SOCKET\"])
    except FileNotFoundError:
        pass
    time.sleep(0.02)
'",
    );
    svc.file("notify-socket", "").script("log/run", "exec cat >/dev/null");
    let _runsv = start_runsv(&svc);
    svc.wait_stat("supervise", "run");
    svc.wait_stat("log/supervise", "run");
    let go = svc.scratch().join("go");
    fs::write(&go, "one").unwrap();
    wait_for("the first status", || json(&svc).contains(r#""notify_status":"one""#));
    let log_pid = svc.status("log/supervise").unwrap().pid;
    svc.control("log/supervise", "t");
    svc.wait_new_pid("log/supervise", log_pid);
    fs::write(&go, "two").unwrap();
    wait_for("the status after the log restarted", || json(&svc).contains(r#""notify_status":"two""#));
}

#[test]
fn sv_up_after_an_edit_rebinds_and_keeps_unchanged_sockets() {
    let (a, b) = (free_port(), free_port());
    let svc = ServiceDir::new(RECORD_ENV);
    svc.file("listen", &format!("a=tcp:127.0.0.1:{a}\n"));
    let _runsv = start_runsv(&svc);
    let env = svc.scratch().join("env");
    wait_for("the first run", || fs::read_to_string(&env).is_ok_and(|t| t == "1 a\n"));
    // Queued on `a` before the edit: it must still be there after it.
    let mut early = TcpStream::connect(("127.0.0.1", a)).unwrap();
    svc.file("listen", &format!("a=tcp:127.0.0.1:{a}\nb=tcp:127.0.0.1:{b}\n"));
    sv(&["up"], &svc);
    wait_for("b bound", || TcpStream::connect(("127.0.0.1", b)).is_ok());
    fs::remove_file(&env).unwrap();
    let before = pid(&svc);
    sv(&["-w", "10", "restart"], &svc);
    svc.wait_new_pid("supervise", before);
    wait_for("the next run gets both", || fs::read_to_string(&env).is_ok_and(|t| t == "2 a:b\n"));
    // The early client's connection is still queued on the kept socket:
    // the kernel has not reset it.
    early.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    let mut buf = [0u8; 1];
    let e = early.read(&mut buf).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock, "{e:?}");
}

#[test]
fn sockets_and_notification_fd_together() {
    let svc = ServiceDir::new(
        "for fd in 3 4; do readlink /proc/$$/fd/$fd | cut -d: -f1; done > ../fds
echo \"$LISTEN_FDS\" >> ../fds
echo >&5
exec sleep 300",
    );
    let (a, b) = (free_port(), free_port());
    svc.file("listen", &format!("tcp:127.0.0.1:{a}\nudp:127.0.0.1:{b}\n"))
        .file("notification-fd", "5\n")
        .file("down", "");
    let _runsv = start_runsv(&svc);
    wait_for("runsv's status", || svc.status("supervise").is_some());
    let (code, out, err) = sv(&["-w", "10", "start"], &svc);
    assert_eq!(code, 0, "ready through notification-fd: {out}{err}");
    assert_eq!(fs::read_to_string(svc.scratch().join("fds")).unwrap(), "socket\nsocket\n2\n");
}
