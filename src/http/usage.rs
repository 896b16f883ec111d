//! Usage reports shared by the admin and developer portals: the period a request names, the
//! numbers for one client (or all), one key's verifications, and their CSV downloads. Who may
//! see which client is the caller's check; these functions only count.

use axum::http::StatusCode;
use axum::response::Response;
use portcullis_app::charts::{DayCounts, KeyUsageReport, UsageReport, REVOCATIONS, UNIQUE_USERS};
use portcullis_core::api_key::{day_of, format_day, parse_day, ApiKey};
use portcullis_core::store::ApiKeyStore;
use serde::Deserialize;

use super::interaction::{message, unavailable};
use super::AppState;
use crate::clock::unix_now;
use crate::service::MAX_USAGE_DAYS;

/// The period, client and CSV series a usage request names.
#[derive(Deserialize, Default)]
pub struct UsageQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    /// Empty: every client (admins only; the developer portal names its own client).
    #[serde(default)]
    pub client_id: String,
    /// Which table a CSV download holds: `tokens`, `activity`, `scopes` or `auth_failures`.
    pub series: Option<String>,
}

impl UsageQuery {
    pub fn client(&self) -> Option<&str> {
        Some(self.client_id.trim()).filter(|c| !c.is_empty())
    }
}

/// A range of whole UTC days, both ends included.
#[derive(Debug, Clone, Copy)]
pub struct Period {
    pub from_day: i64,
    pub to_day: i64,
}

impl Period {
    fn days(self) -> impl Iterator<Item = i64> {
        self.from_day..=self.to_day
    }
}

/// The period a request names; by default the 30 days up to today (a report's display
/// default, not a protocol setting). A bad period is a 400 page saying what is wrong.
// The error is the page the handler sends as it is; boxing it would only be undone there.
#[allow(clippy::result_large_err)]
pub fn period_of(query: &UsageQuery) -> Result<Period, Response> {
    parse_period(query)
        .map_err(|problem| message(StatusCode::BAD_REQUEST, "Invalid period", problem))
}

fn parse_period(query: &UsageQuery) -> Result<Period, &'static str> {
    let parse = |text: &Option<String>, default: i64| match text.as_deref().map(str::trim) {
        None | Some("") => Ok(default),
        Some(day) => parse_day(day).ok_or("Dates are YYYY-MM-DD."),
    };
    let to_day = parse(&query.to, day_of(unix_now()))?;
    let from_day = parse(&query.from, to_day - 29)?;
    if from_day > to_day || to_day - from_day >= MAX_USAGE_DAYS {
        return Err("The period must run forwards and cover at most 366 days.");
    }
    Ok(Period { from_day, to_day })
}

fn storage_failed(err: impl std::fmt::Display) -> Response {
    tracing::error!(error = %err, "usage query failed");
    unavailable()
}

/// Tokens per day by grant type, users and revocations per day, scope usage and failed client
/// authentications, for one client or (`None`) every client.
pub async fn client_report(
    state: &AppState,
    period: Period,
    client_id: Option<&str>,
) -> Result<UsageReport, Response> {
    let Period { from_day, to_day } = period;
    let store = &state.store;
    let issued = store.tokens_per_day(from_day, to_day, client_id).await.map_err(storage_failed)?;
    let activity =
        store.token_activity(from_day, to_day, client_id).await.map_err(storage_failed)?;
    let auth_failures =
        store.auth_failures_between(from_day, to_day, client_id).await.map_err(storage_failed)?;

    let mut series: Vec<String> = issued.iter().map(|(_, grant, _)| grant.clone()).collect();
    series.sort();
    series.dedup();
    let days = period
        .days()
        .map(|day| DayCounts {
            day: format_day(day),
            counts: issued
                .iter()
                .filter(|(d, _, _)| *d == day)
                .map(|(_, grant, count)| (grant.clone(), *count))
                .collect(),
        })
        .collect();

    let on =
        |list: &[(i64, u64)], day: i64| list.iter().find(|(d, _)| *d == day).map_or(0, |p| p.1);
    let activity_days = period
        .days()
        .map(|day| DayCounts {
            day: format_day(day),
            counts: [
                (UNIQUE_USERS, on(&activity.unique_users, day)),
                (REVOCATIONS, on(&activity.revocations, day)),
            ]
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(name, n)| (name.to_owned(), n))
            .collect(),
        })
        .collect();

    Ok(UsageReport {
        from: format_day(from_day),
        to: format_day(to_day),
        series,
        days,
        activity: activity_days,
        scope_usage: activity.scope_usage,
        auth_failures,
    })
}

/// One table of a report as CSV, named by `series`; an unknown name is a 400.
pub fn report_csv(report: &UsageReport, series: Option<&str>) -> Response {
    let mut csv = String::new();
    let filename = match series.unwrap_or("tokens") {
        "tokens" => {
            csv.push_str("day,grant_type,tokens_issued\n");
            for day in &report.days {
                for grant in &report.series {
                    csv.push_str(&format!("{},{grant},{}\n", day.day, day.count(grant)));
                }
            }
            "tokens-per-day.csv"
        }
        "activity" => {
            csv.push_str("day,unique_users,revocations\n");
            for day in &report.activity {
                let (users, revoked) = (day.count(UNIQUE_USERS), day.count(REVOCATIONS));
                csv.push_str(&format!("{},{users},{revoked}\n", day.day));
            }
            "activity-per-day.csv"
        }
        "scopes" => {
            csv.push_str("scope,tokens\n");
            for (scope, n) in &report.scope_usage {
                csv.push_str(&format!("{scope},{n}\n"));
            }
            "scope-usage.csv"
        }
        "auth_failures" => {
            csv.push_str("reason,failures\n");
            for (reason, n) in &report.auth_failures {
                csv.push_str(&format!("{reason},{n}\n"));
            }
            "auth-failures.csv"
        }
        _ => {
            let problem = "series is one of tokens, activity, scopes, auth_failures.";
            return message(StatusCode::BAD_REQUEST, "Unknown series", problem);
        }
    };
    download(csv, "text/csv; charset=utf-8", filename)
}

/// A key's verifications per day by outcome (rate-limit rejections among them) and the
/// addresses it was presented from.
pub async fn key_report(
    state: &AppState,
    key: &ApiKey,
    period: Period,
) -> Result<KeyUsageReport, Response> {
    let usage = state
        .store
        .key_usage(&key.id, period.from_day, period.to_day)
        .await
        .map_err(storage_failed)?;

    let mut series: Vec<String> =
        usage.iter().flat_map(|d| d.outcomes.iter().map(|(o, _)| o.to_string())).collect();
    series.sort();
    series.dedup();
    let days = period
        .days()
        .map(|day| DayCounts {
            day: format_day(day),
            counts: usage
                .iter()
                .filter(|d| d.day == day)
                .flat_map(|d| d.outcomes.iter().map(|(o, n)| (o.to_string(), *n)))
                .collect(),
        })
        .collect();

    let mut by_source: std::collections::BTreeMap<String, u64> = Default::default();
    for (ip, n) in usage.iter().flat_map(|d| d.sources.iter()) {
        *by_source.entry(ip.clone()).or_default() += n;
    }
    let mut sources: Vec<(String, u64)> = by_source.into_iter().collect();
    sources.sort_by_key(|(_, n)| std::cmp::Reverse(*n));

    Ok(KeyUsageReport {
        from: format_day(period.from_day),
        to: format_day(period.to_day),
        series,
        days,
        sources,
    })
}

/// A key report as CSV: one row per day and outcome.
pub fn key_csv(report: &KeyUsageReport) -> Response {
    let mut csv = String::from("day,outcome,verifications\n");
    for day in &report.days {
        for outcome in &report.series {
            csv.push_str(&format!("{},{outcome},{}\n", day.day, day.count(outcome)));
        }
    }
    download(csv, "text/csv; charset=utf-8", "key-verifications.csv")
}

/// A file download that no cache keeps.
pub fn download(body: String, content_type: &'static str, filename: &'static str) -> Response {
    use axum::http::{header, HeaderValue};
    let mut response = axum::response::IntoResponse::into_response(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let disposition = format!("attachment; filename=\"{filename}\"");
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
