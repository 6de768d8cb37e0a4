//! The `vitals` binary as the end-to-end tests run it. Built by `cargo test` with
//! the tests' own dependency features (tests find it through
//! `CARGO_BIN_EXE_vitals-under-test`), so that testing does not rebuild the host's
//! dependencies with the feature set of `cargo build -p vitals` and back.
fn main() -> std::process::ExitCode {
    vitals::cli::main()
}
