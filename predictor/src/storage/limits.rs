//! What one fetch may write to disk: a cap on all bytes written (downloads
//! and unpacked files together) and a cap on how much larger than itself an
//! archive may unpack, so that a small archive cannot fill the disk.
use crate::error::{PredictorError, Result};

/// The limits of one fetch (--storage_max_bytes, --storage_max_expansion_ratio).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchLimits {
    /// Bytes a fetch may write in all: downloaded files plus unpacked entries.
    pub max_bytes: u64,
    /// An archive may unpack to at most this many times its own size.
    pub max_expansion_ratio: u64,
}

/// 32 GiB: room for large models, a bound on a runaway download.
pub const DEFAULT_MAX_BYTES: u64 = 32 << 30;
/// Model files compress 1-5x; archive bombs expand 1000x and more.
pub const DEFAULT_MAX_EXPANSION_RATIO: u64 = 100;

impl Default for FetchLimits {
    fn default() -> Self {
        FetchLimits {
            max_bytes: DEFAULT_MAX_BYTES,
            max_expansion_ratio: DEFAULT_MAX_EXPANSION_RATIO,
        }
    }
}

/// A byte count as a flag takes it: digits with an optional binary suffix
/// (`512`, `64KiB`, `100MiB`, `32GiB`, `1TiB`; `K`/`M`/`G`/`T` mean the same).
pub fn parse_byte_size(text: &str) -> std::result::Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, suffix) = t.split_at(split);
    let shift = match suffix.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kib" => 10,
        "m" | "mib" => 20,
        "g" | "gib" => 30,
        "t" | "tib" => 40,
        _ => return Err(format!("'{text}' is not a byte size (e.g. 500MiB, 32GiB)")),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("'{text}' is not a byte size (e.g. 500MiB, 32GiB)"))?;
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("'{text}' is too large"))
}

/// What is left of the limits while a fetch runs.
#[derive(Debug)]
pub struct Budget {
    limits: FetchLimits,
    written: u64,
}

impl Budget {
    pub fn new(limits: FetchLimits) -> Self {
        Budget { limits, written: 0 }
    }

    /// Bytes still allowed.
    pub fn left(&self) -> u64 {
        self.limits.max_bytes.saturating_sub(self.written)
    }

    /// Accounts `n` more bytes of `what`, or refuses them.
    pub fn take(&mut self, what: &str, n: u64) -> Result<()> {
        if n > self.left() {
            return Err(PredictorError::Storage(format!(
                "{what}: the fetch would write more than {} bytes, the limit \
                 (--storage_max_bytes / INFERGATE_STORAGE_MAX_BYTES)",
                self.limits.max_bytes
            )));
        }
        self.written += n;
        Ok(())
    }

    /// Refuses up front a download that declares more than is left.
    pub fn check_declared(&self, what: &str, size: u64) -> Result<()> {
        if size > self.left() {
            return Err(PredictorError::Storage(format!(
                "{what}: its {size} bytes are over what is left of the limit of {} bytes \
                 (--storage_max_bytes / INFERGATE_STORAGE_MAX_BYTES)",
                self.limits.max_bytes
            )));
        }
        Ok(())
    }

    /// The budget of unpacking one archive of `size` bytes.
    pub fn archive<'a>(&'a mut self, what: &'a str, size: u64) -> ArchiveBudget<'a> {
        let cap = size.max(1).saturating_mul(self.limits.max_expansion_ratio);
        ArchiveBudget {
            budget: self,
            what,
            cap,
            unpacked: 0,
        }
    }
}

/// Counts what one archive unpacks against both limits.
pub struct ArchiveBudget<'a> {
    budget: &'a mut Budget,
    what: &'a str,
    cap: u64,
    unpacked: u64,
}

impl ArchiveBudget<'_> {
    pub fn take(&mut self, n: u64) -> Result<()> {
        if self.unpacked + n > self.cap {
            return Err(PredictorError::Storage(format!(
                "{}: unpacks to more than {} times its size ({} bytes), the limit \
                 (--storage_max_expansion_ratio / INFERGATE_STORAGE_MAX_EXPANSION_RATIO)",
                self.what, self.budget.limits.max_expansion_ratio, self.cap
            )));
        }
        self.budget.take(self.what, n)?;
        self.unpacked += n;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_sizes_parse_with_binary_suffixes() {
        assert_eq!(parse_byte_size("512"), Ok(512));
        assert_eq!(parse_byte_size("64KiB"), Ok(64 << 10));
        assert_eq!(parse_byte_size("100M"), Ok(100 << 20));
        assert_eq!(parse_byte_size("32 GiB"), Ok(32 << 30));
        assert!(parse_byte_size("1.5GiB").is_err());
        assert!(parse_byte_size("12 apples").is_err());
        assert!(parse_byte_size("99999999999TiB").is_err());
    }

    #[test]
    fn budgets_refuse_past_either_limit_and_name_it() {
        let mut b = Budget::new(FetchLimits {
            max_bytes: 1000,
            max_expansion_ratio: 10,
        });
        b.take("a", 600).unwrap();
        let err = b.take("b", 500).unwrap_err().to_string();
        assert!(err.contains("--storage_max_bytes"), "{err}");
        assert!(b.check_declared("c", 401).is_err());
        let mut a = b.archive("m.tgz", 20);
        a.take(200).unwrap();
        let err = a.take(1).unwrap_err().to_string();
        assert!(err.contains("--storage_max_expansion_ratio"), "{err}");
    }
}
