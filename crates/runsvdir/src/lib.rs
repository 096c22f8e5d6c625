//! `runsvdir`: not implemented yet.

/// Entry point of the `runsvdir` program.
pub fn main() -> ! {
    unix::msg::line(&[b"runsvdir: fatal: not implemented yet"]);
    std::process::exit(111)
}
