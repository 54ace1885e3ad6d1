#![no_main]
//! `cargo +nightly fuzz run manifests fuzz/seeds/manifests`: see netaudit::fuzzing::manifests.
libfuzzer_sys::fuzz_target!(|data: &[u8]| netaudit::fuzzing::manifests(data));
