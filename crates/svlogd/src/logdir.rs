//! One log directory: opening and locking it, its `config`, the `current`
//! file and its rotation, pruning, the processor, and the output path.
//!
//! # Output and rotation
//!
//! runit writes every line with its own `write(2)` through a `buflen`-byte
//! buffer, and decides rotation inside each write: before it, a full
//! `current` (size >= SIZE) is rotated and the write is cut to what still
//! fits; after a write ending in a newline, `current` is rotated once it
//! holds at least SIZE - len bytes. We compute exactly the same writes (the
//! same buffer arithmetic, in [`Logdir::put`] and friends) and apply the same
//! rules, but the bytes collect in `batch` and reach the file in one
//! `write(2)` per input chunk, or at a rotation point (before the `fsync`).
//! File contents, boundaries and fsync points are therefore those of runit.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use crate::config::{self, Config};
use crate::pattern;
use crate::shared::Shared;
use crate::stamp::Time;
use crate::sys;

/// runit's `BUFFER_OUTSIZE`: the largest direct write of an oversized put.
const OUTSIZE: u64 = 8192;
/// Written bytes kept back at most before a `write(2)` mid-chunk.
const BATCH_MAX: usize = 256 * 1024;

pub struct Logdir {
    pub name: Vec<u8>,
    dir: Option<OwnedFd>,
    cur: Option<OwnedFd>,
    lock: Option<OwnedFd>,
    pub cfg: Config,
    /// Size of `current`, counting bytes still in `batch`.
    size: u64,
    pub trotate: Option<Instant>,
    /// Processor running (0 = none) and the `@….u` it works on.
    pub ppid: libc::pid_t,
    proc_name: [u8; 27],
    /// End-of-file here once the processor has exec'd (see `processor`):
    /// until then it may still hold the directories' locks.
    exec_done: Option<OwnedFd>,
    /// Name of the last rotated (or recovered) file.
    fnsave: [u8; 27],
    /// Bytes for `current` not yet written; the last `pend` of them are still
    /// in runit's (simulated) buffer, i.e. not yet passed through a write.
    batch: Vec<u8>,
    pend: usize,
    udp_sock: Option<std::net::UdpSocket>,
    /// Per-line selections: into the log, onto stderr.
    pub sel_log: bool,
    pub sel_err: bool,
}

fn errno(e: i32) -> io::Error {
    io::Error::from_raw_os_error(e)
}

/// A rotated file name for `t` with the given suffix letter.
fn label_name(t: Time, suffix: u8) -> [u8; 27] {
    let mut n = [0u8; 27];
    n[..25].copy_from_slice(&unix::tai64n::Tai64n::from_unix(t.secs, t.micros).to_hex());
    n[25] = b'.';
    n[26] = suffix;
    n
}

fn with_suffix(name: &[u8; 27], s: u8) -> [u8; 27] {
    let mut n = *name;
    n[26] = s;
    n
}

impl Logdir {
    pub fn new(name: &[u8]) -> Logdir {
        Logdir {
            name: name.to_vec(),
            dir: None,
            cur: None,
            lock: None,
            cfg: Config::default(),
            size: 0,
            trotate: None,
            ppid: 0,
            exec_done: None,
            proc_name: [b'@'; 27],
            fnsave: [b'@'; 27],
            batch: Vec::new(),
            pend: 0,
            udp_sock: None,
            sel_log: true,
            sel_err: false,
        }
    }

    pub fn is_open(&self) -> bool {
        self.dir.is_some()
    }

    fn dirfd(&self) -> RawFd {
        sys::raw(&self.dir)
    }

    /// Retries `op` with a `pausing:` line until it succeeds (runit's way);
    /// gives up only when svlogd is exiting on TERM.
    fn retry<T>(&self, sh: &mut Shared, what: &[u8], mut op: impl FnMut() -> io::Result<T>) -> Option<T> {
        loop {
            match op() {
                Ok(v) => return Some(v),
                Err(e) => {
                    if sh.giving_up {
                        sh.warn_err(&[what, b": ", &self.name], &e);
                        return None;
                    }
                    sh.pause(&[what, b": ", &self.name], &e);
                }
            }
        }
    }

    /// Opens, locks and configures the directory and opens `current`.
    /// Returns false (after a warning) when the directory is unusable.
    pub fn open(&mut self, sh: &mut Shared) -> bool {
        let dir = match sys::open_at(None, &self.name, libc::O_RDONLY | libc::O_NONBLOCK, 0) {
            Ok(d) => d,
            Err(e) => {
                sh.warn_err(&[b"unable to open log directory: ", &self.name], &e);
                return false;
            }
        };
        let fd = dir.as_raw_fd();
        let searchable = match sys::fstat(fd) {
            Ok(st) if st.st_mode & libc::S_IFMT != libc::S_IFDIR => Err(errno(libc::ENOTDIR)),
            Ok(_) => sys::can_search(fd),
            Err(e) => Err(e),
        };
        if let Err(e) = searchable {
            if sh.verbose {
                sh.info(&[b"close: ", &self.name]);
            }
            sh.warn_err(&[b"unable to change directory: ", &self.name], &e);
            return false;
        }
        let lock =
            sys::open_at(Some(fd), b"lock", libc::O_WRONLY | libc::O_NONBLOCK | libc::O_APPEND | libc::O_CREAT, 0o600)
                .and_then(|l| unix::lock::lock_exclusive(l.as_raw_fd(), false).map(|_| l));
        let lock = match lock {
            Ok(l) => l,
            Err(e) => {
                if sh.verbose {
                    sh.info(&[b"close: ", &self.name]);
                }
                sh.warn_err(&[b"unable to lock directory: ", &self.name], &e);
                return false;
            }
        };
        self.dir = Some(dir);
        self.lock = Some(lock);
        self.size = 0;
        self.cfg = Config::default();
        self.trotate = None;
        self.sel_log = true;
        self.sel_err = false;
        self.udp_sock = None;

        match self.read_config() {
            Ok(None) => {}
            Ok(Some(data)) => {
                if sh.verbose {
                    sh.info(&[b"read: ", &self.name, b"/config"]);
                }
                for w in config::parse(&data, &mut self.cfg) {
                    sh.warn(&[&w]);
                }
            }
            Err(e) => {
                sh.warn_err(&[b"unable to read config: ", &self.name], &e);
                if sh.verbose {
                    sh.info(&[b"read: ", &self.name, b"/config"]);
                }
            }
        }
        if self.cfg.t_max != 0 {
            // A deadline past what the clock can represent means never.
            self.trotate = Instant::now().checked_add(Duration::from_secs(self.cfg.t_max));
        }

        let fresh = match sys::stat_at(fd, b"current") {
            Ok(st) => {
                if st.st_size != 0 && st.st_mode & libc::S_IXUSR == 0 {
                    // Not closed cleanly: keep it as an unfinished `.u`.
                    self.fnsave = self.unused_name(b'u');
                    let to = self.fnsave;
                    self.retry(sh, b"unable to rename current", || sys::rename_at(fd, b"current", &to));
                    self.prune(sh);
                    true
                } else {
                    self.size = st.st_size as u64;
                    false
                }
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => true,
            Err(e) => {
                self.dir = None;
                self.lock = None;
                if sh.verbose {
                    sh.info(&[b"close: ", &self.name]);
                }
                sh.warn_err(&[b"unable to stat current: ", &self.name], &e);
                return false;
            }
        };
        if !self.open_current(sh, b"unable to open current") {
            self.dir = None;
            self.lock = None;
            return false;
        }
        if sh.verbose {
            let what: &[u8] = if fresh { b"new: " } else { b"append: " };
            sh.info(&[what, &self.name, b"/current"]);
        }
        true
    }

    fn read_config(&self) -> io::Result<Option<Vec<u8>>> {
        let f = match sys::open_at(Some(self.dirfd()), b"config", libc::O_RDONLY | libc::O_NONBLOCK, 0) {
            Ok(f) => f,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut data = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match sys::read(f.as_raw_fd(), &mut buf) {
                Ok(0) => return Ok(Some(data)),
                Ok(n) => data.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Opens (creating) `current` for appending, mode 0644.
    fn open_current(&mut self, sh: &mut Shared, what: &[u8]) -> bool {
        let dfd = self.dirfd();
        let flags = libc::O_WRONLY | libc::O_NONBLOCK | libc::O_APPEND | libc::O_CREAT;
        let Some(cur) = self.retry(sh, what, || sys::open_at(Some(dfd), b"current", flags, 0o600)) else {
            return false;
        };
        let raw = cur.as_raw_fd();
        self.retry(sh, b"unable to set mode of current", || sys::fchmod(raw, 0o644));
        self.cur = Some(cur);
        true
    }

    /// A `@…` name for now with the given suffix that does not exist yet.
    fn unused_name(&self, suffix: u8) -> [u8; 27] {
        loop {
            let n = label_name(Time::now(), suffix);
            match sys::stat_at(self.dirfd(), &n) {
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return n,
                _ => std::thread::sleep(Duration::from_micros(1)),
            }
        }
    }

    /// Flushes, syncs and closes `current` (mode 0744) and releases the lock.
    pub fn close(&mut self, sh: &mut Shared) {
        if self.dir.is_none() {
            return;
        }
        if sh.verbose {
            sh.info(&[b"close: ", &self.name]);
        }
        self.flush(sh);
        if let Some(cur) = self.cur.take() {
            let raw = cur.as_raw_fd();
            self.retry(sh, b"unable to fsync current logfile", || sys::fsync(raw));
            self.retry(sh, b"unable to set mode of current", || sys::fchmod(raw, 0o744));
        }
        self.batch.clear();
        self.pend = 0;
        self.dir = None;
        self.lock = None;
        self.udp_sock = None;
        self.cfg.processor = None;
    }

    // ----- output: runit's buffer arithmetic, batched ---------------------

    fn buflen(sh: &Shared) -> usize {
        usize::try_from(sh.buflen).unwrap_or(usize::MAX)
    }

    /// runit's `buffer_put` of `bytes` into the directory's buffer.
    pub fn put(&mut self, sh: &mut Shared, mut bytes: &[u8]) {
        let b = Self::buflen(sh);
        if bytes.len() > b - self.pend {
            self.flush_sim(sh);
            let mut n = b.max(OUTSIZE as usize);
            while bytes.len() > b {
                n = n.min(bytes.len());
                self.batch.extend_from_slice(&bytes[..n]);
                self.pend = n;
                self.flush_sim(sh);
                bytes = &bytes[n..];
            }
        }
        self.batch.extend_from_slice(bytes);
        self.pend += bytes.len();
    }

    /// runit's `buffer_PUTC` for each byte of `bytes`.
    pub fn putc_all(&mut self, sh: &mut Shared, mut bytes: &[u8]) {
        let b = Self::buflen(sh);
        while !bytes.is_empty() {
            if self.pend == b {
                self.flush_sim(sh);
            }
            let k = (b - self.pend).min(bytes.len());
            self.batch.extend_from_slice(&bytes[..k]);
            self.pend += k;
            bytes = &bytes[k..];
        }
    }

    /// runit's `buffer_flush`: the buffered bytes go through its write
    /// function (with the two rotation rules), here without a system call.
    pub fn flush_sim(&mut self, sh: &mut Shared) {
        if self.pend == 0 {
            return;
        }
        let mut at = self.batch.len() - self.pend;
        self.pend = 0;
        let smax = self.cfg.size_max;
        while at < self.batch.len() {
            if smax != 0 && self.size >= smax {
                self.rotate_at(sh, at);
                at = 0;
            }
            let mut n = (self.batch.len() - at) as u64;
            if smax != 0 {
                n = n.min(smax.saturating_sub(self.size).max(1));
            }
            self.size += n;
            at += n as usize;
            if smax != 0 && self.batch[at - 1] == b'\n' && self.size >= smax.wrapping_sub(sh.linemax) {
                self.rotate_at(sh, at);
                at = 0;
            }
        }
        if self.batch.len() >= BATCH_MAX {
            let n = self.batch.len();
            self.write_out(sh, n);
        }
    }

    /// Writes everything already passed through runit's write function.
    pub fn flush(&mut self, sh: &mut Shared) {
        self.flush_sim(sh);
        let n = self.batch.len() - self.pend;
        self.write_out(sh, n);
    }

    /// Writes `batch[..n]` to `current`, never dropping data: on ENOSPC old
    /// files may be deleted (`N`), otherwise svlogd pauses and retries. A
    /// TERM during the pause makes it give up after one more attempt.
    fn write_out(&mut self, sh: &mut Shared, n: usize) {
        if self.cur.is_none() {
            self.batch.drain(..n);
            return;
        }
        let fd = sys::raw(&self.cur);
        let mut off = 0;
        while off < n {
            match sys::write(fd, &self.batch[off..n]) {
                Ok(k) => off += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    if e.raw_os_error() == Some(libc::ENOSPC)
                        && self.cfg.n_min < self.cfg.n_max
                        && self.delete_for_space(sh)
                    {
                        continue;
                    }
                    if sh.giving_up {
                        sh.warn_err(&[b"unable to write to current: ", &self.name], &e);
                        break;
                    }
                    sh.pause(&[b"unable to write to current: ", &self.name], &e);
                }
            }
        }
        self.batch.drain(..n);
    }

    /// On a full disk: deletes the oldest `@…` file if more than `N` exist.
    fn delete_for_space(&mut self, sh: &mut Shared) -> bool {
        let names = match sys::list_dir(self.dirfd()) {
            Ok(n) => n,
            Err(e) => {
                sh.warn_err(&[b"unable to read directory, want remove old logfile: ", &self.name], &e);
                return false;
            }
        };
        let old: Vec<&Vec<u8>> = names.iter().filter(|n| n.len() == 27 && n[0] == b'@').collect();
        let Some(oldest) = old.iter().min() else {
            return false;
        };
        if old.len() as u64 <= self.cfg.n_min {
            return false;
        }
        sh.warn(&[b"out of disk space, delete: ", &self.name, b"/", oldest]);
        if let Err(e) = sys::unlink_at(self.dirfd(), oldest) {
            sh.warn_err(&[b"unable to unlink oldest logfile: ", &self.name], &e);
            return false;
        }
        true
    }

    fn rotate_at(&mut self, sh: &mut Shared, at: usize) {
        self.write_out(sh, at);
        self.rotate(sh);
    }

    /// ALRM and time rotation: everything buffered first, then rotate.
    pub fn rotate_now(&mut self, sh: &mut Shared) {
        self.flush(sh);
        self.rotate(sh);
    }

    /// runit's `rotate`: waits for a running processor, renews the time
    /// deadline, and if `current` is not empty syncs it, renames it to
    /// `@NOW.s` (`.u` with a processor), starts a new one, prunes and starts
    /// the processor.
    fn rotate(&mut self, sh: &mut Shared) {
        if self.dir.is_none() {
            self.cfg.t_max = 0;
            return;
        }
        self.wait_processor(sh);
        let suffix = if self.cfg.processor.is_some() { b'u' } else { b's' };
        self.fnsave = self.unused_name(suffix);
        let now = Instant::now();
        if self.cfg.t_max != 0 && self.trotate.is_none_or(|t| t <= now) {
            self.trotate = now.checked_add(Duration::from_secs(self.cfg.t_max));
        }
        if self.size == 0 {
            return;
        }
        let dfd = self.dirfd();
        if let Some(cur) = self.cur.take() {
            let raw = cur.as_raw_fd();
            self.retry(sh, b"unable to fsync current logfile", || sys::fsync(raw));
            self.retry(sh, b"unable to set mode of current", || sys::fchmod(raw, 0o744));
        }
        if sh.verbose {
            let size = self.size.to_string();
            sh.info(&[b"rename: ", &self.name, b"/current ", &self.fnsave, b" ", size.as_bytes()]);
        }
        let to = self.fnsave;
        self.retry(sh, b"unable to rename current", || sys::rename_at(dfd, b"current", &to));
        self.open_current(sh, b"unable to create new current");
        self.size = 0;
        self.prune(sh);
        let name = self.fnsave;
        self.processor_start(sh, name);
    }

    /// Deletes processor leftovers (`@….t`) and, when more than `n` rotated
    /// files exist, the oldest one (never the `.u` about to be processed).
    fn prune(&mut self, sh: &mut Shared) {
        let names = match sys::list_dir(self.dirfd()) {
            Ok(n) => n,
            Err(e) => {
                sh.warn_err(&[b"unable to read directory: ", &self.name], &e);
                return;
            }
        };
        let mut count = 0u64;
        let mut oldest: Option<&[u8]> = None;
        for n in names.iter().filter(|n| n.len() == 27 && n[0] == b'@') {
            if n[26] == b't' {
                if let Err(e) = sys::unlink_at(self.dirfd(), n) {
                    sh.warn_err(&[b"unable to unlink processor leftover: ", n], &e);
                }
                continue;
            }
            count += 1;
            let pending = self.fnsave[26] == b'u' && n.as_slice() == self.fnsave;
            if !pending && oldest.is_none_or(|o| n.as_slice() < o) {
                oldest = Some(n);
            }
        }
        if self.cfg.n_max != 0 && count > self.cfg.n_max {
            if let Some(o) = oldest {
                if sh.verbose {
                    sh.info(&[b"delete: ", &self.name, b"/", o]);
                }
                if let Err(e) = sys::unlink_at(self.dirfd(), o) {
                    sh.warn_err(&[b"unable to unlink oldest logfile: ", &self.name], &e);
                }
            }
        }
    }

    // ----- the processor --------------------------------------------------

    /// Blocks until the running processor (and any restart of it) succeeded.
    pub fn wait_processor(&mut self, sh: &mut Shared) {
        while self.ppid != 0 {
            let pid = self.ppid;
            let status = loop {
                match unix::proc::wait_pid(pid) {
                    Ok(s) => break Some(s.0),
                    Err(e) if e.raw_os_error() == Some(libc::ECHILD) => break None,
                    Err(e) => {
                        sh.pause(&[b"error waiting for processor: ", &self.name], &e);
                    }
                }
            };
            self.ppid = 0;
            match status {
                Some(s) => {
                    self.processor_done(sh, s);
                }
                None => return,
            }
        }
    }

    /// Starts the processor on `@X.u` (no-op without a `!` line).
    fn processor_start(&mut self, sh: &mut Shared, name: [u8; 27]) {
        let Some(cmd) = self.cfg.processor.clone() else {
            return;
        };
        if self.ppid != 0 {
            sh.warn(&[b"processor already running: ", &self.name]);
            return;
        }
        if sh.verbose {
            sh.info(&[b"processing: ", &self.name, b"/", &name]);
        }
        sh.flush_err();
        self.proc_name = name;
        let child = match crate::processor::Child::new(&self.name, &name, &cmd) {
            Ok(c) => c,
            Err(e) => {
                sh.warn_err(&[b"unable to run processor: ", &self.name], &e);
                return;
            }
        };
        let dfd = self.dirfd();
        let lockfd = sys::raw(&self.lock);
        if let Some((pid, exec_done)) = self.retry(sh, b"unable to fork for processor", || child.spawn(dfd, lockfd)) {
            self.ppid = pid;
            self.exec_done = exec_done;
        }
    }

    /// Waits, until `deadline` at the latest, for a processor just forked
    /// to exec (or exit): before that it shares svlogd's lock descriptors,
    /// and a reopen would find the directory locked by our own child. A
    /// lock held by anyone else is not waited for: that stays runit's
    /// "unable to lock directory".
    pub fn wait_processor_exec(&mut self, deadline: Instant) {
        let Some(pipe) = self.exec_done.take() else {
            return;
        };
        // Nothing is ever written to the pipe: readable means end-of-file.
        let mut fds = [unix::poll::readable(pipe.as_raw_fd())];
        loop {
            match unix::poll::poll_until(&mut fds, Some(deadline)) {
                Ok(_) if unix::poll::ready(&fds[0]) => return,
                Ok(_) if Instant::now() < deadline => {}
                _ => return,
            }
        }
    }

    /// A processor exited with wait status `status`. Returns true when done,
    /// false when it failed and was started again.
    pub fn processor_done(&mut self, sh: &mut Shared, status: libc::c_int) -> bool {
        self.exec_done = None;
        if self.dir.is_none() {
            return true;
        }
        let dfd = self.dirfd();
        let u = self.proc_name;
        let t = with_suffix(&u, b't');
        let s = with_suffix(&u, b's');
        // runit reads the exit code as `status >> 8`: a processor killed by
        // a signal counts as success.
        if status >> 8 != 0 {
            sh.warn(&[b"processor failed, restart: ", &self.name]);
            let _ = sys::unlink_at(dfd, &t);
            self.processor_start(sh, u);
            return self.cfg.processor.is_none();
        }
        self.retry(sh, b"unable to rename processed", || sys::rename_at(dfd, &t, &s));
        self.retry(sh, b"unable to set mode of processed", || sys::chmod_at(dfd, &s, 0o744));
        if sys::unlink_at(dfd, &u).is_err() {
            sh.warn(&[b"unable to unlink: ", &self.name, b"/", &u]);
        }
        self.retry(sh, b"unable to rename state", || sys::rename_at(dfd, b"newstate", b"state"));
        if sh.verbose {
            sh.info(&[b"processed: ", &self.name, b"/", &s]);
        }
        true
    }

    // ----- per line ---------------------------------------------------------

    /// Applies the patterns to the (replaced) first `len` bytes of a line.
    pub fn select(&mut self, head: &[u8], stale: u8) {
        self.sel_log = true;
        self.sel_err = false;
        // Walk the stored lines as runit does: directive, pattern, NUL.
        let insts = &self.cfg.insts;
        let mut i = 0;
        while i < insts.len() {
            let op = insts[i];
            if matches!(op, b'+' | b'-' | b'e' | b'E') && pattern::matches_at(insts, i + 1, head, stale) {
                match op {
                    b'+' => self.sel_log = true,
                    b'-' => self.sel_log = false,
                    b'e' => self.sel_err = true,
                    _ => self.sel_err = false,
                }
            }
            i += insts[i..].iter().position(|&b| b == 0).unwrap_or(insts.len() - i) + 1;
        }
    }

    /// Sends one datagram; on failure the warning goes into `current`, as
    /// runit does. One socket is kept per directory.
    pub fn send_udp(&mut self, sh: &mut Shared, stamp: &[u8], head: &[u8], packet: &[u8]) {
        if self.udp_sock.is_none() {
            // What runit's unbound socket gets at its first sendto: an
            // ephemeral port on every address. (std's sockets are
            // close-on-exec.)
            let sock = std::net::UdpSocket::bind((std::net::Ipv4Addr::UNSPECIFIED, 0))
                .and_then(|s| s.set_nonblocking(true).map(|_| s));
            let Ok(sock) = sock else {
                let prefix = self.cfg.prefix.clone();
                self.put(sh, b"warning: no udp socket available: ");
                self.put(sh, stamp);
                self.put(sh, &prefix);
                self.put(sh, head);
                self.put(sh, b"\n");
                self.flush_sim(sh);
                return;
            };
            self.udp_sock = Some(sock);
        }
        let udp = self.cfg.udp;
        let to = std::net::SocketAddrV4::new(std::net::Ipv4Addr::from(udp.addr), udp.port);
        let sent = self.udp_sock.as_ref().map(|s| s.send_to(packet, to));
        if !matches!(sent, Some(Ok(n)) if n == packet.len()) {
            self.put(sh, b"warning: failure sending through udp: ");
            self.put(sh, packet);
            self.flush_sim(sh);
        }
    }
}
