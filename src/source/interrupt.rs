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

/// Run `command` to its end and collect its output, as
/// [`Command::output`](std::process::Command::output) does, but kill it at
/// once when netaudit is interrupted: SIGINT or SIGTERM sent to netaudit
/// alone (as CI runners and `timeout` send them) never reaches the child,
/// which would otherwise run on (a `helm install` for minutes). The error
/// is then of kind [`std::io::ErrorKind::Interrupted`].
pub fn output(command: &mut std::process::Command) -> std::io::Result<std::process::Output> {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // Both pipes drained on their own threads: a chatty child never blocks
    // on a full pipe while we poll.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if interrupted() {
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::new(std::io::ErrorKind::Interrupted, "interrupted"));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ok(std::process::Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[test]
    fn output_collects_both_streams_and_the_status() {
        let out = output(Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"])).unwrap();
        assert_eq!(out.stdout, b"out\n");
        assert_eq!(out.stderr, b"err\n");
        assert_eq!(out.status.code(), Some(3));
        // More than a pipe holds, on both streams at once.
        let big =
            output(Command::new("sh").args(["-c", "head -c 300000 /dev/zero; head -c 300000 /dev/zero >&2"])).unwrap();
        assert_eq!((big.stdout.len(), big.stderr.len()), (300_000, 300_000));
    }
}
