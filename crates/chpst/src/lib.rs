//! `chpst`: not implemented yet.

/// Entry point of the `chpst` program.
pub fn main() -> ! {
    unix::msg::line(&[b"chpst: fatal: not implemented yet"]);
    std::process::exit(111)
}
