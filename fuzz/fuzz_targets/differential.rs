//! The first 8 bytes pick a random terminating program (the generator of
//! `tests/differential.rs`); it must behave the same in the interpreter and
//! with every function compiled (see `toyc_fuzz::check_differential`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut seed = [0u8; 8];
    for (i, b) in data.iter().take(8).enumerate() {
        seed[i] = *b;
    }
    toyc_fuzz::check_differential(u64::from_le_bytes(seed));
});
