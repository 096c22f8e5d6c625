//! The kernel side of two opt-outs from runit's blind spots, for
//! [`SystemIo`](crate::io::SystemIo): the orphans a SIGKILLed runsv left
//! (found through `supervise/start`, confirmed by start time, watched
//! through a pidfd) and `cgroup/` containment. The decisions are the step
//! table's (module `machine`); here are only the mechanisms and their
//! warnings.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use supervise::cgroupdir::{self, CgroupConfig};
use supervise::start::{self, StartRecord};
use supervise::SuperviseDir;
use unix::cgroup::{Cgroup, EventsWatch, WriteError};
use unix::msg::Label;
use unix::pidfd::Process;

/// A slot's cgroup while its process (and then its `./finish`) runs.
pub struct Active {
    pub cg: Cgroup,
    /// `cgroup.procs`, open for the child to write `0` into.
    pub procs: OwnedFd,
    /// `cgroup.events`, while runsv waits for the cgroup to empty.
    pub watch: Option<EventsWatch>,
}

/// A process an earlier runsv started and left running.
pub struct OrphanProc {
    pub proc: Process,
    /// The cgroup it was started in, per its record.
    pub cgroup: Option<Cgroup>,
    pub watch: Option<EventsWatch>,
    /// Its process ended (what is left is its cgroup).
    pub exited: bool,
}

/// Per-slot containment and orphan state.
#[derive(Default)]
pub struct SlotContain {
    pub active: Option<Active>,
    pub orphan: Option<OrphanProc>,
    /// The one "uncontained" warning (and the `cgroup/` file warnings)
    /// were printed; restarts stay quiet.
    pub warned: bool,
}

/// What the whole runsv shares.
pub struct Env {
    /// The service directory as given on the command line, for the default
    /// cgroup name.
    pub arg: Vec<u8>,
    /// This boot's id, for `supervise/start`; `None` if unreadable (then
    /// no record is written and no orphan can be confirmed).
    pub boot_id: Option<String>,
}

impl Env {
    pub fn new(arg: &[u8]) -> Env {
        Env { arg: arg.to_vec(), boot_id: unix::procstat::boot_id().ok() }
    }
}

fn dir_of(is_log: bool) -> &'static str {
    if is_log {
        "log/"
    } else {
        ""
    }
}

fn run_name(is_log: bool) -> &'static [u8] {
    if is_log {
        b"./log/run"
    } else {
        b"./run"
    }
}

/// Looks for the process `supervise/start` names, still alive: same pid,
/// same start time, same boot, and in the recorded cgroup when there is
/// one (see `supervise::start` for why `status` is not needed). `pidfd_warned` makes the old-kernel warning appear once.
pub fn find_orphan(
    sup: &SuperviseDir,
    is_log: bool,
    env: &Env,
    label: &Label,
    pidfd_warned: &mut bool,
) -> Option<OrphanProc> {
    let boot = env.boot_id.as_deref()?;
    let rec = start::read_start(sup).ok()??;
    let pid = rec.candidate(boot)? as libc::pid_t;
    let proc = Process::confirm(pid, rec.start_time)?;
    let cgroup = rec.cgroup.as_deref().map(Cgroup::existing);
    if let Some(cg) = &cgroup {
        // Contained, it must still be in its cgroup; unreadable: not ours.
        if !cg.contains(pid).unwrap_or(false) {
            return None;
        }
    }
    if proc.degraded() && !*pidfd_warned {
        *pidfd_warned = true;
        label.warn(&[
            b"pidfd_open is not available (Linux 5.3 or later): orphans are signalled by pid after a start-time check",
        ]);
    }
    label.warn(&[
        b"stopping ",
        run_name(is_log),
        b" left running by an earlier runsv (pid ",
        pid.to_string().as_bytes(),
        b") before starting it",
    ]);
    Some(OrphanProc { proc, cgroup, watch: None, exited: false })
}

/// Records the `./run` just started, before its status is written.
#[inline(never)]
pub fn record_start(sup: &SuperviseDir, pid: libc::pid_t, cgroup: Option<&Path>, env: &Env, label: &Label) {
    let (Some(boot), Ok(t)) = (env.boot_id.as_ref(), unix::procstat::start_time(pid)) else { return };
    let rec =
        StartRecord { pid: pid as u32, start_time: t, boot_id: boot.clone(), cgroup: cgroup.map(Path::to_path_buf) };
    if let Err((text, e)) = start::write_start(sup, &rec) {
        match e {
            Some(e) => label.warn_err(&[&text], &e),
            None => label.warn(&[&text]),
        }
    }
}

/// What [`contain`] did.
pub enum Contained {
    Off,
    On(Active),
    Uncontained,
    Refused,
}

/// Sets up the slot's cgroup from `cgroup/` (or `log/cgroup/`): created,
/// interface files written, `cgroup.procs` opened for the child.
pub fn contain(is_log: bool, env: &Env, state: &mut SlotContain, label: &Label) -> Contained {
    let dir = dir_of(is_log);
    let base = if is_log { Path::new("log") } else { Path::new(".") };
    let cfg = match cgroupdir::read(base) {
        Ok(None) => return Contained::Off,
        Ok(Some(c)) => c,
        Err(e) => {
            // Unreadable: whether it is required cannot be known; refuse
            // rather than run uncontained by accident.
            label.warn_err(&[b"unable to read ", dir.as_bytes(), b"cgroup/, not starting ", run_name(is_log)], &e);
            return Contained::Refused;
        }
    };
    let quiet = state.warned;
    state.warned = true;
    if !quiet {
        for (name, why) in &cfg.skipped {
            label.warn(&[b"ignoring ", dir.as_bytes(), b"cgroup/", name, b": ", why.as_bytes()]);
        }
    }
    match place(is_log, env, &cfg) {
        Ok(cg) => {
            let procs = match cg.open_procs() {
                Ok(fd) => fd,
                Err(e) => return unavailable(&cfg, is_log, label, quiet, &format!("{}: {e}", cg.path().display())),
            };
            for (file, bytes) in &cfg.files {
                match cg.write(file, bytes) {
                    Ok(()) => {}
                    Err(_) if quiet => {}
                    Err(WriteError::ControllerMissing(c)) => label.warn(&[
                        b"not setting ",
                        dir.as_bytes(),
                        b"cgroup/",
                        file.as_bytes(),
                        b": the ",
                        c.as_bytes(),
                        b" controller is not available in ",
                        unix::path_bytes(cg.path()),
                    ]),
                    Err(WriteError::Io(e)) => label.warn_err(
                        &[
                            b"unable to write ",
                            dir.as_bytes(),
                            b"cgroup/",
                            file.as_bytes(),
                            b" to ",
                            unix::path_bytes(&cg.file(file)),
                        ],
                        &e,
                    ),
                }
            }
            Contained::On(Active { cg, procs, watch: None })
        }
        Err(why) => unavailable(&cfg, is_log, label, quiet, &why),
    }
}

fn place(is_log: bool, env: &Env, cfg: &CgroupConfig) -> Result<Cgroup, String> {
    let root = unix::cgroup::find_root().map_err(|e| e.to_string())?;
    let cwd = std::env::current_dir().unwrap_or_default();
    let rel: PathBuf = match &cfg.path {
        Some(p) => p.clone(),
        None => cgroupdir::default_name(&env.arg, &cwd, is_log).ok_or("no name for the cgroup")?,
    };
    Cgroup::create(&root, &rel).map_err(|e| e.to_string())
}

fn unavailable(cfg: &CgroupConfig, is_log: bool, label: &Label, quiet: bool, why: &str) -> Contained {
    if cfg.required {
        label.warn(&[b"cgroup required but not available, not starting ", run_name(is_log), b": ", why.as_bytes()]);
        return Contained::Refused;
    }
    if !quiet {
        label.warn(&[b"cgroup not available, running ", run_name(is_log), b" uncontained: ", why.as_bytes()]);
    }
    Contained::Uncontained
}

/// After the contained process ended: KILL what is left; whether the
/// cgroup is already empty (else `watch` is set for the loop).
pub fn drain(cg: &Cgroup, watch: &mut Option<EventsWatch>) -> bool {
    match cg.populated() {
        Ok(true) => {}
        // Empty, or gone (removed by someone): nothing to wait for.
        _ => return true,
    }
    // Opened before the kill, so the change cannot be missed.
    *watch = cg.watch().ok();
    let _ = cg.kill();
    match watch {
        Some(w) => !w.populated().unwrap_or(false),
        // Without a watch there is nothing to poll: do not wait forever.
        None => true,
    }
}

/// Whether a drained cgroup has emptied (re-reading `cgroup.events`).
pub fn emptied(watch: &Option<EventsWatch>) -> bool {
    watch.as_ref().is_none_or(|w| !w.populated().unwrap_or(false))
}

/// Removes a slot's cgroup once its processes are gone.
pub fn release(active: Active, label: &Label) {
    if let Err(e) = active.cg.remove() {
        label.warn_err(&[b"unable to remove cgroup ", unix::path_bytes(active.cg.path())], &e);
    }
}

/// The fds the loop polls for this slot: the orphan's pidfd until it
/// ends, and `cgroup.events` while a cgroup drains (`POLLPRI`).
pub fn poll_fds(state: &SlotContain, out: &mut Vec<libc::pollfd>) {
    if let Some(o) = &state.orphan {
        if !o.exited {
            if let Some(fd) = o.proc.poll_fd() {
                out.push(unix::poll::readable(fd));
            }
        }
        if let Some(w) = &o.watch {
            out.push(w.pollfd());
        }
    }
    if let Some(w) = state.active.as_ref().and_then(|a| a.watch.as_ref()) {
        out.push(w.pollfd());
    }
}

/// Whether an orphan without a pidfd (old kernels) is being watched, so
/// the loop must look again soon.
pub fn needs_recheck(state: &SlotContain) -> bool {
    state.orphan.as_ref().is_some_and(|o| !o.exited && o.proc.poll_fd().is_none())
}
