//! runsv, driven for real: one test per behaviour in `man/runsv.8` and
//! docs/PROTOCOL.md,
//! golden status bytes, interop with Debian's sv and runsv, and bad input.

mod util;

use std::fs;
use std::os::unix::fs::{symlink, FileTypeExt, PermissionsExt};
use std::process::Command;
use std::time::{Duration, Instant};
use util::{bin, debian, run, runsv_stderr, start_runsv, start_runsv_with, wait_for, Proc, ServiceDir};

/// `sleep` that ends on its own after a while, so that nothing outlives a
/// failed test for long even if cleanup were to miss it.
const LONG: &str = "exec sleep 300";

fn finish_log(svc: &ServiceDir) -> String {
    fs::read_to_string(svc.scratch().join("finish.log")).unwrap_or_default()
}

fn with_finish_recorder(svc: &ServiceDir) {
    let log = svc.scratch().join("finish.log");
    svc.script("finish", &format!("echo \"$1 $2\" >> {}", log.display()));
}

fn sv(svc: &ServiceDir, args: &[&str]) -> (i32, String, String) {
    run(Command::new(debian("sv")).args(args).arg(&svc.path))
}

fn state_tail(svc: &ServiceDir, sup: &str) -> (bool, u8, u8, u8, u8) {
    let s = svc.status(sup).expect("status readable");
    (s.pid != 0, s.paused, s.want, s.term, s.state)
}

#[test]
fn usage_without_exactly_one_argument() {
    for args in [&[][..], &["a", "b"][..]] {
        let (code, out, err) = run(Command::new(bin("runsv")).args(args));
        assert_eq!(code, 1);
        assert_eq!(out, "");
        assert_eq!(err, format!("usage: {} dir\n\n", bin("runsv").display()));
    }
}

#[test]
fn missing_directory_is_fatal_with_runits_words() {
    let (code, _, err) = run(Command::new(bin("runsv")).arg("/nonexistent/svc"));
    assert_eq!(code, 111);
    assert_eq!(err, "runsv /nonexistent/svc: fatal: unable to change to directory: file does not exist\n");
}

#[test]
fn starts_run_and_writes_files_with_runits_modes() {
    let svc = ServiceDir::new(LONG);
    // umask 022 as in the spec's observations.
    let _p = Proc::spawn(Command::new("sh").arg("-c").arg(format!(
        "umask 022; exec {} {}",
        bin("runsv").display(),
        svc.path.display()
    )));
    svc.wait_stat("supervise", "run");
    let pid = svc.status("supervise").unwrap().pid;
    assert_eq!(fs::read_to_string(svc.join("supervise/pid")).unwrap(), format!("{pid}\n"));
    let mode = |p: &str| fs::symlink_metadata(svc.join(p)).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode("supervise"), 0o700);
    assert_eq!(mode("supervise/lock"), 0o600);
    assert_eq!(mode("supervise/control"), 0o600);
    assert_eq!(mode("supervise/ok"), 0o600);
    assert_eq!(mode("supervise/status"), 0o644);
    assert_eq!(mode("supervise/stat"), 0o644);
    assert_eq!(mode("supervise/pid"), 0o644);
    assert!(fs::symlink_metadata(svc.join("supervise/control")).unwrap().file_type().is_fifo());
    assert!(fs::symlink_metadata(svc.join("supervise/ok")).unwrap().file_type().is_fifo());
    assert_eq!(fs::metadata(svc.join("supervise/status")).unwrap().len(), 20);
    // the service runs as ./run in the service directory
    wait_for("./run exec'd sleep", || {
        fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default().starts_with(b"sleep\x00300")
    });
    assert_eq!(fs::read_link(format!("/proc/{pid}/cwd")).unwrap(), svc.path);
}

#[test]
fn services_start_with_sigpipe_at_its_default() {
    // Rust's runtime ignores SIGPIPE in runsv; the service must not inherit that.
    let svc = ServiceDir::new(LONG);
    let _p = start_runsv(&svc);
    svc.wait_stat("supervise", "run");
    let pid = svc.status("supervise").unwrap().pid;
    let ignored = || {
        let s = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let hex = s.lines().find(|l| l.starts_with("SigIgn:")).unwrap().split_whitespace().nth(1).unwrap().to_string();
        u64::from_str_radix(&hex, 16).unwrap()
    };
    wait_for("exec'd", || fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default().starts_with(b"sleep"));
    assert_eq!(ignored() & (1 << (libc::SIGPIPE - 1)), 0, "SIGPIPE ignored in the service");
}

#[test]
fn golden_status_bytes_in_each_state() {
    let svc = ServiceDir::new("trap '' TERM; while :; do sleep 0.1; done");
    let _p = start_runsv(&svc);
    svc.wait_stat("supervise", "run");
    let before = Instant::now();
    let b = svc.status_bytes("supervise");
    let pid = svc.status("supervise").unwrap().pid;
    assert_eq!(&b[12..16], &pid.to_le_bytes());
    assert_eq!(&b[16..], &[0, b'u', 0, 1]);
    let stamp = u64::from_be_bytes(b[..8].try_into().unwrap()) - (1u64 << 62) - 10;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert!(now >= stamp && now - stamp < 30, "stamp {stamp} now {now}");
    assert_eq!(u32::from_be_bytes(b[8..12].try_into().unwrap()) % 1000, 500);

    svc.control("supervise", "p");
    svc.wait_stat("supervise", "run, paused");
    assert_eq!(&svc.status_bytes("supervise")[16..], &[1, b'u', 0, 1]);
    svc.control("supervise", "c");
    svc.wait_stat("supervise", "run");

    // TERM is ignored by the service: "got TERM" stays
    svc.control("supervise", "d");
    svc.wait_stat("supervise", "run, got TERM, want down");
    assert_eq!(&svc.status_bytes("supervise")[12..], &[&pid.to_le_bytes()[..], &[0, b'd', 1, 1]].concat());
    svc.control("supervise", "k");
    svc.wait_stat("supervise", "down");
    assert_eq!(&svc.status_bytes("supervise")[12..], &[0, 0, 0, 0, 0, b'd', 0, 0]);
    assert_eq!(fs::read(svc.join("supervise/pid")).unwrap(), b"");
    assert!(before.elapsed() < Duration::from_secs(60));
}

#[test]
fn finish_gets_exit_code_and_status() {
    let svc = ServiceDir::new("exit 3");
    svc.file("down", "");
    with_finish_recorder(&svc);
    let _p = start_runsv(&svc);
    svc.wait_stat("supervise", "down");
    svc.control("supervise", "o");
    wait_for("finish 3 0", || finish_log(&svc) == "3 0\n");
}

#[test]
fn finish_gets_minus_one_and_the_signal() {
    let svc = ServiceDir::new(LONG);
    svc.file("down", "");
    with_finish_recorder(&svc);
    let _p = start_runsv(&svc);
    svc.wait_stat("supervise", "down");
    svc.control("supervise", "o");
    svc.wait_stat("supervise", "run, want down");
    svc.control("supervise", "t");
    wait_for("finish -1 15", || finish_log(&svc) == "-1 15\n");
    svc.wait_stat("supervise", "down");
    svc.control("supervise", "o");
    svc.wait_stat("supervise", "run, want down");
    svc.control("supervise", "k");
    wait_for("finish -1 9", || finish_log(&svc) == "-1 15\n-1 9\n");
}

#[test]
fn unstartable_run_exits_111_and_finish_sees_it() {
    let svc = ServiceDir::new("");
    fs::set_permissions(svc.join("run"), fs::Permissions::from_mode(0o644)).unwrap();
    with_finish_recorder(&svc);
    svc.file("down", "");
    let _p = start_runsv(&svc);
    svc.wait_stat("supervise", "down");
    svc.control("supervise", "o");
    wait_for("finish 111 0", || finish_log(&svc) == "111 0\n");
    let name = svc.path.display();
    wait_for("the child's message", || {
        runsv_stderr(&svc).contains(&format!("runsv {name}: fatal: unable to start ./run: access denied\n"))
    });
}

#[test]
fn finish_state_shows_in_status_with_the_finish_pid() {
    let svc = ServiceDir::new("exit 0");
    svc.file("down", "");
    let marker = svc.scratch().join("finishing");
    svc.script("finish", &format!("touch {}; exec sleep 300", marker.display()));
    let _p = start_runsv(&svc);
    svc.wait_stat("supervise", "down");
    svc.control("supervise", "o");
    svc.wait_stat("supervise", "finish, want down");
    // the record is first written with pid 0 when ./run is reaped, then
    // with the finish pid once it started
    wait_for("finish pid", || svc.status("supervise").unwrap().pid != 0);
    let s = svc.status("supervise").unwrap();
    assert_eq!((s.paused, s.want, s.term, s.state), (0, b'd', 0, 2));
    wait_for("finish started", || marker.exists());
    wait_for("finish is the recorded pid", || {
        fs::read(format!("/proc/{}/cmdline", s.pid)).unwrap_or_default().starts_with(b"sleep")
    });
    // letters that signal do nothing while finish runs
    svc.control("supervise", "t");
    svc.control("supervise", "u");
    svc.wait_stat("supervise", "finish");
    assert_eq!(svc.status("supervise").unwrap().pid, s.pid);
}

#[test]
fn fast_exits_restart_at_most_once_a_second() {
    let starts = tempfile::NamedTempFile::new().unwrap();
    let svc = ServiceDir::new(&format!("date +%s.%N >> {}; exit 1", starts.path().display()));
    let _p = start_runsv(&svc);
    wait_for("three starts", || fs::read_to_string(starts.path()).unwrap().lines().count() >= 3);
    let times: Vec<f64> = fs::read_to_string(starts.path()).unwrap().lines().map(|l| l.parse().unwrap()).collect();
    for w in times.windows(2) {
        assert!(w[1] - w[0] >= 0.99, "restarted after {}s", w[1] - w[0]);
    }
}

#[test]
fn letters_keep_working_during_the_restart_delay() {
    // void-linux/runit#33: runit sleeps a blocking second after a fast
    // exit, and reads no letter until it is over; then it restarts the
    // service (still wanted up) before it sees the `d`. Ours takes the `d`
    // during the pause, so the service is never started again. The `d`
    // must arrive within that second: on a machine too loaded for this
    // test to send it in time, the round is tried again.
    let ms = |t: unix::tai64n::Tai64n| t.unix_secs() as f64 * 1000.0 + t.nanos as f64 / 1e6;
    for round in 1..=5 {
        let svc = ServiceDir::quick_exit();
        let _p = start_runsv(&svc);
        let went_down = svc.wait_quick_exit("supervise").stamp;
        let sent = unix::tai64n::Tai64n::now();
        svc.control("supervise", "d");
        if ms(sent) - ms(went_down) > 800.0 {
            eprintln!("round {round}: `d` sent {:.0} ms after going down, too late to tell", ms(sent) - ms(went_down));
            continue;
        }
        wait_for("want down written", || svc.status("supervise").map(|s| s.want) == Some(b'd'));
        // it stays down: nothing restarts it after the delay
        std::thread::sleep(Duration::from_millis(1500)); // observing that nothing happens
        let s = svc.status("supervise").unwrap();
        assert_eq!((s.pid, s.state, s.stamp), (0, 0, went_down), "restarted although `d` came during the pause");
        // and `u` then brings it back
        svc.control("supervise", "u");
        wait_for("restarted", || svc.status("supervise").map(|s| s.stamp != went_down).unwrap_or(false));
        return;
    }
    panic!("the machine never let this test send a letter within a second");
}

#[test]
fn once_during_the_restart_delay_starts_it_when_the_delay_ends() {
    let starts = tempfile::NamedTempFile::new().unwrap();
    let svc = ServiceDir::new(&format!("date +%s.%N >> {}; exit 1", starts.path().display()));
    svc.file("down", "");
    let _p = start_runsv(&svc);
    svc.wait_stat("supervise", "down");
    let times =
        || -> Vec<f64> { fs::read_to_string(starts.path()).unwrap().lines().filter_map(|l| l.parse().ok()).collect() };
    // Down after run N: a "down" record stamped after run N started (the
    // record from before it, also "down", is older).
    let down_after = |n: usize| {
        wait_for(&format!("down after run {n}"), || {
            let (Some(&t), Some(st)) = (times().get(n - 1), svc.status("supervise")) else { return false };
            let stamp = st.stamp.unix_secs() as f64 + st.stamp.nanos as f64 / 1e9;
            (st.state, st.pid) == (0, 0) && stamp >= t && svc.stat("supervise") == "down\n"
        })
    };
    svc.control("supervise", "o");
    down_after(1);
    svc.control("supervise", "o");
    down_after(2);
    let times = times();
    assert!(times[1] - times[0] >= 0.99, "second start after {}s", times[1] - times[0]);
    assert_eq!(svc.status("supervise").unwrap().want, b'd');
}

#[test]
fn down_file_keeps_it_down_at_start() {
    let svc = ServiceDir::new(LONG);
    svc.file("down", "");
    let _p = start_runsv(&svc);
    svc.wait_stat("supervise", "down");
    let s = svc.status("supervise").unwrap();
    assert_eq!((s.pid, s.want, s.state), (0, b'd', 0));
    assert_eq!(fs::read(svc.join("supervise/pid")).unwrap(), b"");
    svc.control("supervise", "u");
    svc.wait_stat("supervise", "run");
}

#[test]
fn signal_letters_reach_the_service() {
    let got = tempfile::NamedTempFile::new().unwrap();
    let g = got.path().display();
    let svc = ServiceDir::new(&format!(
        "for s in HUP ALRM INT QUIT USR1 USR2 CONT; do trap \"echo $s >> {g}\" $s; done\n\
         echo ready >> {g}; while :; do sleep 0.05; done"
    ));
    let _p = start_runsv(&svc);
    wait_for("ready", || fs::read_to_string(got.path()).unwrap().contains("ready"));
    for (letter, name) in [("h", "HUP"), ("a", "ALRM"), ("i", "INT"), ("q", "QUIT"), ("1", "USR1"), ("2", "USR2")] {
        svc.control("supervise", letter);
        wait_for(name, || fs::read_to_string(got.path()).unwrap().contains(name));
    }
    // none of these rewrite the status
    assert_eq!(svc.stat("supervise"), "run\n");
}

#[test]
fn pause_and_cont_stop_and_continue_the_process() {
    let svc = ServiceDir::new(LONG);
    let _p = start_runsv(&svc);
    svc.wait_stat("supervise", "run");
    let pid = svc.status("supervise").unwrap().pid;
    let proc_state = || {
        let s = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        s.rsplit(") ").next().unwrap().chars().next().unwrap()
    };
    svc.control("supervise", "p");
    svc.wait_stat("supervise", "run, paused");
    wait_for("stopped", || proc_state() == 'T');
    svc.control("supervise", "c");
    svc.wait_stat("supervise", "run");
    wait_for("continued", || proc_state() != 'T');
}

#[test]
fn pause_sets_the_flag_even_when_down() {
    let svc = ServiceDir::new(LONG);
    svc.file("down", "");
    let _p = start_runsv(&svc);
    svc.wait_stat("supervise", "down");
    svc.control("supervise", "p");
    svc.wait_stat("supervise", "down, paused");
    assert_eq!(svc.status("supervise").unwrap().paused, 1);
}

#[test]
fn down_terms_and_conts_and_up_restarts() {
    let svc = ServiceDir::new(LONG);
    let _p = start_runsv(&svc);
    svc.wait_stat("supervise", "run");
    let pid = svc.status("supervise").unwrap().pid;
    svc.control("supervise", "d");
    svc.wait_stat("supervise", "down");
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists() || {
            // reaped already; the pid may only be reused by an unrelated process
            true
        }
    );
    svc.control("supervise", "u");
    let new = svc.wait_new_pid("supervise", pid);
    assert_ne!(new, pid);
}

#[test]
fn term_with_want_up_restarts_the_service() {
    let svc = ServiceDir::new(LONG);
    let _p = start_runsv(&svc);
    svc.wait_stat("supervise", "run");
    let pid = svc.status("supervise").unwrap().pid;
    svc.control("supervise", "t");
    svc.wait_new_pid("supervise", pid);
    assert_eq!(svc.stat("supervise"), "run\n");
}

#[test]
fn kill_while_running_runs_finish_and_restarts() {
    let svc = ServiceDir::new("trap '' TERM; exec sleep 300");
    with_finish_recorder(&svc);
    let _p = start_runsv(&svc);
    svc.wait_stat("supervise", "run");
    let pid = svc.status("supervise").unwrap().pid;
    svc.control("supervise", "k");
    wait_for("finish -1 9", || finish_log(&svc) == "-1 9\n");
    svc.wait_new_pid("supervise", pid);
}

#[test]
fn control_t_exiting_zero_vetoes_term_but_d_still_runs() {
    let svc = ServiceDir::new(LONG);
    let trace = svc.scratch().join("trace");
    let t = trace.display();
    svc.script("control/t", &format!("echo t >> {t}; exit 0"));
    svc.script("control/d", &format!("echo d >> {t}; exit 0"));
    let _p = start_runsv(&svc);
    svc.wait_stat("supervise", "run");
    svc.control("supervise", "d");
    wait_for("t then d", || fs::read_to_string(&trace).unwrap_or_default() == "t\nd\n");
    // no TERM: still running, want down, no "got TERM"
    svc.wait_stat("supervise", "run, want down");
}

#[test]
fn control_h_exiting_nonzero_lets_hup_through() {
    let got = tempfile::NamedTempFile::new().unwrap();
    let g = got.path().display();
    let svc = ServiceDir::new(&format!("trap 'echo HUP >> {g}' HUP; echo ready >> {g}; while :; do sleep 0.05; done"));
    let trace = svc.scratch().join("trace");
    svc.script("control/h", &format!("echo h >> {}; exit 1", trace.display()));
    let _p = start_runsv(&svc);
    wait_for("ready", || fs::read_to_string(got.path()).unwrap().contains("ready"));
    svc.control("supervise", "h");
    wait_for("HUP delivered", || fs::read_to_string(got.path()).unwrap().contains("HUP"));
    assert_eq!(fs::read_to_string(&trace).unwrap(), "h\n");
}

#[test]
fn control_u_runs_before_every_start() {
    let svc = ServiceDir::new("exit 0");
    let trace = svc.scratch().join("trace");
    svc.script("control/u", &format!("echo u >> {}", trace.display()));
    let _p = start_runsv(&svc);
    wait_for("two starts", || fs::read_to_string(&trace).unwrap_or_default().lines().count() >= 2);
}

#[test]
fn log_pipe_survives_restarts_of_the_main_service() {
    let svc = ServiceDir::new("echo started $$; exec sleep 300");
    let out = svc.scratch().join("log.out");
    svc.script("log/run", &format!("exec cat >> {}", out.display()));
    let _p = start_runsv(&svc);
    svc.wait_stat("supervise", "run");
    svc.wait_stat("log/supervise", "run");
    let log_pid = svc.status("log/supervise").unwrap().pid;
    let pid = svc.status("supervise").unwrap().pid;
    wait_for("first line", || fs::read_to_string(&out).unwrap_or_default().lines().count() == 1);
    svc.control("supervise", "t");
    svc.wait_new_pid("supervise", pid);
    wait_for("second line through the same pipe", || fs::read_to_string(&out).unwrap().lines().count() == 2);
    assert_eq!(svc.status("log/supervise").unwrap().pid, log_pid);
    // and a restart of the log service keeps the pipe for the main service
    svc.control("log/supervise", "t");
    let new_log = svc.wait_new_pid("log/supervise", log_pid);
    assert_ne!(new_log, log_pid);
    let pid = svc.status("supervise").unwrap().pid;
    svc.control("supervise", "t");
    svc.wait_new_pid("supervise", pid);
    wait_for("third line via the new log process", || fs::read_to_string(&out).unwrap().lines().count() == 3);
}

#[test]
fn exit_with_a_log_service_stops_both_and_exits_zero() {
    let svc = ServiceDir::new(LONG);
    let out = svc.scratch().join("log.out");
    svc.script("log/run", &format!("cat >> {0}; echo eof >> {0}", out.display()));
    let mut p = start_runsv(&svc);
    svc.wait_stat("supervise", "run");
    svc.wait_stat("log/supervise", "run");
    // x on the log's FIFO is ignored
    svc.control("log/supervise", "x");
    svc.control("supervise", "x");
    let st = p.wait_exit();
    assert_eq!(st.code(), Some(0));
    assert_eq!(fs::read_to_string(&out).unwrap(), "eof\n");
    assert_eq!(svc.stat("supervise"), "down\n");
}

#[test]
fn sigterm_is_exit() {
    let svc = ServiceDir::new(LONG);
    let mut p = start_runsv(&svc);
    svc.wait_stat("supervise", "run");
    let pid = svc.status("supervise").unwrap().pid;
    p.signal(libc::SIGTERM);
    assert_eq!(p.wait_exit().code(), Some(0));
    wait_for("service gone", || {
        fs::read_to_string(format!("/proc/{pid}/stat")).map(|s| s.contains(") Z")).unwrap_or(true)
    });
}

#[test]
fn exit_while_log_holds_want_exit_until_log_ends() {
    // the log keeps running until every writer closes the pipe: here a
    // background child of ./run holds it until the test kills it
    let svc = ServiceDir::new("sh -c 'echo $$ > ../holder.pid; exec sleep 300' & exec sleep 300");
    svc.script("log/run", "exec cat > /dev/null");
    let holder = svc.scratch().join("holder.pid");
    let mut p = start_runsv(&svc);
    svc.wait_stat("log/supervise", "run");
    svc.wait_stat("supervise", "run");
    wait_for("holder started", || fs::read_to_string(&holder).is_ok_and(|s| s.ends_with('\n')));
    svc.control("supervise", "x");
    svc.wait_stat("supervise", "down");
    svc.wait_stat("log/supervise", "run, want exit");
    assert_eq!(svc.status("log/supervise").unwrap().want, b'd');
    assert!(p.running());
    let pid: i32 = fs::read_to_string(&holder).unwrap().trim().parse().unwrap();
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    assert_eq!(p.wait_exit().code(), Some(0));
}

#[test]
fn symlinked_supervise_directory_is_created_at_its_target() {
    let svc = ServiceDir::new(LONG);
    let target = svc.scratch().join("tmpfs-supervise");
    symlink(&target, svc.join("supervise")).unwrap();
    fs::create_dir_all(svc.join("log")).unwrap();
    svc.script("log/run", "exec cat > /dev/null");
    symlink("../log-sup", svc.join("log/supervise")).unwrap();
    let _p = start_runsv(&svc);
    svc.wait_stat("supervise", "run");
    assert!(target.join("status").exists());
    // a relative link in log/ resolves from inside log/
    wait_for("log supervise", || svc.path.join("log-sup/status").exists());
}

#[test]
fn second_runsv_on_the_same_directory_fails_at_once() {
    let svc = ServiceDir::new(LONG);
    let _p = start_runsv(&svc);
    svc.wait_stat("supervise", "run");
    let pid = svc.status("supervise").unwrap().pid;
    let (code, _, err) = run(Command::new(bin("runsv")).arg(&svc.path));
    assert_eq!(code, 111);
    assert_eq!(err, format!("runsv {}: fatal: unable to lock supervise/lock: temporary failure\n", svc.path.display()));
    assert_eq!(svc.status("supervise").unwrap().pid, pid);
    svc.control("supervise", "t");
    svc.wait_new_pid("supervise", pid);
}

#[test]
fn control_that_is_not_a_fifo_is_fatal() {
    let svc = ServiceDir::new(LONG);
    svc.file("supervise/control", "");
    let (code, _, err) = run(Command::new(bin("runsv")).arg(&svc.path));
    assert_eq!(code, 111);
    assert_eq!(err, format!("runsv {}: fatal: supervise/control exists but is not a fifo\n", svc.path.display()));
}

#[test]
fn supervise_that_is_a_file_is_fatal() {
    let svc = ServiceDir::new(LONG);
    svc.file("supervise", "");
    let (code, _, err) = run(Command::new(bin("runsv")).arg(&svc.path));
    assert_eq!(code, 111);
    assert_eq!(err, format!("runsv {}: fatal: unable to open supervise/lock: not a directory\n", svc.path.display()));
}

#[test]
fn log_that_is_not_a_directory_is_a_warning() {
    let svc = ServiceDir::new(LONG);
    svc.file("log", "");
    let _p = start_runsv(&svc);
    svc.wait_stat("supervise", "run");
    assert_eq!(runsv_stderr(&svc), format!("runsv {}: warning: ./log: not a directory.\n", svc.path.display()));
}

#[test]
fn garbage_on_control_is_ignored() {
    let svc = ServiceDir::new(LONG);
    let mut p = start_runsv(&svc);
    svc.wait_stat("supervise", "run");
    let pid = svc.status("supervise").unwrap().pid;
    svc.control("supervise", "\n\0zZ?e\u{7f}ABC\u{ff}");
    // after the garbage, a real letter is still understood
    svc.control("supervise", "p");
    svc.wait_stat("supervise", "run, paused");
    assert_eq!(svc.status("supervise").unwrap().pid, pid);
    assert!(p.running());
}

#[test]
fn unwritable_supervise_warns_and_keeps_running() {
    let svc = ServiceDir::new(LONG);
    let mut p = start_runsv(&svc);
    svc.wait_stat("supervise", "run");
    // root ignores modes; an immutable-like failure is made by replacing
    // the directory's files with directories of the same name
    fs::create_dir(svc.join("supervise/stat.new")).unwrap();
    svc.control("supervise", "p");
    let name = svc.path.display();
    wait_for("warning", || {
        runsv_stderr(&svc)
            .contains(&format!("runsv {name}: warning: unable to open supervise/stat.new: is a directory\n"))
    });
    assert!(p.running());
    fs::remove_dir(svc.join("supervise/stat.new")).unwrap();
    svc.control("supervise", "c");
    svc.wait_stat("supervise", "run");
}

#[test]
fn idle_runsv_does_not_wake_up() {
    let svc = ServiceDir::new(LONG);
    let p = start_runsv(&svc);
    svc.wait_stat("supervise", "run");
    let switches = || {
        let s = fs::read_to_string(format!("/proc/{}/status", p.pid())).unwrap();
        s.lines()
            .filter(|l| l.starts_with("voluntary_ctxt_switches") || l.starts_with("nonvoluntary_ctxt_switches"))
            .map(|l| l.split_whitespace().last().unwrap().parse::<u64>().unwrap())
            .sum::<u64>()
    };
    // runsv writes `stat` before `status` and `supervise/start`: let it
    // finish (two samples alike, however long a loaded machine takes).
    let mut before = switches();
    wait_for("runsv to settle", || {
        std::thread::sleep(Duration::from_millis(300));
        let now = switches();
        std::mem::replace(&mut before, now) == now
    });
    std::thread::sleep(Duration::from_secs(2)); // observing idleness
    assert_eq!(switches(), before);
}

/// Debian's sv drives our runsv: every command has its effect and the
/// output has runit's shape.
#[test]
fn debian_sv_drives_our_runsv() {
    for with_log in [false, true] {
        let svc = ServiceDir::new(LONG);
        if with_log {
            svc.script("log/run", "exec cat > /dev/null");
        }
        let _p = start_runsv(&svc);
        svc.wait_stat("supervise", "run");
        let name = svc.path.display().to_string();
        let (code, out, err) = sv(&svc, &["status"]);
        assert_eq!((code, err.as_str()), (0, ""));
        assert!(out.starts_with(&format!("run: {name}: (pid ")), "{out}");
        assert_eq!(out.contains("; run: log: (pid "), with_log, "{out}");

        assert_eq!(sv(&svc, &["-w", "3", "stop"]).0, 0);
        assert_eq!(state_tail(&svc, "supervise"), (false, 0, b'd', 0, 0));
        let (code, out, _) = sv(&svc, &["-w", "3", "up"]);
        assert_eq!(code, 0);
        assert!(out.starts_with(&format!("ok: run: {name}: (pid ")), "{out}");
        assert_eq!(sv(&svc, &["pause"]).0, 0);
        svc.wait_stat("supervise", "run, paused");
        let (_, out, _) = sv(&svc, &["status"]);
        assert!(out.contains("s, paused"), "{out}");
        assert_eq!(sv(&svc, &["cont"]).0, 0);
        svc.wait_stat("supervise", "run");
        let pid = svc.status("supervise").unwrap().pid;
        assert_eq!(sv(&svc, &["term"]).0, 0);
        svc.wait_new_pid("supervise", pid);
        assert_eq!(sv(&svc, &["down"]).0, 0);
        svc.wait_stat("supervise", "down");
        assert_eq!(sv(&svc, &["once"]).0, 0);
        svc.wait_stat("supervise", "run, want down");
        let (code, out, _) = sv(&svc, &["-w", "3", "exit"]);
        assert_eq!((code, out), (0, format!("ok: {name}: runsv not running\n")));
    }
}

/// Ours and Debian's runsv, same service, same letters: the status records
/// agree field by field (pids and times aside), and so do the stat lines.
#[test]
fn status_records_match_debians_runsv() {
    let ours = ServiceDir::new("trap '' TERM; while :; do sleep 0.1; done");
    let theirs = ServiceDir::new("trap '' TERM; while :; do sleep 0.1; done");
    for s in [&ours, &theirs] {
        s.script("log/run", "exec cat > /dev/null");
    }
    let _a = start_runsv(&ours);
    let _b = start_runsv_with(&debian("runsv"), &theirs);
    let same = |what: &str| {
        for sup in ["supervise", "log/supervise"] {
            wait_for(&format!("{what}: {sup} agrees"), || {
                ours.stat(sup) == theirs.stat(sup)
                    && ours.status(sup).is_some()
                    && state_tail(&ours, sup) == state_tail(&theirs, sup)
            });
        }
    };
    for s in [&ours, &theirs] {
        s.wait_stat("supervise", "run");
    }
    same("running");
    for (letters, what) in [("p", "paused"), ("c", "continued"), ("d", "stopping with TERM ignored"), ("k", "killed")] {
        ours.control("supervise", letters);
        theirs.control("supervise", letters);
        same(what);
    }
    for s in [&ours, &theirs] {
        s.wait_stat("supervise", "down");
    }
    same("down");
    ours.control("supervise", "o");
    theirs.control("supervise", "o");
    same("once");
    ours.control("log/supervise", "p");
    theirs.control("log/supervise", "p");
    same("log paused");
}
