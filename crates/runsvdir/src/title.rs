//! The LOG argument: a status area in the process title.
//!
//! runsvdir's optional second argument is memory that `ps` and
//! `/proc/PID/cmdline` show. Everything written to runsvdir's stderr (its
//! own warnings, every runsv's, and those of services that keep stderr)
//! goes through a pipe into that memory: the first five bytes stay as
//! given, the rest is a window that scrolls left by one byte for each byte
//! received, the newest byte last (NUL bytes are dropped). This is runit's
//! layout byte for byte, so tools reading the title keep working.
//!
//! The argument strings live on our stack, where the kernel put them at
//! `exec`; `/proc/self/stat` tells where (`arg_start`). We find the LOG
//! string's address from the lengths of the arguments before it, check that
//! the memory really holds it, and then rewrite it through `/proc/self/mem`
//! (no raw pointers: a write there is an ordinary `pwrite`).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// Bytes at the start of LOG that never change.
const FIXED: usize = 5;

/// The minimum length of a LOG argument runit accepts.
pub const MIN_LEN: usize = 7;

/// The scrolling window and where it lives in our memory.
pub struct Title {
    /// The whole LOG string as it is now.
    area: Vec<u8>,
    /// `/proc/self/mem` and the address of LOG, when both could be found.
    mem: Option<(File, u64)>,
}

impl Title {
    /// A title area for `args[index]` (the LOG argument), which must be at
    /// least [`MIN_LEN`] bytes long. If its memory cannot be located the
    /// window is still kept, just not shown.
    pub fn new(args: &[Vec<u8>], index: usize) -> Title {
        let area = args.get(index).cloned().unwrap_or_default();
        let mem = locate(args, index).ok();
        Title { area, mem }
    }

    /// The LOG string as `ps` should show it now.
    pub fn area(&self) -> &[u8] {
        &self.area
    }

    /// Appends received bytes (NULs skipped) and shows the result.
    pub fn push(&mut self, bytes: &[u8]) {
        if scroll(&mut self.area, bytes) {
            if let Some((mem, addr)) = &self.mem {
                // A failed write only means `ps` shows an older window.
                let _ = mem.write_all_at(&self.area[FIXED..], addr + FIXED as u64);
            }
        }
    }
}

/// Applies runit's one-byte-at-a-time shift to `area` for all of `bytes`;
/// returns whether anything changed.
pub fn scroll(area: &mut [u8], bytes: &[u8]) -> bool {
    if area.len() <= FIXED {
        return false;
    }
    let window = &mut area[FIXED..];
    let mut changed = false;
    // Each chunk between NULs shifts the window left by its length.
    for chunk in bytes.split(|&b| b == 0).filter(|c| !c.is_empty()) {
        changed = true;
        let w = window.len();
        if chunk.len() >= w {
            window.copy_from_slice(&chunk[chunk.len() - w..]);
        } else {
            window.rotate_left(chunk.len());
            window[w - chunk.len()..].copy_from_slice(chunk);
        }
    }
    changed
}

/// Opens `/proc/self/mem` and finds the address of `args[index]`, checking
/// that the memory there holds exactly that string.
fn locate(args: &[Vec<u8>], index: usize) -> io::Result<(File, u64)> {
    let stat = std::fs::read("/proc/self/stat")?;
    let bad = || io::Error::from_raw_os_error(libc::EINVAL);
    // The command name may contain spaces and parentheses: fields are
    // counted after the last ')'. arg_start is field 48, the 46th after it.
    let close = stat.iter().rposition(|&b| b == b')').ok_or_else(bad)?;
    let fields: Vec<&[u8]> = stat[close + 1..].split(|&b| b == b' ').filter(|f| !f.is_empty()).collect();
    let arg_start: u64 =
        fields.get(45).and_then(|f| std::str::from_utf8(f).ok()).and_then(|s| s.trim().parse().ok()).ok_or_else(bad)?;
    let offset: usize = args.iter().take(index).map(|a| a.len() + 1).sum();
    let want = args.get(index).ok_or_else(bad)?;
    let addr = arg_start + offset as u64;
    let mem = File::options().read(true).write(true).open("/proc/self/mem")?;
    let mut have = vec![0u8; want.len() + 1];
    mem.read_exact_at(&mut have, addr)?;
    if have[..want.len()] != want[..] || have[want.len()] != 0 {
        return Err(bad());
    }
    Ok((mem, addr))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// runit's loop, one byte at a time, as the reference.
    fn runit_scroll(area: &mut [u8], bytes: &[u8]) {
        for &ch in bytes {
            if ch != 0 {
                for i in 6..area.len() {
                    area[i - 1] = area[i];
                }
                let n = area.len();
                area[n - 1] = ch;
            }
        }
    }

    #[test]
    fn scrolling_matches_runits_byte_loop() {
        let inputs: [&[u8]; 5] = [b"a", b"hello\n", b"x\0y\0\0z", b"a much longer message than the window\n", b""];
        for len in [7usize, 8, 12, 40] {
            let mut ours = b"log: ".to_vec();
            ours.resize(len, b'.');
            let mut theirs = ours.clone();
            for input in inputs {
                scroll(&mut ours, input);
                runit_scroll(&mut theirs, input);
                assert_eq!(ours, theirs, "len {len} after {input:?}");
            }
        }
    }

    #[test]
    fn the_first_five_bytes_never_change() {
        let mut area = b"log: ..".to_vec();
        assert!(scroll(&mut area, b"abcdef"));
        assert_eq!(area, b"log: ef");
        assert!(!scroll(&mut area, b"\0\0"));
    }
}
