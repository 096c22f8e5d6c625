//! `runit`: not implemented yet.

/// Entry point of the `runit` program.
pub fn main() -> ! {
    unix::msg::line(&[b"runit: fatal: not implemented yet"]);
    std::process::exit(111)
}
