//! Two racing connections' byte streams against one in-process server; afterwards the
//! server still serves and nothing of the input's connections remains.
#![no_main]
use std::sync::OnceLock;

static SESSION: OnceLock<respub::fuzz::Session> = OnceLock::new();

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    SESSION.get_or_init(respub::fuzz::Session::start).run(data)
});
