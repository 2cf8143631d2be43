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
    // `andal-sandbox --sample N | head` must end quietly, not panic on a closed pipe.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    match andal_sandbox::run(cli.sandbox) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("andal-sandbox: {e}");
            ExitCode::FAILURE
        }
    }
}
