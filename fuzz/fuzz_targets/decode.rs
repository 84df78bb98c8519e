//! The request decoder: same commands and error whole or cut anywhere; no panic.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| respub::fuzz::decode_chunked(data));
