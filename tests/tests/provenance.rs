//! Every event fixture says where it comes from: tests/fixtures/events/PROVENANCE.md has a table
//! row for each `.json` file, under the heading of the file's directory (`## aws.guardduty/`,
//! `## findings/ (added by mamoru)`, …), whose first cell is the file name. A fixture without a
//! row fails here, and so does a row whose file is gone.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/events")
}

/// Every `.json` file under `dir`, as a `/`-separated path relative to `base`.
fn json_files(dir: &Path, base: &Path, out: &mut BTreeSet<String>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            json_files(&path, base, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            let rel = path.strip_prefix(base).unwrap();
            let parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            out.insert(parts.join("/"));
        }
    }
}

/// The files PROVENANCE.md accounts for, as `dir/file.json`: the first cell of every table row
/// that names a `.json` file, under the nearest `## dir/` heading above it.
fn rows(provenance: &str) -> BTreeSet<String> {
    let mut dir: Option<String> = None;
    let mut named = BTreeSet::new();
    for line in provenance.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            // "## aws.guardduty/" or "## constructed/ (added by mamoru)"; other headings
            // ("## Sanitisation conventions") name no directory.
            dir = heading
                .split_whitespace()
                .next()
                .and_then(|w| w.strip_suffix('/'))
                .map(str::to_string);
            continue;
        }
        let Some(cells) = line.strip_prefix('|') else {
            continue;
        };
        let first = cells
            .split('|')
            .next()
            .unwrap_or("")
            .trim()
            .trim_matches('`');
        if !first.ends_with(".json") {
            continue;
        }
        let dir = dir.as_deref().unwrap_or_else(|| {
            panic!("PROVENANCE.md row for {first} is under no `## dir/` heading")
        });
        named.insert(format!("{dir}/{first}"));
    }
    named
}

#[test]
fn every_fixture_has_a_provenance_row() {
    // GIVEN every fixture file and the rows of PROVENANCE.md
    let base = fixtures_dir();
    let mut files = BTreeSet::new();
    json_files(&base, &base, &mut files);
    assert!(files.len() >= 40, "fixtures found: {}", files.len());
    let provenance = std::fs::read_to_string(base.join("PROVENANCE.md")).unwrap();
    let named = rows(&provenance);

    // WHEN they are compared THEN no fixture is missing its row
    let missing: Vec<&String> = files.difference(&named).collect();
    assert!(
        missing.is_empty(),
        "{} fixture(s) have no row in tests/fixtures/events/PROVENANCE.md (add one under the \
         heading of their directory, naming the published sample they follow, or what they were \
         built from and what changed):\n  {}",
        missing.len(),
        missing
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n  ")
    );
}

#[test]
fn every_provenance_row_names_a_fixture_that_exists() {
    let base = fixtures_dir();
    let mut files = BTreeSet::new();
    json_files(&base, &base, &mut files);
    let provenance = std::fs::read_to_string(base.join("PROVENANCE.md")).unwrap();
    let stale: Vec<String> = rows(&provenance).difference(&files).cloned().collect();
    assert!(
        stale.is_empty(),
        "PROVENANCE.md has rows for fixtures that do not exist:\n  {}",
        stale.join("\n  ")
    );
}

#[test]
fn rows_are_read_per_directory() {
    let doc = "## aws.guardduty/\n\n| File | Source |\n|---|---|\n| a.json | x |\n\
               \n## Sanitisation conventions\n\n## constructed/ (added by mamoru)\n\n\
               | File | Built from |\n|---|---|\n| `b.json` | aws.guardduty/a.json |\n";
    let named = rows(doc);
    assert_eq!(
        named.into_iter().collect::<Vec<_>>(),
        vec![
            "aws.guardduty/a.json".to_string(),
            "constructed/b.json".to_string()
        ]
    );
}
