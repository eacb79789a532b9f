//! perf_analyzer's stability rule: the last N measurement windows agree on
//! throughput and mean latency within X percent of their mean.
use crate::record::Window;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rule {
    pub windows: usize,
    /// Allowed deviation from the mean, as a fraction (0.1 = 10%).
    pub within: f64,
}

fn within(values: &[f64], tolerance: f64) -> bool {
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    mean > 0.0 && values.iter().all(|v| (v - mean).abs() <= tolerance * mean)
}

impl Rule {
    /// Whether `windows` (complete, consecutive, oldest first) end stable;
    /// then the range of the stable ones.
    pub fn check(&self, windows: &[Window]) -> Option<std::ops::Range<usize>> {
        let n = self.windows.max(1);
        if windows.len() < n {
            return None;
        }
        let start = windows.len() - n;
        let last = &windows[start..];
        if last
            .iter()
            .any(|w| w.completed() == 0 || w.latency.is_empty())
        {
            return None;
        }
        let counts: Vec<f64> = last.iter().map(|w| w.completed() as f64).collect();
        let means: Vec<f64> = last.iter().map(|w| w.latency.mean()).collect();
        (within(&counts, self.within) && within(&means, self.within))
            .then_some(start..windows.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Outcome;

    fn window(index: u64, requests: u64, latency_us: u64) -> Window {
        let mut w = Window::new(index);
        for _ in 0..requests {
            w.latency.record(latency_us).unwrap();
        }
        w.ok = requests;
        w
    }

    #[test]
    fn the_last_windows_must_agree_within_the_tolerance() {
        let rule = Rule {
            windows: 3,
            within: 0.1,
        };
        let ws = vec![
            window(0, 50, 900),
            window(1, 100, 1000),
            window(2, 105, 1050),
            window(3, 98, 990),
        ];
        assert_eq!(rule.check(&ws), Some(1..4));
        assert_eq!(rule.check(&ws[..3]), None, "window 0 is off by half");
        assert_eq!(rule.check(&ws[..2]), None, "too few windows");
        let slow = vec![
            window(0, 100, 1000),
            window(1, 100, 1000),
            window(2, 100, 1500),
        ];
        assert_eq!(rule.check(&slow), None, "latency moved");
        let mut empty = window(2, 0, 0);
        empty.errors.insert(Outcome::Connect, 5);
        assert_eq!(rule.check(&[window(0, 1, 1), window(1, 1, 1), empty]), None);
    }
}
