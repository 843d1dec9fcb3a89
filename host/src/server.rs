//! Running the HTTP server with graceful shutdown.

use anyhow::Context as _;
use tokio::net::TcpListener;

use crate::{AppState, Config, Db};

/// Opens the database (applying migrations) and builds the state.
pub async fn open(config: Config) -> anyhow::Result<AppState> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    let db = Db::connect(&config.db_options()).await?;
    crate::tenancy::service::install_missing_defaults(&db).await.context("installing the tenants' missing defaults")?;
    let state = AppState::new(db, config)?;
    crate::plugins::service::register_builtins(&state, crate::plugins::builtin::BUILTINS, None).await?;
    Ok(state)
}

/// Serves until Ctrl-C or SIGTERM, then finishes in-flight requests and closes the pool.
pub async fn serve(state: AppState, listener: TcpListener) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    tracing::info!(%addr, engine = ?state.db.engine(), "listening; API docs at http://{addr}/api/v1/docs");
    let db = state.db.clone();
    // Background jobs (the 1C sync and the rest) run beside the API until shutdown; at
    // shutdown running jobs go back to the queue for another instance to resume, and a
    // job whose process died is resumed once its lease runs out.
    let stop_jobs = tokio_util::sync::CancellationToken::new();
    let jobs = crate::jobs::runner::spawn(state.clone(), state.config.runner_options(), stop_jobs.clone());
    axum::serve(listener, crate::app(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving HTTP")?;
    tracing::info!("shutting down");
    stop_jobs.cancel();
    let _ = jobs.await;
    db.close().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
