//! `sv`: not implemented yet.

/// Entry point of the `sv` program.
pub fn main() -> ! {
    unix::msg::line(&[b"sv: fatal: not implemented yet"]);
    std::process::exit(111)
}
