//! When a debtor may be contacted: ФЗ-230 art. 7 for natural persons (a window in the
//! debtor's local time on working days and another on weekends and holidays, caps on calls
//! and messages per day, week and month), the tenant's send window for companies. The
//! figures are the tenant's data ([`Settings`]); the production calendar says which days
//! are working days.

use chrono::{DateTime, Datelike, Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use super::model::{CapClass, Caps, Channel, Settings, Window};
use crate::receivables::calendar::is_working_day;

/// A time zone by name, or the fallback.
pub fn zone(name: Option<&str>, fallback: &str) -> Tz {
    name.and_then(|n| n.parse().ok()).or_else(|| fallback.parse().ok()).unwrap_or(chrono_tz::Europe::Moscow)
}

/// The window of `date` for a natural person (the law) or a company (the tenant's);
/// `None`: no contact that day.
pub fn window(settings: &Settings, natural: bool, date: NaiveDate) -> Option<Window> {
    match (natural, is_working_day(date)) {
        (true, true) => Some(settings.law.working_day),
        (true, false) => Some(settings.law.day_off),
        (false, true) => Some(settings.business_window),
        (false, false) => None,
    }
}

/// The first allowed minute at or after `at`, in `tz`.
pub fn next_allowed(settings: &Settings, natural: bool, tz: Tz, at: DateTime<Utc>) -> DateTime<Utc> {
    let local = at.with_timezone(&tz);
    let mut date = local.date_naive();
    let mut minute = local.time().signed_duration_since(chrono::NaiveTime::MIN).num_minutes();
    for _ in 0..60 {
        if let Some(w) = window(settings, natural, date) {
            let (from, to) = (i64::from(w.from.minutes()), i64::from(w.to.minutes()));
            let start = minute.max(from);
            if start < to {
                // Inside the window already: now.
                if start == minute && date == local.date_naive() {
                    return at;
                }
                let naive = date.and_time(chrono::NaiveTime::MIN) + chrono::Duration::minutes(start);
                // A minute that does not exist (a clock moved forward) moves on to a day that has it.
                if let Some(t) = tz.from_local_datetime(&naive).earliest() {
                    return t.with_timezone(&Utc);
                }
            }
        }
        date = date + Days::new(1);
        minute = 0;
    }
    at
}

/// Which cap a channel counts against, and the channels sharing it.
pub fn cap_of(settings: &Settings, channel: Channel) -> Option<(CapClass, Caps, Vec<Channel>)> {
    let class = *settings.law.cap_classes.get(&channel)?;
    let caps = match class {
        CapClass::Calls => settings.law.calls,
        CapClass::Messages => settings.law.messages,
    };
    let channels = settings.law.cap_classes.iter().filter(|(_, c)| **c == class).map(|(ch, _)| *ch).collect();
    Some((class, caps, channels))
}

/// The periods a cap counts over for `day`: the day, its week (Monday to Sunday), its month.
pub fn periods(day: NaiveDate) -> [(NaiveDate, NaiveDate); 3] {
    let monday = day - Days::new(u64::from(day.weekday().num_days_from_monday()));
    let first = day.with_day(1).unwrap_or(day);
    let last = first.checked_add_months(chrono::Months::new(1)).and_then(|d| d.pred_opt()).unwrap_or(day);
    [(day, day), (monday, monday + Days::new(6)), (first, last)]
}

/// «2 сообщения в день» for a reason.
pub fn cap_words(class: CapClass, caps: Caps, period: usize) -> String {
    let what = match class {
        CapClass::Calls => "звонков",
        CapClass::Messages => "сообщений",
    };
    let (n, per) = match period {
        0 => (caps.day, "в день"),
        1 => (caps.week, "в неделю"),
        _ => (caps.month, "в месяц"),
    };
    format!("не больше {n} {what} {per}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("valid date")
    }

    #[test]
    fn natural_persons_wait_for_the_window_in_their_own_time_zone() {
        let s = Settings::default();
        let vladivostok: Tz = "Asia/Vladivostok".parse().expect("zone");
        // Sat 09.05.2026 (a holiday), 03:00 UTC = 13:00 in Vladivostok: inside 09–20.
        let at = Utc.with_ymd_and_hms(2026, 5, 9, 3, 0, 0).single().expect("time");
        assert_eq!(next_allowed(&s, true, vladivostok, at), at);
        // 11:00 UTC = 21:00 there: past 20:00 → Sun 10.05 09:00 local = 23:00 UTC on the 9th.
        let late = Utc.with_ymd_and_hms(2026, 5, 9, 11, 0, 0).single().expect("time");
        assert_eq!(next_allowed(&s, true, vladivostok, late), Utc.with_ymd_and_hms(2026, 5, 9, 23, 0, 0).single().expect("time"));
        // Tue 12.05.2026 05:00 in Moscow: a working day, 08:00.
        let moscow: Tz = "Europe/Moscow".parse().expect("zone");
        let early = Utc.with_ymd_and_hms(2026, 5, 12, 2, 0, 0).single().expect("time");
        assert_eq!(next_allowed(&s, true, moscow, early), Utc.with_ymd_and_hms(2026, 5, 12, 5, 0, 0).single().expect("time"));
    }

    #[test]
    fn companies_wait_for_the_next_working_day() {
        let s = Settings::default();
        let moscow: Tz = "Europe/Moscow".parse().expect("zone");
        // Fri 08.05.2026 19:00 Moscow → the next working day is Tue 12.05, 09:00.
        let at = Utc.with_ymd_and_hms(2026, 5, 8, 16, 0, 0).single().expect("time");
        assert_eq!(next_allowed(&s, false, moscow, at), Utc.with_ymd_and_hms(2026, 5, 12, 6, 0, 0).single().expect("time"));
    }

    #[test]
    fn calls_and_messages_have_the_law_s_caps_and_e_mail_has_none_by_default() {
        let s = Settings::default();
        let (class, caps, channels) = cap_of(&s, Channel::Voice).expect("a call is capped");
        assert_eq!((class, caps, channels), (CapClass::Calls, Caps { day: 1, week: 2, month: 8 }, vec![Channel::Voice]));
        let (class, caps, _) = cap_of(&s, Channel::Sms).expect("an SMS is capped");
        assert_eq!((class, caps), (CapClass::Messages, Caps { day: 2, week: 4, month: 16 }));
        assert!(cap_of(&s, Channel::Email).is_none());
        assert_eq!(cap_words(CapClass::Calls, s.law.calls, 1), "не больше 2 звонков в неделю");
    }

    #[test]
    fn caps_count_over_the_day_the_week_and_the_month() {
        let [day, week, month] = periods(d(2026, 5, 13));
        assert_eq!(day, (d(2026, 5, 13), d(2026, 5, 13)));
        assert_eq!(week, (d(2026, 5, 11), d(2026, 5, 17)));
        assert_eq!(month, (d(2026, 5, 1), d(2026, 5, 31)));
    }
}
