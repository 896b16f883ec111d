//! Starting the server: open state, load keys and caches, follow changes, serve until SIGTERM.

use std::net::SocketAddr;
use std::sync::Arc;

use leptos::prelude::LeptosOptions;
use portcullis_core::keys::SigningAlgorithm;
use portcullis_core::store::{ApiKeyStore, ChangeFeed};
use portcullis_store::GroupCommit;

use crate::auth_failures::AuthFailureCounter;
use crate::bootstrap;
use crate::config::ServerConfig;
use crate::http::{router, AppState, Throttles};
use crate::introspection_cache::IntrospectionCache;
use crate::live::{follow_changes, Live};
use crate::rate_limiter::RateLimiter;
use crate::signer::Signer;
use crate::throttle::FailureThrottle;
use crate::usage::{flush_periodically, UsageRecorder};

/// Builds the application state: storage, master key, signing key (generated on first start),
/// live caches and the background tasks that keep them current.
pub async fn build_state(config: ServerConfig) -> anyhow::Result<AppState> {
    let opened = bootstrap::open(&config.storage).await?;
    let store = opened.store;
    // The access-token key, and RS256, which OpenID Connect Discovery §3 requires every
    // provider to offer for ID tokens.
    for alg in [config.signing_alg, SigningAlgorithm::RS256] {
        bootstrap::ensure_signing_key(
            &store,
            &opened.master_key,
            alg,
            config.storage.max_access_token_lifetime,
        )
        .await?;
    }

    // Read the feed position before loading, so nothing changed in between is missed.
    let last_change = store.latest_change_id().await?;
    let live = Arc::new(Live::load(&store, &opened.master_key, config.signing_alg).await?);
    let introspection = Arc::new(IntrospectionCache::default());
    let hasher = opened.master_key.secret_hasher();
    let master_key = Arc::new(opened.master_key);
    let wake = Arc::new(tokio::sync::Notify::new());
    if store.backend() == portcullis_store::Backend::Postgres {
        let url = config.storage.database_url.clone();
        tokio::spawn(portcullis_store::listen_for_changes(url, wake.clone()));
    }
    tokio::spawn(follow_changes(
        live.clone(),
        store.clone(),
        master_key.clone(),
        introspection.clone(),
        last_change,
        wake,
    ));

    let leptos_options = LeptosOptions::builder()
        .output_name("portcullis")
        .site_root(config.site_root.to_string_lossy().as_ref())
        .site_pkg_dir("pkg")
        .site_addr(config.listen)
        .build();

    let minute = std::time::Duration::from_secs(60);
    let throttles = Arc::new(Throttles {
        client_auth: FailureThrottle::new(config.client_auth_failure_limit, minute),
        introspection_scans: FailureThrottle::new(config.introspection_inactive_limit, minute),
        api_key_guesses: FailureThrottle::new(config.api_key_guess_limit, minute),
    });
    let rate_limiter = match &config.redis {
        Some(redis) => RateLimiter::redis(&redis.url, &redis.prefix).await.map_err(|e| {
            anyhow::anyhow!("{e}: check PORTCULLIS_REDIS_URL, or unset it for one instance")
        })?,
        None => {
            let limiter = RateLimiter::in_process();
            limiter.restore(store.load_rate_state().await?);
            limiter
        }
    };
    let usage = Arc::new(UsageRecorder::default());
    tokio::spawn(flush_periodically(usage.clone(), store.clone(), config.usage_flush_interval));
    let auth_failures = Arc::new(AuthFailureCounter::default());
    tokio::spawn(flush_auth_failures(
        auth_failures.clone(),
        store.clone(),
        config.usage_flush_interval,
    ));

    Ok(AppState {
        metrics: Arc::default(),
        tokens: GroupCommit::start(store.clone()),
        signer: Signer::start()?,
        throttles,
        rate_limiter: Arc::new(rate_limiter),
        usage,
        auth_failures,
        store,
        live,
        hasher,
        master_key,
        introspection,
        leptos_options,
        config: Arc::new(config),
    })
}

/// Serves until SIGTERM or Ctrl-C, then finishes in-flight requests.
pub async fn serve(config: ServerConfig) -> anyhow::Result<()> {
    let listen = config.listen;
    let issuer = config.issuer.clone();
    let state = build_state(config).await?;
    tokio::spawn(crate::jobs::run_jobs(state.clone()));
    let state_for_metrics = state.clone();
    match state.config.metrics_listen {
        Some(address) => {
            let listener = tokio::net::TcpListener::bind(address).await.map_err(|e| {
                anyhow::anyhow!(
                    "cannot serve metrics on {address}: {e}; choose another address with \
                     PORTCULLIS_METRICS_LISTEN, or set it to off"
                )
            })?;
            tracing::info!(%address, "metrics at /metrics");
            tokio::spawn(async move {
                if let Err(err) =
                    axum::serve(listener, crate::metrics::router(state_for_metrics)).await
                {
                    tracing::error!(error = %err, "the metrics listener stopped");
                }
            });
        }
        None => tracing::info!("metrics are off (PORTCULLIS_METRICS_LISTEN=off)"),
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e} (set PORTCULLIS_LISTEN)"))?;
    tracing::info!(%listen, %issuer, "portcullis is serving");

    // On SIGTERM the listener closes at once; in-flight requests get the grace period, then
    // the process stops waiting for them. Counters are flushed either way.
    let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = axum::serve(
        listener,
        router(state.clone()).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown_signal().await;
        tracing::info!("stopping: no new connections, finishing in-flight requests");
        let _ = stopping.send(());
    });
    let grace = state.config.shutdown_grace;
    tokio::select! {
        served = serving => served?,
        () = async move {
            if stopped.await.is_ok() {
                tokio::time::sleep(grace).await;
            } else {
                std::future::pending::<()>().await;
            }
        } => {
            tracing::warn!(grace_seconds = grace.as_secs(), "grace period over; stopping anyway");
        }
    }
    persist_before_exit(&state).await;
    state.store.close().await;
    tracing::info!("portcullis stopped");
    Ok(())
}

/// What a stopping server writes once in-flight requests are done: the usage counters gathered
/// since the last flush, and the in-process rate-limit state, so a restart does not hand every
/// key a fresh burst.
pub async fn persist_before_exit(state: &AppState) {
    if let Err(err) = state.usage.flush(&state.store).await {
        tracing::error!(error = %err, "could not flush API-key usage at shutdown");
    }
    if let Err(err) = state.auth_failures.flush(&state.store).await {
        tracing::error!(error = %err, "could not flush failed-authentication counts at shutdown");
    }
    if let Err(err) = state.store.save_rate_state(&state.rate_limiter.snapshot()).await {
        tracing::error!(error = %err, "could not save the rate-limit state at shutdown");
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// Writes the failed-authentication counts every `interval` until the process ends.
async fn flush_auth_failures(
    counter: Arc<AuthFailureCounter>,
    store: portcullis_store::SqlStore,
    interval: std::time::Duration,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        if let Err(err) = counter.flush(&store).await {
            tracing::warn!(error = %err, "could not write failed-authentication counts; keeping them");
        }
    }
}
