//! Ctrl-C and SIGTERM: one flag, set by the handler, that every wait polls.
//! An interrupted command ends with [`Interrupted`], which `main` turns into
//! exit code 130 as shells expect.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Route SIGINT and SIGTERM to the flag (once per process).
pub fn install_handler() -> anyhow::Result<()> {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    let mut result = Ok(());
    INSTALLED.call_once(|| {
        result = ctrlc::set_handler(|| INTERRUPTED.store(true, Ordering::SeqCst))
            .map_err(|e| anyhow::anyhow!("cannot install the signal handler: {e}"));
    });
    result
}

/// The error an interrupted step returns.
#[derive(Debug, thiserror::Error)]
#[error("interrupted")]
pub struct Interrupted;

/// `Err(Interrupted)` once the flag is set.
pub fn check() -> anyhow::Result<()> {
    if interrupted() {
        return Err(Interrupted.into());
    }
    Ok(())
}

/// Sleep in small steps so an interrupt is seen quickly.
pub fn sleep(total: Duration) -> anyhow::Result<()> {
    let step = Duration::from_millis(50);
    let mut slept = Duration::ZERO;
    while slept < total {
        check()?;
        let now = step.min(total - slept);
        std::thread::sleep(now);
        slept += now;
    }
    check()
}

/// Does this error (or its cause) come from an interrupt?
pub fn is_interrupt(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| cause.is::<Interrupted>())
}
