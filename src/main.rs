use clap::Parser;
use netaudit::app::{self, EXIT_ERROR};
use netaudit::cli::{Cli, Command};
use netaudit::{checks, docs};
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Lint(args) => app::lint(args),
        Command::Install(args) => app::install(args),
        Command::Audit(args) => app::audit_release(args),
        Command::Fix(args) => app::fix(args),
        Command::PostRender(args) => app::post_render(args),
        Command::Explain { check } => match checks::find(check) {
            Some(info) => {
                print!("{}", docs::explain(info));
                Ok(0)
            }
            None => Err(anyhow::anyhow!("unknown check {check:?}; `netaudit checks` lists them")),
        },
        Command::Checks => {
            print!("{}", docs::checks_list());
            Ok(0)
        }
        Command::GenDocs { path } => app::write_atomically(path, docs::checks_markdown().as_bytes()).map(|_| 0),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            // Not eprintln!: it panics when stderr is closed.
            let _ = writeln!(std::io::stderr(), "error: {}", format!("{err:#}").replace('\n', "\n  "));
            ExitCode::from(EXIT_ERROR)
        }
    }
}
