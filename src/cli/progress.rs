//! A progress bar on stderr for long files, shown only when stderr is a terminal.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// Seconds of audio done out of `total_s`; a no-op when stderr is not a terminal or the length
/// is unknown (a pipe, a stream without a duration).
pub struct AudioProgress(Option<ProgressBar>);

impl AudioProgress {
    pub fn new(total_s: Option<f64>, label: &str) -> AudioProgress {
        let bar = match total_s {
            Some(total) if std::io::stderr().is_terminal() => {
                let bar = ProgressBar::new((total * 1000.0) as u64);
                bar.set_style(
                    ProgressStyle::with_template(
                        "{spinner} {prefix} [{elapsed_precise}] {wide_bar} {msg} (eta {eta})",
                    )
                    .expect("static template"),
                );
                bar.set_prefix(label.to_string());
                Some(bar)
            }
            _ => None,
        };
        AudioProgress(bar)
    }

    pub fn update(&self, done_s: f64) {
        if let Some(bar) = &self.0 {
            bar.set_position((done_s * 1000.0) as u64);
            bar.set_message(format!("{done_s:.0} s"));
        }
    }

    pub fn finish(self) {
        if let Some(bar) = self.0 {
            bar.finish_and_clear();
        }
    }
}
