//! Sandboxes left behind by earlier runs: a netaudit killed with SIGKILL
//! (or a kept sandbox, or a cleanup the runtime refused) leaves its
//! sandbox. `netaudit cleanup` finds them by our labels only, says how old
//! they are, and removes them; nothing without our labels is ever touched.

use std::time::{Duration, SystemTime};

/// One sandbox left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftover {
    /// `podman` or `kube`.
    pub runtime: &'static str,
    /// The sandbox's name (the value of its label).
    pub name: String,
    /// When it was made, if the runtime says.
    pub created: Option<SystemTime>,
    /// The process that made it (`PID@HOST`), if recorded.
    pub owner: Option<String>,
    /// That process still runs: the sandbox is in use, not left over.
    pub in_use: bool,
    /// What it holds, in a few words ("2 pods, 1 volume, its plan files").
    pub contents: String,
}

impl Leftover {
    /// Its age now.
    pub fn age(&self) -> Option<Duration> {
        SystemTime::now().duration_since(self.created?).ok()
    }
}

/// An age in the largest unit that fits: `45s`, `12m`, `3h`, `2d`.
pub fn format_age(age: Duration) -> String {
    let seconds = age.as_secs();
    match seconds {
        0..=119 => format!("{seconds}s"),
        120..=7_199 => format!("{}m", seconds / 60),
        7_200..=172_799 => format!("{}h", seconds / 3_600),
        _ => format!("{}d", seconds / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_are_short() {
        assert_eq!(format_age(Duration::from_secs(5)), "5s");
        assert_eq!(format_age(Duration::from_secs(600)), "10m");
        assert_eq!(format_age(Duration::from_secs(3 * 3600 + 5)), "3h");
        assert_eq!(format_age(Duration::from_secs(5 * 86_400)), "5d");
    }
}
