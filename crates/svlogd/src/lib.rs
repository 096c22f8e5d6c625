//! `svlogd`: not implemented yet.

/// Entry point of the `svlogd` program.
pub fn main() -> ! {
    unix::msg::line(&[b"svlogd: fatal: not implemented yet"]);
    std::process::exit(111)
}
