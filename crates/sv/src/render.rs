//! The status text, byte for byte (man/sv.8, OUTPUT), as a pure function of
//! the decoded record.
//!
//! [`supervise::Status`] keeps the flag and state bytes as they are on
//! disk, because runit's sv prints them so: an unknown state byte prints
//! no state word, and the pid is printed through a C `int`.

use supervise::Status;

/// The pid as runit prints it: the field is held in a C `int` and printed
/// as an unsigned long, so a pid with the top bit set comes out sign-extended.
fn pid_decimal(pid: u32) -> u64 {
    pid as i32 as i64 as u64
}

/// Appends `STATE: NAME: [(pid P) ]SECSs[SUFFIXES]` to `out` (no newline).
/// `now` is sv's clock as a TAI64 seconds label. Returns 1 if the record has
/// a pid, 2 if not (the LSB `status` code is derived from it).
pub fn status_text(out: &mut Vec<u8>, rec: &Status, name: &[u8], normally_up: bool, now: u64) -> u32 {
    let pid = rec.pid;
    match rec.state {
        0 => out.extend_from_slice(b"down: "),
        1 => out.extend_from_slice(b"run: "),
        2 => out.extend_from_slice(b"finish: "),
        _ => {}
    }
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    if rec.state != 0 {
        out.extend_from_slice(format!("(pid {}) ", pid_decimal(pid)).as_bytes());
    }
    let secs = now.saturating_sub(rec.stamp.secs);
    out.extend_from_slice(format!("{secs}s").as_bytes());
    if pid != 0 && !normally_up {
        out.extend_from_slice(b", normally down");
    }
    if pid == 0 && normally_up {
        out.extend_from_slice(b", normally up");
    }
    if pid != 0 && rec.paused != 0 {
        out.extend_from_slice(b", paused");
    }
    if pid == 0 && rec.want == b'u' {
        out.extend_from_slice(b", want up");
    }
    if pid != 0 && rec.want == b'd' {
        out.extend_from_slice(b", want down");
    }
    if pid != 0 && rec.term != 0 {
        out.extend_from_slice(b", got TERM");
    }
    if pid != 0 {
        1
    } else {
        2
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use unix::tai64n::EPOCH_LABEL;

    const NOW: u64 = EPOCH_LABEL + 1_795_286_400;

    fn rec(age: u64, pid: u32, paused: u8, want: u8, term: u8, state: u8) -> Status {
        let mut b = [0u8; 20];
        b[..8].copy_from_slice(&(NOW - age).to_be_bytes());
        b[12..16].copy_from_slice(&pid.to_le_bytes());
        b[16] = paused;
        b[17] = want;
        b[18] = term;
        b[19] = state;
        Status::from_record(&b)
    }

    fn text(r: &Status, name: &str, up: bool) -> String {
        let mut v = Vec::new();
        status_text(&mut v, r, name.as_bytes(), up, NOW);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn every_variant_of_the_spec() {
        assert_eq!(text(&rec(1, 17277, 0, b'u', 0, 1), "/x/svc", true), "run: /x/svc: (pid 17277) 1s");
        assert_eq!(text(&rec(0, 0, 0, b'd', 0, 0), "/x/svc", true), "down: /x/svc: 0s, normally up");
        assert_eq!(text(&rec(0, 17386, 0, b'd', 0, 1), "/x/svc", true), "run: /x/svc: (pid 17386) 0s, want down");
        assert_eq!(
            text(&rec(1, 17386, 1, b'd', 0, 1), "/x/svc", true),
            "run: /x/svc: (pid 17386) 1s, paused, want down"
        );
        assert_eq!(
            text(&rec(3, 17419, 0, b'd', 1, 1), "/x/svc", true),
            "run: /x/svc: (pid 17419) 3s, want down, got TERM"
        );
        assert_eq!(text(&rec(0, 0, 0, b'u', 0, 0), "./f/svc", true), "down: ./f/svc: 0s, normally up, want up");
        assert_eq!(text(&rec(0, 18128, 0, b'u', 0, 2), "./c/svc", true), "finish: ./c/svc: (pid 18128) 0s");
        assert_eq!(text(&rec(2, 27725, 0, b'd', 0, 2), "./k/svc", true), "finish: ./k/svc: (pid 27725) 2s, want down");
        assert_eq!(
            text(&rec(4, 19324, 0, b'u', 0, 1), "./g/svc", false),
            "run: ./g/svc: (pid 19324) 4s, normally down"
        );
        assert_eq!(text(&rec(4, 0, 0, b'd', 0, 0), "log", true), "down: log: 4s, normally up");
        assert_eq!(text(&rec(4, 0, 0, b'd', 0, 0), "log", false), "down: log: 4s");
        assert_eq!(
            text(&rec(9, 5, 1, b'd', 1, 1), "s", false),
            "run: s: (pid 5) 9s, normally down, paused, want down, got TERM"
        );
    }

    #[test]
    fn a_future_stamp_counts_as_zero_seconds() {
        let mut r = rec(0, 0, 0, b'd', 0, 0);
        r.stamp.secs = NOW + 50;
        assert_eq!(text(&r, "a", false), "down: a: 0s");
    }

    #[test]
    fn degenerate_records_print_as_runit_does() {
        // Unknown state byte: no state word, but a pid part.
        assert_eq!(text(&rec(1, 7, 0, b'u', 0, 9), "a", true), "a: (pid 7) 1s");
        // State down with a pid: no pid part, but pid-dependent suffixes.
        assert_eq!(text(&rec(1, 7, 1, b'd', 1, 0), "a", true), "down: a: 1s, paused, want down, got TERM");
        // A pid with the top bit set is sign-extended.
        assert_eq!(text(&rec(1, u32::MAX, 0, b'u', 0, 1), "a", true), "run: a: (pid 18446744073709551615) 1s");
        // Finish with no pid.
        assert_eq!(text(&rec(1, 0, 0, b'x', 0, 2), "a", true), "finish: a: (pid 0) 1s, normally up");
    }

    #[test]
    fn the_return_value_says_whether_there_is_a_pid() {
        let mut v = Vec::new();
        assert_eq!(status_text(&mut v, &rec(0, 3, 0, b'u', 0, 1), b"a", true, NOW), 1);
        assert_eq!(status_text(&mut v, &rec(0, 0, 0, b'u', 0, 0), b"a", true, NOW), 2);
    }
}
