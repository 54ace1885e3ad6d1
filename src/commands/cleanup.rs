//! `netaudit cleanup`: the sandboxes earlier runs left behind, each on a
//! line with its age, removed unless `--dry-run`; a sandbox whose netaudit
//! still runs is left alone.

use super::{note, EXIT_ERROR};
use crate::cli::{CleanupArgs, Runtime};
use crate::model::terminal::for_terminal;
use crate::probe::kube::{self, leftovers as kube_leftovers};
use crate::probe::leftovers::{format_age, Leftover};
use crate::probe::podman::leftovers as podman_leftovers;
use crate::source::kube_client::{block, client_from_environment, new_runtime};
use anyhow::Result;
use std::io::Write;
use std::time::Duration;

pub fn run(args: &CleanupArgs) -> Result<u8> {
    let podman = match args.runtime {
        Runtime::Podman => true,
        Runtime::Kube => false,
        Runtime::Auto => which::which("podman").is_ok(),
    };
    let kube = match args.runtime {
        Runtime::Kube => true,
        Runtime::Podman => false,
        Runtime::Auto => {
            let answers = kube::cluster_reachable(Duration::from_secs(5));
            if !answers {
                note("no Kubernetes context answers: kube sandboxes not searched (--runtime kube to insist)");
            }
            answers
        }
    };
    if !podman && !kube {
        note("podman is not installed and no Kubernetes context answers: nothing to search");
        return Ok(0);
    }
    let mut found: Vec<Leftover> = Vec::new();
    if podman {
        found.extend(podman_leftovers::find()?);
    }
    let cluster = if kube {
        let runtime = new_runtime()?;
        let client = runtime.block_on(client_from_environment())?;
        found.extend(block(&runtime, kube_leftovers::find(&client))?);
        Some((runtime, client))
    } else {
        None
    };
    let mut out = std::io::stdout().lock();
    if !args.sandboxes.is_empty() {
        // Asked for by name and not there: nothing to do (as after a
        // cleanup that failed late, with everything already removed).
        let searched: Vec<&str> = [("podman", podman), ("kube", kube)]
            .iter()
            .filter_map(|(runtime, searched)| searched.then_some(*runtime))
            .collect();
        for name in args
            .sandboxes
            .iter()
            .filter(|name| !found.iter().any(|l| &l.name == *name))
        {
            let line = format!(
                "nothing of sandbox {name} is left ({} searched)",
                searched.join(" and ")
            );
            writeln!(out, "{}", for_terminal(&line))?;
        }
        found.retain(|l| args.sandboxes.contains(&l.name));
        if found.is_empty() {
            return Ok(0);
        }
    }
    if found.is_empty() {
        writeln!(out, "no sandboxes left by earlier runs")?;
        return Ok(0);
    }
    let mut failed = 0;
    for leftover in &found {
        let age = leftover.age();
        let what = format!(
            "{} sandbox {} ({}: {})",
            leftover.runtime,
            leftover.name,
            age.map(|a| format!("{} old", format_age(a)))
                .unwrap_or_else(|| "age unknown".into()),
            leftover.contents
        );
        let line = if leftover.in_use {
            format!(
                "left {what}: in use by netaudit {}",
                leftover.owner.as_deref().unwrap_or("?")
            )
        } else if args.older_than.is_some_and(|limit| age.is_none_or(|age| age < limit)) {
            format!("left {what}: not older than --older-than")
        } else if args.dry_run {
            format!("would remove {what}")
        } else {
            let removed = match (leftover.runtime, &cluster) {
                ("kube", Some((runtime, client))) => block(runtime, kube_leftovers::remove(client, &leftover.name)),
                _ => podman_leftovers::remove(&leftover.name),
            };
            match removed {
                Ok(()) => format!("removed {what}"),
                Err(error) => {
                    failed += 1;
                    note(&format!("cannot remove {what}: {error:#}"));
                    continue;
                }
            }
        };
        writeln!(out, "{}", for_terminal(&line))?;
    }
    if failed > 0 {
        note(&format!(
            "{failed} of {} sandboxes could not be removed (see above)",
            found.len()
        ));
        return Ok(EXIT_ERROR);
    }
    Ok(0)
}
