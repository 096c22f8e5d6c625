//! `svlogd`: runit's log writer, reimplemented (see `man 8 svlogd`).
//!
//! It reads lines on standard input and appends them to `current` in each
//! log directory given, rotating, filtering, forwarding and post-processing
//! them as each directory's `config` asks. The tour:
//!
//! - [`config`]: the `config` file, parsed with runit's quirks;
//! - [`pattern`]: runit's `+`/`-`/`e`/`E` pattern matching;
//! - [`stamp`]: the `-t`/`-tt`/`-ttt` stamps and our `-T` (RFC 3339, local);
//! - [`logdir`]: one directory: lock, `current`, rotation, pruning, the
//!   processor, and the output path that batches runit's per-line writes
//!   without moving a single rotation point;
//! - this file: options and the single-threaded loop (poll on stdin and the
//!   signal self-pipe with the time-rotation deadline).
//!
//! # Differences from runit
//! - Output is written in big batches (one `write(2)` per input chunk), with
//!   the same file contents, rotation points and `fsync`s.
//! - TERM is honoured while a write is pausing on an error: svlogd tries once
//!   more, then exits.
//! - An unterminated last line (at EOF, or at TERM when its rest is not
//!   already readable) is written with a newline instead of being dropped;
//!   every complete line read before a TERM is written.
//! - `-T` prefixes RFC 3339 local time with its UTC offset.
//! - One UDP socket per directory is reused; a processor keeps being tracked
//!   across HUP.

pub mod config;
pub mod logdir;
pub mod pattern;
mod processor;
mod shared;
pub mod stamp;
mod sys;

use std::time::{Duration, Instant};

use logdir::Logdir;
use shared::{Pending, Shared};
use stamp::{Kind, Stamper, Time};
use unix::msg::{Fatal, Label, ProgramError};

const SYNOPSIS: &[u8] = b"[-ttv] [-r c] [-R abc] [-l len] [-b buflen] dir ...";
const VERSION: &[u8] = b"$Id: runit-rs svlogd 0.1.0 $";
/// Input is read in chunks of this size (runit reads `buflen` bytes).
const READ_SIZE: usize = 128 * 1024;
/// svlogd wakes up at least this often even without input (runit's value).
const MAX_SLEEP: Duration = Duration::from_secs(2744);
/// How long a reopen waits at most for processors to exec (see
/// `Logdir::wait_processor_exec`).
const PROCESSOR_EXEC_WAIT: Duration = Duration::from_secs(5);

/// Exit codes of `svlogd` (see svlogd(8)).
pub mod exit {
    /// Standard input ended, or TERM.
    pub const OK: i32 = 0;
    /// Usage errors and fatal errors alike (as runit).
    pub const FATAL: i32 = 111;
}

/// Why `svlogd` stops early; `main` prints and exits.
#[derive(Debug)]
pub enum SvlogdError {
    /// The usage (after the version line for `-V`).
    Usage { argv0: Vec<u8>, version: bool },
    /// `svlogd: fatal: ...`.
    Fatal(Fatal),
}

impl ProgramError for SvlogdError {
    fn exit_code(&self) -> i32 {
        match self {
            SvlogdError::Usage { .. } => exit::FATAL,
            SvlogdError::Fatal(f) => f.exit_code(),
        }
    }
    fn message(&self) -> Vec<u8> {
        match self {
            SvlogdError::Usage { argv0, version } => {
                let mut v = Vec::new();
                if *version {
                    v.extend_from_slice(VERSION);
                    v.push(b'\n');
                }
                v.extend_from_slice(&unix::msg::usage_text(argv0, SYNOPSIS));
                v
            }
            SvlogdError::Fatal(f) => f.message(),
        }
    }
}

fn fatal(parts: &[&[u8]], e: Option<&std::io::Error>) -> SvlogdError {
    SvlogdError::Fatal(Label::new(b"svlogd").fatal_error(exit::FATAL, parts, e))
}

/// `svlogd --help`.
pub const HELP: &str = "\
usage: svlogd [-ttv] [-r c] [-R abc] [-l len] [-b buflen] dir ...

Reads log lines on standard input and writes them to each log directory
DIR (file current), rotating, filtering and processing them as DIR/config
says.

  -t          prefix each line with a TAI64N stamp (-tt: UTC, -ttt: ISO 8601)
  -T          prefix each line with RFC 3339 local time
  -r c        replace non-printable characters with c
  -R abc      also replace the characters a, b, c
  -l len      line length limit (default 1000)
  -b buflen   read buffer size (default 1024)
  -v          verbose
  -V          print the version, then the usage
  --help      print this help and exit
  --version   print the version and exit

Example (a service's log/run):
  exec svlogd -tt ./main
";

struct Options {
    stamp: Kind,
    repl: u8,
    replace: Vec<u8>,
    linemax: u64,
    buflen: u64,
    verbose: bool,
}

fn parse_args(args: &[Vec<u8>]) -> Result<(Options, Vec<Vec<u8>>), SvlogdError> {
    let argv0 = args.first().cloned().unwrap_or_else(|| b"svlogd".to_vec());
    let usage_v = |version| SvlogdError::Usage { argv0: argv0.clone(), version };
    let usage = || usage_v(false);
    let mut o =
        Options { stamp: Kind::None, repl: 0, replace: Vec::new(), linemax: 1000, buflen: 1024, verbose: false };
    let mut ts = 0;
    let mut local = false;
    let mut g = unix::getopt::Getopt::new(args, b"R:r:l:b:tTvV");
    for opt in g.by_ref() {
        match opt {
            unix::getopt::Opt::Flag(b'R', Some(v)) => {
                o.replace = v.to_vec();
                if o.repl == 0 {
                    o.repl = b'_';
                }
            }
            unix::getopt::Opt::Flag(b'r', Some(v)) => {
                if v.len() != 1 || v[0] == 0 {
                    return Err(usage());
                }
                o.repl = v[0];
            }
            unix::getopt::Opt::Flag(b'l', Some(v)) => {
                o.linemax = config::scan_ulong(v).0;
                if o.linemax == 0 {
                    o.linemax = 1000;
                }
            }
            unix::getopt::Opt::Flag(b'b', Some(v)) => {
                o.buflen = config::scan_ulong(v).0;
                if o.buflen == 0 {
                    o.buflen = 1024;
                }
            }
            unix::getopt::Opt::Flag(b't', _) => ts = (ts + 1).min(3),
            unix::getopt::Opt::Flag(b'T', _) => local = true,
            unix::getopt::Opt::Flag(b'v', _) => o.verbose = true,
            unix::getopt::Opt::Flag(b'V', _) => return Err(usage_v(true)),
            _ => return Err(usage()),
        }
    }
    o.stamp = match (local, ts) {
        (true, _) => Kind::Local,
        (false, 1) => Kind::Tai64n,
        (false, 2) => Kind::Utc,
        (false, 3) => Kind::Iso8601,
        _ => Kind::None,
    };
    let dirs = g.operands().to_vec();
    if dirs.is_empty() || o.buflen <= o.linemax {
        return Err(usage());
    }
    Ok((o, dirs))
}

/// The line being read when a chunk ended in its middle.
struct Partial {
    active: bool,
    stamp: Vec<u8>,
    head: Vec<u8>,
    /// The first `len` bytes were already written (the line is that long).
    committed: bool,
}

struct Svlogd {
    sh: Shared,
    dirs: Vec<Logdir>,
    stamper: Stamper,
    repl: u8,
    replace: Vec<u8>,
    linemax: usize,
    /// Stamp of the current input chunk.
    stamp: Vec<u8>,
    partial: Partial,
    scratch: Vec<u8>,
    packet: Vec<u8>,
    /// runit's line buffer as patterns see it: this line's first `len`
    /// bytes over what earlier lines left there (see `pattern`).
    linebuf: Vec<u8>,
    patterns: bool,
}

/// runit's replacement of unprintable and listed bytes.
fn replace_into(out: &mut Vec<u8>, bytes: &[u8], repl: u8, extra: &[u8]) {
    out.extend(bytes.iter().map(|&c| if !(32..=126).contains(&c) || extra.contains(&c) { repl } else { c }));
}

impl Svlogd {
    /// (Re)opens every directory; fails when none works.
    fn reopen_all(&mut self) -> Result<(), SvlogdError> {
        // A processor forked just before (the last rotation of the input
        // just read) may not have exec'd yet and still share the locks;
        // its exec is a matter of milliseconds, the bound is for a child
        // that never gets there.
        let deadline = Instant::now() + PROCESSOR_EXEC_WAIT;
        for d in self.dirs.iter_mut() {
            d.wait_processor_exec(deadline);
        }
        let mut ok = false;
        for d in self.dirs.iter_mut() {
            d.close(&mut self.sh);
            if d.open(&mut self.sh) {
                ok = true;
            }
        }
        self.patterns = self.dirs.iter().any(|d| !d.cfg.insts.is_empty());
        if !ok {
            self.sh.flush_err();
            return Err(fatal(&[b"no functional log directories."], None));
        }
        Ok(())
    }

    /// The first `len` bytes of a line are known: select and route it.
    fn emit_head(&mut self, stamp_from_partial: bool, head: &[u8], long: bool) {
        let Svlogd { sh, dirs, stamp, partial, packet, linebuf, patterns, linemax, .. } = self;
        let stamp: &[u8] = if stamp_from_partial { &partial.stamp } else { stamp };
        let mut stale = 0;
        if *patterns {
            if linebuf.len() < head.len() {
                linebuf.resize(head.len(), 0);
            }
            linebuf[..head.len()].copy_from_slice(head);
            if head.len() < *linemax {
                stale = linebuf.get(head.len()).copied().unwrap_or(0);
            }
        }
        for d in dirs.iter_mut().filter(|d| d.is_open()) {
            if !d.cfg.insts.is_empty() {
                d.select(head, stale);
            }
            if d.sel_err {
                sh.err.extend_from_slice(stamp);
                sh.err.extend_from_slice(&d.cfg.prefix);
                sh.err.extend_from_slice(head);
                if long {
                    sh.err.extend_from_slice(b"...");
                }
                sh.err.push(b'\n');
                if sh.err.len() >= 64 * 1024 {
                    sh.flush_err();
                }
            }
            if !d.sel_log {
                continue;
            }
            if d.cfg.udp.port != 0 {
                packet.clear();
                packet.extend_from_slice(stamp);
                packet.extend_from_slice(&d.cfg.prefix);
                packet.extend_from_slice(head);
                if long {
                    packet.extend_from_slice(b"...");
                }
                packet.push(b'\n');
                d.send_udp(sh, stamp, head, packet);
            }
            if !d.cfg.udp_only {
                d.put(sh, stamp);
                if !d.cfg.prefix.is_empty() {
                    let p = std::mem::take(&mut d.cfg.prefix);
                    d.put(sh, &p);
                    d.cfg.prefix = p;
                }
                d.put(sh, head);
            }
        }
    }

    /// Bytes of a line beyond its first `len`: written unchanged.
    fn emit_tail(&mut self, bytes: &[u8]) {
        for d in self.dirs.iter_mut().filter(|d| d.is_open() && d.sel_log && !d.cfg.udp_only) {
            d.putc_all(&mut self.sh, bytes);
        }
    }

    fn emit_end(&mut self) {
        for d in self.dirs.iter_mut().filter(|d| d.is_open() && d.sel_log && !d.cfg.udp_only) {
            d.putc_all(&mut self.sh, b"\n");
            d.flush_sim(&mut self.sh);
        }
    }

    /// A whole line (without its newline) that started in this chunk.
    fn line(&mut self, line: &[u8]) {
        let hl = line.len().min(self.linemax);
        let long = line.len() >= self.linemax;
        if self.repl != 0 {
            let mut head = std::mem::take(&mut self.scratch);
            head.clear();
            replace_into(&mut head, &line[..hl], self.repl, &self.replace);
            self.emit_head(false, &head, long);
            self.scratch = head;
        } else {
            self.emit_head(false, &line[..hl], long);
        }
        if hl < line.len() {
            self.emit_tail(&line[hl..]);
        }
        self.emit_end();
    }

    /// More bytes (no newline among them) of the line in `partial`.
    fn add_partial(&mut self, mut bytes: &[u8]) {
        if !self.partial.committed {
            let take = (self.linemax - self.partial.head.len()).min(bytes.len());
            if self.repl != 0 {
                replace_into(&mut self.partial.head, &bytes[..take], self.repl, &self.replace);
            } else {
                self.partial.head.extend_from_slice(&bytes[..take]);
            }
            bytes = &bytes[take..];
            if self.partial.head.len() == self.linemax {
                self.partial.committed = true;
                let head = std::mem::take(&mut self.partial.head);
                self.emit_head(true, &head, true);
                self.partial.head = head;
            }
        }
        if !bytes.is_empty() {
            self.emit_tail(bytes);
        }
    }

    fn finish_partial(&mut self) {
        if !self.partial.committed {
            let head = std::mem::take(&mut self.partial.head);
            self.emit_head(true, &head, false);
            self.partial.head = head;
        }
        self.emit_end();
        self.partial.active = false;
        self.partial.committed = false;
        self.partial.head.clear();
    }

    /// Splits a chunk read at time `t` into lines and routes them.
    fn feed(&mut self, data: &[u8], t: Time) {
        let mut st = std::mem::take(&mut self.stamp);
        self.stamper.format(t, &mut st);
        self.stamp = st;
        let mut pos = 0;
        while pos < data.len() {
            let rest = &data[pos..];
            let nl = sys::memchr(b'\n', rest);
            if self.partial.active {
                let end = nl.unwrap_or(rest.len());
                self.add_partial(&rest[..end]);
                if nl.is_some() {
                    self.finish_partial();
                }
                pos += end + 1;
            } else if let Some(i) = nl {
                self.line(&rest[..i]);
                pos += i + 1;
            } else {
                self.partial.active = true;
                self.partial.committed = false;
                self.partial.head.clear();
                self.partial.stamp.clear();
                self.partial.stamp.extend_from_slice(&self.stamp);
                self.add_partial(rest);
                pos = data.len();
            }
        }
    }

    fn flush_all(&mut self) {
        for d in self.dirs.iter_mut() {
            if d.is_open() {
                d.flush(&mut self.sh);
            }
        }
        self.sh.flush_err();
    }

    fn reap(&mut self) {
        while let Some((pid, st)) = unix::proc::reap_one() {
            if let Some(d) = self.dirs.iter_mut().find(|d| d.ppid == pid) {
                d.ppid = 0;
                d.processor_done(&mut self.sh, st.0);
            }
        }
    }

    /// After TERM: complete a pending line from what is readable now (one
    /// byte at a time, so nothing past its newline is taken from the pipe).
    fn complete_partial_on_term(&mut self) {
        let mut b = [0u8; 1];
        while self.partial.active {
            match sys::read(0, &mut b) {
                Ok(1) if b[0] == b'\n' => self.finish_partial(),
                Ok(1) => self.add_partial(&b),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                _ => break,
            }
        }
    }

    fn run(&mut self) -> Result<(), SvlogdError> {
        let mut buf = vec![0u8; READ_SIZE];
        loop {
            self.flush_all();
            if self.sh.pending.chld {
                self.sh.pending.chld = false;
                self.reap();
            }
            if self.sh.pending.alrm {
                self.sh.pending.alrm = false;
                for d in self.dirs.iter_mut() {
                    d.rotate_now(&mut self.sh);
                }
            }
            if self.sh.pending.term {
                self.complete_partial_on_term();
                break;
            }
            if self.sh.pending.hup {
                self.sh.pending.hup = false;
                self.reopen_all()?;
            }
            let now = Instant::now();
            let mut deadline = now + MAX_SLEEP;
            for d in self.dirs.iter_mut() {
                if d.cfg.t_max == 0 {
                    continue;
                }
                if let Some(t) = d.trotate {
                    if t <= now {
                        d.rotate_now(&mut self.sh);
                    }
                }
                if let Some(t) = d.trotate {
                    deadline = deadline.min(t);
                }
            }
            self.sh.flush_err();
            let mut fds = [unix::poll::readable(0), unix::poll::readable(self.sh.pipe.fd())];
            if let Err(e) = unix::poll::poll_until(&mut fds, Some(deadline)) {
                self.sh.warn_err(&[b"unable to poll"], &e);
                std::thread::sleep(Duration::from_millis(100));
            }
            if unix::poll::ready(&fds[1]) {
                self.sh.drain_signals();
            }
            // POLLNVAL too: a closed stdin then fails the read, as in runit.
            if fds[0].revents == 0 {
                continue;
            }
            match sys::read(0, &mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    self.feed(&buf[..n], Time::now());
                }
                Err(e) if matches!(e.raw_os_error(), Some(libc::EAGAIN) | Some(libc::EINTR)) => {}
                Err(e) => {
                    self.sh.warn_err(&[b"unable to read standard input"], &e);
                    break;
                }
            }
        }
        // End of input (or TERM): an unterminated line is kept, with a newline.
        if self.partial.active {
            self.finish_partial();
        }
        self.flush_all();
        if self.sh.pending.chld {
            self.reap();
        }
        for d in self.dirs.iter_mut() {
            d.wait_processor(&mut self.sh);
            d.close(&mut self.sh);
        }
        self.sh.flush_err();
        Ok(())
    }
}

/// Entry point of the `svlogd` program: prints and exits, nothing else
/// does.
pub fn main() -> ! {
    let args = unix::getopt::args_bytes();
    if let Some(text) = unix::msg::help_or_version(&args, "svlogd", HELP) {
        unix::msg::print_and_exit(&text);
    }
    match run(&args) {
        Ok(()) => std::process::exit(exit::OK),
        Err(e) => unix::msg::exit_with(&e),
    }
}

/// Logs standard input until it ends (or TERM).
pub fn run(args: &[Vec<u8>]) -> Result<(), SvlogdError> {
    let (o, names) = parse_args(args)?;
    // runit holds the working directory open; failing to is fatal there too.
    let _cwd = sys::open_at(None, b".", libc::O_RDONLY | libc::O_NONBLOCK, 0)
        .map_err(|e| fatal(&[b"unable to open current working directory"], Some(&e)))?;
    let signals = [libc::SIGTERM, libc::SIGCHLD, libc::SIGALRM, libc::SIGHUP];
    let pipe = unix::selfpipe::SelfPipe::new(&signals).map_err(|e| fatal(&[b"unable to create selfpipe"], Some(&e)))?;
    // stdin is read without blocking; poll says when there is something.
    let _ = unix::fd::set_nonblock(0, true);
    let sh = Shared {
        verbose: o.verbose,
        linemax: o.linemax,
        buflen: o.buflen,
        pipe,
        pending: Pending::default(),
        giving_up: false,
        err: Vec::new(),
    };
    let mut s = Svlogd {
        sh,
        dirs: names.iter().map(|n| Logdir::new(n)).collect(),
        stamper: Stamper::new(o.stamp),
        repl: o.repl,
        replace: o.replace,
        linemax: usize::try_from(o.linemax).unwrap_or(usize::MAX),
        stamp: Vec::with_capacity(40),
        partial: Partial { active: false, stamp: Vec::new(), head: Vec::new(), committed: false },
        scratch: Vec::new(),
        packet: Vec::new(),
        linebuf: Vec::new(),
        patterns: false,
    };
    s.reopen_all()?;
    s.run()
}
