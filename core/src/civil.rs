//! Seconds since the epoch as a calendar date and time of day, UTC: for
//! syslog timestamps and the TUI's start times, without a date crate.

/// A date and time of day in the proleptic Gregorian calendar.
#[derive(Debug, PartialEq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl Civil {
    /// The civil time `secs` seconds after 1970-01-01T00:00:00.
    pub fn from_unix(secs: i64) -> Civil {
        let days = secs.div_euclid(86_400);
        let of_day = secs.rem_euclid(86_400);
        // Counting years from March makes the leap day the last of its
        // year, and 400 Gregorian years are always 146097 days: the day of
        // such an era gives the year, and the day of that year the month,
        // with no table. 719468 days lead from 0000-03-01 to 1970-01-01.
        let from_march_0 = days + 719_468;
        let era = from_march_0.div_euclid(146_097);
        let day_of_era = from_march_0.rem_euclid(146_097);
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        // Months from March have 31, 30, 31, 30, 31 days, twice and a bit:
        // 153 days every 5 months.
        let month_from_march = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
        let month = if month_from_march < 10 {
            month_from_march + 3
        } else {
            month_from_march - 9
        };
        // All below are small and non-negative.
        Civil {
            year: era * 400 + year_of_era + i64::from(month <= 2),
            month: month as u32,
            day: day as u32,
            hour: (of_day / 3600) as u32,
            minute: (of_day / 60 % 60) as u32,
            second: (of_day % 60) as u32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_match_day_counts() {
        // Day-by-day across leap years and century rules, from 1600 to
        // 2401, checked against a plain calendar walk.
        let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let (mut y, mut m, mut d) = (1600, 1, 1);
        for days in -135_140..157_000i64 {
            let c = Civil::from_unix(days * 86_400 + 3_723);
            assert_eq!(
                (c.year, c.month, c.day, c.hour, c.minute, c.second),
                (y, m, d, 1, 2, 3),
                "day {days}"
            );
            let len = match m {
                2 if leap(y) => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            d += 1;
            if d > len {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
        }
    }
}
