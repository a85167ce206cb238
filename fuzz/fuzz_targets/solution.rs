//! Fuzz target: the JSON solution reader must return a document or an error, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = rendan_route::io::json::parse_solution(text);
    }
});
