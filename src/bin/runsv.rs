fn main() {
    runit_runsv::main()
}
