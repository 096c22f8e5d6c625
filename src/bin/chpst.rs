//! chpst starts through C's `main`, not Rust's: its start-up time counts
//! (it runs before every service), and Rust's runtime set-up before `main`
//! (stack guard from /proc/self/maps, sigaltstack, SIGSEGV/SIGBUS
//! handlers, SIGPIPE ignored) buys chpst nothing; `runit_chpst::main`
//! does the one part it needs (standard descriptors kept open).
#![no_main]

#[no_mangle]
extern "C" fn main(_argc: std::ffi::c_int, _argv: *const *const std::ffi::c_char) -> std::ffi::c_int {
    runit_chpst::main()
}
