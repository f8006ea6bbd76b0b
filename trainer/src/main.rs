// Tensors of tens of MB are allocated and freed every step; glibc hands them back to the
// kernel and takes fresh zeroed pages each time (a quarter of training time in a profile).
// mimalloc keeps and reuses them (with purging off: `brainseg_trainer::alloc`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;

fn main() -> std::process::ExitCode {
    brainseg_trainer::alloc::keep_freed_memory();
    let cli = brainseg_trainer::cli::Cli::parse();
    match brainseg_trainer::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
