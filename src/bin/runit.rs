fn main() {
    runit_runit::main()
}
