fn main() {
    runit_chpst::main()
}
