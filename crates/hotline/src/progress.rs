//! Progress of a long command (`import`, `compact`) on standard error.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// A progress bar on a terminal, a plain line every few seconds otherwise.
pub(crate) struct Progress {
    bar: Option<indicatif::ProgressBar>,
    started: Instant,
    last_line: std::sync::Mutex<Instant>,
    every: Duration,
    quiet: bool,
    /// What the count is of, in the plain line: "rows stored".
    counted: &'static str,
}

impl Progress {
    pub(crate) fn new(quiet: bool, every: Duration, counted: &'static str) -> Progress {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} {pos} tickets  {per_sec}  {elapsed}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Progress {
            bar,
            started: Instant::now(),
            last_line: std::sync::Mutex::new(Instant::now()),
            every,
            quiet,
            counted,
        }
    }

    pub(crate) fn set(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(n);
        } else if !self.quiet {
            if let Ok(mut last) = self.last_line.lock() {
                if last.elapsed() >= self.every {
                    *last = Instant::now();
                    let rate = n as f64 / self.started.elapsed().as_secs_f64().max(1e-9);
                    eprintln!("{n} {} ({rate:.0}/s)", self.counted);
                }
            }
        }
    }

    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
