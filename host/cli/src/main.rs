fn main() -> std::process::ExitCode {
    vitals::cli::main()
}
