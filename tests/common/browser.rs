//! Headless Chromium (Debian's `chromium` package) for the tests of `-o
//! html`: found through `NETAUDIT_CHROMIUM`, else `chromium` on PATH. Without
//! it a test skips, saying so, unless `NETAUDIT_REQUIRE_CHROMIUM` is set
//! (scripts/test.sh sets it, so CI fails instead).
//!
//! No traffic can leave: the browser runs in a network namespace of its
//! own with no interface up (`unshare --net`; Chromium probes for an IPv6
//! route by connecting a UDP socket to a public address, which fails there),
//! its background traffic off, every host name resolving to nothing and a
//! closed local port as its proxy. The page itself forbids every request
//! (its Content-Security-Policy).

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn chromium() -> Option<PathBuf> {
    let found = match std::env::var_os("NETAUDIT_CHROMIUM").filter(|p| !p.is_empty()) {
        Some(path) => Some(PathBuf::from(path)).filter(|p| p.is_file()),
        None => std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("chromium"))
                .find(|p| p.is_file())
        }),
    };
    if found.is_none() {
        if std::env::var_os("NETAUDIT_REQUIRE_CHROMIUM").is_some() {
            panic!("chromium is missing: run `bash scripts/setup-chromium.sh`");
        }
        eprintln!("skipping: chromium not found (bash scripts/setup-chromium.sh installs Debian's)");
    }
    found
}

/// `chromium --headless` on `page` (with `#fragment`), then `what`
/// (`--dump-dom`, `--screenshot=FILE`); stdout.
pub fn run(chromium: &Path, page: &Path, fragment: &str, what: &[&str]) -> String {
    let profile = tempfile::tempdir().expect("a profile directory");
    let url = format!("file://{}{fragment}", page.display());
    let output = Command::new("unshare")
        .args(["--net", "--"])
        .arg(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-default-apps",
            "--disable-extensions",
            "--disable-sync",
            "--disable-domain-reliability",
            "--no-first-run",
            "--no-default-browser-check",
            "--no-pings",
            "--dns-prefetch-disable",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--proxy-server=127.0.0.1:9",
            "--window-size=1400,1000",
            "--virtual-time-budget=3000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(what)
        .arg(&url)
        .output()
        .expect("unshare (util-linux) runs chromium");
    assert!(
        output.status.success(),
        "chromium failed on {url}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}
