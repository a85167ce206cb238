//! Fuzz target: the JSON reader must return a problem or an error, never panic; a problem it
//! returns must also survive the servability analysis, the checker on an empty solution and,
//! when small, a few iterations of the solver (pickups, skills, several windows, any numbers).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rendan_route::io::{Format, parse};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(p) = parse(text, Format::Json)
    {
        let _ = p.unservable_jobs();
        let _ = rendan_route::check(&p, &[]);
        if p.locations.len() <= 30 && p.vehicles.len() <= 30 {
            use rendan_route::solver::{Config, Limits, Objective, solve};
            let mut stop = Limits::new(None, Some(5));
            if let Ok(s) = solve(&p, &Config::new(Objective::Distance, 1), &mut stop, &mut |_| {}) {
                let _ = rendan_route::check(&p, &s.plans(&p));
            }
        }
    }
});
