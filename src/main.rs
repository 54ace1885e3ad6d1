use clap::Parser;
use netaudit::cli::{Cli, Command};
use netaudit::commands::{self, EXIT_ERROR, EXIT_INTERRUPTED};
use netaudit::probe::interrupt;
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Lint(args) => commands::lint::run(args),
        Command::Reach(args) => commands::lint::reach(args),
        Command::Install(args) => commands::install::run(args),
        Command::Audit(args) => commands::audit::run(args),
        Command::Fix(args) => commands::fix::run(args),
        Command::PostRender(args) => commands::fix::post_render(args),
        Command::Explain { check } => commands::docs::explain(check),
        Command::Checks => commands::docs::list(),
        Command::GenDocs { path } => commands::docs::generate(path),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            // Not eprintln!: it panics when stderr is closed.
            let _ = writeln!(std::io::stderr(), "error: {}", format!("{err:#}").replace('\n', "\n  "));
            // A child (helm) killed by the same Ctrl-C fails with its own
            // error: the interrupt is still what ended the command.
            ExitCode::from(if interrupt::is_interrupt(&err) || interrupt::interrupted() {
                EXIT_INTERRUPTED
            } else {
                EXIT_ERROR
            })
        }
    }
}
