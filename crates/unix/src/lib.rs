//! Generic Unix pieces shared by every runit-rs program.
//!
//! Nothing here knows about services; the on-disk protocol lives in the
//! `supervise` crate. The modules, in the order a program usually meets them:
//!
//! - [`getopt`]: POSIX-style option parsing with runit's exact error lines
//!   (`NAME: illegal option -- X`), stopping at the first non-option.
//! - [`msg`]: one-line diagnostics on stderr, each written with one `write(2)`,
//!   and [`errtext`], runit's own errno wording ("file does not exist").
//! - [`tai64n`]: the TAI64N labels used in `supervise/status` and by svlogd.
//! - [`fd`], [`lock`], [`fifo`], [`atomic`]: descriptors, `flock`, named pipes
//!   and the `.new` + `rename` file replacement.
//! - [`inotify`]: directory watches (Linux), so waits wake on changes.
//! - [`selfpipe`] and [`poll`]: signals turned into readable bytes, and a
//!   `poll(2)` loop on a monotonic deadline.
//! - [`spawn`]: the one `fork` + `exec` builder (ordered child steps, all
//!   prepared before `fork`, one error path); [`proc`]: reaping children,
//!   decoding wait statuses and signalling; [`startup`]: the
//!   SIGPIPE disposition and standard descriptors as they were before Rust's
//!   runtime changed them, restored in every child.
//!
//! Library code returns errors; only a program's `main` prints a fatal line
//! and chooses the exit code. System calls go through nix; raw `libc`
//! stays where nix would allocate or cannot express the call (between
//! `fork` and `exec`, the pre-`main` constructor), each with its reason.

pub mod atomic;
pub mod cgroup;
pub mod errtext;
pub mod fd;
pub mod fifo;
pub mod getopt;
pub mod heap;
pub mod inotify;
pub mod lock;
pub mod msg;
pub mod notify;
pub mod pidfd;
pub mod poll;
pub mod proc;
pub mod procstat;
pub mod selfpipe;
pub mod socket;
pub mod spawn;
pub mod startup;
pub mod tai64n;

/// The bytes of a path, as the kernel sees them (paths are never lossily
/// converted to `String`).
pub fn path_bytes(p: &std::path::Path) -> &[u8] {
    use std::os::unix::ffi::OsStrExt;
    p.as_os_str().as_bytes()
}
