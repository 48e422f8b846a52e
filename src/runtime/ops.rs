//! The semantics of Toy's operators, in one place.
//!
//! The interpreter inlines int/int fast paths and calls these for everything
//! else; the JIT calls the same functions as helpers, so the tiers cannot
//! disagree. Errors are returned as their message; the caller adds the stack
//! trace. The entry points are `#[inline(never)]`: they are the slow
//! paths, and keeping them out of the dispatch loop keeps its hot state in
//! registers.

use std::cmp::Ordering;

use super::format::format_float;
use super::heap::{array_obj, map_obj, str_bytes};
use super::value::{TAG_ARRAY, TAG_BOOL, TAG_FLOAT, TAG_INT, TAG_MAP, TAG_STRING, Value};

pub type OpResult = Result<Value, String>;

fn bin_error(op: &str, a: Value, b: Value) -> String {
    format!(
        "cannot apply '{op}' to {} and {}",
        a.type_name(),
        b.type_name()
    )
}

fn unary_error(op: &str, a: Value) -> String {
    format!("cannot apply '{op}' to {}", a.type_name())
}

/// Both operands as floats, when at least one is a float and both are numbers.
#[inline]
fn float_pair(a: Value, b: Value) -> Option<(f64, f64)> {
    if a.tag == TAG_FLOAT || b.tag == TAG_FLOAT {
        Some((a.as_number()?, b.as_number()?))
    } else {
        None
    }
}

/// An arithmetic operator: int/int wraps, anything with a float is IEEE.
/// (`+` on two strings is concatenation, which allocates; the VM handles it
/// before calling this.)
#[inline]
fn arith(
    op: &str,
    a: Value,
    b: Value,
    int: fn(i64, i64) -> Result<i64, String>,
    float: fn(f64, f64) -> f64,
) -> OpResult {
    if a.tag == TAG_INT && b.tag == TAG_INT {
        return int(a.as_int(), b.as_int()).map(Value::int);
    }
    match float_pair(a, b) {
        Some((x, y)) => Ok(Value::float(float(x, y))),
        None => Err(bin_error(op, a, b)),
    }
}

#[inline(never)]
pub fn add(a: Value, b: Value) -> OpResult {
    arith("+", a, b, |x, y| Ok(x.wrapping_add(y)), |x, y| x + y)
}

#[inline(never)]
pub fn sub(a: Value, b: Value) -> OpResult {
    arith("-", a, b, |x, y| Ok(x.wrapping_sub(y)), |x, y| x - y)
}

#[inline(never)]
pub fn mul(a: Value, b: Value) -> OpResult {
    arith("*", a, b, |x, y| Ok(x.wrapping_mul(y)), |x, y| x * y)
}

/// Truncating division; `i64::MIN / -1` wraps to `i64::MIN`.
#[inline(never)]
pub fn div(a: Value, b: Value) -> OpResult {
    arith("/", a, b, int_div, |x, y| x / y)
}

/// Remainder with the dividend's sign; `i64::MIN % -1` is 0.
#[inline(never)]
pub fn rem(a: Value, b: Value) -> OpResult {
    arith("%", a, b, int_rem, |x, y| x % y)
}

pub fn int_div(x: i64, y: i64) -> Result<i64, String> {
    if y == 0 {
        return Err("division by zero".into());
    }
    Ok(x.wrapping_div(y))
}

pub fn int_rem(x: i64, y: i64) -> Result<i64, String> {
    if y == 0 {
        return Err("division by zero".into());
    }
    Ok(x.wrapping_rem(y))
}

fn bitwise(op: &str, a: Value, b: Value, f: fn(i64, i64) -> i64) -> OpResult {
    if a.tag == TAG_INT && b.tag == TAG_INT {
        Ok(Value::int(f(a.as_int(), b.as_int())))
    } else {
        Err(bin_error(op, a, b))
    }
}

#[inline(never)]
pub fn bit_and(a: Value, b: Value) -> OpResult {
    bitwise("&", a, b, |x, y| x & y)
}

#[inline(never)]
pub fn bit_or(a: Value, b: Value) -> OpResult {
    bitwise("|", a, b, |x, y| x | y)
}

#[inline(never)]
pub fn bit_xor(a: Value, b: Value) -> OpResult {
    bitwise("^", a, b, |x, y| x ^ y)
}

/// Shift counts are taken modulo 64 (`wrapping_shl` masks to 6 bits).
#[inline(never)]
pub fn shl(a: Value, b: Value) -> OpResult {
    bitwise("<<", a, b, |x, y| x.wrapping_shl(y as u32))
}

/// Arithmetic (sign-extending) right shift, count modulo 64.
#[inline(never)]
pub fn shr(a: Value, b: Value) -> OpResult {
    bitwise(">>", a, b, |x, y| x.wrapping_shr(y as u32))
}

#[inline(never)]
pub fn neg(a: Value) -> OpResult {
    match a.tag {
        TAG_INT => Ok(Value::int(a.as_int().wrapping_neg())),
        TAG_FLOAT => Ok(Value::float(-a.as_float())),
        _ => Err(unary_error("-", a)),
    }
}

#[inline(never)]
pub fn bit_not(a: Value) -> OpResult {
    match a.tag {
        TAG_INT => Ok(Value::int(!a.as_int())),
        _ => Err(unary_error("~", a)),
    }
}

/// Exact comparison of an int with a float (no rounding of the int).
pub fn cmp_int_float(i: i64, f: f64) -> Option<Ordering> {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if f.is_nan() {
        return None;
    }
    if f >= TWO_63 {
        return Some(Ordering::Less);
    }
    if f < -TWO_63 {
        return Some(Ordering::Greater);
    }
    // Now `f` truncates to an i64 exactly.
    let t = f.trunc();
    match i.cmp(&(t as i64)) {
        Ordering::Equal => 0.0f64.partial_cmp(&(f - t)),
        ord => Some(ord),
    }
}

/// Numeric order of two numbers, `None` if either is NaN or not a number.
pub fn cmp_numbers(a: Value, b: Value) -> Option<Ordering> {
    match (a.tag, b.tag) {
        (TAG_INT, TAG_INT) => Some(a.as_int().cmp(&b.as_int())),
        (TAG_FLOAT, TAG_FLOAT) => a.as_float().partial_cmp(&b.as_float()),
        (TAG_INT, TAG_FLOAT) => cmp_int_float(a.as_int(), b.as_float()),
        (TAG_FLOAT, TAG_INT) => cmp_int_float(b.as_int(), a.as_float()).map(Ordering::reverse),
        _ => None,
    }
}

fn is_number(v: Value) -> bool {
    v.tag == TAG_INT || v.tag == TAG_FLOAT
}

/// `==`: numbers by value, strings by content, everything else by identity.
#[inline(never)]
pub fn equal(a: Value, b: Value) -> bool {
    if is_number(a) && is_number(b) {
        return cmp_numbers(a, b) == Some(Ordering::Equal);
    }
    if a.tag == TAG_STRING && b.tag == TAG_STRING {
        return a.payload == b.payload || str_bytes(a) == str_bytes(b);
    }
    a.bits_eq(b)
}

/// The order `< <= > >=` use; `Ok(None)` means unordered (NaN).
pub fn compare(op: &str, a: Value, b: Value) -> Result<Option<Ordering>, String> {
    if is_number(a) && is_number(b) {
        Ok(cmp_numbers(a, b))
    } else if a.tag == TAG_STRING && b.tag == TAG_STRING {
        Ok(Some(str_bytes(a).cmp(str_bytes(b))))
    } else {
        Err(bin_error(op, a, b))
    }
}

#[inline(never)]
pub fn lt(a: Value, b: Value) -> OpResult {
    Ok(Value::bool(compare("<", a, b)? == Some(Ordering::Less)))
}

#[inline(never)]
pub fn le(a: Value, b: Value) -> OpResult {
    let o = compare("<=", a, b)?;
    Ok(Value::bool(matches!(
        o,
        Some(Ordering::Less | Ordering::Equal)
    )))
}

#[inline(never)]
pub fn gt(a: Value, b: Value) -> OpResult {
    Ok(Value::bool(compare(">", a, b)? == Some(Ordering::Greater)))
}

#[inline(never)]
pub fn ge(a: Value, b: Value) -> OpResult {
    let o = compare(">=", a, b)?;
    Ok(Value::bool(matches!(
        o,
        Some(Ordering::Greater | Ordering::Equal)
    )))
}

/// The bytes of `a + b` for two strings.
pub fn concat_bytes(a: Value, b: Value) -> Box<[u8]> {
    let (x, y) = (str_bytes(a), str_bytes(b));
    let mut out = Vec::with_capacity(x.len() + y.len());
    out.extend_from_slice(x);
    out.extend_from_slice(y);
    out.into_boxed_slice()
}

// ---- containers -----------------------------------------------------------

/// Map keys must be ints, strings or bools.
pub fn check_key(k: Value) -> Result<(), String> {
    match k.tag {
        TAG_INT | TAG_STRING | TAG_BOOL => Ok(()),
        _ => Err(format!("invalid map key type {}", k.type_name())),
    }
}

/// Checks `i` against `len`, giving the position.
fn bounds(len: usize, idx: Value) -> Result<usize, String> {
    let i = idx.as_int();
    if i >= 0 && (i as u64) < len as u64 {
        Ok(i as usize)
    } else {
        Err(format!(
            "index out of bounds: the length is {len} but the index is {i}"
        ))
    }
}

fn index_type_error(obj: Value, idx: Value) -> String {
    format!("cannot index {} with {}", obj.type_name(), idx.type_name())
}

/// `obj[idx]`. `byte_strings[b]` is the one-byte string for byte `b`, so
/// indexing a string does not allocate.
#[inline(never)]
pub fn get_index(obj: Value, idx: Value, byte_strings: &[Value]) -> OpResult {
    match obj.tag {
        TAG_ARRAY | TAG_STRING if idx.tag != TAG_INT => Err(index_type_error(obj, idx)),
        TAG_ARRAY => {
            let items = &array_obj(obj).items;
            Ok(items.as_slice()[bounds(items.len(), idx)?])
        }
        TAG_STRING => {
            let bytes = str_bytes(obj);
            Ok(byte_strings[bytes[bounds(bytes.len(), idx)?] as usize])
        }
        TAG_MAP => {
            check_key(idx)?;
            Ok(map_obj(obj).map.get(idx).unwrap_or(Value::NIL))
        }
        _ => Err(format!("cannot index {}", obj.type_name())),
    }
}

/// `obj[idx] = v`.
#[inline(never)]
pub fn set_index(obj: Value, idx: Value, v: Value) -> Result<(), String> {
    match obj.tag {
        TAG_ARRAY if idx.tag != TAG_INT => Err(index_type_error(obj, idx)),
        TAG_ARRAY => {
            let items = &mut array_obj(obj).items;
            let i = bounds(items.len(), idx)?;
            items.as_mut_slice()[i] = v;
            Ok(())
        }
        TAG_MAP => {
            check_key(idx)?;
            map_obj(obj).map.insert(idx, v);
            Ok(())
        }
        _ => Err(format!("cannot assign into {}", obj.type_name())),
    }
}

fn field_error(obj: Value, name: Value) -> String {
    format!(
        "cannot access field '{}' on {}",
        String::from_utf8_lossy(str_bytes(name)),
        obj.type_name()
    )
}

/// `obj.name` (`name` is a string value).
#[inline(never)]
pub fn get_field(obj: Value, name: Value) -> OpResult {
    if obj.tag != TAG_MAP {
        return Err(field_error(obj, name));
    }
    Ok(map_obj(obj).map.get(name).unwrap_or(Value::NIL))
}

/// `obj.name = v`.
#[inline(never)]
pub fn set_field(obj: Value, name: Value, v: Value) -> Result<(), String> {
    if obj.tag != TAG_MAP {
        return Err(field_error(obj, name));
    }
    map_obj(obj).map.insert(name, v);
    Ok(())
}

/// A float truncated to an int, if it is finite and in range.
pub fn float_to_int(f: f64) -> Result<i64, String> {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if (-TWO_63..TWO_63).contains(&f) {
        Ok(f.trunc() as i64)
    } else {
        Err(format!("cannot convert {} to int", format_float(f)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn i(x: i64) -> Value {
        Value::int(x)
    }
    fn f(x: f64) -> Value {
        Value::float(x)
    }

    #[test]
    fn int_arithmetic_wraps() {
        assert_eq!(add(i(i64::MAX), i(1)).unwrap().as_int(), i64::MIN);
        assert_eq!(mul(i(i64::MIN), i(-1)).unwrap().as_int(), i64::MIN);
        assert_eq!(neg(i(i64::MIN)).unwrap().as_int(), i64::MIN);
    }

    #[test]
    fn division_rules() {
        assert_eq!(div(i(7), i(-2)).unwrap().as_int(), -3);
        assert_eq!(rem(i(-7), i(2)).unwrap().as_int(), -1);
        assert_eq!(div(i(i64::MIN), i(-1)).unwrap().as_int(), i64::MIN);
        assert_eq!(rem(i(i64::MIN), i(-1)).unwrap().as_int(), 0);
        assert_eq!(div(i(1), i(0)).unwrap_err(), "division by zero");
        assert_eq!(rem(i(1), i(0)).unwrap_err(), "division by zero");
        assert_eq!(div(f(1.0), i(0)).unwrap().as_float(), f64::INFINITY);
        assert_eq!(rem(f(-7.5), i(2)).unwrap().as_float(), -1.5);
        assert_eq!(div(i(1), f(2.0)).unwrap().as_float(), 0.5);
    }

    #[test]
    fn shifts_are_modulo_64() {
        assert_eq!(shl(i(1), i(64)).unwrap().as_int(), 1);
        assert_eq!(shl(i(1), i(65)).unwrap().as_int(), 2);
        assert_eq!(shl(i(1), i(-1)).unwrap().as_int(), i64::MIN);
        assert_eq!(shr(i(-16), i(2)).unwrap().as_int(), -4);
        assert_eq!(shr(i(i64::MIN), i(63)).unwrap().as_int(), -1);
    }

    #[test]
    fn type_errors_name_operator_and_types() {
        assert_eq!(
            sub(Value::NIL, i(1)).unwrap_err(),
            "cannot apply '-' to nil and int"
        );
        assert_eq!(
            bit_and(f(1.0), i(1)).unwrap_err(),
            "cannot apply '&' to float and int"
        );
        assert_eq!(bit_not(f(1.0)).unwrap_err(), "cannot apply '~' to float");
        assert_eq!(
            lt(i(1), Value::TRUE).unwrap_err(),
            "cannot apply '<' to int and bool"
        );
    }

    #[test]
    fn exact_int_float_comparison() {
        // 2^53 + 1 is not representable as f64; a rounding comparison says equal.
        let big = (1i64 << 53) + 1;
        assert!(!equal(i(big), f((1u64 << 53) as f64)));
        assert!(gt(i(big), f((1u64 << 53) as f64)).unwrap().as_bool());
        assert!(
            lt(i(i64::MAX), f(9.223_372_036_854_776e18))
                .unwrap()
                .as_bool()
        );
        assert!(gt(i(i64::MIN), f(-1e19)).unwrap().as_bool());
        assert!(equal(i(i64::MIN), f(-9.223_372_036_854_776e18)));
        assert!(lt(i(-1), f(-0.5)).unwrap().as_bool());
        assert!(gt(i(0), f(-0.5)).unwrap().as_bool());
        assert!(lt(f(0.5), i(1)).unwrap().as_bool());
        assert!(equal(i(1), f(1.0)));
        assert!(!le(f(f64::NAN), i(1)).unwrap().as_bool());
        assert!(!ge(i(1), f(f64::NAN)).unwrap().as_bool());
        assert!(!equal(f(f64::NAN), f(f64::NAN)));
    }

    #[test]
    fn equality_across_types() {
        assert!(equal(Value::NIL, Value::NIL));
        assert!(!equal(Value::NIL, Value::FALSE));
        assert!(!equal(i(0), Value::FALSE));
        assert!(!equal(i(1), Value::TRUE));
        assert!(equal(Value::builtin(3), Value::builtin(3)));
    }

    #[test]
    fn float_to_int_limits() {
        assert_eq!(float_to_int(-2.7).unwrap(), -2);
        assert_eq!(
            float_to_int(f64::INFINITY).unwrap_err(),
            "cannot convert inf to int"
        );
        assert_eq!(
            float_to_int(9.223_372_036_854_776e18).unwrap_err(),
            "cannot convert 9.223372036854776e18 to int"
        );
        assert_eq!(float_to_int(-9.223_372_036_854_776e18).unwrap(), i64::MIN);
        assert!(float_to_int(f64::NAN).is_err());
    }

    #[test]
    fn key_checks() {
        assert!(check_key(i(1)).is_ok());
        assert_eq!(check_key(f(1.0)).unwrap_err(), "invalid map key type float");
        assert_eq!(get_index(i(3), i(0), &[]).unwrap_err(), "cannot index int");
        assert_eq!(
            set_index(Value::NIL, i(0), i(0)).unwrap_err(),
            "cannot assign into nil"
        );
    }
}
