//! Usage charts shared by the admin and developer portals: counts per day drawn as SVG on the
//! server (readable without JavaScript), the tables behind them, and links to their CSV.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// One day of a chart: its counts per series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCounts {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// (series, count), in the chart's series order.
    pub counts: Vec<(String, u64)>,
}

impl DayCounts {
    pub fn count(&self, series: &str) -> u64 {
        self.counts.iter().find(|(name, _)| name == series).map_or(0, |(_, n)| *n)
    }
}

/// A client's (or every client's) usage over a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageReport {
    /// First and last day, `YYYY-MM-DD`.
    pub from: String,
    pub to: String,
    /// The grant types that occur, the token chart's series.
    pub series: Vec<String>,
    /// Tokens issued per day, by grant type (refreshes are the refresh_token series).
    pub days: Vec<DayCounts>,
    /// Per day: distinct users who got a token, tokens revoked.
    pub activity: Vec<DayCounts>,
    /// (scope, tokens that carried it).
    pub scope_usage: Vec<(String, u64)>,
    /// (reason, failed client authentications).
    pub auth_failures: Vec<(String, u64)>,
}

/// The activity chart's series names, as [`UsageReport::activity`] spells them.
pub const UNIQUE_USERS: &str = "unique users";
pub const REVOCATIONS: &str = "revocations";

/// One API key's verifications over a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyUsageReport {
    pub from: String,
    pub to: String,
    /// The outcomes that occur (`valid`, `rate_limited`, …), the chart's series.
    pub series: Vec<String>,
    pub days: Vec<DayCounts>,
    /// (source address, verifications), most first.
    pub sources: Vec<(String, u64)>,
}

/// The series colours, one per grant type in order (readable on white, distinct in greyscale).
const SERIES_COLOURS: [&str; 3] = ["#4338ca", "#0f766e", "#b45309"];

/// Counts per day, stacked by series (grant types, verification outcomes): an SVG drawn on the
/// server, so it reads without JavaScript; the numbers behind it are the table beside it and
/// the CSV download.
#[component]
pub fn DayChart(
    days: Vec<DayCounts>,
    series: Vec<String>,
    /// What the chart shows, for screen readers.
    label: &'static str,
    test_id: &'static str,
) -> impl IntoView {
    let (width, height, left, bottom) = (720.0_f64, 240.0_f64, 48.0_f64, 28.0_f64);
    let plot_width = width - left - 8.0;
    let plot_height = height - bottom - 8.0;
    let max = days
        .iter()
        .map(|d| d.counts.iter().map(|(_, n)| *n).sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let slot = plot_width / days.len().max(1) as f64;
    let bar = (slot * 0.7).max(1.0);
    let y = move |value: u64| 8.0 + plot_height * (1.0 - value as f64 / max as f64);
    let label_every = (days.len() / 8).max(1);

    let bars = days
        .iter()
        .enumerate()
        .map(|(i, day)| {
            let x = left + slot * i as f64 + (slot - bar) / 2.0;
            let mut below = 0u64;
            let segments = series
                .iter()
                .enumerate()
                .filter_map(|(s, name)| {
                    let count = day.counts.iter().find(|(g, _)| g == name).map_or(0, |(_, n)| *n);
                    (count > 0).then(|| {
                        let (top, bottom_edge) = (y(below + count), y(below));
                        below += count;
                        let colour = SERIES_COLOURS[s % SERIES_COLOURS.len()];
                        view! {
                            <rect x=format!("{x:.1}") y=format!("{top:.1}") width=format!("{bar:.1}")
                                height=format!("{:.1}", bottom_edge - top) fill=colour>
                                <title>{format!("{} {name}: {count}", day.day)}</title>
                            </rect>
                        }
                    })
                })
                .collect_view();
            let label = (i % label_every == 0).then(|| view! {
                <text x=format!("{:.1}", x + bar / 2.0) y=format!("{:.1}", height - 10.0)
                    text-anchor="middle" font-size="10" fill="#475569">{day.day[5..].to_owned()}</text>
            });
            view! { <g>{segments}{label}</g> }
        })
        .collect_view();

    view! {
        <figure class="mt-4">
            <svg viewBox=format!("0 0 {width} {height}") role="img" class="w-full max-w-3xl rounded border border-slate-200 bg-white"
                aria-label=label data-testid=test_id>
                <line x1=left y1="8" x2=left y2=format!("{:.1}", 8.0 + plot_height) stroke="#94a3b8"/>
                <line x1=left y1=format!("{:.1}", 8.0 + plot_height) x2=format!("{:.1}", width - 8.0)
                    y2=format!("{:.1}", 8.0 + plot_height) stroke="#94a3b8"/>
                <text x=format!("{:.1}", left - 6.0) y="16" text-anchor="end" font-size="10" fill="#475569">{max}</text>
                <text x=format!("{:.1}", left - 6.0) y=format!("{:.1}", 8.0 + plot_height) text-anchor="end"
                    font-size="10" fill="#475569">"0"</text>
                {bars}
            </svg>
            <figcaption class="mt-2 flex gap-4 text-xs">
                {series.iter().enumerate().map(|(s, name)| view! {
                    <span>
                        // An SVG swatch, not a style attribute: the CSP allows no inline styles.
                        <svg width="10" height="10" class="inline-block" aria-hidden="true">
                            <rect width="10" height="10" fill=SERIES_COLOURS[s % SERIES_COLOURS.len()]/>
                        </svg>
                        {format!(" {name}")}
                    </span>
                }).collect_view()}
            </figcaption>
        </figure>
    }
}

/// A table of counts per day, one column per series; days with no counts are left out when
/// `skip_empty` (a key's table), kept otherwise (the calendar of a report).
#[component]
fn DayTable(
    days: Vec<DayCounts>,
    series: Vec<String>,
    skip_empty: bool,
    test_id: &'static str,
) -> impl IntoView {
    let rows = days.into_iter().filter(move |d| !(skip_empty && d.counts.is_empty()));
    let header = series.clone();
    view! {
        <table class="mt-4 text-left text-sm" data-testid=test_id>
            <thead>
                <tr class="border-b border-slate-300">
                    <th class="py-1 pr-4">"Day"</th>
                    {header.into_iter().map(|name| view! { <th class="pr-4">{name}</th> }).collect_view()}
                </tr>
            </thead>
            <tbody>
                {rows.map(|day| {
                    let cells = series
                        .iter()
                        .map(|name| view! { <td class="pr-4">{day.count(name)}</td> })
                        .collect_view();
                    view! {
                        <tr class="border-b border-slate-200">
                            <td class="py-1 pr-4">{day.day.clone()}</td>
                            {cells}
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

/// A list of (name, count) lines, or "None." when it is empty.
#[component]
fn CountList(items: Vec<(String, u64)>, test_id: &'static str) -> impl IntoView {
    let none = items.is_empty();
    view! {
        {none.then(|| view! { <p class="mt-2 text-sm text-slate-600">"None."</p> })}
        <ul class="mt-2 text-sm" data-testid=test_id>
            {items.into_iter().map(|(name, n)| view! {
                <li><code>{name}</code>{format!(": {n}")}</li>
            }).collect_view()}
        </ul>
    }
}

/// A CSV download link for one series of a report: `csv` is the download path with its
/// query so far (it ends in `?` or carries a parameter already).
fn csv_link(csv: &str, series: &str, report: &UsageReport) -> String {
    let joiner = if csv.ends_with('?') { "" } else { "&" };
    format!("{csv}{joiner}series={series}&from={}&to={}", report.from, report.to)
}

/// Every section of a usage report: the token and activity charts, scope usage, failed client
/// authentications, the table of tokens per day, each with its CSV.
#[component]
pub fn UsageSections(report: UsageReport, csv: String) -> impl IntoView {
    let link = |series: &str| csv_link(&csv, series, &report);
    let (tokens_csv, activity_csv) = (link("tokens"), link("activity"));
    let (scopes_csv, failures_csv) = (link("scopes"), link("auth_failures"));
    let activity_series = vec![UNIQUE_USERS.to_owned(), REVOCATIONS.to_owned()];
    let UsageReport { series, days, activity, scope_usage, auth_failures, .. } = report;
    view! {
        <h2 class="mt-6 font-semibold">"Tokens issued per day, by grant type"</h2>
        <DayChart days=days.clone() series=series.clone()
            label="Tokens issued per day by grant type" test_id="tokens-chart"/>
        <a class="text-sm text-indigo-700 underline" href=tokens_csv data-testid="tokens-csv">
            "CSV"
        </a>
        <h2 class="mt-8 font-semibold">"Unique users and revocations per day"</h2>
        <DayChart days=activity series=activity_series
            label="Unique users and revocations per day" test_id="activity-chart"/>
        <a class="text-sm text-indigo-700 underline" href=activity_csv>"CSV"</a>
        <h2 class="mt-8 font-semibold">"Scope usage (tokens carrying each scope)"</h2>
        <CountList items=scope_usage test_id="scope-usage"/>
        <a class="text-sm text-indigo-700 underline" href=scopes_csv>"CSV"</a>
        <h2 class="mt-8 font-semibold">"Failed client authentications by reason"</h2>
        <CountList items=auth_failures test_id="auth-failures"/>
        <a class="text-sm text-indigo-700 underline" href=failures_csv>"CSV"</a>
        <h2 class="mt-8 font-semibold">"Tokens per day"</h2>
        <DayTable days series skip_empty=false test_id="tokens-table"/>
    }
}

/// A key's verifications by outcome over a chosen period: a period form (`here` is the page's
/// path), the chart, its table and CSV, and the addresses the key came from.
#[component]
pub fn KeyUsageSections(usage: KeyUsageReport, here: String, csv: String) -> impl IntoView {
    let csv = format!("{csv}?from={}&to={}", usage.from, usage.to);
    let KeyUsageReport { from, to, series, days, sources } = usage;
    view! {
        <form method="get" action=here class="mt-4 flex flex-wrap items-end gap-3 text-sm">
            <label>"From"
                <input name="from" type="date" value=from.clone()
                    class="ml-1 rounded border border-slate-300 px-2 py-1"/>
            </label>
            <label>"To"
                <input name="to" type="date" value=to.clone()
                    class="ml-1 rounded border border-slate-300 px-2 py-1"/>
            </label>
            <button type="submit" class="rounded border border-slate-300 px-3 py-1">"Show"</button>
        </form>
        <h2 class="mt-6 font-semibold">
            {format!("Verifications per day, by outcome ({from} to {to})")}
        </h2>
        <DayChart days=days.clone() series=series.clone()
            label="Verifications per day by outcome" test_id="key-chart"/>
        <a class="text-sm text-indigo-700 underline" href=csv data-testid="key-csv">"CSV"</a>
        <DayTable days series skip_empty=true test_id="key-table"/>
        <h2 class="mt-6 font-semibold">"Source addresses"</h2>
        <CountList items=sources test_id="key-sources"/>
    }
}
