//! Line timestamps: `-t` (TAI64N label), `-tt` (UTC, `_` separator), `-ttt`
//! (UTC, ISO 8601 `T` separator) and our `-T` (RFC 3339 in local time with
//! its UTC offset). The runit formats are byte-identical to runit's: 25
//! characters and a space, the fraction being the first five digits of the
//! nanosecond field, truncated.

use std::time::{SystemTime, UNIX_EPOCH};

/// Which timestamp, if any, starts each line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    None,
    Tai64n,
    Utc,
    Iso8601,
    Local,
}

/// The wall-clock time, as runit reads it (microsecond resolution).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Time {
    pub secs: u64,
    pub micros: u32,
}

impl Time {
    pub fn now() -> Time {
        let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        Time { secs: d.as_secs(), micros: d.subsec_micros() }
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn put_num(out: &mut Vec<u8>, v: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut n = 0;
    let mut v = v;
    while v > 0 || n == 0 {
        digits[n] = b'0' + (v % 10) as u8;
        v /= 10;
        n += 1;
    }
    for _ in n..width {
        out.push(b'0');
    }
    out.extend(digits[..n].iter().rev());
}

/// `YYYY-MM-DD?HH:MM:SS` for Unix seconds shifted by `offset` seconds.
fn put_civil(out: &mut Vec<u8>, secs: i64, sep: u8) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400) as u64;
    let (y, m, d) = civil_from_days(days);
    put_num(out, y.max(0) as u64, 4);
    out.push(b'-');
    put_num(out, u64::from(m), 2);
    out.push(b'-');
    put_num(out, u64::from(d), 2);
    out.push(sep);
    put_num(out, rem / 3600, 2);
    out.push(b':');
    put_num(out, rem / 60 % 60, 2);
    out.push(b':');
    put_num(out, rem % 60, 2);
}

/// The local time zone's offset from UTC at `secs`, in seconds.
fn local_offset(secs: u64) -> i64 {
    let t = secs as libc::time_t;
    // SAFETY: an all-zero `tm` is a valid value for localtime_r to overwrite.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers are valid for the duration of the call.
    let r = unsafe { libc::localtime_r(&t, &mut tm) };
    if r.is_null() {
        0
    } else {
        tm.tm_gmtoff
    }
}

/// Formats stamps, reusing the date and time of day while the second is the
/// same (the common case when many lines arrive together).
pub struct Stamper {
    kind: Kind,
    cached_secs: Option<u64>,
    head: Vec<u8>,
    tail: Vec<u8>,
}

impl Stamper {
    pub fn new(kind: Kind) -> Stamper {
        Stamper { kind, cached_secs: None, head: Vec::with_capacity(32), tail: Vec::with_capacity(8) }
    }

    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Writes the stamp for `t` (with its trailing space) into `out`.
    pub fn format(&mut self, t: Time, out: &mut Vec<u8>) {
        out.clear();
        match self.kind {
            Kind::None => {}
            Kind::Tai64n => {
                out.extend_from_slice(&unix::tai64n::Tai64n::from_unix(t.secs, t.micros).to_hex());
                out.push(b' ');
            }
            Kind::Utc | Kind::Iso8601 | Kind::Local => {
                if self.cached_secs != Some(t.secs) {
                    self.head.clear();
                    self.tail.clear();
                    match self.kind {
                        Kind::Utc => put_civil(&mut self.head, t.secs as i64, b'_'),
                        Kind::Iso8601 => put_civil(&mut self.head, t.secs as i64, b'T'),
                        _ => {
                            let off = local_offset(t.secs);
                            put_civil(&mut self.head, t.secs as i64 + off, b'T');
                            self.tail.push(if off < 0 { b'-' } else { b'+' });
                            let a = off.unsigned_abs() / 60;
                            put_num(&mut self.tail, a / 60, 2);
                            self.tail.push(b':');
                            put_num(&mut self.tail, a % 60, 2);
                        }
                    }
                    self.head.push(b'.');
                    self.cached_secs = Some(t.secs);
                }
                out.extend_from_slice(&self.head);
                if self.kind == Kind::Local {
                    put_num(out, u64::from(t.micros), 6);
                } else {
                    // runit prints the nanosecond field (micros * 1000 + 500)
                    // cut to five digits.
                    put_num(out, u64::from(t.micros / 10), 5);
                }
                out.extend_from_slice(&self.tail);
                out.push(b' ');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(kind: Kind, secs: u64, micros: u32) -> String {
        let mut out = Vec::new();
        Stamper::new(kind).format(Time { secs, micros }, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn utc_and_iso_forms_match_runit() {
        // 2026-11-21 18:43:04 UTC
        assert_eq!(fmt(Kind::Utc, 1_795_286_584, 355_569), "2026-11-21_18:43:04.35556 ");
        assert_eq!(fmt(Kind::Iso8601, 1_795_286_584, 362_099), "2026-11-21T18:43:04.36209 ");
        assert_eq!(fmt(Kind::Utc, 0, 5), "1970-01-01_00:00:00.00000 ");
        assert_eq!(fmt(Kind::Utc, 951_782_400, 0), "2000-02-29_00:00:00.00000 ");
    }

    #[test]
    fn tai64n_label_ends_in_500_nanoseconds() {
        let s = fmt(Kind::Tai64n, 1_795_286_346, 0);
        assert_eq!(s, "@400000006b01e554000001f4 ");
    }

    #[test]
    fn cached_second_is_reused_but_fraction_changes() {
        let mut st = Stamper::new(Kind::Utc);
        let mut a = Vec::new();
        st.format(Time { secs: 86_399, micros: 999_999 }, &mut a);
        assert_eq!(a, b"1970-01-01_23:59:59.99999 ");
        st.format(Time { secs: 86_399, micros: 10 }, &mut a);
        assert_eq!(a, b"1970-01-01_23:59:59.00001 ");
        st.format(Time { secs: 86_400, micros: 0 }, &mut a);
        assert_eq!(a, b"1970-01-02_00:00:00.00000 ");
    }

    #[test]
    fn local_form_has_an_offset() {
        let s = fmt(Kind::Local, 1_795_286_584, 355_569);
        assert_eq!(s.len(), "2026-11-21T18:43:04.355569+00:00 ".len());
        assert!(s.contains(".355569"));
    }
}
