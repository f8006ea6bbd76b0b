use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = brainseg_trainer::cli::Cli::parse();
    match brainseg_trainer::cli::run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
