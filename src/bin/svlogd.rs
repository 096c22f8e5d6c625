fn main() {
    runit_svlogd::main()
}
