//! Download progress on stderr — bytes, rate, time left — when stderr is a terminal; quiet
//! otherwise (logs and pipes get the one-line result from the CLI instead).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Something told how many bytes have been written so far.
pub trait ProgressSink {
    fn start(&mut self, what: &str, done: u64, total: u64);
    fn advance(&mut self, done: u64);
    fn finish(&mut self);
}

/// No output.
pub struct Quiet;

impl ProgressSink for Quiet {
    fn start(&mut self, _what: &str, _done: u64, _total: u64) {}
    fn advance(&mut self, _done: u64) {}
    fn finish(&mut self) {}
}

/// A single redrawn line on stderr, at most four times a second.
pub struct TerminalProgress {
    what: String,
    total: u64,
    resumed_at: u64,
    started: Instant,
    last_draw: Option<Instant>,
}

impl TerminalProgress {
    /// A terminal progress line if stderr is a terminal, else [`Quiet`].
    pub fn for_stderr() -> Box<dyn ProgressSink> {
        if std::io::stderr().is_terminal() {
            Box::new(TerminalProgress {
                what: String::new(),
                total: 0,
                resumed_at: 0,
                started: Instant::now(),
                last_draw: None,
            })
        } else {
            Box::new(Quiet)
        }
    }

    fn draw(&self, done: u64) {
        let elapsed = self.started.elapsed().as_secs_f64().max(1e-3);
        let rate = done.saturating_sub(self.resumed_at) as f64 / elapsed;
        let left = if rate > 0.0 {
            format!(
                "{:.0} s left",
                self.total.saturating_sub(done) as f64 / rate
            )
        } else {
            "-".into()
        };
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r{}: {:.1}/{:.1} MiB, {:.1} MiB/s, {}   ",
            self.what,
            mib(done),
            mib(self.total),
            rate / (1024.0 * 1024.0),
            left
        );
        let _ = err.flush();
    }
}

impl ProgressSink for TerminalProgress {
    fn start(&mut self, what: &str, done: u64, total: u64) {
        self.what = what.to_owned();
        self.total = total;
        self.resumed_at = done;
        self.started = Instant::now();
        self.last_draw = None;
        self.draw(done);
    }

    fn advance(&mut self, done: u64) {
        let due = self
            .last_draw
            .is_none_or(|t| t.elapsed() >= Duration::from_millis(250));
        if due {
            self.last_draw = Some(Instant::now());
            self.draw(done);
        }
    }

    fn finish(&mut self) {
        let _ = writeln!(std::io::stderr());
    }
}
