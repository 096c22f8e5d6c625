//! `runit-init`: not implemented yet.

/// Entry point of the `runit-init` program.
pub fn main() -> ! {
    unix::msg::line(&[b"runit-init: fatal: not implemented yet"]);
    std::process::exit(111)
}
