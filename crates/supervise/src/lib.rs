//! runit's on-disk supervision protocol, in one place.
//!
//! Everything another program can observe about a supervised service lives
//! here (described in `docs/PROTOCOL.md`):
//!
//! - [`layout`]: the service directory and its `supervise/` (or
//!   `log/supervise/`) files, by the names runit's messages use.
//! - [`status`]: the 20-byte `supervise/status` record as pure
//!   encode/decode, the `stat` line and the `pid` text, plus reading and the
//!   atomic `.new` + `rename` writes in runit's order (`pid`, `stat`, `status`).
//! - [`control`]: the command letters and how clients talk to runsv: probing
//!   `supervise/ok` and writing to `supervise/control`, with `ENXIO` meaning
//!   "runsv not running".
//!
//! - [`extras`]: the opt-in files beyond runit (`notification-fd`,
//!   `timeout-kill`, `down-signal`, ...) and the `supervise/ready` record.
//!
//! daemontools' `svstat` reads the first 18 bytes of the same record, so the
//! layout here must never change; richer state goes into new files.

pub mod cgroupdir;
pub mod control;
pub mod depends;
pub mod depstate;
pub mod depwatch;
pub mod extras;
pub mod layout;
pub mod listen;
pub mod notify;
pub mod start;
pub mod status;

pub use layout::SuperviseDir;
pub use status::{State, Status, Want};
