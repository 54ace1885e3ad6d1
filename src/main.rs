use netaudit::cli::{Cli, Command};
use netaudit::commands::{self, EXIT_ERROR, EXIT_INTERRUPTED};
use netaudit::probe::CleanupFailed;
use netaudit::source::interrupt;
use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

/// mimalloc instead of the system allocator: a cluster dump is tens of
/// millions of small allocations, and glibc's malloc and free were a fifth
/// of a 100,000-workload lint (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// clap's errors as one line with their detail (the missing arguments, the
/// possible values, "did you mean"), exit 2; `--help` and `--version` as
/// clap prints them. Under Helm, usage lines and hints say `helm netaudit`.
fn parse_arguments() -> Result<Cli, ExitCode> {
    use clap::error::ErrorKind;
    use clap::{CommandFactory, FromArgMatches};
    let program = commands::usage::program();
    let args: Vec<OsString> = std::env::args_os().collect();
    let parsed = Cli::command()
        .bin_name(&program)
        .try_get_matches_from(&args)
        .and_then(|mut matches| Cli::from_arg_matches_mut(&mut matches));
    parsed.map_err(|err| match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = err.print();
            ExitCode::SUCCESS
        }
        // `netaudit` alone: the help, as a usage error.
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = err.print();
            ExitCode::from(EXIT_ERROR)
        }
        _ => {
            let line = commands::usage::one_line(&err, &program, &args);
            let _ = writeln!(std::io::stderr(), "error: {line}");
            ExitCode::from(EXIT_ERROR)
        }
    })
}

fn main() -> ExitCode {
    let cli = match parse_arguments() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    // SIGINT/SIGTERM end these commands with exit 130: at once while they
    // compute, and after killing children and removing sandboxes while
    // those exist (src/source/interrupt.rs).
    if matches!(
        cli.command,
        Command::Lint(_) | Command::Reach(_) | Command::Install(_) | Command::Audit(_) | Command::Fix(_)
    ) {
        if let Err(err) = interrupt::install_handler() {
            let _ = writeln!(std::io::stderr(), "error: {err:#}");
            return ExitCode::from(EXIT_ERROR);
        }
    }
    let result = match &cli.command {
        Command::Lint(args) => commands::lint::run(args),
        Command::Reach(args) => commands::lint::reach(args),
        Command::Install(args) => commands::install::run(args),
        Command::Audit(args) => commands::audit::run(args),
        Command::Fix(args) => commands::fix::run(args),
        Command::PostRender(args) => commands::fix::post_render(args),
        Command::Cleanup(args) => commands::cleanup::run(args),
        Command::Explain { check } => commands::docs::explain(check),
        Command::Checks => commands::docs::list(),
        Command::Version => commands::docs::version(),
        Command::GenDocs { path } => commands::docs::generate(path),
    };
    // A signal that came while a section cleaned up (it then only set the
    // flag), and that nothing polled after: still an interrupt.
    let result = result.and_then(|code| interrupt::check().map(|()| code));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            // A child (helm) killed by the same Ctrl-C fails with its own
            // error: the interrupt is still what ended the command, and all
            // there is to say, unless the sandbox could not be removed.
            let interrupted = interrupt::is_interrupt(&err) || interrupt::interrupted();
            let message = if interrupted && err.downcast_ref::<CleanupFailed>().is_none() {
                "interrupted".to_string()
            } else {
                format!("{err:#}").replace('\n', "\n  ")
            };
            // Errors quote charts, files and helm: shown, never acted on.
            let message = netaudit::model::terminal::for_terminal(&message);
            // Not eprintln!: it panics when stderr is closed.
            let _ = writeln!(std::io::stderr(), "error: {message}");
            ExitCode::from(if interrupted { EXIT_INTERRUPTED } else { EXIT_ERROR })
        }
    }
}
