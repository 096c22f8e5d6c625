//! Soft resource limits (`-m -d -o -p -f -c -r -t` and `softlimit`).
//!
//! Only the soft limit changes. A value above the hard limit becomes the
//! hard limit, and `softlimit`'s `=` asks for exactly the hard limit. They
//! are applied after privileges are dropped, so they can never raise a hard
//! limit.

use nix::sys::resource::{getrlimit, setrlimit, Resource};

use crate::Fatal;

/// One requested soft limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Soft {
    /// The hard limit (`softlimit -x =`).
    Hard,
    /// This value, capped at the hard limit.
    Value(u64),
}

/// The requested limits, `None` where unchanged.
#[derive(Debug, Default, Clone)]
pub struct Limits {
    pub data: Option<Soft>,
    pub stack: Option<Soft>,
    pub memlock: Option<Soft>,
    pub address_space: Option<Soft>,
    pub nofile: Option<Soft>,
    pub nproc: Option<Soft>,
    pub fsize: Option<Soft>,
    pub core: Option<Soft>,
    pub rss: Option<Soft>,
    pub cpu: Option<Soft>,
}

impl Limits {
    /// `-m`: data, stack, locked memory and address space together.
    pub fn set_memory(&mut self, v: Soft) {
        self.data = Some(v);
        self.stack = Some(v);
        self.memlock = Some(v);
        self.address_space = Some(v);
    }

    /// Applies the limits in runit's order.
    pub fn apply(&self) -> Result<(), Fatal> {
        let all = [
            (Resource::RLIMIT_DATA, self.data),
            (Resource::RLIMIT_STACK, self.stack),
            (Resource::RLIMIT_MEMLOCK, self.memlock),
            (Resource::RLIMIT_AS, self.address_space),
            (Resource::RLIMIT_NOFILE, self.nofile),
            (Resource::RLIMIT_NPROC, self.nproc),
            (Resource::RLIMIT_FSIZE, self.fsize),
            (Resource::RLIMIT_CORE, self.core),
            (Resource::RLIMIT_RSS, self.rss),
            (Resource::RLIMIT_CPU, self.cpu),
        ];
        for (resource, soft) in all {
            if let Some(soft) = soft {
                set_soft(resource, soft)?;
            }
        }
        Ok(())
    }
}

fn set_soft(resource: Resource, soft: Soft) -> Result<(), Fatal> {
    let (_, hard) = getrlimit(resource).map_err(|e| Fatal::err(&[b"unable to getrlimit()"], e.into()))?;
    let soft = match soft {
        Soft::Hard => hard,
        Soft::Value(v) => v.min(hard),
    };
    setrlimit(resource, soft, hard).map_err(|e| Fatal::err(&[b"unable to setrlimit()"], e.into()))
}

/// runit's number syntax: leading decimal digits must make up the whole
/// argument; the empty string reads as 0. Values too large saturate (and
/// so become the hard limit).
pub fn parse_number(s: &[u8]) -> Option<u64> {
    if !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0u64, |n, &d| n.saturating_mul(10).saturating_add(u64::from(d - b'0'))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_plain_decimal() {
        assert_eq!(parse_number(b"400000000"), Some(400000000));
        assert_eq!(parse_number(b""), Some(0));
        assert_eq!(parse_number(b"12k"), None);
        assert_eq!(parse_number(b"-1"), None);
        assert_eq!(parse_number(b"+1"), None);
        assert_eq!(parse_number(b"99999999999999999999999"), Some(u64::MAX));
    }
}
