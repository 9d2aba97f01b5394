//! The `domain-os` binary: everything lives in the library; see `cli`.

fn main() -> std::process::ExitCode {
    domain_os::cli::main()
}
