//! The podman configuration netaudit's own podman calls run with
//! (`podman/containers.conf`: runc, explicit ulimits; docs/podman-notes.md).
//! Without it, on machines whose hard limit of open files is below podman's
//! default request, every container fails with runc's "error setting rlimit
//! type 7: operation not permitted".
//!
//! The user's `CONTAINERS_CONF` always wins. Else the file the plugin ships
//! (`$HELM_PLUGIN_DIR/podman/containers.conf`), or the one beside the
//! binary's installation (a clone's `target/*/netaudit`, a plugin's
//! `bin/netaudit`); else the copy built into the binary, written once into
//! netaudit's cache directory (`$XDG_CACHE_HOME/netaudit`, else
//! `~/.cache/netaudit`). Only podman processes netaudit starts get it.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The configuration, as shipped in `podman/containers.conf`.
const SHIPPED: &str = include_str!("../../../podman/containers.conf");
const RELATIVE_PATH: [&str; 2] = ["podman", "containers.conf"];

/// What `CONTAINERS_CONF` netaudit sets for its podman calls: `None` when
/// the user set one (podman reads it) or no file could be had.
pub(super) fn containers_conf() -> Option<&'static Path> {
    if std::env::var_os("CONTAINERS_CONF").is_some() {
        return None;
    }
    static FOUND: OnceLock<Option<PathBuf>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            let plugin = std::env::var_os("HELM_PLUGIN_DIR").map(PathBuf::from);
            let exe = std::env::current_exe().ok();
            let beside_binary = exe.iter().flat_map(|e| e.ancestors().skip(1).take(3));
            plugin
                .iter()
                .map(PathBuf::as_path)
                .chain(beside_binary)
                .map(|dir| RELATIVE_PATH.iter().fold(dir.to_path_buf(), |p, part| p.join(part)))
                .find(|file| file.is_file())
                .or_else(|| cached_copy().ok())
        })
        .as_deref()
}

/// Where the user should look when runc still cannot set a limit.
pub(super) fn advice() -> String {
    match (std::env::var_os("CONTAINERS_CONF"), containers_conf()) {
        (Some(theirs), _) => format!(
            "the CONTAINERS_CONF you set ({}) must lower default_ulimits (nofile, nproc) below this machine's hard limits, as netaudit's own podman/containers.conf does",
            Path::new(&theirs).display()
        ),
        (None, Some(ours)) => format!(
            "netaudit ran podman with {}: lower its default_ulimits (nofile, nproc) to this machine's hard limits (`ulimit -Hn`, `ulimit -Hu`)",
            ours.display()
        ),
        (None, None) => "run podman with netaudit's podman/containers.conf (export CONTAINERS_CONF=...): its default_ulimits stay below this machine's hard limits".into(),
    }
}

/// The built-in copy in netaudit's cache directory, written when it is
/// missing or differs (atomically: a concurrent run reads either version).
fn cached_copy() -> std::io::Result<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| Path::new(d).is_absolute())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .ok_or_else(|| std::io::Error::other("no HOME"))?;
    let dir = base.join("netaudit");
    let file = dir.join("containers.conf");
    if std::fs::read_to_string(&file).is_ok_and(|text| text == SHIPPED) {
        return Ok(file);
    }
    std::fs::create_dir_all(&dir)?;
    // An interrupt does not end the process with the temporary file left.
    let _cooperative = crate::source::interrupt::Cooperative::enter();
    let mut temporary = tempfile::NamedTempFile::new_in(&dir)?;
    std::io::Write::write_all(&mut temporary, SHIPPED.as_bytes())?;
    temporary.persist(&file).map_err(|e| e.error)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_configuration_lowers_the_limits_and_picks_runc() {
        assert!(SHIPPED.contains("\"nofile=1024:1024\""), "{SHIPPED}");
        assert!(SHIPPED.contains("\"nproc=1024:1024\""), "{SHIPPED}");
        assert!(SHIPPED.contains("runtime = \"runc\""), "{SHIPPED}");
    }
}
