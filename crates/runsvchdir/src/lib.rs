//! `runsvchdir`: not implemented yet.

/// Entry point of the `runsvchdir` program.
pub fn main() -> ! {
    unix::msg::line(&[b"runsvchdir: fatal: not implemented yet"]);
    std::process::exit(111)
}
