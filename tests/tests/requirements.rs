//! Every requirement id the repository cites (`R-TOK-4`, `R-SMTP`, …) is
//! explained in `docs/requirements.md`, so that a reader of the repository
//! alone can follow each citation.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Ids in `text`: `R-` then capitals, optionally `-` and digits, not inside
/// a longer word (so `ERR-X` or `R-SMTPx` are not ids).
fn ids_in(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 2 < b.len() {
        let starts = b[i] == b'R'
            && b[i + 1] == b'-'
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_'));
        if !starts {
            i += 1;
            continue;
        }
        let mut j = i + 2;
        while j < b.len() && b[j].is_ascii_uppercase() {
            j += 1;
        }
        if j - (i + 2) < 2 {
            i += 1;
            continue;
        }
        if j + 1 < b.len() && b[j] == b'-' && b[j + 1].is_ascii_digit() {
            j += 1;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
        }
        let word_ends = j == b.len() || !(b[j].is_ascii_alphanumeric() || b[j] == b'_');
        if word_ends {
            out.push(text[i..j].to_string());
        }
        i = j;
    }
    out
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name();
        let name = name.to_string_lossy();
        if p.is_dir() {
            let skipped = matches!(
                name.as_ref(),
                "target" | ".git" | "node_modules" | "corpus" | "artifacts"
            );
            if !skipped {
                walk(&p, files);
            }
        } else {
            let text_file = [
                "rs", "md", "h", "c", "cpp", "sh", "toml", "mjs", "py", "awk", "ld", "txt",
            ]
            .iter()
            .any(|ext| p.extension().is_some_and(|x| x == *ext));
            if text_file {
                files.push(p);
            }
        }
    }
}

fn defined_ids(page: &str) -> Vec<String> {
    page.lines()
        .filter_map(|l| l.strip_prefix("### "))
        .map(|h| h.trim().to_string())
        .collect()
}

#[test]
fn id_scanner_finds_ids_and_only_ids() {
    assert_eq!(
        ids_in("see R-TOK-4, (R-SMTP) and R-RULE-7; not ERR-XY, R-X, R-SMTPx"),
        ["R-TOK-4", "R-SMTP", "R-RULE-7"]
    );
}

#[test]
fn every_cited_requirement_id_is_explained_in_docs_requirements_md() {
    let root = repo_root();
    let page_path = root.join("docs/requirements.md");
    let page = fs::read_to_string(&page_path).expect("docs/requirements.md exists");
    let defined = defined_ids(&page);
    let unique: BTreeSet<&String> = defined.iter().collect();
    assert_eq!(unique.len(), defined.len(), "an id has two sections");
    for id in &defined {
        assert_eq!(
            ids_in(id),
            std::slice::from_ref(id),
            "heading `{id}` is not an id"
        );
    }

    let mut files = Vec::new();
    walk(&root, &mut files);
    let mut missing = BTreeSet::new();
    let mut cited = 0usize;
    for f in files.iter().filter(|f| **f != page_path) {
        let Ok(text) = fs::read_to_string(f) else {
            continue;
        };
        for id in ids_in(&text) {
            cited += 1;
            if !unique.contains(&id) {
                missing.insert(format!("{id} (in {})", f.display()));
            }
        }
    }
    // The repository cites ids in hundreds of places; finding none means
    // the walk went wrong, not that all is well.
    assert!(cited > 100, "only {cited} citations found under {root:?}");
    assert!(
        missing.is_empty(),
        "ids cited but not explained in docs/requirements.md: {missing:#?}"
    );
}
