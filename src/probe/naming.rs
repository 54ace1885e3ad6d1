//! Names and labels of sandboxes, shared by both backends.

/// The label every object of a sandbox carries; its value is the sandbox's name.
pub const SANDBOX_LABEL: &str = "netaudit.io/sandbox";
/// The label (and value) that marks a kube namespace as netaudit's.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
pub const MANAGED_BY: &str = "helm-netaudit";

/// `netaudit-<release>-<random>`: a unique sandbox name (a DNS label).
pub fn sandbox_name(release: &str, release_chars: usize) -> String {
    format!("netaudit-{}-{}", dns_label(release, release_chars), random_suffix())
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
    }
}
