//! TAI64N labels as runit writes them.
//!
//! runit uses no leap-second table: the seconds label is
//! `2^62 + 10 + unix_seconds`, and the nanosecond field is
//! `microseconds * 1000 + 500` (so it always ends in 500). The external text
//! form is `@` followed by 24 lowercase hex digits.

use std::time::{SystemTime, UNIX_EPOCH};

/// 2^62 + 10: the label of the Unix epoch in runit's TAI64.
pub const EPOCH_LABEL: u64 = (1 << 62) + 10;

/// A TAI64N timestamp: seconds label and nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Tai64n {
    pub secs: u64,
    pub nanos: u32,
}

impl Tai64n {
    /// Now, with runit's microsecond resolution and `+500` nanoseconds.
    pub fn now() -> Tai64n {
        let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        Tai64n::from_unix(d.as_secs(), d.subsec_micros())
    }

    /// From Unix seconds and microseconds.
    pub fn from_unix(secs: u64, micros: u32) -> Tai64n {
        Tai64n { secs: EPOCH_LABEL.wrapping_add(secs), nanos: micros * 1000 + 500 }
    }

    /// Unix seconds (saturating at 0 for labels before the epoch).
    pub fn unix_secs(&self) -> u64 {
        self.secs.saturating_sub(EPOCH_LABEL)
    }

    /// The 12 big-endian bytes: 8 of seconds, 4 of nanoseconds.
    pub fn to_bytes(&self) -> [u8; 12] {
        let mut b = [0u8; 12];
        b[..8].copy_from_slice(&self.secs.to_be_bytes());
        b[8..].copy_from_slice(&self.nanos.to_be_bytes());
        b
    }

    /// From 12 big-endian bytes.
    pub fn from_bytes(b: &[u8; 12]) -> Tai64n {
        let mut s = [0u8; 8];
        s.copy_from_slice(&b[..8]);
        let mut n = [0u8; 4];
        n.copy_from_slice(&b[8..]);
        Tai64n { secs: u64::from_be_bytes(s), nanos: u32::from_be_bytes(n) }
    }

    /// The text form: `@` + 24 lowercase hex digits (25 bytes).
    pub fn to_hex(&self) -> [u8; 25] {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [0u8; 25];
        out[0] = b'@';
        for (i, byte) in self.to_bytes().iter().enumerate() {
            out[1 + 2 * i] = HEX[(byte >> 4) as usize];
            out[2 + 2 * i] = HEX[(byte & 15) as usize];
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_label_from_the_spec() {
        // docs/PROTOCOL.md, section 3: 0x400000006b01e554 - 2^62 - 10 = 1795286346
        let t = Tai64n::from_unix(1795286346, 0);
        assert_eq!(&t.to_bytes()[..8], &[0x40, 0, 0, 0, 0x6b, 0x01, 0xe5, 0x54]);
        assert_eq!(t.unix_secs(), 1795286346);
    }

    #[test]
    fn nanoseconds_end_in_500_and_hex_round_trips() {
        let t = Tai64n::from_unix(1795286346, 123456);
        assert_eq!(t.nanos, 123456500);
        assert_eq!(Tai64n::from_bytes(&t.to_bytes()), t);
        let hex = t.to_hex();
        assert_eq!(&hex[..17], b"@400000006b01e554");
        assert_eq!(&hex[17..], format!("{:08x}", 123456500u32).as_bytes());
    }
}
