//! The `config` file of a log directory, parsed the way runit parses it.
//!
//! Each line's first byte is the directive and the rest of the line, taken
//! verbatim, is its argument. Numbers are read as leading decimal digits
//! (none reads as 0, overflow wraps), so `s 100` disables size rotation.

/// A UDP target: IPv4 address and port (network order is applied on send).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Udp {
    pub addr: [u8; 4],
    pub port: u16,
}

/// Everything a `config` file sets, starting from runit's defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Rotate when `current` reaches this size; 0 = never by size.
    pub size_max: u64,
    /// Keep at most this many rotated files; 0 = keep all.
    pub n_max: u64,
    /// On a full disk, delete old files only while more than this remain.
    pub n_min: u64,
    /// Rotate a non-empty `current` after this many seconds; 0 = off.
    pub t_max: u64,
    pub processor: Option<Vec<u8>>,
    /// Address and port; `port == 0` means no UDP forwarding.
    pub udp: Udp,
    pub udp_only: bool,
    pub prefix: Vec<u8>,
    /// The pattern lines (`+`, `-`, `e`, `E`), stored as runit stores them:
    /// each whole line (directive first) followed by a NUL. See
    /// [`crate::pattern`] for why the layout matters.
    pub insts: Vec<u8>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            size_max: 1_000_000,
            n_max: 10,
            n_min: 10,
            t_max: 0,
            processor: None,
            udp: Udp { addr: [0; 4], port: 0 },
            udp_only: false,
            prefix: Vec::new(),
            insts: Vec::new(),
        }
    }
}

/// Leading decimal digits of `s` (wrapping on overflow) and how many there were.
pub fn scan_ulong(s: &[u8]) -> (u64, usize) {
    let mut v: u64 = 0;
    let mut n = 0;
    while let Some(&c) = s.get(n) {
        if !c.is_ascii_digit() {
            break;
        }
        v = v.wrapping_mul(10).wrapping_add(u64::from(c - b'0'));
        n += 1;
    }
    (v, n)
}

/// An IPv4 dotted quad at the start of `s`: the address and the bytes used.
fn scan_ip4(s: &[u8]) -> Option<([u8; 4], usize)> {
    let mut ip = [0u8; 4];
    let mut at = 0;
    for (k, part) in ip.iter_mut().enumerate() {
        if k > 0 {
            if s.get(at) != Some(&b'.') {
                return None;
            }
            at += 1;
        }
        let (v, n) = scan_ulong(&s[at..]);
        if n == 0 {
            return None;
        }
        *part = v as u8;
        at += n;
    }
    Some((ip, at))
}

/// Parses a config file's bytes on top of `cfg`. Warnings (bad UDP targets)
/// are returned as message texts, to be printed as `svlogd: warning: TEXT`.
pub fn parse(data: &[u8], cfg: &mut Config) -> Vec<Vec<u8>> {
    let mut warnings = Vec::new();
    let mut i = 0;
    // runit stops when fewer than two bytes are left, so a final one-byte line
    // without a newline is ignored.
    while i + 1 < data.len() {
        let len = data[i..].iter().position(|&b| b == b'\n').unwrap_or(data.len() - i);
        let line = &data[i..i + len];
        // Arguments are C strings in runit: they end at the first NUL.
        let arg = line.get(1..).unwrap_or(&[]);
        let arg = &arg[..arg.iter().position(|&b| b == 0).unwrap_or(arg.len())];
        match line.first().copied() {
            Some(b'+' | b'-' | b'e' | b'E') => {
                cfg.insts.extend_from_slice(line);
                cfg.insts.push(0);
            }
            Some(b's') => {
                let (v, n) = scan_ulong(arg);
                cfg.size_max = match arg.get(n) {
                    Some(b'm') => v.wrapping_mul(1024 * 1024),
                    Some(b'k') => v.wrapping_mul(1024),
                    _ => v,
                };
            }
            Some(b'n') => cfg.n_max = scan_ulong(arg).0,
            Some(b'N') => cfg.n_min = scan_ulong(arg).0,
            Some(b't') => {
                let (v, n) = scan_ulong(arg);
                cfg.t_max = match arg.get(n) {
                    Some(b'h') => v.wrapping_mul(3600),
                    Some(b'm') => v.wrapping_mul(60),
                    _ => v,
                };
            }
            Some(b'!') if len > 1 => cfg.processor = Some(arg.to_vec()),
            Some(b'p') if len > 1 => cfg.prefix = arg.to_vec(),
            Some(op @ (b'u' | b'U')) => {
                if op == b'U' {
                    cfg.udp_only = true;
                }
                match scan_ip4(arg) {
                    None => warnings.push([b"unable to scan ip address: ", arg].concat()),
                    Some((addr, c)) => {
                        cfg.udp.addr = addr;
                        if arg.get(c) == Some(&b':') {
                            let (port, _) = scan_ulong(&arg[c + 1..]);
                            if port == 0 {
                                warnings.push([b"unable to scan port number: ", &arg[c + 1..]].concat());
                            } else {
                                cfg.udp.port = port as u16;
                            }
                        } else {
                            cfg.udp.port = 514;
                        }
                    }
                }
            }
            _ => {}
        }
        i += len + 1;
    }
    warnings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &[u8]) -> (Config, Vec<Vec<u8>>) {
        let mut c = Config::default();
        let w = parse(text, &mut c);
        (c, w)
    }

    #[test]
    fn sizes_counts_and_times_with_suffixes() {
        let (c, w) = parsed(b"s2k\nn3\nN1\nt2m\n");
        assert!(w.is_empty());
        assert_eq!((c.size_max, c.n_max, c.n_min, c.t_max), (2048, 3, 1, 120));
        assert_eq!(parsed(b"s1m\nt1h\n").0.size_max, 1048576);
        assert_eq!(parsed(b"s1m\nt1h\n").0.t_max, 3600);
        // A space before the number reads as 0: size rotation off.
        assert_eq!(parsed(b"s 100\n").0.size_max, 0);
    }

    #[test]
    fn patterns_keep_their_order_and_unknown_lines_are_ignored() {
        let (c, _) = parsed(b"# comment\n\n-*\nx junk\n+*warn*\ne*\n");
        assert_eq!(c.insts, b"-*\0+*warn*\0e*\0");
    }

    #[test]
    fn processor_prefix_and_last_one_wins() {
        let (c, _) = parsed(b"!cat\n!gzip\np a b \n!\n");
        assert_eq!(c.processor.as_deref(), Some(&b"gzip"[..]));
        assert_eq!(c.prefix, b" a b ");
    }

    #[test]
    fn udp_targets_and_their_warnings() {
        let (c, w) = parsed(b"u127.0.0.1:9999\n");
        assert_eq!(c.udp, Udp { addr: [127, 0, 0, 1], port: 9999 });
        assert!(w.is_empty() && !c.udp_only);
        let (c, _) = parsed(b"U10.0.0.1\n");
        assert_eq!(c.udp.port, 514);
        assert!(c.udp_only);
        let (_, w) = parsed(b"ubad\nu1.2.3.4:x\n");
        assert_eq!(w, vec![b"unable to scan ip address: bad".to_vec(), b"unable to scan port number: x".to_vec()]);
    }

    #[test]
    fn a_final_single_byte_without_newline_is_ignored() {
        let (c, _) = parsed(b"s100\n+");
        assert!(c.insts.is_empty());
        let (c, _) = parsed(b"s100\n+\n");
        assert_eq!(c.insts, b"+\0");
    }
}
