//! The corpus files: loading the cases, and the bytes of an HTTP case.
use infergate_tests::workspace_root;
use serde_json::Value;

use super::grpc;

pub struct Case {
    pub file: String,
    pub line: usize,
    pub kind: String,
    pub v: Value,
}

impl Case {
    pub fn name(&self) -> String {
        let name = self.v.get("name").and_then(Value::as_str).unwrap_or("?");
        format!("{}:{} {name}", self.file, self.line)
    }
}

pub fn load() -> Vec<Case> {
    let dir = workspace_root().join("tests/corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/corpus")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for path in files {
        let file = path.file_name().unwrap().to_str().unwrap().to_string();
        let default_kind = match file.split(['_', '.']).next().unwrap() {
            "grpc" => "grpc",
            "cli" | "modelconfig" | "transformerconfig" => "cli",
            _ => "http",
        };
        for (i, line) in std::fs::read_to_string(&path).unwrap().lines().enumerate() {
            if line.trim().is_empty() || line.starts_with("//") {
                continue;
            }
            let v: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{file}:{}: not JSON: {e}", i + 1));
            let kind = v
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or(default_kind);
            cases.push(Case {
                file: file.clone(),
                line: i + 1,
                kind: kind.to_string(),
                v,
            });
        }
    }
    cases
}

pub fn headers(v: &Value) -> Vec<(String, String)> {
    match v.get("headers") {
        Some(Value::Array(pairs)) => pairs
            .iter()
            .map(|p| (p[0].as_str().unwrap().into(), p[1].as_str().unwrap().into()))
            .collect(),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().into()))
            .collect(),
        _ => Vec::new(),
    }
}

/// Text given as parts: strings as they are, `{"repeat": s, "n": N}` for
/// deep or long ones (the files stay small).
pub fn parts_text(parts: &Value) -> String {
    let mut out = String::new();
    for p in parts.as_array().expect("a list of parts") {
        match p {
            Value::String(s) => out.push_str(s),
            o => out.push_str(
                &o["repeat"]
                    .as_str()
                    .unwrap()
                    .repeat(o["n"].as_u64().unwrap() as usize),
            ),
        }
    }
    out
}

/// The body of an HTTP case, and headers it implies.
pub fn body(v: &Value, headers: &mut Vec<(String, String)>) -> Vec<u8> {
    if let Some(s) = v.get("body").and_then(Value::as_str) {
        return s.as_bytes().to_vec();
    }
    if let Some(j) = v.get("body_json") {
        return j.to_string().into_bytes();
    }
    if let Some(h) = v.get("body_hex").and_then(Value::as_str) {
        return grpc::hex(h);
    }
    if let Some(parts) = v.get("body_parts") {
        return parts_text(parts).into_bytes();
    }
    if let Some(b) = v.get("binary") {
        let json = b["json"].to_string();
        let has =
            |hs: &Vec<(String, String)>, k: &str| hs.iter().any(|(h, _)| h.eq_ignore_ascii_case(k));
        if !has(headers, "inference-header-content-length") {
            headers.push((
                "inference-header-content-length".into(),
                json.len().to_string(),
            ));
        }
        if !has(headers, "content-type") {
            headers.push(("content-type".into(), "application/octet-stream".into()));
        }
        let mut out = json.into_bytes();
        for blob in b
            .get("blobs_hex")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            out.extend(grpc::hex(blob.as_str().unwrap()));
        }
        return out;
    }
    Vec::new()
}

/// The exact bytes an HTTP case sends, and whether it half-closes after.
pub fn request_of(v: &Value) -> (Vec<u8>, bool) {
    let raw = match (v.get("raw").and_then(Value::as_str), v.get("raw_parts")) {
        (Some(raw), _) => Some(raw.to_string()),
        (None, Some(parts)) => Some(parts_text(parts)),
        _ => None,
    };
    let bytes = match raw {
        Some(raw) => raw.into_bytes(),
        None => {
            let mut h = headers(v);
            let b = body(v, &mut h);
            let method = v.get("method").and_then(Value::as_str).unwrap_or("POST");
            super::wire::request_bytes(method, v["path"].as_str().unwrap(), &h, &b)
        }
    };
    (
        bytes,
        v.get("shutdown").and_then(Value::as_bool).unwrap_or(false),
    )
}
