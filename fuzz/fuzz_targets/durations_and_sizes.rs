#![no_main]
//! `cargo +nightly fuzz run durations_and_sizes fuzz/seeds/durations_and_sizes`: see netaudit::fuzzing::durations_and_sizes.
libfuzzer_sys::fuzz_target!(|data: &[u8]| netaudit::fuzzing::durations_and_sizes(data));
