//! PNG plots of a report: latency over time (p50 and p99 per window) and the
//! percentile curve, one line per target. Text needs a TrueType font: the
//! file in `INFERGATE_LOADTEST_FONT`, else a common system sans-serif.
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::prelude::*;

use crate::error::{LoadError, Result};
use crate::report::Report;

const FONT_PATHS: [&str; 5] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/Library/Fonts/Arial Unicode.ttf",
];

fn load_font() -> std::result::Result<(), String> {
    let candidates = std::env::var("INFERGATE_LOADTEST_FONT")
        .ok()
        .into_iter()
        .chain(FONT_PATHS.iter().map(|s| s.to_string()));
    for path in candidates {
        if let Ok(bytes) = std::fs::read(&path) {
            // Registered once for the process; plotters keeps a 'static slice.
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                return Ok(());
            }
        }
    }
    Err(
        "no TrueType font found for the plot text; set INFERGATE_LOADTEST_FONT to a .ttf file"
            .into(),
    )
}

fn font() -> Result<()> {
    static FONT: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    FONT.get_or_init(load_font).clone().map_err(LoadError::Plot)
}

fn plot_err(e: impl std::fmt::Display) -> LoadError {
    LoadError::Plot(e.to_string())
}

/// Writes both plots into `dir`; returns their paths.
pub fn write(dir: &Path, report: &Report) -> Result<Vec<PathBuf>> {
    font()?;
    std::fs::create_dir_all(dir).map_err(|source| LoadError::WriteFile {
        path: dir.to_path_buf(),
        source,
    })?;
    let over_time = dir.join("latency-over-time.png");
    latency_over_time(&over_time, report)?;
    let curve = dir.join("percentiles.png");
    percentile_curve(&curve, report)?;
    Ok(vec![over_time, curve])
}

type Line = (String, Vec<(f64, f64)>);

fn draw(
    path: &Path,
    title: &str,
    x_desc: &str,
    lines: &[Line],
    x_fmt: &dyn Fn(&f64) -> String,
) -> Result<()> {
    let xmax = lines
        .iter()
        .flat_map(|(_, p)| p.iter().map(|q| q.0))
        .fold(0.0, f64::max)
        .max(1e-9);
    let ymax = lines
        .iter()
        .flat_map(|(_, p)| p.iter().map(|q| q.1))
        .fold(0.0, f64::max)
        .max(1e-3);
    let root = BitMapBackend::new(path, (1000, 560)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..xmax, 0.0..ymax * 1.08)
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc("latency (ms)")
        .x_label_formatter(x_fmt)
        .draw()
        .map_err(plot_err)?;
    for (i, (label, points)) in lines.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(2),
            ))
            .map_err(plot_err)?
            .label(label.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(plot_err)?;
    root.present().map_err(plot_err)
}

fn latency_over_time(path: &Path, report: &Report) -> Result<()> {
    let w = report.config.window_s;
    let mut lines = Vec::new();
    for t in &report.targets {
        // Rounds follow each other on the time axis.
        let mut offset = 0.0;
        let mut round = 0;
        let (mut p50, mut p99) = (Vec::new(), Vec::new());
        let mut last_start = 0.0;
        for win in &t.windows {
            if win.round != round {
                offset += last_start + if round == 0 { 0.0 } else { w };
                round = win.round;
            }
            last_start = win.start_s;
            if win.requests > 0 {
                p50.push((offset + win.start_s + w, win.p50_ms));
                p99.push((offset + win.start_s + w, win.p99_ms));
            }
        }
        lines.push((format!("{} p50", t.info.label), p50));
        lines.push((format!("{} p99", t.info.label), p99));
    }
    let span = lines
        .iter()
        .flat_map(|(_, points)| points.iter().map(|&(x, _)| x))
        .fold(0.0f64, f64::max);
    let decimals = time_decimals(span);
    draw(path, "Latency per window", "time (s)", &lines, &|x| {
        format!("{x:.decimals$}")
    })
}

/// Decimals the time axis needs so that its ~10 labels differ: a 3 s run
/// labelled in whole seconds would read 0, 0, 1, 1, 1, 2...
fn time_decimals(span_s: f64) -> usize {
    match span_s {
        s if s >= 20.0 => 0,
        s if s >= 2.0 => 1,
        _ => 2,
    }
}

/// Percentile p on an axis of "nines": 90% -> 1, 99% -> 2, 99.9% -> 3.
fn nines(p: f64) -> f64 {
    -(1.0 - p / 100.0).max(1e-6).log10()
}

fn percentile_curve(path: &Path, report: &Report) -> Result<()> {
    let lines: Vec<Line> = report
        .targets
        .iter()
        .map(|t| {
            let pts = t
                .percentiles
                .iter()
                .filter(|p| p.percentile < 100.0)
                .map(|p| (nines(p.percentile), p.ms))
                .collect();
            (t.info.label.clone(), pts)
        })
        .collect();
    let fmt = |x: &f64| {
        let p = 100.0 * (1.0 - 10f64.powf(-x));
        format!("{}%", (p * 1000.0).round() / 1000.0)
    };
    draw(path, "Latency by percentile", "percentile", &lines, &fmt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_map_to_nines() {
        assert!((nines(90.0) - 1.0).abs() < 1e-9);
        assert!((nines(99.9) - 3.0).abs() < 1e-9);
        assert_eq!(nines(0.0), 0.0);
    }
}

#[cfg(test)]
mod time_axis_tests {
    use super::time_decimals;

    #[test]
    fn labels_of_a_short_run_do_not_repeat() {
        for span in [0.5f64, 3.0, 12.0, 60.0] {
            let d = time_decimals(span);
            let labels: Vec<String> = (0..=10)
                .map(|i| format!("{:.d$}", span * f64::from(i) / 10.0))
                .collect();
            let mut unique = labels.clone();
            unique.dedup();
            assert_eq!(unique.len(), labels.len(), "span {span}: {labels:?}");
        }
    }
}
