//! Prints the random Toy program for a seed, as the differential tester
//! (`tests/differential.rs`) generates it:
//!
//! ```sh
//! cargo run --example progen -- 42 > /tmp/p.toy && toyc run /tmp/p.toy
//! ```

#[path = "../tests/support/progen.rs"]
#[allow(dead_code)]
mod progen;

fn main() {
    let seed = std::env::args()
        .nth(1)
        .map(|s| s.parse::<u64>().expect("the seed must be a number"))
        .unwrap_or(0);
    print!("{}", progen::generate(seed).source());
}
