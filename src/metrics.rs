//! Prometheus metrics, in the text exposition format, served on their own listen address
//! (`PORTCULLIS_METRICS_LISTEN`) so they never share a port with the public endpoints.
//!
//! Counters live in memory per instance (Prometheus sums instances itself): requests by route
//! template and status with a latency histogram, tokens issued by grant type and client, failed
//! client authentications by reason, 429 answers by limiter, API-key verifications by outcome,
//! job runs, and spent codes and refresh tokens presented again. The database pools are read at
//! scrape time. Labels are route templates and ids, never a raw path, token or secret.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::http::AppState;

/// Latency bucket bounds, in seconds: from a cached introspection to a slow code exchange.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

#[derive(Default)]
struct Histogram {
    /// Observations at or below each bound (cumulative, as Prometheus wants them).
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        for (bound, bucket) in BUCKETS.iter().zip(self.buckets.iter_mut()) {
            if seconds <= *bound {
                *bucket += 1;
            }
        }
        self.count += 1;
        self.sum += seconds;
    }
}

/// Every counter of one instance.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    tokens_issued: Mutex<BTreeMap<(String, String), u64>>,
    client_auth_failures: Mutex<BTreeMap<String, u64>>,
    rate_limited: Mutex<BTreeMap<String, u64>>,
    key_verifications: Mutex<BTreeMap<String, u64>>,
    job_runs: Mutex<BTreeMap<(String, String), u64>>,
    second_uses: Mutex<BTreeMap<(String, String), u64>>,
}

fn bump<K: Ord>(map: &Mutex<BTreeMap<K, u64>>, key: K) {
    if let Ok(mut map) = map.lock() {
        *map.entry(key).or_default() += 1;
    }
}

impl Metrics {
    pub fn request(&self, route: &str, status: u16, elapsed: Duration) {
        bump(&self.requests, (route.to_owned(), status));
        if let Ok(mut latency) = self.latency.lock() {
            latency.entry(route.to_owned()).or_default().observe(elapsed.as_secs_f64());
        }
    }

    pub fn token_issued(&self, grant_type: &str, client_id: &str) {
        bump(&self.tokens_issued, (grant_type.to_owned(), client_id.to_owned()));
    }

    pub fn client_auth_failure(&self, reason: &str) {
        bump(&self.client_auth_failures, reason.to_owned());
    }

    /// A 429 answer on `route` (client-auth and introspection throttles, API-key guessing).
    pub fn rate_limited(&self, route: &str) {
        bump(&self.rate_limited, route.to_owned());
    }

    pub fn key_verification(&self, outcome: &str) {
        bump(&self.key_verifications, outcome.to_owned());
    }

    pub fn job_run(&self, job: &str, outcome: &str) {
        bump(&self.job_runs, (job.to_owned(), outcome.to_owned()));
    }

    /// A spent code or refresh token presented again: `duplicate` (refused, nothing revoked)
    /// or `replay` (its grant revoked).
    pub fn second_use(&self, grant_type: &str, outcome: &str) {
        bump(&self.second_uses, (grant_type.to_owned(), outcome.to_owned()));
    }

    /// The text exposition of every metric, with the pools read now.
    pub fn render(&self, pools: &[(&str, u32, usize)]) -> String {
        let mut out = String::new();
        let counter = |out: &mut String, name: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        };

        counter(
            &mut out,
            "portcullis_http_requests_total",
            "Requests by route template and status.",
        );
        for ((route, status), n) in locked(&self.requests).iter() {
            let _ = writeln!(
                out,
                "portcullis_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                escape(route)
            );
        }

        let name = "portcullis_http_request_duration_seconds";
        let _ = writeln!(out, "# HELP {name} Request latency by route template.");
        let _ = writeln!(out, "# TYPE {name} histogram");
        for (route, histogram) in locked(&self.latency).iter() {
            let route = escape(route);
            for (bound, n) in BUCKETS.iter().zip(histogram.buckets.iter()) {
                let _ = writeln!(out, "{name}_bucket{{route=\"{route}\",le=\"{bound}\"}} {n}");
            }
            let count = histogram.count;
            let _ = writeln!(out, "{name}_bucket{{route=\"{route}\",le=\"+Inf\"}} {count}");
            let _ = writeln!(out, "{name}_sum{{route=\"{route}\"}} {}", histogram.sum);
            let _ = writeln!(out, "{name}_count{{route=\"{route}\"}} {count}");
        }

        counter(
            &mut out,
            "portcullis_tokens_issued_total",
            "Access tokens by grant type and client.",
        );
        for ((grant, client), n) in locked(&self.tokens_issued).iter() {
            let _ = writeln!(
                out,
                "portcullis_tokens_issued_total{{grant_type=\"{}\",client_id=\"{}\"}} {n}",
                escape(grant),
                escape(client)
            );
        }
        let labelled = [
            (
                "portcullis_client_auth_failures_total",
                "Failed client authentications by reason.",
                "reason",
                &self.client_auth_failures,
            ),
            (
                "portcullis_rate_limited_total",
                "Answers refused with 429, by route template.",
                "route",
                &self.rate_limited,
            ),
            (
                "portcullis_api_key_verifications_total",
                "API-key verifications by outcome.",
                "outcome",
                &self.key_verifications,
            ),
        ];
        for (name, help, label, map) in labelled {
            counter(&mut out, name, help);
            for (value, n) in locked(map).iter() {
                let _ = writeln!(out, "{name}{{{label}=\"{}\"}} {n}", escape(value));
            }
        }
        let paired = [
            (
                "portcullis_job_runs_total",
                "Background job runs on this instance.",
                ("job", "outcome"),
                &self.job_runs,
            ),
            (
                "portcullis_spent_grant_presented_total",
                "Spent codes and refresh tokens presented again: duplicate or replay.",
                ("grant_type", "outcome"),
                &self.second_uses,
            ),
        ];
        for (name, help, (first, second), map) in paired {
            counter(&mut out, name, help);
            for ((a, b), n) in locked(map).iter() {
                let (a, b) = (escape(a), escape(b));
                let _ = writeln!(out, "{name}{{{first}=\"{a}\",{second}=\"{b}\"}} {n}");
            }
        }

        for (name, help) in [
            ("portcullis_db_pool_connections", "Open database connections by pool."),
            ("portcullis_db_pool_idle", "Idle database connections by pool."),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
            for (pool, size, idle) in pools {
                let value = if name.ends_with("idle") { *idle as u64 } else { u64::from(*size) };
                let _ = writeln!(out, "{name}{{pool=\"{pool}\"}} {value}");
            }
        }
        out
    }
}

/// A map's contents, or nothing if a panic poisoned its lock (metrics never take a request
/// down).
fn locked<T: Default + Clone>(map: &Mutex<T>) -> T {
    map.lock().map(|m| m.clone()).unwrap_or_default()
}

impl Clone for Histogram {
    fn clone(&self) -> Self {
        Self { buckets: self.buckets, count: self.count, sum: self.sum }
    }
}

/// A label value with `\`, `"` and newlines escaped, as the exposition format requires.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Counts every request by its route template and status, and times it.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    state.metrics.request(&route, response.status().as_u16(), started.elapsed());
    if response.status() == axum::http::StatusCode::TOO_MANY_REQUESTS {
        state.metrics.rate_limited(&route);
    }
    response
}

/// `GET /metrics` on the metrics listener.
pub async fn scrape(State(state): State<AppState>) -> Response {
    let text = state.metrics.render(&state.store.pool_stats());
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

/// The metrics listener's router: `/metrics` only.
pub fn router(state: AppState) -> axum::Router {
    axum::Router::new().route("/metrics", axum::routing::get(scrape)).with_state(state)
}
