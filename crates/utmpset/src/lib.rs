//! `utmpset`: not implemented yet.

/// Entry point of the `utmpset` program.
pub fn main() -> ! {
    unix::msg::line(&[b"utmpset: fatal: not implemented yet"]);
    std::process::exit(111)
}
