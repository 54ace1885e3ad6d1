//! Ctrl-C and SIGTERM. Two cases, decided when the signal arrives:
//!
//! - No [`Cooperative`] section is active (netaudit is reading input,
//!   computing, writing to stdout): nothing needs cleaning up, so the
//!   handler itself ends the process, with `error: interrupted` and exit
//!   code 130. Pure computation (a 100,000-workload lint or reach, tens of
//!   seconds) polls nothing, so a flag alone would be seen only at its end.
//! - A section is active (a sandbox exists, a child such as helm runs, an
//!   output file is being written): the handler only sets the flag, which
//!   every wait polls; the section kills its child, removes its sandbox, and
//!   the command ends with [`Interrupted`], which `main` turns into exit
//!   code 130 as shells expect.
//!
//! Why a count of sections rather than a flag polled everywhere: computing
//! code would have to poll in every loop, and one forgotten loop makes the
//! interrupt wait again; the few places that own something to clean up are
//! known and already poll. The count and the handler's decision share one
//! lock, held until the process is gone, so a section cannot begin while the
//! handler ends the process, nor the handler end it while one runs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// The flag and the number of active [`Cooperative`] sections.
struct State {
    interrupted: AtomicBool,
    active: Mutex<usize>,
}

impl State {
    const fn new() -> State {
        State {
            interrupted: AtomicBool::new(false),
            active: Mutex::new(0),
        }
    }

    fn active(&self) -> MutexGuard<'_, usize> {
        // A panic never happens with the lock held; should one, the count
        // is still right.
        self.active.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A signal: set the flag; with no section active, call `finish` with
    /// the lock still held (it ends the process: no section begins).
    fn on_signal(&self, finish: impl FnOnce()) {
        let active = self.active();
        self.interrupted.store(true, Ordering::SeqCst);
        if *active == 0 {
            finish();
        }
        drop(active);
    }
}

static STATE: State = State::new();

pub fn interrupted() -> bool {
    STATE.interrupted.load(Ordering::SeqCst)
}

/// Route SIGINT and SIGTERM to [`State::on_signal`] (once per process).
/// The `ctrlc` handler runs on its own thread, not in signal context: it
/// may lock, write and exit.
pub fn install_handler() -> anyhow::Result<()> {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    let mut result = Ok(());
    INSTALLED.call_once(|| {
        result = ctrlc::set_handler(|| STATE.on_signal(exit_interrupted))
            .map_err(|e| anyhow::anyhow!("cannot install the signal handler: {e}"));
    });
    result
}

/// End the process as `main` ends an interrupted command: `error:
/// interrupted` on stderr, exit code 130. Called from the handler's thread
/// while others still run, so it neither takes the stderr lock (another
/// thread may hold it) nor runs exit handlers (`_exit`, not `exit`: the
/// allocator's and libc's would run beside threads still computing).
fn exit_interrupted() {
    const LINE: &[u8] = b"error: interrupted\n";
    #[cfg(unix)]
    {
        // SAFETY: writing a static buffer to fd 2, then ending the process;
        // neither touches memory another thread uses.
        unsafe {
            let _ = libc::write(2, LINE.as_ptr().cast(), LINE.len());
            libc::_exit(130);
        }
    }
    #[cfg(not(unix))]
    {
        use std::io::Write;
        let _ = std::io::stderr().write_all(LINE);
        std::process::exit(130);
    }
}

/// A section that owns something an interrupt must clean up (a sandbox, a
/// child process, a temporary file): while one is alive, SIGINT and SIGTERM
/// only set the flag, and the section must poll it ([`check`],
/// [`sleep`], [`output`]) and clean up. Held by whatever owns the resource
/// for as long as it does (the sandboxes hold one as a field, dropped after
/// everything they remove).
#[derive(Debug)]
#[must_use = "the section ends when the guard is dropped"]
pub struct Cooperative(());

impl Cooperative {
    pub fn enter() -> Cooperative {
        *STATE.active() += 1;
        Cooperative(())
    }
}

impl Drop for Cooperative {
    fn drop(&mut self) {
        *STATE.active() -= 1;
    }
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
    output_while(command, Duration::MAX, || {})
}

/// [`output`], killing the command once it has run for `limit` (a render
/// that never ends): the error is then of kind
/// [`std::io::ErrorKind::TimedOut`].
pub fn output_within(command: &mut std::process::Command, limit: Duration) -> std::io::Result<std::process::Output> {
    run_to_end(command, Duration::MAX, || {}, limit)
}

/// [`output`], calling `tick` every `every` while the command runs (the
/// kube sandbox watches the pods `helm test` makes meanwhile).
pub fn output_while(
    command: &mut std::process::Command,
    every: Duration,
    tick: impl FnMut(),
) -> std::io::Result<std::process::Output> {
    run_to_end(command, every, tick, Duration::MAX)
}

fn run_to_end(
    command: &mut std::process::Command,
    every: Duration,
    mut tick: impl FnMut(),
    limit: Duration,
) -> std::io::Result<std::process::Output> {
    use std::io::Read;
    use std::process::Stdio;
    // The child must be killed on an interrupt, not left running.
    let _cooperative = Cooperative::enter();
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
    let started = std::time::Instant::now();
    let mut last_tick = started;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() >= limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "timed out"));
        }
        if last_tick.elapsed() >= every {
            tick();
            last_tick = std::time::Instant::now();
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
    fn a_signal_ends_the_process_only_outside_every_section() {
        // A state of its own: the process-wide one must never be set in
        // tests (every wait would see an interrupt).
        let state = State::new();
        *state.active() += 2;
        let mut finished = false;
        state.on_signal(|| finished = true);
        assert!(!finished, "a section is active: only the flag");
        assert!(state.interrupted.load(Ordering::SeqCst));
        *state.active() -= 1;
        state.on_signal(|| finished = true);
        assert!(!finished, "one section is still active");
        *state.active() -= 1;
        state.on_signal(|| finished = true);
        assert!(finished, "no section: the handler ends the process");
    }

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

    #[test]
    fn a_command_past_its_limit_is_killed() {
        let started = std::time::Instant::now();
        let error = output_within(Command::new("sleep").arg("30"), Duration::from_millis(200)).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
        assert!(started.elapsed() < Duration::from_secs(10), "killed, not waited for");
        let done = output_within(&mut Command::new("true"), Duration::from_secs(30)).unwrap();
        assert!(done.status.success());
    }
}
