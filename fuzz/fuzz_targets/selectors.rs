#![no_main]
//! `cargo +nightly fuzz run selectors fuzz/seeds/selectors`: see netaudit::fuzzing::selectors.
libfuzzer_sys::fuzz_target!(|data: &[u8]| netaudit::fuzzing::selectors(data));
