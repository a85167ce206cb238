//! Fuzz target: the VRPLIB `.sol` reader must return routes or an error, never panic; routes it
//! returns must survive the checker against a small fixed instance.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rendan_route::io::{Format, parse, vrplib};

const INSTANCE: &str = "NAME : F\nDIMENSION : 4\nVEHICLES : 2\nCAPACITY : 10\nEDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_SECTION\n1 0 0\n2 3 4\n3 6 8\n4 1 1\nDEMAND_SECTION\n1 0\n2 3\n3 4\n4 5\nDEPOT_SECTION\n1\n-1\nEOF\n";

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(sol) = vrplib::parse_solution(text)
        && let Ok(p) = parse(INSTANCE, Format::Vrplib)
    {
        let _ = rendan_route::check(&p, &sol.routes);
    }
});
