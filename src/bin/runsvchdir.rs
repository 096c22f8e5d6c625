fn main() {
    runit_runsvchdir::main()
}
