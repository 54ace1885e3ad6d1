#![no_main]
//! `cargo +nightly fuzz run ignore_annotation fuzz/seeds/ignore_annotation`: see netaudit::fuzzing::ignore_annotation.
libfuzzer_sys::fuzz_target!(|data: &[u8]| netaudit::fuzzing::ignore_annotation(data));
