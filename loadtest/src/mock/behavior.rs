//! What the mock does to each inference request: wait a latency drawn from a
//! known distribution, and fail an exact fraction of requests.
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::cli::parse_duration;

/// Extra latency on top of the fixed `--latency`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LatencyDist {
    Fixed,
    /// Uniform in [0, width).
    Uniform(Duration),
    /// Normal with mean 0 and this deviation (the total is clamped at 0).
    Normal(Duration),
    /// Exponential with this mean.
    Exponential(Duration),
}

impl LatencyDist {
    /// `fixed`, `uniform:WIDTH`, `normal:STDDEV`, `exponential:MEAN`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (kind, arg) = s.split_once(':').unwrap_or((s, ""));
        let d = || parse_duration(arg);
        match kind {
            "fixed" if arg.is_empty() => Ok(LatencyDist::Fixed),
            "uniform" => Ok(LatencyDist::Uniform(d()?)),
            "normal" => Ok(LatencyDist::Normal(d()?)),
            "exponential" | "exp" => Ok(LatencyDist::Exponential(d()?)),
            _ => Err(format!(
                "latency distribution '{s}': expected fixed, uniform:WIDTH, normal:STDDEV or exponential:MEAN"
            )),
        }
    }

    pub fn sample(&self, base: Duration) -> Duration {
        let base = base.as_secs_f64();
        let extra = match *self {
            LatencyDist::Fixed => 0.0,
            LatencyDist::Uniform(w) => fastrand::f64() * w.as_secs_f64(),
            LatencyDist::Normal(sd) => {
                // Box-Muller; 1 - u lies in (0, 1], so the logarithm is finite.
                let (u1, u2) = (1.0 - fastrand::f64(), fastrand::f64());
                sd.as_secs_f64() * (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
            }
            LatencyDist::Exponential(mean) => -(1.0 - fastrand::f64()).ln() * mean.as_secs_f64(),
        };
        Duration::from_secs_f64((base + extra).max(0.0))
    }
}

impl fmt::Display for LatencyDist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LatencyDist::Fixed => f.write_str("fixed"),
            LatencyDist::Uniform(d) => write!(f, "uniform:{d:?}"),
            LatencyDist::Normal(d) => write!(f, "normal:{d:?}"),
            LatencyDist::Exponential(d) => write!(f, "exponential:{d:?}"),
        }
    }
}

#[derive(Debug)]
pub struct Behavior {
    pub latency: Duration,
    pub dist: LatencyDist,
    pub error_rate: f64,
    infer: AtomicU64,
    errors: AtomicU64,
}

impl Behavior {
    pub fn new(latency: Duration, dist: LatencyDist, error_rate: f64) -> Self {
        Behavior {
            latency,
            dist,
            error_rate: error_rate.clamp(0.0, 1.0),
            infer: AtomicU64::new(0),
            errors: AtomicU64::new(0),
        }
    }

    /// Whether request number `n` fails: errors are spread evenly, so any N
    /// consecutive requests hold floor(N * rate) of them, give or take one.
    fn fails(&self, n: u64) -> bool {
        let r = self.error_rate;
        r > 0.0 && ((n + 1) as f64 * r).floor() > (n as f64 * r).floor()
    }

    /// Waits the drawn latency; says whether to answer with an error.
    pub async fn serve(&self) -> bool {
        let n = self.infer.fetch_add(1, Ordering::Relaxed);
        let fail = self.fails(n);
        if fail {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        let d = self.dist.sample(self.latency);
        if !d.is_zero() {
            tokio::time::sleep(d).await;
        }
        fail
    }

    /// (inference requests, errors answered) so far.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.infer.load(Ordering::Relaxed),
            self.errors.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distributions_parse_and_sample_in_range() {
        assert_eq!(LatencyDist::parse("fixed"), Ok(LatencyDist::Fixed));
        let u = LatencyDist::parse("uniform:10ms").unwrap();
        assert_eq!(u, LatencyDist::Uniform(Duration::from_millis(10)));
        for _ in 0..1000 {
            let s = u.sample(Duration::from_millis(5));
            assert!(s >= Duration::from_millis(5) && s < Duration::from_millis(15));
        }
        let n = LatencyDist::parse("normal:1ms").unwrap();
        let mean: f64 = (0..20000)
            .map(|_| n.sample(Duration::from_millis(10)).as_secs_f64())
            .sum::<f64>()
            / 20000.0;
        assert!((mean - 0.010).abs() < 0.0001, "{mean}");
        assert!(LatencyDist::parse("gamma:1ms").is_err());
        assert!(LatencyDist::parse("uniform").is_err());
    }

    #[test]
    fn errors_are_an_exact_fraction() {
        let b = Behavior::new(Duration::ZERO, LatencyDist::Fixed, 0.1);
        assert_eq!((0..1000).filter(|&n| b.fails(n)).count(), 100);
        let b = Behavior::new(Duration::ZERO, LatencyDist::Fixed, 0.25);
        assert_eq!((0..10).filter(|&n| b.fails(n)).count(), 2);
        let none = Behavior::new(Duration::ZERO, LatencyDist::Fixed, 0.0);
        assert!(!(0..1000).any(|n| none.fails(n)));
    }
}
