//! `crm`: the server (`crm serve`, the default) and its admin commands (`crm admin …`).

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = crm_host::cli::Cli::parse();
    match crm_host::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
