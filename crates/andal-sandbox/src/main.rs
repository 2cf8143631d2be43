//! `andal-sandbox`: run the local identity-check service (not a production registry).

use std::process::ExitCode;

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "andal-sandbox",
    version,
    about = "Local identity-check service with a synthetic registry and switchable faults (not a production registry)"
)]
struct Cli {
    #[command(flatten)]
    sandbox: andal_sandbox::SandboxArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match andal_sandbox::run(cli.sandbox) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("andal-sandbox: {e}");
            ExitCode::FAILURE
        }
    }
}
