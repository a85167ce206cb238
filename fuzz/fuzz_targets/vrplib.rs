//! Fuzz target: the Vrplib reader must return a problem or an error, never panic; a problem it
//! returns must also survive the servability analysis and the checker on an empty solution.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rendan_route::io::{Format, parse};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(p) = parse(text, Format::Vrplib)
    {
        let _ = p.unservable_jobs();
        let _ = rendan_route::check(&p, &[]);
    }
});
