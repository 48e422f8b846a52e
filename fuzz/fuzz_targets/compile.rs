//! Any bytes through the lexer, parser and compiler: no panic, and every
//! error is well-formed (see `toyc_fuzz::check_compile`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    toyc_fuzz::check_compile(data);
});
