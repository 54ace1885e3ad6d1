#![no_main]
//! `cargo +nightly fuzz run post_render fuzz/seeds/post_render`: see netaudit::fuzzing::post_render.
libfuzzer_sys::fuzz_target!(|data: &[u8]| netaudit::fuzzing::post_render(data));
