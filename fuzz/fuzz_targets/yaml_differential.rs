#![no_main]
//! `cargo +nightly fuzz run yaml_differential fuzz/seeds/yaml_differential`: see netaudit::fuzzing::yaml_differential.
libfuzzer_sys::fuzz_target!(|data: &[u8]| netaudit::fuzzing::yaml_differential(data));
