//! One splitter for multi-document YAML, used by the loader and by the
//! post-renderer: a `---` (or `...`) line at column 0 ends a document.

/// One YAML document of a multi-document text.
pub(crate) struct Chunk<'a> {
    pub(crate) text: &'a str,
    pub(crate) first_line: u32,
    /// Helm's `# Source:` path.
    pub(crate) template: Option<&'a str>,
    /// Line of the `# Source:` comment (0 when there is none).
    pub(crate) source_line: u32,
    /// Lines of the same template's earlier documents.
    pub(crate) template_base: u32,
    /// 0-based index of the document in the text.
    pub(crate) document: usize,
}

impl<'a> Chunk<'a> {
    fn lines(&self) -> impl Iterator<Item = &'a str> {
        self.text.lines()
    }

    /// The value of a `kind:` line at column 0, without parsing.
    pub(crate) fn top_level_kind(&self) -> Option<&'a str> {
        self.lines().find_map(|l| {
            let rest = l.strip_prefix("kind:")?;
            let value = rest
                .split(" #")
                .next()
                .unwrap_or("")
                .trim()
                .trim_matches(|c| c == '"' || c == '\'');
            Some(value)
        })
    }

    pub(crate) fn is_blank(&self) -> bool {
        self.lines().all(is_blank_line)
    }
}

/// A line that holds no YAML content: blank, a comment or a separator.
pub(crate) fn is_blank_line(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#') || t == "---" || t == "..."
}

/// A line that ends the document before it.
pub(crate) fn is_separator(line: &str) -> bool {
    let bare = line.trim_end_matches(['\n', '\r']);
    bare == "---" || bare.starts_with("--- ") || bare == "..."
}

/// Split at `---` lines. A `---` at column 0 always ends a document in YAML
/// (block scalars of a document's content are indented), so this is exact
/// and lets each document be parsed, or skipped, on its own.
pub(crate) fn split_documents<'a>(text: &'a str) -> Vec<Chunk<'a>> {
    let mut chunks: Vec<Chunk<'a>> = Vec::new();
    let mut start = 0usize;
    let mut start_line = 1u32;
    let mut offset = 0usize;
    let mut template: Option<&str> = None;
    let mut source_line = 0u32;
    let chunk = |end: usize, start: usize, first_line: u32, template: Option<&'a str>, source_line: u32| Chunk {
        text: &text[start..end],
        first_line,
        template,
        source_line,
        template_base: 0,
        document: 0,
    };
    for (line_no, line) in (1u32..).zip(text.split_inclusive('\n')) {
        let bare = line.trim_end_matches(['\n', '\r']);
        if is_separator(line) && offset > start {
            chunks.push(chunk(offset, start, start_line, template, source_line));
            start = offset;
            start_line = line_no;
            template = None;
            source_line = 0;
        }
        if let Some(path) = bare.strip_prefix("# Source: ") {
            if template.is_none() {
                template = Some(path.trim());
                source_line = line_no;
            }
        }
        offset += line.len();
    }
    if offset > start {
        chunks.push(chunk(offset, start, start_line, template, source_line));
    }
    // Helm renders a template file to one text and writes each of its
    // documents with its own `# Source:`; count a template's lines across them
    // (plus one per `---` between them), so template lines match the file's.
    let mut seen: std::collections::HashMap<&str, u32> = std::collections::HashMap::new();
    for (document, chunk) in chunks.iter_mut().enumerate() {
        chunk.document = document;
        let Some(template) = chunk.template else { continue };
        let base = seen.entry(template).or_insert(0);
        chunk.template_base = *base;
        let content_lines =
            (chunk.first_line + chunk.text.lines().count() as u32).saturating_sub(chunk.source_line + 1);
        *base += content_lines + 1;
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_and_document_end_markers_split() {
        let chunks = split_documents("a: 1\n---\nb: 2\n...\n--- # c\nc: 3\n");
        let texts: Vec<&str> = chunks.iter().map(|c| c.text).collect();
        assert_eq!(texts, ["a: 1\n", "---\nb: 2\n", "...\n", "--- # c\nc: 3\n"]);
        assert_eq!(chunks.iter().map(|c| c.document).collect::<Vec<_>>(), [0, 1, 2, 3]);
        assert_eq!(chunks[3].first_line, 5);
    }

    /// The YAML fast path (`crate::yaml`) on every document of the corpus as
    /// this splitter cuts them: whenever it answers, libyaml-safer's tree.
    #[test]
    fn corpus_documents_are_read_as_libyaml_reads_them() {
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/rendered");
        if !dir.is_dir() {
            eprintln!("skipping: ../shared/corpus/rendered not found");
            return;
        }
        let mut files = Vec::new();
        let mut dirs = vec![dir];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("the corpus is readable").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "yaml") {
                    files.push(path);
                }
            }
        }
        let (mut answered, mut total) = (0, 0);
        for path in &files {
            let text = std::fs::read_to_string(path).expect("the corpus is UTF-8");
            for chunk in split_documents(&text).iter().filter(|c| !c.is_blank()) {
                total += 1;
                answered += usize::from(crate::yaml::check_fast_path_agrees(chunk.text, chunk.first_line));
            }
        }
        eprintln!("fast path: {answered} of {total} documents of {} charts", files.len());
        assert!(
            answered > total / 2,
            "the fast path answered only {answered} of {total}"
        );
    }
}
