//! How one request ended, the key of the error counts in the report.
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    /// HTTP 2xx or gRPC OK.
    Ok,
    /// Any other HTTP status.
    Http(u16),
    /// Any other gRPC status code.
    Grpc(i32),
    /// An answer that did not decode (`--validate`).
    Invalid,
    /// No answer within `--timeout`.
    Timeout,
    /// The connection could not be made.
    Connect,
    /// The connection failed mid-request.
    Io,
}

impl Outcome {
    pub fn is_ok(self) -> bool {
        self == Outcome::Ok
    }

    /// Whether the server answered; latency is recorded for these only.
    pub fn answered(self) -> bool {
        matches!(
            self,
            Outcome::Ok | Outcome::Http(_) | Outcome::Grpc(_) | Outcome::Invalid
        )
    }

    pub fn from_grpc(code: tonic::Code) -> Self {
        match code {
            tonic::Code::Ok => Outcome::Ok,
            c => Outcome::Grpc(c as i32),
        }
    }
}

/// `DeadlineExceeded` -> `DEADLINE_EXCEEDED`, as gRPC spells codes.
fn grpc_name(code: i32) -> String {
    let camel = format!("{:?}", tonic::Code::from_i32(code));
    let mut out = String::with_capacity(camel.len() + 4);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Ok => f.write_str("ok"),
            Outcome::Http(s) => write!(f, "http {s}"),
            Outcome::Grpc(c) => write!(f, "grpc {}", grpc_name(*c)),
            Outcome::Invalid => f.write_str("invalid response"),
            Outcome::Timeout => f.write_str("timeout"),
            Outcome::Connect => f.write_str("connect"),
            Outcome::Io => f.write_str("io"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_print_as_report_keys() {
        assert_eq!(Outcome::Http(503).to_string(), "http 503");
        assert_eq!(
            Outcome::from_grpc(tonic::Code::Internal).to_string(),
            "grpc INTERNAL"
        );
        assert_eq!(
            Outcome::from_grpc(tonic::Code::DeadlineExceeded).to_string(),
            "grpc DEADLINE_EXCEEDED"
        );
        assert!(Outcome::from_grpc(tonic::Code::Ok).is_ok());
        assert!(Outcome::Invalid.answered() && !Outcome::Timeout.answered());
    }
}
