//! Names and labels of sandboxes, shared by both backends.

/// The label every object of a sandbox carries; its value is the sandbox's name.
pub const SANDBOX_LABEL: &str = "netaudit.io/sandbox";
/// The label (and value) that marks a kube namespace as netaudit's.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
pub const MANAGED_BY: &str = "helm-netaudit";

/// The label (podman pods) and annotation (kube namespaces) naming the
/// process that made a sandbox, `PID@HOST`: `netaudit cleanup` leaves a
/// sandbox alone while that process still runs.
pub const OWNER_KEY: &str = "netaudit.io/owner";
/// The annotation naming the release installed into a kube sandbox (for
/// `helm uninstall` by `netaudit cleanup`).
pub const RELEASE_KEY: &str = "netaudit.io/release";

/// This process, as [`OWNER_KEY`] names it.
pub fn owner() -> String {
    format!("{}@{}", std::process::id(), hostname())
}

/// Whether the process `owner` names still runs: on this host, alive, and
/// a netaudit (a reused PID is some other program). Another host's process
/// cannot be seen: `false`.
pub fn owner_running(owner: &str) -> bool {
    let Some((pid, host)) = owner.split_once('@') else {
        return false;
    };
    let Ok(pid) = pid.parse::<u32>() else { return false };
    if host != hostname() || pid == std::process::id() {
        return false;
    }
    std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|comm| comm.trim_end() == "netaudit")
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// `netaudit-<release>-<random>`: a unique sandbox name (a DNS label).
pub fn sandbox_name(release: &str, release_chars: usize) -> String {
    format!("netaudit-{}-{}", dns_label(release, release_chars), random_suffix())
}

/// Whether `name` is one [`sandbox_name`] makes: `netaudit-`, a DNS label,
/// `-` and six hex digits. Cleanup acts on nothing else, even under our
/// label: a volume prefix of another shape could match a user's volumes.
pub fn is_sandbox_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix("netaudit-") else {
        return false;
    };
    let Some((release, suffix)) = rest.rsplit_once('-') else {
        return false;
    };
    name.len() <= 63
        && !release.is_empty()
        && release
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && suffix.len() == 6
        && suffix.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// DNS-1123 label: lowercase alphanumerics and `-`, at most `max` characters.
pub fn dns_label(text: &str, max: usize) -> String {
    let mut label: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    label.truncate(max);
    label.trim_matches('-').to_string()
}

/// A short random suffix (no rand dependency: time and pid through SipHash).
pub fn random_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    hasher.write_u32(std::process::id());
    format!("{:06x}", hasher.finish() & 0xff_ffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_dns_safe() {
        assert_eq!(dns_label("My_Release.v2", 63), "my-release-v2");
        assert_eq!(dns_label("abc-", 3), "abc");
        assert_eq!(random_suffix().len(), 6);
        assert!(sandbox_name("Shop", 20).starts_with("netaudit-shop-"));
        assert!(is_sandbox_name(&sandbox_name("Shop", 20)));
        assert!(is_sandbox_name("netaudit-my-shop-0a1b2c"));
        for other in [
            "netaudit-shop",
            "netaudit--0a1b2c",
            "netaudit-shop-0A1B2C",
            "shop-0a1b2c",
            "netaudit-sh.op-0a1b2c",
        ] {
            assert!(!is_sandbox_name(other), "{other}");
        }
    }

    #[test]
    fn an_owner_runs_only_while_its_netaudit_process_does() {
        // This process is not "running" for itself: cleanup never skips
        // what it made.
        assert!(!owner_running(&owner()));
        // PID 1 on this host is alive but no netaudit.
        assert!(!owner_running(&format!("1@{}", hostname())));
        assert!(!owner_running("1@another-host"));
        assert!(!owner_running("nonsense"));
    }
}
