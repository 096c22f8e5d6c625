//! `runsv`: not implemented yet.

/// Entry point of the `runsv` program.
pub fn main() -> ! {
    unix::msg::line(&[b"runsv: fatal: not implemented yet"]);
    std::process::exit(111)
}
