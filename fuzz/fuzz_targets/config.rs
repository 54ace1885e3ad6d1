#![no_main]
//! `cargo +nightly fuzz run config fuzz/seeds/config`: see netaudit::fuzzing::config.
libfuzzer_sys::fuzz_target!(|data: &[u8]| netaudit::fuzzing::config(data));
