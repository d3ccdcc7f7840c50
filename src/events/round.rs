//! Rounding of the numbers in a payload: a JSON value in, the same value with every fractional
//! number rounded to milliseconds out.
//!
//! Stream times and figures are sums of f64 chunk lengths, so they carry binary noise
//! (`47.400000000000006`, a lag of `3.55e-13`). Nothing a consumer does needs finer than a
//! millisecond, so every live payload (events on the wire and in the log, `/streams`) goes
//! through [`round_floats`] once, when it is serialized; the values in memory stay exact.

use serde::Serialize;
use serde_json::{Number, Value};

/// `seconds` to the nearest millisecond.
pub fn ms(seconds: f64) -> f64 {
    let rounded = (seconds * 1000.0).round() / 1000.0;
    // -0.0 would print as "-0.0".
    if rounded == 0.0 {
        0.0
    } else {
        rounded
    }
}

/// Rounds every non-integer number in `value`, at any depth, to milliseconds. Integers (ids,
/// counts) are left alone.
pub fn round_floats(value: &mut Value) {
    match value {
        Value::Number(n) if n.is_f64() => {
            if let Some(rounded) = n.as_f64().map(ms).and_then(Number::from_f64) {
                *n = rounded;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(round_floats),
        Value::Object(map) => map.values_mut().for_each(round_floats),
        _ => {}
    }
}

/// `value` as JSON with its floats rounded ([`round_floats`]).
pub fn to_rounded_json<T: Serialize>(value: &T) -> serde_json::Result<Value> {
    let mut json = serde_json::to_value(value)?;
    round_floats(&mut json);
    Ok(json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_are_rounded_to_milliseconds() {
        // (input, expected)
        let cases = [
            (json!(47.400000000000006), json!(47.4)),
            (json!(3.55e-13), json!(0.0)),
            (json!(-3.55e-13), json!(0.0)),
            (json!(1.2345), json!(1.235)),
            (json!(0.0005), json!(0.001)),
            (json!(12.0), json!(12.0)),
            (json!(7), json!(7)),
            (json!(u64::MAX), json!(u64::MAX)),
            (json!("1.23456"), json!("1.23456")),
            (json!(null), json!(null)),
            (
                json!({"a": [1.00049, {"b": 2.9996}], "id": 3}),
                json!({"a": [1.0, {"b": 3.0}], "id": 3}),
            ),
        ];
        for (mut input, want) in cases {
            let shown = input.to_string();
            round_floats(&mut input);
            assert_eq!(input, want, "{shown}");
        }
    }

    #[test]
    fn rounded_numbers_print_short() {
        // The point of rounding is what a consumer reads.
        let mut v = json!({"start_s": 0.1 + 0.2, "lag_s": 1e-9});
        round_floats(&mut v);
        assert_eq!(v.to_string(), r#"{"lag_s":0.0,"start_s":0.3}"#);
    }
}
