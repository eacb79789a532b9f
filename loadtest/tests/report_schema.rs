//! The JSON report follows `loadtest/report.schema.json`, checked by a small
//! validator of the schema keywords that file uses.
mod common;

use common::{Mock, run_json};
use serde_json::Value;

fn schema() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/report.schema.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn type_ok(t: &str, v: &Value) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        "number" => v.is_number(),
        "integer" => v.is_u64() || v.is_i64(),
        other => panic!("schema type {other} not handled"),
    }
}

/// Checks `v` against `s` (type, const, enum, required, properties,
/// additionalProperties, items, $ref into $defs); collects the failures.
fn check(root: &Value, s: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.strip_prefix("#/$defs/").expect("local $ref");
        return check(root, &root["$defs"][name], v, at, errors);
    }
    if let Some(t) = s.get("type") {
        let ok = match t {
            Value::String(t) => type_ok(t, v),
            Value::Array(ts) => ts.iter().any(|t| type_ok(t.as_str().unwrap(), v)),
            _ => panic!("bad type in schema"),
        };
        if !ok {
            errors.push(format!("{at}: {v} is not {t}"));
            return;
        }
    }
    if let Some(c) = s.get("const")
        && c != v
    {
        errors.push(format!("{at}: {v} is not {c}"));
    }
    if let Some(e) = s.get("enum").and_then(Value::as_array)
        && !e.contains(v)
    {
        errors.push(format!("{at}: {v} not in {e:?}"));
    }
    if let Value::Object(obj) = v {
        let props = s.get("properties").and_then(Value::as_object);
        for req in s
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if !obj.contains_key(req.as_str().unwrap()) {
                errors.push(format!("{at}: missing {req}"));
            }
        }
        for (k, val) in obj {
            match (props.and_then(|p| p.get(k)), s.get("additionalProperties")) {
                (Some(ps), _) => check(root, ps, val, &format!("{at}.{k}"), errors),
                (None, Some(Value::Bool(false))) => errors.push(format!("{at}: unexpected '{k}'")),
                (None, Some(extra @ Value::Object(_))) => {
                    check(root, extra, val, &format!("{at}.{k}"), errors)
                }
                (None, _) => {}
            }
        }
    }
    if let (Value::Array(items), Some(is)) = (v, s.get("items")) {
        for (i, item) in items.iter().enumerate() {
            check(root, is, item, &format!("{at}[{i}]"), errors);
        }
    }
}

fn assert_valid(report: &Value) {
    let schema = schema();
    let mut errors = Vec::new();
    check(&schema, &schema, report, "$", &mut errors);
    assert!(
        errors.is_empty(),
        "report does not follow the schema:\n{}",
        errors.join("\n")
    );
}

#[test]
fn the_validator_catches_what_it_should() {
    let schema = schema();
    let mut errors = Vec::new();
    let bad =
        serde_json::json!({"schema": "other", "tool": {"name": 1, "version": "x", "extra": 1}});
    check(&schema, &schema, &bad, "$", &mut errors);
    let text = errors.join("\n");
    for needle in [
        "is not",
        "missing \"targets\"",
        "unexpected 'extra'",
        "$.tool.name",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
}

#[test]
fn a_compare_run_report_follows_the_schema() {
    let mock = Mock::start(&["--latency", "1ms", "--error-rate", "0.05"]);
    let r = run_json(&[
        "-m",
        "m",
        "-d",
        "1s",
        "-w",
        "0s",
        "-c",
        "4",
        "--rounds",
        "2",
        "--window",
        "250ms",
        "--stable-windows",
        "3",
        "--stable-within",
        "50",
        &format!("rest=http://{}", mock.http),
        &format!("grpc=grpc://{}", mock.grpc),
    ]);
    assert_valid(&r);
    assert_eq!(r["targets"].as_array().unwrap().len(), 2);
    assert_eq!(r["targets"][0]["rounds"].as_array().unwrap().len(), 2);
    let cmp = &r["comparison"][0];
    assert_eq!(
        (cmp["subject"].as_str(), cmp["baseline"].as_str()),
        (Some("rest"), Some("grpc"))
    );
    let rps = |i: usize| r["targets"][i]["rps"].as_f64().unwrap();
    let ratio = cmp["rps_ratio"].as_f64().unwrap();
    assert!((ratio - rps(0) / rps(1)).abs() < 1e-9);
}

#[test]
fn an_open_loop_report_follows_the_schema() {
    let mock = Mock::start(&[]);
    let r = run_json(&[
        "-m",
        "m",
        "-r",
        "300",
        "-n",
        "300",
        "-w",
        "0s",
        &format!("v2-binary+http://{}", mock.http),
    ]);
    assert_valid(&r);
    assert!(r["targets"][0]["open_loop"].is_object());
    assert_eq!(r["config"]["mode"], "open");
}
