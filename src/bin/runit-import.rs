fn main() {
    runit_import::main()
}
