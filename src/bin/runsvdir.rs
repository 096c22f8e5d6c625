fn main() {
    runit_runsvdir::main()
}
