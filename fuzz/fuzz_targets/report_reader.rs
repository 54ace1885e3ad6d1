#![no_main]
//! `cargo +nightly fuzz run report_reader fuzz/seeds/report_reader`: see netaudit::fuzzing::report_reader.
libfuzzer_sys::fuzz_target!(|data: &[u8]| netaudit::fuzzing::report_reader(data));
