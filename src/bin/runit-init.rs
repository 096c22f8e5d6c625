fn main() {
    runit_runit_init::main()
}
