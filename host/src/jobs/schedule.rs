//! Schedules: a local time of day (`06:00`) or a 5-field cron expression, evaluated in
//! the tenant's time zone.
//!
//! The scheduler only ever asks one question: which is the latest slot that has passed?
//! A slot later than the last one queued is queued once, so a host that was down over
//! several slots catches up with one run, not one per missed slot. Both kinds are
//! evaluated by `croner` (a daily time is the expression `M H * * *`), which resolves
//! daylight-saving changes: a slot inside a skipped hour runs at the first instant after
//! it, and a slot in a repeated hour runs once.

use chrono::{DateTime, NaiveTime, Timelike as _, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

/// When a kind runs for a tenant.
#[derive(Debug, Clone)]
pub struct Schedule {
    spec: Spec,
    cron: Cron,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Spec {
    DailyAt(NaiveTime),
    Cron(String),
}

/// Why a schedule was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("must be a local time HH:MM, e.g. \"06:30\"")]
    DailyAt,
    #[error(
        "is not a cron expression ({0}); give 5 fields: minute hour day-of-month month day-of-week, \
         e.g. \"0 6 * * 1-5\" for 06:00 on Monday to Friday"
    )]
    Cron(String),
    #[error("never comes round (no date matches it in the next five years)")]
    Never,
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Schedule) -> bool {
        self.spec == other.spec
    }
}

impl Schedule {
    /// Every day at `HH:MM` local time (leading and trailing spaces ignored; `6:30` is
    /// read as `06:30`).
    pub fn daily(text: &str) -> Result<Schedule, ScheduleError> {
        let at = NaiveTime::parse_from_str(text.trim(), "%H:%M").map_err(|_| ScheduleError::DailyAt)?;
        Ok(Schedule::daily_at(at))
    }

    /// Every day at `at` (seconds dropped).
    pub fn daily_at(at: NaiveTime) -> Schedule {
        let at = at.with_second(0).and_then(|t| t.with_nanosecond(0)).unwrap_or(at);
        let cron = parser().parse(&format!("{} {} * * *", at.minute(), at.hour())).expect("a daily time is a valid cron expression");
        Schedule { spec: Spec::DailyAt(at), cron }
    }

    /// A 5-field cron expression (minute hour day-of-month month day-of-week, names like
    /// `MON` and `JAN` allowed, day-of-month and day-of-week matching either as in cron),
    /// or an alias such as `@daily`.
    pub fn cron(text: &str) -> Result<Schedule, ScheduleError> {
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.is_empty() {
            return Err(ScheduleError::Cron("it is empty".into()));
        }
        if !text.starts_with('@') && text.split(' ').count() != 5 {
            return Err(ScheduleError::Cron(format!("it has {} fields", text.split(' ').count())));
        }
        let cron = parser().parse(&text).map_err(|e| ScheduleError::Cron(e.to_string()))?;
        // Reject what never runs (31 February) now rather than silently never queueing it.
        let now = Utc::now();
        match cron.find_next_occurrence(&now, false).ok() {
            Some(next) if next - now <= chrono::Duration::days(5 * 366) => {}
            _ => return Err(ScheduleError::Never),
        }
        Ok(Schedule { spec: Spec::Cron(text), cron })
    }

    /// The local time of a daily schedule.
    pub fn daily_time(&self) -> Option<NaiveTime> {
        match &self.spec {
            Spec::DailyAt(t) => Some(*t),
            Spec::Cron(_) => None,
        }
    }

    /// `HH:MM` of a daily schedule.
    pub fn daily_text(&self) -> Option<String> {
        self.daily_time().map(|t| t.format("%H:%M").to_string())
    }

    /// The expression of a cron schedule.
    pub fn cron_text(&self) -> Option<&str> {
        match &self.spec {
            Spec::DailyAt(_) => None,
            Spec::Cron(text) => Some(text),
        }
    }

    /// The latest slot at or before `now`, in the time zone `tz`.
    pub fn latest_slot(&self, tz: Tz, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = now.with_timezone(&tz);
        self.cron.find_previous_occurrence(&local, true).ok().map(|t| t.with_timezone(&Utc))
    }

    /// The first slot after `now`, in the time zone `tz`.
    pub fn next_slot(&self, tz: Tz, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let local = now.with_timezone(&tz);
        self.cron.find_next_occurrence(&local, false).ok().map(|t| t.with_timezone(&Utc))
    }
}

/// Minutes granularity: five fields, no seconds, no years.
fn parser() -> CronParser {
    CronParser::builder().seconds(Seconds::Disallowed).year(Year::Disallowed).build()
}

/// The tenant's time zone, or Moscow when the stored name is not an IANA zone (tenants
/// are created with a checked one; this only guards against a hand-edited row).
pub fn tenant_zone(name: &str) -> Tz {
    name.parse().unwrap_or_else(|_| {
        tracing::warn!(time_zone = name, "unknown tenant time zone; schedules use Europe/Moscow");
        chrono_tz::Europe::Moscow
    })
}

/// The dedupe key of a scheduled slot: one job per (tenant, kind, slot).
pub fn slot_key(slot: DateTime<Utc>) -> String {
    format!("schedule:{}", slot.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chrono::TimeZone as _;

    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn a_daily_time_is_a_slot_a_day_in_the_tenant_zone() {
        let s = Schedule::daily(" 6:30 ").unwrap();
        assert_eq!(s.daily_text().as_deref(), Some("06:30"));
        let moscow = chrono_tz::Europe::Moscow;
        // 10:00 Moscow (07:00 UTC): today's 06:30 Moscow has passed.
        assert_eq!(s.latest_slot(moscow, utc("2026-03-02T07:00:00Z")), Some(utc("2026-03-02T03:30:00Z")));
        // 05:00 Moscow: the latest is yesterday's.
        assert_eq!(s.latest_slot(moscow, utc("2026-03-02T02:00:00Z")), Some(utc("2026-03-01T03:30:00Z")));
        // The slot itself counts as passed.
        assert_eq!(s.latest_slot(moscow, utc("2026-03-02T03:30:00Z")), Some(utc("2026-03-02T03:30:00Z")));
        assert_eq!(s.next_slot(moscow, utc("2026-03-02T03:30:00Z")), Some(utc("2026-03-03T03:30:00Z")));
        for bad in ["25:00", "06:61", "six", "", "06:00:00"] {
            assert_eq!(Schedule::daily(bad), Err(ScheduleError::DailyAt), "{bad}");
        }
    }

    #[test]
    fn cron_expressions_have_five_fields_and_must_come_round() {
        let s = Schedule::cron("0  8 * *  MON-FRI").unwrap();
        assert_eq!(s.cron_text(), Some("0 8 * * MON-FRI"));
        let moscow = chrono_tz::Europe::Moscow;
        // Sunday 2026-03-01 12:00 Moscow: the latest weekday 08:00 is Friday's.
        assert_eq!(s.latest_slot(moscow, utc("2026-03-01T09:00:00Z")), Some(utc("2026-02-27T05:00:00Z")));
        assert_eq!(s.next_slot(moscow, utc("2026-03-01T09:00:00Z")), Some(utc("2026-03-02T05:00:00Z")));
        assert!(Schedule::cron("@daily").is_ok());
        assert!(matches!(Schedule::cron("0 0 8 * * *"), Err(ScheduleError::Cron(_))), "six fields (seconds) are refused");
        assert!(matches!(Schedule::cron("0 8 * *"), Err(ScheduleError::Cron(_))));
        assert!(matches!(Schedule::cron("61 8 * * *"), Err(ScheduleError::Cron(_))));
        assert!(matches!(Schedule::cron(""), Err(ScheduleError::Cron(_))));
        assert_eq!(Schedule::cron("0 0 31 2 *"), Err(ScheduleError::Never));
    }

    #[test]
    fn a_slot_in_a_skipped_hour_runs_right_after_it_and_a_repeated_hour_runs_once() {
        let berlin = chrono_tz::Europe::Berlin;
        let s = Schedule::daily("02:30").unwrap();
        // 30 March 2025: clocks jump from 02:00 to 03:00 CEST; 02:30 does not exist. The
        // run goes at 03:00 CEST (01:00 UTC), once.
        let spring = s.next_slot(berlin, utc("2025-03-29T23:00:00Z")).unwrap();
        assert_eq!(spring, utc("2025-03-30T01:00:00Z"));
        assert_eq!(s.latest_slot(berlin, utc("2025-03-30T06:00:00Z")), Some(spring));
        // 26 October 2025: 02:00–03:00 happens twice; 02:30 runs at its first occurrence
        // (02:30 CEST = 00:30 UTC) and not again at 02:30 CET.
        let autumn = s.next_slot(berlin, utc("2025-10-25T22:00:00Z")).unwrap();
        assert_eq!(autumn, utc("2025-10-26T00:30:00Z"));
        assert_eq!(s.next_slot(berlin, autumn).unwrap(), utc("2025-10-27T01:30:00Z"));
        assert_eq!(s.latest_slot(berlin, utc("2025-10-26T01:45:00Z")), Some(autumn), "02:30 CET is not a second slot");
    }

    #[test]
    fn odd_offsets_and_half_hour_daylight_saving_are_honoured() {
        // Kathmandu is UTC+05:45 all year.
        let s = Schedule::daily("06:00").unwrap();
        assert_eq!(s.latest_slot(chrono_tz::Asia::Kathmandu, utc("2026-01-10T03:00:00Z")), Some(utc("2026-01-10T00:15:00Z")));
        // Lord Howe Island moves its clocks by 30 minutes: +10:30 in winter, +11:00 in summer.
        let lhi = chrono_tz::Australia::Lord_Howe;
        assert_eq!(s.latest_slot(lhi, utc("2026-07-01T00:00:00Z")), Some(utc("2026-06-30T19:30:00Z")));
        assert_eq!(s.latest_slot(lhi, utc("2026-01-10T00:00:00Z")), Some(utc("2026-01-09T19:00:00Z")));
        // Chatham Islands: +12:45 / +13:45.
        let every_15 = Schedule::cron("*/15 * * * *").unwrap();
        let chatham = chrono_tz::Pacific::Chatham;
        let now = chatham.with_ymd_and_hms(2026, 5, 5, 10, 7, 0).unwrap().with_timezone(&Utc);
        assert_eq!(every_15.latest_slot(chatham, now), Some(chatham.with_ymd_and_hms(2026, 5, 5, 10, 0, 0).unwrap().with_timezone(&Utc)));
    }

    #[test]
    fn unknown_zones_fall_back_to_moscow_and_slot_keys_are_utc() {
        assert_eq!(tenant_zone("Mars/Olympus"), chrono_tz::Europe::Moscow);
        assert_eq!(tenant_zone("Asia/Yekaterinburg"), chrono_tz::Asia::Yekaterinburg);
        assert_eq!(slot_key(utc("2026-03-02T06:30:00+03:00")), "schedule:2026-03-02T03:30:00Z");
    }
}
