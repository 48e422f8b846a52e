//! Remainder by a constant without `idiv`.
//!
//! `x % 3` in a hot loop is `MOD_INT v=3`. A 64-bit `idiv` costs tens of
//! cycles; a multiplication costs three or four. For a constant divisor
//! `v >= 2` and a dividend `0 <= x < 2^63`, the quotient `x / v` is a
//! multiplication by a precomputed reciprocal and a shift, and the
//! remainder follows as `x - q * v`:
//!
//! * `v` a power of two: `x % v = x & (v - 1)`;
//! * otherwise, with `l = ceil(log2 v)` and `p = 63 + l`, the *magic*
//!   `m = floor(2^p / v) + 1` fits in 64 bits (because `v > 2^(l-1)`), and
//!   `q = floor(x * m / 2^p)`: the high half of the unsigned 128-bit
//!   product `x * m` (`mul`), shifted right by `l - 1`.
//!
//! Why `q` is exact: `x * m / 2^p = x / v + x * e / (v * 2^p)` with the
//! error `e = m * v - 2^p` in `(0, v]`. Since `x < 2^63` and `e <= v <
//! 2^l`, `x * e < 2^p`, so the second term is below `1 / v`; the fraction
//! of `x / v` is at most `(v - 1) / v`, so adding it never reaches the next
//! integer. Negative dividends keep `idiv` (the language's `%` has the sign
//! of the dividend).

/// How compiled code computes `x % v` for `x >= 0` (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModBy {
    /// `v` is a power of two: `x & mask`.
    Mask(u64),
    /// `q = high64(x * magic) >> shift`, then `x - q * v`.
    Magic { magic: u64, shift: u32 },
}

/// The strategy for `% v`, or `None` for `v < 2` (`% 1` is 0 and `% 0` an
/// error: the generic paths handle those).
pub fn mod_by(v: u64) -> Option<ModBy> {
    if v < 2 {
        return None;
    }
    if v.is_power_of_two() {
        return Some(ModBy::Mask(v - 1));
    }
    let l = 64 - (v - 1).leading_zeros(); // ceil(log2 v)
    let p = 63 + l;
    let magic = (1u128 << p) / v as u128 + 1;
    Some(ModBy::Magic {
        magic: u64::try_from(magic).expect("the magic fits in 64 bits"),
        shift: l - 1,
    })
}

impl ModBy {
    /// What the machine code computes, for tests: `x % v` for `x >= 0`.
    pub fn apply(self, x: u64, v: u64) -> u64 {
        match self {
            ModBy::Mask(mask) => x & mask,
            ModBy::Magic { magic, shift } => {
                let q = ((x as u128 * magic as u128) >> 64) as u64 >> shift;
                x - q * v
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dividends around every interesting point for divisor `v`.
    fn dividends(v: u64) -> Vec<u64> {
        let max = i64::MAX as u64;
        let mut xs = vec![0, 1, 2, v - 1, v, v + 1, 2 * v - 1, 2 * v, max, max - 1];
        for k in [3u64, 1000, 1 << 20, 1 << 32, 1 << 40, 1 << 62] {
            let q = max / v / k.max(1);
            xs.extend([q * v, (q * v).saturating_sub(1), q * v + 1]);
        }
        xs.extend([max / v * v, max / v * v - 1, max - max % v]);
        let mut seed = v.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        for _ in 0..200 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            xs.push(seed >> 1);
            xs.push((seed >> 1) >> (seed % 60));
        }
        xs.retain(|&x| x <= max);
        xs
    }

    fn check(v: u64) {
        let by = mod_by(v).unwrap();
        for x in dividends(v) {
            assert_eq!(by.apply(x, v), x % v, "{x} % {v} with {by:?}");
        }
    }

    #[test]
    fn small_divisors() {
        (2..=1000).for_each(check);
    }

    #[test]
    fn powers_of_two_and_neighbours() {
        for k in 1..63 {
            let p = 1u64 << k;
            check(p);
            check(p + 1);
            if p > 2 {
                check(p - 1);
            }
        }
    }

    #[test]
    fn large_divisors() {
        let big = [
            i32::MAX as u64,
            1_000_000_007,
            641,
            6700417,
            u32::MAX as u64,
        ];
        big.into_iter().for_each(check);
    }

    #[test]
    fn strategies() {
        assert_eq!(mod_by(0), None);
        assert_eq!(mod_by(1), None);
        assert_eq!(mod_by(8), Some(ModBy::Mask(7)));
        // 2^65 / 3 = 12297829382473034410.67, + 1.
        let three = ModBy::Magic {
            magic: 12297829382473034411,
            shift: 1,
        };
        assert_eq!(mod_by(3), Some(three));
    }
}
