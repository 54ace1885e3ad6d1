//! What a probe says on stderr while it works: a line per phase, and while
//! the pods come up, a progress bar on a terminal (redrawn in place) or, in
//! a log, a line whenever where they stand changes (and every 30 s, so a CI
//! log shows the wait is alive).

use super::note;
use crate::model::terminal::for_terminal_line;
use crate::probe::{Progress, Waiting};
use std::cell::{Cell, RefCell};
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// How often an unchanged wait is said again in a log.
const ALIVE_EVERY: Duration = Duration::from_secs(30);
const BAR_CELLS: usize = 20;

pub struct Printer {
    /// `-q`, or a data report on stdout: phase and wait lines are silenced.
    quiet: bool,
    /// stderr is a terminal: the wait is a bar redrawn in place.
    terminal: bool,
    bar_shown: Cell<bool>,
    /// The last wait line printed, and when (logs only).
    last: RefCell<Option<(String, Instant)>>,
    /// When a count was last said (logs only).
    last_count: Cell<Option<Instant>>,
}

impl Printer {
    pub fn new(quiet: bool) -> Printer {
        Printer {
            quiet,
            terminal: std::io::stderr().is_terminal() && std::env::var_os("TERM").is_some_and(|t| t != "dumb"),
            bar_shown: Cell::new(false),
            last: RefCell::new(None),
            last_count: Cell::new(None),
        }
    }

    /// A phase line as a plain closure (for what takes `&dyn Fn(&str)`).
    pub fn lines(&self) -> impl Fn(&str) + '_ {
        move |message: &str| self.line(message)
    }

    /// `done` of `total` things finished: a counter redrawn in place on a
    /// terminal; in a log, the last one, and one every 30 s.
    pub fn count(&self, done: usize, total: usize, what: &str) {
        if self.quiet {
            return;
        }
        let text = format!("{done}/{total} {what}");
        if self.terminal {
            let _ = write!(std::io::stderr(), "\r\x1b[2Knetaudit: {text}");
            if done == total {
                let _ = writeln!(std::io::stderr());
            }
            // Redrawn or cleared by what comes next (see `end_count`).
            self.bar_shown.set(done < total);
            return;
        }
        if done == total {
            note(&text);
        } else if self.last_count.get().is_none_or(|when| when.elapsed() >= ALIVE_EVERY) {
            note(&text);
            self.last_count.set(Some(Instant::now()));
        }
    }

    /// A count that stopped short (an error) leaves no half line for the
    /// error message to run into.
    pub fn end_count(&self) {
        self.clear_bar();
    }

    fn clear_bar(&self) {
        if self.bar_shown.replace(false) {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
    }
}

impl Progress for Printer {
    fn line(&self, message: &str) {
        if !self.quiet {
            self.clear_bar();
            note(message);
            // A new phase: its first wait state is said at once.
            self.last.replace(None);
        }
    }

    fn notice(&self, message: &str) {
        self.clear_bar();
        note(message);
    }

    fn waiting(&self, state: &Waiting, elapsed: Duration, timeout: Duration) {
        if self.quiet {
            return;
        }
        let standing = standing(state);
        let clock = format!("{}s of {}s", elapsed.as_secs(), timeout.as_secs());
        if self.terminal {
            let filled = (state.ready * BAR_CELLS).checked_div(state.total).unwrap_or(0);
            let bar = format!(
                "netaudit: [{}{}] {standing} ({clock})",
                "#".repeat(filled),
                ".".repeat(BAR_CELLS - filled)
            );
            let width = terminal_size::terminal_size_of(std::io::stderr())
                .map(|(w, _)| usize::from(w.0))
                .unwrap_or(80);
            // Pod names and container log lines: shown, never acted on.
            let shown: String = for_terminal_line(&bar).chars().take(width.saturating_sub(1)).collect();
            let _ = write!(std::io::stderr(), "\r\x1b[2K{shown}");
            self.bar_shown.set(true);
            return;
        }
        let mut last = self.last.borrow_mut();
        let due = match &*last {
            Some((said, when)) => *said != standing || when.elapsed() >= ALIVE_EVERY,
            None => true,
        };
        if due {
            note(&format!("{standing} ({clock})"));
            *last = Some((standing, Instant::now()));
        }
    }
}

/// "3/4 pods ready, 1 stopped for good": counts only; which pods stopped
/// and why is said once, when the wait ends.
fn standing(state: &Waiting) -> String {
    let mut text = format!("{}/{} pods ready", state.ready, state.total);
    if state.stopped > 0 {
        text.push_str(&format!(", {} stopped for good", state.stopped));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standing_counts_the_stopped_pods_without_repeating_why() {
        let state = Waiting {
            ready: 3,
            total: 4,
            stopped: 1,
        };
        assert_eq!(standing(&state), "3/4 pods ready, 1 stopped for good");
        let state = Waiting {
            ready: 0,
            total: 2,
            stopped: 0,
        };
        assert_eq!(standing(&state), "0/2 pods ready");
    }
}
