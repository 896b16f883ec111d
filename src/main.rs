//! The `portcullis` binary: `serve` runs the server; the other commands administer it.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    if let Err(problem) = portcullis::telemetry::init() {
        eprintln!("error: {problem}");
        return ExitCode::FAILURE;
    }
    let cli = portcullis::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(portcullis::cli::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
