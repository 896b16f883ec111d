//! The optional per-client access-token lifetime policy: a longer lifetime for named scopes
//! inside a weekly window in a named time zone, capped by the server maximum.
//!
//! A client either has an explicit policy or none; nothing is assumed. Written form of a window:
//! `Mon-Fri 08:00-18:00 America/New_York` (days as a range or comma list, end exclusive).

use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveTime, Timelike, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::scope::ScopeSet;
use crate::UnixTime;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    #[error("window {0:?} must read like `Mon-Fri 08:00-18:00 America/New_York`")]
    Shape(String),
    #[error("unknown day {0:?}: use Mon, Tue, Wed, Thu, Fri, Sat or Sun")]
    Day(String),
    #[error("invalid time range {0:?}: use HH:MM-HH:MM with the start before the end")]
    Hours(String),
    #[error("unknown time zone {0:?}: use an IANA name such as Europe/Paris")]
    Zone(String),
}

/// Days of the week plus a daily time range, in a named zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct WeeklyWindow {
    text: String,
    days: [bool; 7],
    start_minute: u32,
    end_minute: u32,
    zone: Tz,
}

impl WeeklyWindow {
    pub fn parse(text: &str) -> Result<Self, WindowError> {
        let parts: Vec<&str> = text.split_whitespace().collect();
        let [days, hours, zone] = parts[..] else {
            return Err(WindowError::Shape(text.into()));
        };
        let days = parse_days(days)?;
        let (start_minute, end_minute) = parse_hours(hours)?;
        let zone = Tz::from_str(zone).map_err(|_| WindowError::Zone(zone.into()))?;
        let text = parts.join(" ");
        Ok(Self { text, days, start_minute, end_minute, zone })
    }

    pub fn contains(&self, at: UnixTime) -> bool {
        let Some(utc) = DateTime::<Utc>::from_timestamp(at, 0) else { return false };
        let local = utc.with_timezone(&self.zone);
        let minute = local.hour() * 60 + local.minute();
        self.days[local.weekday().num_days_from_monday() as usize]
            && minute >= self.start_minute
            && minute < self.end_minute
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl TryFrom<String> for WeeklyWindow {
    type Error = WindowError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<WeeklyWindow> for String {
    fn from(value: WeeklyWindow) -> Self {
        value.text
    }
}

fn parse_day(text: &str) -> Result<usize, WindowError> {
    Weekday::from_str(text)
        .map(|d| d.num_days_from_monday() as usize)
        .map_err(|_| WindowError::Day(text.into()))
}

fn parse_days(text: &str) -> Result<[bool; 7], WindowError> {
    let mut days = [false; 7];
    for item in text.split(',') {
        match item.split_once('-') {
            Some((from, to)) => {
                let (from, to) = (parse_day(from)?, parse_day(to)?);
                let mut day = from;
                loop {
                    days[day] = true;
                    if day == to {
                        break;
                    }
                    day = (day + 1) % 7;
                }
            }
            None => days[parse_day(item)?] = true,
        }
    }
    Ok(days)
}

fn parse_hours(text: &str) -> Result<(u32, u32), WindowError> {
    let bad = || WindowError::Hours(text.into());
    let (start, end) = text.split_once('-').ok_or_else(bad)?;
    let minute_of = |t: &str| {
        if t == "24:00" {
            return Ok(24 * 60);
        }
        NaiveTime::parse_from_str(t, "%H:%M").map(|t| t.hour() * 60 + t.minute()).map_err(|_| bad())
    };
    let (start, end) = (minute_of(start)?, minute_of(end)?);
    if start >= end {
        return Err(bad());
    }
    Ok((start, end))
}

/// The extended lifetime and where it applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifetimePolicy {
    /// Applies only when every granted scope is among these (after inheritance).
    pub scopes: ScopeSet,
    pub access_token_lifetime: u32,
    pub window: WeeklyWindow,
}

/// The access-token lifetime for one issuance.
///
/// `base` is the client's own lifetime. With a policy whose window contains `now` and whose
/// scopes cover the whole grant, the policy's lifetime applies, never above `server_max`.
pub fn access_token_lifetime(
    base: u32,
    policy: Option<&LifetimePolicy>,
    granted: &ScopeSet,
    now: UnixTime,
    server_max: u32,
) -> u32 {
    let extended = policy
        .filter(|p| granted.is_subset(&p.scopes) && p.window.contains(now))
        .map(|p| p.access_token_lifetime);
    extended.unwrap_or(base).min(server_max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rfc3339: &str) -> UnixTime {
        DateTime::parse_from_rfc3339(rfc3339).unwrap().timestamp()
    }

    #[test]
    fn window_respects_days_hours_and_zone() {
        let w = WeeklyWindow::parse("Mon-Fri 08:00-18:00 America/New_York").unwrap();
        // Wednesday 2026-12-02 09:00 in New York is 14:00 UTC.
        assert!(w.contains(at("2026-12-02T14:00:00Z")));
        // 07:59 local.
        assert!(!w.contains(at("2026-12-02T12:59:00Z")));
        // 18:00 local is outside (end exclusive).
        assert!(!w.contains(at("2026-12-02T23:00:00Z")));
        // Saturday.
        assert!(!w.contains(at("2026-12-05T15:00:00Z")));
    }

    #[test]
    fn wrapping_day_ranges_and_lists() {
        let w = WeeklyWindow::parse("Fri-Mon,Wed 00:00-24:00 UTC").unwrap();
        assert_eq!(w.days, [true, false, true, false, true, true, true]);
    }

    #[test]
    fn bad_windows_are_rejected() {
        for bad in [
            "Mon-Fri 08:00-18:00",
            "Xyz 08:00-18:00 UTC",
            "Mon 18:00-08:00 UTC",
            "Mon 08:00-18:00 Mars/Base",
        ] {
            assert!(WeeklyWindow::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn policy_applies_inside_window_and_is_capped() {
        let policy = LifetimePolicy {
            scopes: ScopeSet::parse_list("quote:read").unwrap(),
            access_token_lifetime: 28_800,
            window: WeeklyWindow::parse("Mon-Fri 08:00-18:00 America/New_York").unwrap(),
        };
        let granted = ScopeSet::parse_list("quote:read").unwrap();
        let inside = at("2026-12-02T14:00:00Z");
        assert_eq!(access_token_lifetime(300, Some(&policy), &granted, inside, 86_400), 28_800);
        assert_eq!(access_token_lifetime(300, Some(&policy), &granted, inside, 3_600), 3_600);
        assert_eq!(
            access_token_lifetime(300, Some(&policy), &granted, at("2026-12-05T15:00:00Z"), 86_400),
            300
        );
        let wider = ScopeSet::parse_list("quote:read policy:write").unwrap();
        assert_eq!(access_token_lifetime(300, Some(&policy), &wider, inside, 86_400), 300);
        assert_eq!(access_token_lifetime(300, None, &granted, inside, 86_400), 300);
    }
}
