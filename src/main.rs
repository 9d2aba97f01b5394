//! The `domain-os` binary: everything lives in the library; see `cli`.
#![forbid(unsafe_code)]

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    domain_os::cli::main()
}
