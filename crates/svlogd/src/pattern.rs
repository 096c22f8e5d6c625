//! svlogd's line patterns (`+`, `-`, `e`, `E` config lines).
//!
//! A pattern must account for the whole text it is matched against. Besides
//! literal bytes it knows two operators, and neither ever backtracks:
//!
//! - `*` at the end matches the rest; `*c` skips input up to (not including)
//!   the first `c`, and fails when there is none;
//! - `+c` needs at least one `c` here and swallows all of them; if the input
//!   ends while swallowing, the pattern matches whatever follows (runit's
//!   behaviour, kept on purpose).
//!
//! One more runit detail is kept so that the same config selects the same
//! lines: when `+c` meets the end of the text, runit compares `c` with the
//! byte just past the text in its line buffer, which still holds that byte
//! of an earlier, longer line. The caller passes it as `stale` (0 if none).

/// Whether the pattern starting at `insts[at]` matches `text` under runit's
/// rules. `insts` is the directory's pattern storage (see
/// [`crate::config::Config::insts`]): a pattern ends at a NUL, but a `+` just
/// before that NUL reads on into the next line's bytes, exactly as runit's
/// matcher does. Past the storage the pattern reads as NUL. `stale` is the
/// byte after `text` in runit's line buffer.
pub fn matches_at(insts: &[u8], at: usize, text: &[u8], stale: u8) -> bool {
    let pat = |k: usize| insts.get(k).copied().unwrap_or(0);
    let mut p = at;
    let mut s = 0;
    loop {
        let c = pat(p);
        p += 1;
        if c == 0 {
            return s == text.len();
        }
        match c {
            b'*' => {
                // The byte after the star is not consumed here: the next round
                // matches it (or treats it as an operator) as usual.
                let stop = pat(p);
                if stop == 0 {
                    return true;
                }
                loop {
                    if s == text.len() {
                        return false;
                    }
                    if text[s] == stop {
                        break;
                    }
                    s += 1;
                }
            }
            b'+' => {
                let rep = pat(p);
                p += 1;
                let next = if s == text.len() { stale } else { text[s] };
                if next != rep {
                    return false;
                }
                loop {
                    if s == text.len() {
                        return true;
                    }
                    if text[s] != rep {
                        break;
                    }
                    s += 1;
                }
            }
            _ => {
                if s == text.len() || text[s] != c {
                    return false;
                }
                s += 1;
            }
        }
    }
}

/// [`matches_at`] for a single pattern.
pub fn matches(pattern: &[u8], text: &[u8], stale: u8) -> bool {
    let mut buf = pattern.to_vec();
    buf.push(0);
    matches_at(&buf, 0, text, stale)
}

#[cfg(test)]
mod tests {
    fn matches(p: &[u8], t: &[u8]) -> bool {
        super::matches(p, t, 0)
    }

    #[test]
    fn literal_patterns_must_cover_the_whole_line() {
        assert!(matches(b"abc", b"abc"));
        assert!(!matches(b"abc", b"abcd"));
        assert!(!matches(b"abcd", b"abc"));
        assert!(matches(b"", b""));
        assert!(!matches(b"", b"x"));
    }

    #[test]
    fn star_skips_to_the_first_occurrence_without_backtracking() {
        assert!(matches(b"*", b"anything"));
        assert!(matches(b"*warn*", b"daemon: warn: disk"));
        // The star stops at the first `w` (in "swap"), then `a` != `r`... no
        // second chance at the later "warn".
        assert!(!matches(b"*warn*", b"swap: warn: x"));
        assert!(!matches(b"*x", b"abc"));
        assert!(matches(b"a*c", b"abbbc"));
        assert!(!matches(b"a*c", b"abcbc"));
    }

    #[test]
    fn plus_needs_one_or_more_and_takes_them_all() {
        assert!(matches(b"plus: +ab", b"plus: aaab"));
        assert!(matches(b"plus: +ab", b"plus: ab"));
        assert!(!matches(b"plus: +ab", b"plus: b"));
        // Input ending inside the run matches whatever the pattern still has.
        assert!(matches(b"+ab", b"aaa"));
        assert!(!super::matches(b"x+", b"x", b'q'));
    }

    #[test]
    fn plus_at_the_end_of_the_text_sees_the_stale_byte() {
        assert!(!super::matches(b"+ab", b"", 0));
        assert!(super::matches(b"+ab", b"", b'a'));
        assert!(super::matches(b"x+ab", b"x", b'a'));
    }

    #[test]
    fn a_plus_before_the_end_reads_on_into_the_next_pattern_line() {
        // "a+" then NUL: the run is of NUL bytes; a text of "a" ends there
        // (stale byte 0), which runit takes as a match.
        assert!(super::matches_at(b"a+\0-x\0", 0, b"a", 0));
        assert!(!super::matches_at(b"a+\0-x\0", 0, b"a", b'q'));
    }
}
