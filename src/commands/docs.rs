//! `explain`, `checks` and the hidden `gen-docs`: the checks' own
//! documentation; and `version`.

use super::write_atomically;
use crate::checks::{self, docs};
use crate::cli::Cli;
use anyhow::{anyhow, Result};
use clap::CommandFactory;
use std::io::Write;
use std::path::Path;

pub fn explain(check: &str) -> Result<u8> {
    let info = checks::find(check).ok_or_else(|| anyhow!("unknown check {check:?}; `netaudit checks` lists them"))?;
    print!("{}", docs::explain(info));
    Ok(0)
}

pub fn list() -> Result<u8> {
    print!("{}", docs::checks_list());
    Ok(0)
}

pub fn generate(path: &Path) -> Result<u8> {
    write_atomically(path, docs::checks_markdown().as_bytes())?;
    Ok(0)
}

/// `netaudit version`: what `--version` prints (clap renders both).
pub fn version() -> Result<u8> {
    std::io::stdout().write_all(Cli::command().render_version().as_bytes())?;
    Ok(0)
}
