//! The on-disk `struct utmp` record of glibc on Linux (384 bytes), as pure
//! byte accessors: runit reads and rewrites whole records in place.
//!
//! Layout (offsets in bytes): type (i16) 0, pid 4, line[32] 8, id[4] 40,
//! user[32] 44, host[256] 76, exit 332, session 336, tv_sec (i32) 340,
//! tv_usec 344, addr_v6 348, reserved 364..384.

/// Size of one record.
pub const SIZE: usize = 384;
/// Size of the `ut_line` field.
pub const LINE_LEN: usize = 32;
/// `ut_type` of a record whose login has ended.
pub const DEAD_PROCESS: i16 = 8;

const TYPE: usize = 0;
const LINE: usize = 8;
const USER: std::ops::Range<usize> = 44..76;
const HOST: std::ops::Range<usize> = 76..332;
const TV_SEC: usize = 340;

/// One record.
#[derive(Clone, PartialEq, Eq)]
pub struct Record(pub [u8; SIZE]);

impl Default for Record {
    fn default() -> Record {
        Record([0; SIZE])
    }
}

impl std::fmt::Debug for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Record")
            .field("type", &self.kind())
            .field("line", &String::from_utf8_lossy(self.line()))
            .field("user", &String::from_utf8_lossy(&self.0[USER]))
            .field("time", &self.time())
            .finish()
    }
}

impl Record {
    pub fn kind(&self) -> i16 {
        i16::from_ne_bytes([self.0[TYPE], self.0[TYPE + 1]])
    }

    pub fn set_kind(&mut self, t: i16) {
        self.0[TYPE..TYPE + 2].copy_from_slice(&t.to_ne_bytes());
    }

    /// The whole `ut_line` field.
    pub fn line(&self) -> &[u8] {
        &self.0[LINE..LINE + LINE_LEN]
    }

    /// Copies `line` into `ut_line` (at most the field size).
    pub fn set_line(&mut self, line: &[u8]) {
        let n = line.len().min(LINE_LEN);
        self.0[LINE..LINE + n].copy_from_slice(&line[..n]);
    }

    /// Whether someone is logged in (the user name is not empty).
    pub fn has_user(&self) -> bool {
        self.0[USER.start] != 0
    }

    pub fn clear_user_and_host(&mut self) {
        self.0[USER].fill(0);
        self.0[HOST].fill(0);
    }

    /// `ut_tv.tv_sec`, a 32-bit field even on 64-bit glibc.
    pub fn time(&self) -> i32 {
        i32::from_ne_bytes(self.0[TV_SEC..TV_SEC + 4].try_into().unwrap_or([0; 4]))
    }

    pub fn set_time(&mut self, t: i64) {
        self.0[TV_SEC..TV_SEC + 4].copy_from_slice(&(t as i32).to_ne_bytes());
    }

    /// runit 2.3.0's test: the first `len + 1` bytes of `ut_line` equal
    /// `line` and its terminating NUL (just `len` bytes when `line` fills
    /// the field). `line` must not be longer than the field.
    pub fn line_is(&self, line: &[u8]) -> bool {
        let mut want = line.to_vec();
        if want.len() < LINE_LEN {
            want.push(0);
        }
        self.line().get(..want.len()) == Some(&want[..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{offset_of, size_of};

    #[test]
    fn layout_matches_libc() {
        assert_eq!(size_of::<libc::utmpx>(), SIZE);
        assert_eq!(offset_of!(libc::utmpx, ut_line), LINE);
        assert_eq!(offset_of!(libc::utmpx, ut_user), USER.start);
        assert_eq!(offset_of!(libc::utmpx, ut_host), HOST.start);
        assert_eq!(offset_of!(libc::utmpx, ut_tv), TV_SEC);
    }

    #[test]
    fn line_comparison_includes_the_terminator() {
        let mut r = Record::default();
        r.set_line(b"tty10");
        assert!(r.line_is(b"tty10"));
        assert!(!r.line_is(b"tty1"));
        assert!(!r.line_is(b"tty100"));
        let full = [b'x'; LINE_LEN];
        r.set_line(&full);
        assert!(r.line_is(&full));
    }

    #[test]
    fn fields_round_trip() {
        let mut r = Record::default();
        r.set_kind(DEAD_PROCESS);
        r.set_time(1_700_000_000);
        assert_eq!(r.kind(), 8);
        assert_eq!(r.time(), 1_700_000_000);
        r.0[USER.start] = b'r';
        assert!(r.has_user());
        r.clear_user_and_host();
        assert!(!r.has_user());
    }
}
