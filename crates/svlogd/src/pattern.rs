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

/// Whether `pattern` matches `text` under runit's rules.
pub fn matches(pattern: &[u8], text: &[u8]) -> bool {
    let mut p = 0;
    let mut s = 0;
    loop {
        let Some(&c) = pattern.get(p) else {
            return s == text.len();
        };
        p += 1;
        match c {
            b'*' => {
                // The byte after the star is not consumed here: the next round
                // matches it (or treats it as an operator) as usual.
                let Some(&stop) = pattern.get(p) else {
                    return true;
                };
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
                let Some(&rep) = pattern.get(p) else {
                    return false;
                };
                p += 1;
                if s == text.len() || text[s] != rep {
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

#[cfg(test)]
mod tests {
    use super::matches;

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
        assert!(!matches(b"x+", b"x"));
    }
}
