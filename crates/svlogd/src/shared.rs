//! Process-wide state every log directory needs: options, signals, the
//! batched stderr copy, and svlogd's message vocabulary (`fatal`, `warning`,
//! `pausing`, `info`).

use std::io;
use std::time::{Duration, Instant};

use unix::selfpipe::SelfPipe;

/// Signals seen and not yet acted on.
#[derive(Default)]
pub struct Pending {
    pub term: bool,
    pub hup: bool,
    pub alrm: bool,
    pub chld: bool,
}

pub struct Shared {
    pub verbose: bool,
    /// `-l`: bytes of a line used for matching, stderr and UDP.
    pub linemax: u64,
    /// `-b`: runit's buffer size; it decides how runit cuts long lines into
    /// writes, which we reproduce (see `Logdir::put`).
    pub buflen: u64,
    pub pipe: SelfPipe,
    pub pending: Pending,
    /// TERM arrived while a write was pausing: stop retrying, finish up.
    pub giving_up: bool,
    /// Copies of lines selected with `e`, written before svlogd blocks.
    pub err: Vec<u8>,
}

impl Shared {
    /// Reads the self-pipe and records which signals arrived.
    pub fn drain_signals(&mut self) {
        for sig in self.pipe.drain() {
            let (flag, text): (&mut bool, &[u8]) = match sig {
                libc::SIGTERM => (&mut self.pending.term, b"sigterm received."),
                libc::SIGHUP => (&mut self.pending.hup, b"sighangup received."),
                libc::SIGALRM => (&mut self.pending.alrm, b"sigalarm received."),
                libc::SIGCHLD => (&mut self.pending.chld, b"sigchild received."),
                _ => continue,
            };
            *flag = true;
            if self.verbose {
                self.info(&[text]);
            }
        }
    }

    pub fn flush_err(&mut self) {
        if !self.err.is_empty() {
            unix::msg::write_all_fd(2, &self.err);
            self.err.clear();
        }
    }

    fn emit(&mut self, kind: &[u8], parts: &[&[u8]], e: Option<&io::Error>) {
        self.flush_err();
        let mut all: Vec<&[u8]> = vec![b"svlogd: ", kind];
        all.extend_from_slice(parts);
        if let Some(e) = e {
            all.push(b": ");
            all.push(unix::errtext::io_text(e).as_bytes());
        }
        unix::msg::line(&all);
    }

    pub fn warn(&mut self, parts: &[&[u8]]) {
        self.emit(b"warning: ", parts, None);
    }

    pub fn warn_err(&mut self, parts: &[&[u8]], e: &io::Error) {
        self.emit(b"warning: ", parts, Some(e));
    }

    pub fn info(&mut self, parts: &[&[u8]]) {
        self.emit(b"info: ", parts, None);
    }

    /// runit's pause: a `pausing:` line, then three seconds before the caller
    /// retries. Unlike runit, a TERM ends the wait at once (and sets
    /// `giving_up` so that writes stop retrying); other signals are kept for
    /// later. Returns whether svlogd is giving up.
    pub fn pause(&mut self, parts: &[&[u8]], e: &io::Error) -> bool {
        self.emit(b"pausing: ", parts, Some(e));
        self.sleep_watching_term(Duration::from_secs(3));
        self.giving_up
    }

    fn sleep_watching_term(&mut self, d: Duration) {
        let end = Instant::now() + d;
        while !self.pending.term && Instant::now() < end {
            let mut fds = [unix::poll::readable(self.pipe.fd())];
            if unix::poll::poll_until(&mut fds, Some(end)).is_err() {
                std::thread::sleep(Duration::from_millis(100));
            }
            if unix::poll::ready(&fds[0]) {
                self.drain_signals();
            }
        }
        if self.pending.term {
            self.giving_up = true;
        }
    }
}
