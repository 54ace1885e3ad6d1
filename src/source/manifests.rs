//! Manifests from a file or stdin.

use crate::model::Input;
use anyhow::{bail, Context, Result};
use std::io::Read;
use std::path::Path;

/// A manifests file (or `-`, stdin) as one input: named after the path, its
/// release is the file's stem (`stdin` for stdin).
pub fn read(path: &str, namespace: &str, max_bytes: usize) -> Result<Input> {
    let text = read_text(path, max_bytes)?;
    let (name, release) = if path == "-" {
        ("<stdin>".to_string(), "stdin".to_string())
    } else {
        let stem = Path::new(path)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        (path.to_string(), stem)
    };
    let mut input = Input::new(name, release, namespace, text);
    input.max_bytes = max_bytes;
    Ok(input)
}

/// The text of a file (or `-`, stdin), refused beyond `max_bytes` (before
/// it is read) or when it is not UTF-8.
pub fn read_text(path: &str, max_bytes: usize) -> Result<String> {
    if path == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .take(max_bytes as u64 + 1)
            .read_to_end(&mut buf)
            .context("cannot read manifests from stdin")?;
        return decode(buf, "<stdin>", max_bytes);
    }
    let meta = std::fs::metadata(path).with_context(|| format!("cannot read {path}"))?;
    if meta.is_dir() {
        bail!("{path} is a directory: --manifests takes a file of rendered YAML (use the directory as CHART to render a chart)");
    }
    if meta.len() > max_bytes as u64 {
        bail!(
            "{path}: {} bytes is more than the {max_bytes} byte limit (--max-input-size raises it)",
            meta.len()
        );
    }
    decode(
        std::fs::read(path).with_context(|| format!("cannot read {path}"))?,
        path,
        max_bytes,
    )
}

fn decode(bytes: Vec<u8>, name: &str, max_bytes: usize) -> Result<String> {
    if bytes.len() > max_bytes {
        bail!("{name}: more than the {max_bytes} byte limit (--max-input-size raises it)");
    }
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{name}: not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })
}
