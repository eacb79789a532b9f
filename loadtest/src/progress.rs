//! A progress bar on stderr, only when stderr is a terminal.
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Clone)]
pub struct Progress {
    enabled: bool,
}

impl Progress {
    pub fn new(wanted: bool) -> Self {
        Progress {
            enabled: wanted && std::io::stderr().is_terminal(),
        }
    }

    /// A bar for one measurement of `len` units (milliseconds or requests).
    pub fn bar(&self, prefix: &str, len: u64, unit: &'static str) -> Bar {
        if !self.enabled {
            return Bar(None);
        }
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
        let template = format!("{{prefix:.bold}} [{{bar:30}}] {{pos}}/{{len}} {unit} {{msg}}");
        if let Ok(style) = ProgressStyle::with_template(&template) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(prefix.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        Bar(Some(bar))
    }
}

pub struct Bar(Option<ProgressBar>);

impl Bar {
    pub fn update(&self, pos: u64, msg: impl FnOnce() -> String) {
        if let Some(b) = &self.0 {
            b.set_position(pos);
            b.set_message(msg());
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}
