//! The text files of a chart and of every subchart under it, whether a
//! subchart is a directory in `charts/` or an archive `helm dependency
//! build` put there (`charts/redis-18.1.0.tgz`, read in memory: nothing is
//! extracted). Each part knows the key its values sit under in the
//! top chart's values (`redis.`) and where helm says its templates render
//! from (`stack/charts/redis/templates/`).

use crate::yaml::{parse_documents, Node};
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// A chart's archive or files beyond this are not read (a chart of the
/// corpus is well under 2 MB of text).
const MAX_CHART_BYTES: u64 = 64 * 1024 * 1024;
/// Subcharts of subcharts of … are read this deep.
const MAX_DEPTH: usize = 4;

/// One chart's text files by their path in the chart (`templates/x.yaml`),
/// and the archives of its subcharts (`charts/redis-18.1.0.tgz`).
#[derive(Debug, Default, Clone)]
pub struct ChartFiles {
    pub files: BTreeMap<String, String>,
    archives: BTreeMap<String, Vec<u8>>,
    /// Where the files are, for messages and values-file paths: the
    /// directory, or the archive and its top directory.
    pub origin: String,
}

impl ChartFiles {
    pub fn get(&self, path: &str) -> Option<&str> {
        self.files.get(path).map(String::as_str)
    }

    /// The path a file of this chart is shown as (`./shop/values.yaml`,
    /// `./shop/charts/redis-18.1.0.tgz:redis/values.yaml`).
    pub fn shown(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }
}

/// A chart or a subchart, with where its values and templates sit.
#[derive(Debug, Clone)]
pub struct Part {
    /// `` for the top chart, `redis.` for a subchart (its alias, else its
    /// name), `redis.common.` below that.
    pub key_prefix: String,
    /// Helm's `# Source:` path of its templates (`stack/charts/redis/templates/`).
    pub source_prefix: String,
    pub files: ChartFiles,
}

/// The chart in `dir` and every subchart under it.
pub fn parts(dir: &Path) -> Result<Vec<Part>> {
    let files = read_dir(dir)?;
    let name = chart_name(&files).unwrap_or_else(|| {
        dir.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    let mut parts = Vec::new();
    collect(
        Part {
            key_prefix: String::new(),
            source_prefix: format!("{name}/templates/"),
            files,
        },
        &format!("{name}/"),
        0,
        &mut parts,
    );
    Ok(parts)
}

/// `part`, then its subcharts (whose templates render under
/// `source_root` + `charts/ALIAS/`).
fn collect(part: Part, source_root: &str, depth: usize, out: &mut Vec<Part>) {
    let subcharts = if depth < MAX_DEPTH {
        subcharts(&part.files)
    } else {
        Vec::new()
    };
    let key_prefix = part.key_prefix.clone();
    out.push(part);
    for (key, files) in subcharts {
        let root = format!("{source_root}charts/{key}/");
        collect(
            Part {
                key_prefix: format!("{key_prefix}{key}."),
                source_prefix: format!("{root}templates/"),
                files,
            },
            &root,
            depth + 1,
            out,
        );
    }
}

/// The subcharts in a chart's `charts/`, each under the key of its values
/// (one per alias of the parent's dependencies, else its name).
fn subcharts(parent: &ChartFiles) -> Vec<(String, ChartFiles)> {
    let aliases: Vec<(String, String)> = ["Chart.yaml", "requirements.yaml"]
        .iter()
        .filter_map(|f| parent.get(f))
        .flat_map(|text| parse_documents(text, 1).unwrap_or_default())
        .flat_map(|doc| doc.get("dependencies").map(|d| d.as_seq().to_vec()).unwrap_or_default())
        .filter_map(|dep| {
            let text = |key: &str| dep.get(key).and_then(Node::scalar_text).map(str::to_string);
            Some((text("name")?, text("alias")?))
        })
        .collect();
    let mut found: BTreeMap<String, ChartFiles> = BTreeMap::new();
    // A directory's files are already among the parent's.
    let directories: Vec<String> = parent
        .files
        .keys()
        .filter_map(|path| {
            let rest = path.strip_prefix("charts/")?;
            let (dir, file) = rest.split_once('/')?;
            (file == "Chart.yaml").then(|| dir.to_string())
        })
        .collect();
    for dir in directories {
        let prefix = format!("charts/{dir}/");
        let files = ChartFiles {
            files: parent
                .files
                .iter()
                .filter_map(|(p, t)| Some((p.strip_prefix(&prefix)?.to_string(), t.clone())))
                .collect(),
            archives: parent
                .archives
                .iter()
                .filter_map(|(p, b)| Some((p.strip_prefix(&prefix)?.to_string(), b.clone())))
                .collect(),
            origin: format!("{}{prefix}", parent.origin),
        };
        if let Some(name) = chart_name(&files) {
            found.insert(name, files);
        }
    }
    for (path, bytes) in &parent.archives {
        if path.matches('/').count() != 1 || !path.starts_with("charts/") {
            continue;
        }
        if let Ok(files) = read_archive(bytes, &parent.shown(path)) {
            if let Some(name) = chart_name(&files) {
                found.entry(name).or_insert(files);
            }
        }
    }
    let mut out = Vec::new();
    for (name, files) in found {
        let mut keys: Vec<&String> = aliases.iter().filter(|(dep, _)| *dep == name).map(|(_, a)| a).collect();
        if keys.is_empty() {
            keys.push(&name);
        }
        for key in keys {
            out.push((key.clone(), files.clone()));
        }
    }
    out
}

/// `name` of a chart's Chart.yaml.
pub fn chart_name(files: &ChartFiles) -> Option<String> {
    let doc = parse_documents(files.get("Chart.yaml")?, 1).ok()?.into_iter().next()?;
    doc.get("name").and_then(Node::scalar_text).map(str::to_string)
}

/// Every file of a chart directory: text files, and archives; symlinks
/// are not followed.
fn read_dir(dir: &Path) -> Result<ChartFiles> {
    let mut files = BTreeMap::new();
    let mut archives = BTreeMap::new();
    let mut total = 0u64;
    let mut pending = vec![String::new()];
    while let Some(relative) = pending.pop() {
        let here = dir.join(&relative);
        let entries = std::fs::read_dir(&here).with_context(|| format!("cannot read {}", here.display()))?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = format!("{relative}{name}");
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() {
                pending.push(format!("{path}/"));
            } else if kind.is_file() {
                total += entry.metadata().map(|m| m.len()).unwrap_or(0);
                if total > MAX_CHART_BYTES {
                    bail!("{}: more than {} MiB of files", dir.display(), MAX_CHART_BYTES >> 20);
                }
                if name.ends_with(".tgz") {
                    if let Ok(bytes) = std::fs::read(entry.path()) {
                        archives.insert(path, bytes);
                    }
                } else if let Ok(text) = std::fs::read_to_string(entry.path()) {
                    files.insert(path, text);
                }
            }
        }
    }
    let mut origin = dir.display().to_string();
    if !origin.ends_with('/') {
        origin.push('/');
    }
    Ok(ChartFiles {
        files,
        archives,
        origin,
    })
}

/// The files of a packaged chart (`NAME/…` inside a gzipped tar), without
/// the top directory.
fn read_archive(bytes: &[u8], shown: &str) -> Result<ChartFiles> {
    let decoder = flate2::read::GzDecoder::new(bytes).take(MAX_CHART_BYTES);
    let mut archive = tar::Archive::new(decoder);
    let mut files = BTreeMap::new();
    let mut archives = BTreeMap::new();
    let mut top = String::new();
    for entry in archive
        .entries()
        .with_context(|| format!("{shown}: not a chart archive"))?
    {
        let mut entry = entry.with_context(|| format!("{shown}: not a chart archive"))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry.path()?.to_string_lossy().into_owned();
        let Some((root, inside)) = path.split_once('/') else {
            continue;
        };
        if inside.split('/').any(|part| part == "..") {
            continue;
        }
        top = root.to_string();
        let mut content = Vec::new();
        entry.read_to_end(&mut content)?;
        if inside.ends_with(".tgz") {
            archives.insert(inside.to_string(), content);
        } else if let Ok(text) = String::from_utf8(content) {
            files.insert(inside.to_string(), text);
        }
    }
    Ok(ChartFiles {
        files,
        archives,
        origin: format!("{shown}:{top}/"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A gzipped tar of `files` under `top/`.
    fn archive(top: &str, files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
        for (path, bytes) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder
                .append_data(&mut header, format!("{top}/{path}"), *bytes)
                .unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn subcharts_in_directories_and_archives_are_read_under_their_keys() {
        let dir = tempfile::tempdir().unwrap();
        let write = |path: &str, bytes: &[u8]| {
            let path = dir.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
        };
        write(
            "Chart.yaml",
            b"name: stack\ndependencies: [{name: cache, alias: redis}, {name: metrics}]\n",
        );
        write("values.yaml", b"x: 1\n");
        write("charts/metrics/Chart.yaml", b"name: metrics\n");
        write("charts/metrics/templates/svc.yaml", b"kind: Service\n");
        let common = archive(
            "common",
            &[
                ("Chart.yaml", b"name: common\n"),
                ("templates/_h.tpl", b"{{ define \"c\" }}{{ end }}"),
            ],
        );
        let cache = archive(
            "cache",
            &[
                ("Chart.yaml", b"name: cache\n"),
                ("values.yaml", b"networkPolicy: {enabled: false}\n"),
                ("templates/np.yaml", b"kind: NetworkPolicy\n"),
                ("charts/common-2.0.0.tgz", &common),
            ],
        );
        write("charts/cache-1.0.0.tgz", &cache);

        let parts = parts(dir.path()).unwrap();
        let seen: Vec<(&str, &str)> = parts
            .iter()
            .map(|p| (p.key_prefix.as_str(), p.source_prefix.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                ("", "stack/templates/"),
                ("redis.", "stack/charts/redis/templates/"),
                ("redis.common.", "stack/charts/redis/charts/common/templates/"),
                ("metrics.", "stack/charts/metrics/templates/"),
            ]
        );
        let redis = &parts[1].files;
        assert_eq!(redis.get("values.yaml"), Some("networkPolicy: {enabled: false}\n"));
        assert!(redis
            .shown("values.yaml")
            .ends_with("charts/cache-1.0.0.tgz:cache/values.yaml"));
        assert!(parts[2].files.get("templates/_h.tpl").is_some());
    }

    #[test]
    fn what_is_not_an_archive_is_an_error() {
        assert!(read_archive(b"not gzip", "x.tgz").is_err());
    }
}
