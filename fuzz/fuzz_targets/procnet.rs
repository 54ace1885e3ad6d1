#![no_main]
//! `cargo +nightly fuzz run procnet fuzz/seeds/procnet`: see netaudit::fuzzing::procnet.
libfuzzer_sys::fuzz_target!(|data: &[u8]| netaudit::fuzzing::procnet(data));
