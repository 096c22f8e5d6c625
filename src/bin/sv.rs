fn main() {
    runit_sv::main()
}
