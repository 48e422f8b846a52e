//! The builtin functions (spec §6), numbered as in [`Builtin`].
//!
//! A builtin gets its arguments as a slice of the VM stack; they stay on the
//! stack (and so stay rooted) for the whole call. A builtin that allocates
//! more than once must root its earlier allocations in `vm.temp_roots`.

use std::io::Write;

use super::format::{to_bytes, write_value_limited};
use super::heap::{ValueVec, array_obj, map_obj, str_bytes};
use super::ops::{check_key, float_to_int};
use super::stdin::Line;
use super::value::{TAG_ARRAY, TAG_FLOAT, TAG_INT, TAG_MAP, TAG_STRING, Value};
use super::vm::Vm;
use crate::bytecode::Builtin;

type BuiltinResult = Result<Value, String>;

/// How many arguments `b` takes: `None` for any number.
fn arity(b: Builtin) -> Option<std::ops::RangeInclusive<usize>> {
    use Builtin::*;
    Some(match b {
        Print => return None,
        Clock | ReadLine => 0..=0,
        Push | Has | Del => 2..=2,
        Assert => 1..=2,
        Len | Pop | Str | Int | Float | Type | Keys | Sqrt | Floor | Abs | Error => 1..=1,
    })
}

/// Calls builtin number `b`.
pub fn call(vm: &mut Vm, b: usize, args: &[Value]) -> BuiltinResult {
    use Builtin::*;
    let builtin = Builtin::ALL[b];
    if let Some(range) = arity(builtin)
        && !range.contains(&args.len())
    {
        let n = *range.end();
        let noun = if n == 1 { "argument" } else { "arguments" };
        return Err(format!("expected {n} {noun} but got {}", args.len()));
    }
    match builtin {
        Print => print(vm, args),
        Len => len(args[0]),
        Push => push(vm, args[0], args[1]),
        Pop => pop(args[0]),
        Str => {
            let mut bytes = Vec::new();
            write_value_limited(&mut bytes, args[0], false, vm.heap.object_limit())?;
            Ok(vm.alloc_string(bytes.into()))
        }
        Int => to_int(args[0]),
        Float => to_float(args[0]),
        Type => Ok(vm.alloc_string(args[0].type_name().as_bytes().into())),
        Keys => keys(vm, args[0]),
        Has => Ok(Value::bool(
            map_arg("has", args[0], args[1])?.contains(args[1]),
        )),
        Del => Ok(map_arg("del", args[0], args[1])?
            .remove(args[1])
            .unwrap_or(Value::NIL)),
        Sqrt => Ok(Value::float(number_arg("sqrt", args[0])?.sqrt())),
        Floor => floor(args[0]),
        Abs => abs(args[0]),
        Clock => Ok(Value::float(vm.started.elapsed().as_secs_f64())),
        ReadLine => read_line(vm),
        Assert => assert(args),
        Error => Err(display(args[0])),
    }
}

fn type_error(name: &str, expects: &str, got: Value) -> String {
    format!("'{name}' expects {expects}, not {}", got.type_name())
}

fn display(v: Value) -> String {
    String::from_utf8_lossy(&to_bytes(v, false)).into_owned()
}

fn print(vm: &mut Vm, args: &[Value]) -> BuiltinResult {
    let mut line = Vec::new();
    for (i, &v) in args.iter().enumerate() {
        if i > 0 {
            line.push(b' ');
        }
        write_value_limited(&mut line, v, false, vm.heap.object_limit())?;
    }
    line.push(b'\n');
    // Output errors (a closed pipe) are not the program's fault.
    let _ = vm.out.write_all(&line);
    Ok(Value::NIL)
}

fn len(v: Value) -> BuiltinResult {
    let n = match v.tag {
        TAG_STRING => str_bytes(v).len(),
        TAG_ARRAY => array_obj(v).items.len(),
        TAG_MAP => map_obj(v).map.len(),
        _ => return Err(type_error("len", "a string, array or map", v)),
    };
    Ok(Value::int(n as i64))
}

fn push(vm: &mut Vm, a: Value, v: Value) -> BuiltinResult {
    if a.tag != TAG_ARRAY {
        return Err(type_error("push", "an array", a));
    }
    let items = &mut array_obj(a).items;
    let before = items.capacity();
    items.push(v);
    let grown = items.capacity() - before;
    vm.heap.note_growth(grown * std::mem::size_of::<Value>());
    Ok(Value::NIL)
}

fn pop(a: Value) -> BuiltinResult {
    if a.tag != TAG_ARRAY {
        return Err(type_error("pop", "an array", a));
    }
    array_obj(a)
        .items
        .pop()
        .ok_or_else(|| "pop from empty array".to_string())
}

fn quoted(v: Value) -> String {
    String::from_utf8_lossy(&to_bytes(v, true)).into_owned()
}

/// `int("-12")`: an optional `-` and decimal digits, nothing else.
fn parse_int(text: &[u8]) -> Option<i64> {
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

fn to_int(v: Value) -> BuiltinResult {
    match v.tag {
        TAG_INT => Ok(v),
        TAG_FLOAT => float_to_int(v.as_float()).map(Value::int),
        TAG_STRING => parse_int(str_bytes(v))
            .map(Value::int)
            .ok_or_else(|| format!("cannot convert {} to int", quoted(v))),
        _ => Err(type_error("int", "a number or string", v)),
    }
}

/// `float("2.5e3")`: optional sign, digits with an optional fraction and
/// exponent (no `inf`/`nan` words, no spaces).
fn parse_float(text: &[u8]) -> Option<f64> {
    let body = text
        .strip_prefix(b"-")
        .or(text.strip_prefix(b"+"))
        .unwrap_or(text);
    let numeric = body.first().is_some_and(u8::is_ascii_digit)
        && body
            .iter()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'));
    if !numeric {
        return None;
    }
    std::str::from_utf8(text).ok()?.parse().ok()
}

fn to_float(v: Value) -> BuiltinResult {
    match v.tag {
        TAG_INT => Ok(Value::float(v.as_int() as f64)),
        TAG_FLOAT => Ok(v),
        TAG_STRING => parse_float(str_bytes(v))
            .map(Value::float)
            .ok_or_else(|| format!("cannot convert {} to float", quoted(v))),
        _ => Err(type_error("float", "a number or string", v)),
    }
}

fn keys(vm: &mut Vm, m: Value) -> BuiltinResult {
    if m.tag != TAG_MAP {
        return Err(type_error("keys", "a map", m));
    }
    // The keys stay reachable through `m`, which is on the stack.
    let items = ValueVec::from_slice(&map_obj(m).map.keys().collect::<Vec<_>>());
    Ok(vm.alloc_array(items))
}

fn map_arg<'a>(name: &str, m: Value, key: Value) -> Result<&'a mut super::map::Map, String> {
    if m.tag != TAG_MAP {
        return Err(type_error(name, "a map", m));
    }
    check_key(key)?;
    Ok(&mut map_obj(m).map)
}

fn number_arg(name: &str, v: Value) -> Result<f64, String> {
    v.as_number().ok_or_else(|| type_error(name, "a number", v))
}

fn floor(v: Value) -> BuiltinResult {
    match v.tag {
        TAG_INT => Ok(v),
        _ => float_to_int(number_arg("floor", v)?.floor()).map(Value::int),
    }
}

fn abs(v: Value) -> BuiltinResult {
    match v.tag {
        TAG_INT => Ok(Value::int(v.as_int().wrapping_abs())),
        _ => Ok(Value::float(number_arg("abs", v)?.abs())),
    }
}

fn read_line(vm: &mut Vm) -> BuiltinResult {
    vm.flush();
    let mut line = match super::stdin::read_line(vm.opts.interrupt.flag()) {
        Line::Text(line) => line,
        Line::Eof => return Ok(Value::NIL),
        // Ctrl-C or `--timeout` while waiting: the same error as a poll in
        // a loop would give.
        Line::Interrupted => {
            return Err(vm.take_interrupt().unwrap_or_else(|| "interrupted".into()));
        }
    };
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(vm.alloc_string(line.into()))
}

fn assert(args: &[Value]) -> BuiltinResult {
    if args[0].is_truthy() {
        return Ok(Value::NIL);
    }
    match args.get(1) {
        Some(&msg) => Err(format!("assertion failed: {}", display(msg))),
        None => Err("assertion failed".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bytecode::BUILTIN_NAMES;

    #[test]
    fn int_parsing_is_strict() {
        assert_eq!(parse_int(b"-12"), Some(-12));
        assert_eq!(parse_int(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_int(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"+1",
            b" 1",
            b"12x",
            b"1_000",
            b"9223372036854775808",
        ] {
            assert_eq!(parse_int(bad), None, "{:?}", bad);
        }
    }

    #[test]
    fn float_parsing() {
        assert_eq!(parse_float(b"2.5e3"), Some(2500.0));
        assert_eq!(parse_float(b"-1"), Some(-1.0));
        for bad in [&b"abc"[..], b"inf", b"nan", b"", b".5", b"1.5x", b" 1"] {
            assert_eq!(parse_float(bad), None, "{:?}", bad);
        }
    }

    #[test]
    fn arities() {
        assert!(arity(Builtin::Print).is_none());
        assert_eq!(arity(Builtin::Push), Some(2..=2));
        assert_eq!(arity(Builtin::Assert), Some(1..=2));
        assert_eq!(arity(Builtin::ReadLine), Some(0..=0));
    }

    #[test]
    fn builtins_are_numbered_as_named() {
        for (i, b) in Builtin::ALL.iter().enumerate() {
            assert_eq!(*b as usize, i);
            assert_eq!(
                crate::bytecode::builtin_index(BUILTIN_NAMES[i]),
                Some(i as u32)
            );
        }
        assert_eq!(
            BUILTIN_NAMES[crate::bytecode::BUILTIN_PUSH as usize],
            "push"
        );
        assert_eq!(
            BUILTIN_NAMES[crate::bytecode::BUILTIN_SQRT as usize],
            "sqrt"
        );
    }
}
