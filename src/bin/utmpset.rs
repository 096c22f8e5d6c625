fn main() {
    runit_utmpset::main()
}
