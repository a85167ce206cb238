//! Delivery crews: two people and a truck, based at a depot, working shifts in the depot's
//! local time.
//!
//! A crew has the skills its members hold (`ac-certified`, `gas-certified`, `wall-mount`, ...),
//! one truck with a capacity in kilograms and cubic metres, a shift for each weekday it works
//! (none on its days of rest) and dated days off. [`NewCrew::new`] validates all of it and
//! names every field at fault; [`Crew::shift_on`] says when the crew works on a date.

use crate::{Invalid, Invalids, SiteId};
use jiff::civil::{Date, Time, Weekday};
use std::collections::BTreeSet;

/// A skill a job may require and a crew may hold: lower-case letters, digits and dashes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Skill(String);

impl Skill {
    /// Validates a skill name (1–40 of `a-z`, `0-9`, `-`, starting with a letter).
    pub fn parse(value: &str, field: &str) -> Result<Self, Invalid> {
        let v = value.trim();
        let ok = (1..=40).contains(&v.len())
            && v.starts_with(|c: char| c.is_ascii_lowercase())
            && v.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Skill(v.to_string()))
        } else {
            Err(Invalid::new(
                field,
                "must be 1-40 lower-case letters, digits and dashes, starting with a letter",
            ))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Skill {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A truck's capacity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Truck {
    /// Payload in kilograms.
    pub kg: f64,
    /// Load space in cubic metres.
    pub m3: f64,
}

/// Working hours on one day, in the depot's local time: leave the depot at `start` at the
/// earliest, be back by `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shift {
    /// Start.
    pub start: Time,
    /// End (after `start`, the same day).
    pub end: Time,
}

impl Shift {
    /// A shift; `end` must come after `start`.
    pub fn new(start: Time, end: Time, field: &str) -> Result<Self, Invalid> {
        if end <= start {
            return Err(Invalid::new(field, "the shift must end after it starts"));
        }
        Ok(Shift { start, end })
    }

    /// Minutes from midnight to the start and to the end.
    pub fn minutes(&self) -> (u32, u32) {
        (minute_of_day(self.start), minute_of_day(self.end))
    }
}

/// Minutes since midnight.
pub fn minute_of_day(t: Time) -> u32 {
    u32::from(t.hour().unsigned_abs()) * 60 + u32::from(t.minute().unsigned_abs())
}

/// The shift of each weekday, Monday first; `None` for a day the crew does not work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Week(pub [Option<Shift>; 7]);

impl Week {
    /// The shift of a weekday.
    pub fn on(&self, day: Weekday) -> Option<Shift> {
        self.0[usize::try_from(day.to_monday_zero_offset()).unwrap_or(0)]
    }

    /// The same shift Monday to Saturday, Sunday off: the default of a new crew.
    pub fn monday_to_saturday(shift: Shift) -> Week {
        let mut days = [Some(shift); 7];
        days[6] = None;
        Week(days)
    }
}

/// The wire names of the weekdays, Monday first.
pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A crew as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Crew {
    /// Id.
    pub id: i64,
    /// The depot its truck starts from and returns to.
    pub depot: SiteId,
    /// Display name.
    pub name: String,
    /// What its members are certified for.
    pub skills: BTreeSet<Skill>,
    /// Its truck.
    pub truck: Truck,
    /// Its shift per weekday.
    pub week: Week,
    /// Dates it does not work whatever the weekday.
    pub days_off: BTreeSet<Date>,
}

impl Crew {
    /// When the crew works on `date` (depot-local), if it does.
    pub fn shift_on(&self, date: Date) -> Option<Shift> {
        if self.days_off.contains(&date) {
            return None;
        }
        self.week.on(date.weekday())
    }

    /// Whether the crew holds every skill of `needed`.
    pub fn can_do(&self, needed: &BTreeSet<Skill>) -> bool {
        needed.is_subset(&self.skills)
    }
}

/// Raw fields of a crew as they arrive, validated by [`NewCrew::new`].
#[derive(Debug, Clone, Default)]
pub struct RawCrew<'a> {
    /// Name.
    pub name: &'a str,
    /// Skill names.
    pub skills: &'a [String],
    /// Truck payload, kg.
    pub kg: f64,
    /// Truck volume, m³.
    pub m3: f64,
    /// Per weekday (`mon`..`sun`): `None` not given (the default shift applies), `Some(None)`
    /// a day off, `Some(Some((start, end)))` a shift as `HH:MM`.
    pub week: [Option<Option<(&'a str, &'a str)>>; 7],
    /// Dates off, `YYYY-MM-DD`.
    pub days_off: &'a [String],
}

/// The shift of a crew whose week is not given: Monday to Saturday, 08:00 to 18:00.
pub fn default_shift() -> Shift {
    Shift {
        start: Time::constant(8, 0, 0, 0),
        end: Time::constant(18, 0, 0, 0),
    }
}

/// Longest crew name.
pub const NAME_MAX: usize = 100;
/// Most skills of one crew.
pub const SKILLS_MAX: usize = 20;
/// Most dated days off of one crew.
pub const DAYS_OFF_MAX: usize = 366;

/// A validated crew, before it is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCrew {
    /// Display name.
    pub name: String,
    /// Skills.
    pub skills: BTreeSet<Skill>,
    /// Truck.
    pub truck: Truck,
    /// Week.
    pub week: Week,
    /// Days off.
    pub days_off: BTreeSet<Date>,
}

/// A local time of day as `HH:MM`.
pub fn parse_time(value: &str, field: &str) -> Result<Time, Invalid> {
    let bad = || Invalid::new(field, format!("expected a time as HH:MM, got {value:?}"));
    let (h, m) = value.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let (h, m): (i8, i8) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    Time::new(h, m, 0, 0).map_err(|_| bad())
}

/// A time of day as `HH:MM`.
pub fn format_time(t: Time) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

impl NewCrew {
    /// Validates every field and names every field at fault.
    pub fn new(raw: &RawCrew<'_>) -> Result<NewCrew, Invalids> {
        let mut errors = Vec::new();
        let name = raw.name.trim();
        if name.is_empty() || name.chars().count() > NAME_MAX || name.chars().any(char::is_control)
        {
            errors.push(Invalid::new(
                "name",
                format!("must be 1-{NAME_MAX} characters without control characters"),
            ));
        }
        if raw.skills.len() > SKILLS_MAX {
            errors.push(Invalid::new(
                "skills",
                format!("at most {SKILLS_MAX} skills"),
            ));
        }
        let mut skills = BTreeSet::new();
        for (i, s) in raw.skills.iter().enumerate() {
            match Skill::parse(s, &format!("skills[{i}]")) {
                Ok(s) => {
                    skills.insert(s);
                }
                Err(e) => errors.push(e),
            }
        }
        let positive = |v: f64| v.is_finite() && v > 0.0 && v <= 100_000.0;
        if !positive(raw.kg) {
            errors.push(Invalid::new(
                "truck.kg",
                "must be more than 0 and at most 100000",
            ));
        }
        if !positive(raw.m3) {
            errors.push(Invalid::new(
                "truck.m3",
                "must be more than 0 and at most 100000",
            ));
        }
        let mut week = Week::monday_to_saturday(default_shift());
        for (i, day) in raw.week.iter().enumerate() {
            let field = format!("shifts.{}", WEEKDAYS[i]);
            match day {
                None => {}
                Some(None) => week.0[i] = None,
                Some(Some((start, end))) => {
                    let start = parse_time(start, &format!("{field}.start"));
                    let end = parse_time(end, &format!("{field}.end"));
                    match (start, end) {
                        (Ok(s), Ok(e)) => match Shift::new(s, e, &field) {
                            Ok(shift) => week.0[i] = Some(shift),
                            Err(err) => errors.push(err),
                        },
                        (s, e) => errors.extend(s.err().into_iter().chain(e.err())),
                    }
                }
            }
        }
        if raw.days_off.len() > DAYS_OFF_MAX {
            errors.push(Invalid::new(
                "days_off",
                format!("at most {DAYS_OFF_MAX} dates"),
            ));
        }
        let mut days_off = BTreeSet::new();
        for (i, d) in raw.days_off.iter().enumerate() {
            match d.parse::<Date>() {
                // jiff also reads other spellings; the API promises YYYY-MM-DD only.
                Ok(date) if date.to_string() == *d => {
                    days_off.insert(date);
                }
                _ => errors.push(Invalid::new(
                    format!("days_off[{i}]"),
                    format!("expected a date as YYYY-MM-DD, got {d:?}"),
                )),
            }
        }
        if !errors.is_empty() {
            return Err(Invalids(errors));
        }
        Ok(NewCrew {
            name: name.to_string(),
            skills,
            truck: Truck {
                kg: raw.kg,
                m3: raw.m3,
            },
            week,
            days_off,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skills(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn a_crew_works_its_weekdays_but_not_its_days_off() {
        let sk = skills(&["ac-certified"]);
        let off = skills(&["2026-12-08"]);
        let raw = RawCrew {
            name: "Crew A",
            skills: &sk,
            kg: 1200.0,
            m3: 14.0,
            week: [
                None,
                None,
                None,
                None,
                None,
                Some(Some(("09:00", "13:00"))),
                None,
            ],
            days_off: &off,
        };
        let c = NewCrew::new(&raw).expect("valid");
        let crew = Crew {
            id: 1,
            depot: SiteId::parse("dp-varese", "").unwrap(),
            name: c.name,
            skills: c.skills,
            truck: c.truck,
            week: c.week,
            days_off: c.days_off,
        };
        // 2026-12-07 is a Monday.
        assert_eq!(
            crew.shift_on(Date::constant(2026, 12, 7)),
            Some(default_shift())
        );
        assert_eq!(crew.shift_on(Date::constant(2026, 12, 8)), None, "day off");
        let sat = crew
            .shift_on(Date::constant(2026, 12, 12))
            .expect("saturday");
        assert_eq!(sat.minutes(), (540, 780));
        assert_eq!(crew.shift_on(Date::constant(2026, 12, 13)), None, "sunday");
        let ac: BTreeSet<Skill> = [Skill::parse("ac-certified", "").unwrap()].into();
        assert!(crew.can_do(&ac));
        let gas: BTreeSet<Skill> = [Skill::parse("gas-certified", "").unwrap()].into();
        assert!(!crew.can_do(&gas));
    }

    #[test]
    fn every_bad_field_is_named() {
        let sk = skills(&["AC certified"]);
        let off = skills(&["2026-13-01"]);
        let raw = RawCrew {
            name: " ",
            skills: &sk,
            kg: 0.0,
            m3: f64::NAN,
            week: [
                Some(Some(("18:00", "08:00"))),
                Some(Some(("8:00", "12:00"))),
                None,
                None,
                None,
                None,
                None,
            ],
            days_off: &off,
        };
        let e = NewCrew::new(&raw).unwrap_err();
        assert_eq!(
            e.fields(),
            [
                "name",
                "skills[0]",
                "truck.kg",
                "truck.m3",
                "shifts.mon",
                "shifts.tue.start",
                "days_off[0]"
            ]
        );
    }

    #[test]
    fn times_read_and_write_as_hh_mm() {
        assert_eq!(format_time(parse_time("08:30", "t").unwrap()), "08:30");
        assert!(parse_time("24:00", "t").is_err());
        assert!(parse_time("8:30", "t").is_err());
    }
}
