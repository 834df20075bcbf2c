//! Golden renderings: for every fixture event, the notification `mamoru render` shows (dry-run,
//! built-in rules) is compared with the files under tests/golden/, so that any change to what
//! people and machines receive shows up as a reviewable diff.
//!
//! Per fixture `X.json`: `X.txt` (subject, attributes and the email text), `X.json` (the
//! notification document) and `X.chatbot.json` (the AWS Chatbot payload). The version is
//! normalised to `0.0.0+golden`.
//!
//! To accept a change: `MAMORU_BLESS=1 cargo test -p mamoru-tests --test notify_golden`, then
//! review the diff.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use mamoru::notify::render;
use mamoru_tests::render::{dry_run_report, golden_dir};
use mamoru_tests::{all_fixtures, fixture};

fn bless() -> bool {
    std::env::var_os("MAMORU_BLESS").is_some_and(|v| v == "1")
}

/// The golden files of one fixture: (path, rendered content).
fn rendered(rel: &str) -> Vec<(PathBuf, String)> {
    let message = render(&dry_run_report(&fixture(rel)));
    let stem = rel.strip_suffix(".json").unwrap_or(rel);
    let base = golden_dir().join(stem);
    let with = |ext: &str| PathBuf::from(format!("{}{ext}", base.display()));
    vec![
        (with(".txt"), message.text_preview()),
        (
            with(".json"),
            serde_json::to_string_pretty(&message.document).unwrap() + "\n",
        ),
        (
            with(".chatbot.json"),
            serde_json::to_string_pretty(&message.chatbot).unwrap() + "\n",
        ),
    ]
}

/// The first differing line, for the failure message.
fn first_difference(want: &str, got: &str) -> String {
    for (i, (w, g)) in want.lines().zip(got.lines()).enumerate() {
        if w != g {
            return format!("line {}:\n  golden:   {w}\n  rendered: {g}", i + 1);
        }
    }
    format!(
        "lengths differ: golden {} lines, rendered {} lines",
        want.lines().count(),
        got.lines().count()
    )
}

fn files_under(dir: &Path, out: &mut BTreeSet<PathBuf>) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files_under(&path, out);
            } else {
                out.insert(path);
            }
        }
    }
}

#[test]
fn every_fixture_renders_as_its_golden_files() {
    // GIVEN every fixture event
    let fixtures = all_fixtures();
    assert!(fixtures.len() >= 40, "fixtures: {}", fixtures.len());

    // WHEN each is rendered THEN each rendering equals its golden file
    let mut expected = BTreeSet::new();
    let mut failures = Vec::new();
    for rel in &fixtures {
        for (path, content) in rendered(rel) {
            expected.insert(path.clone());
            if bless() {
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, &content).unwrap();
                continue;
            }
            match std::fs::read_to_string(&path) {
                Ok(golden) if golden == content => {}
                Ok(golden) => failures.push(format!(
                    "{}: {}",
                    path.display(),
                    first_difference(&golden, &content)
                )),
                Err(e) => failures.push(format!("{}: {e}", path.display())),
            }
        }
    }

    // AND no golden file is left over from a fixture that is gone
    let mut present = BTreeSet::new();
    files_under(&golden_dir(), &mut present);
    present.retain(|p| !p.starts_with(golden_dir().join(PLACEHOLDERS)));
    for stale in present.difference(&expected) {
        if bless() {
            std::fs::remove_file(stale).unwrap();
        } else {
            failures.push(format!("{}: no fixture renders it", stale.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} golden file(s) differ (MAMORU_BLESS=1 regenerates them; review the diff):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Goldens of a deployment rule whose title and runbook use placeholders (not a fixture's).
const PLACEHOLDERS: &str = "placeholders";

#[test]
fn placeholder_titles_render_masked_and_bounded_values() {
    // GIVEN a deployment rule titled with the typed model's names and an event field by path
    let mut rules = mamoru::decide::RuleSet::builtin().unwrap();
    rules
        .add_source(
            "deployment.toml",
            r#"
[[rule]]
id = "production-bucket-policy"
description = "A policy was put on a production bucket."
[rule.match]
detail_type = ["AWS API Call via CloudTrail"]
event_source = ["s3.amazonaws.com"]
event_name = ["PutBucketPolicy"]
[rule.response]
title = "Production bucket policy changed: {detail.requestParameters.bucketName} by {principal} ({severity})"
severity = "high"
runbook = "Ask {principal} (user agent {detail.userAgent}) why; the request had no {detail.requestParameters.acl}."
"#,
            true,
        )
        .unwrap();
    // AND an event whose user agent carries a secret key
    let mut event: serde_json::Value =
        serde_json::from_str(&fixture("tamper/s3-put-bucket-policy-other-bucket.json")).unwrap();
    event["detail"]["userAgent"] = "aws-cli/2 key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into();
    let event = mamoru::Event::from_json(&event.to_string()).unwrap();
    let plan = mamoru::decide::decide(
        &event,
        None,
        &rules,
        &mamoru_tests::render::golden_settings(),
    );
    let mut report = mamoru::Report::new(plan, Vec::new(), mamoru::Mode::DryRun);
    report.version = mamoru_tests::render::GOLDEN_VERSION;
    let message = render(&report);
    // THEN the title names the bucket and the principal, the secret is masked, a missing field
    // is marked, and the goldens show the whole notification
    assert!(
        report
            .plan
            .title
            .starts_with("Production bucket policy changed: website-assets-"),
        "{}",
        report.plan.title
    );
    let runbook = report.plan.runbook.join("\n");
    assert!(runbook.contains("***redacted***"), "{runbook}");
    assert!(!runbook.contains("bPxRfiCYEXAMPLEKEY"), "{runbook}");
    assert!(
        runbook.contains("(no detail.requestParameters.acl)"),
        "{runbook}"
    );
    let base = golden_dir()
        .join(PLACEHOLDERS)
        .join("s3-put-bucket-policy-secret-in-user-agent");
    for (ext, content) in [
        (".txt", message.text_preview()),
        (
            ".chatbot.json",
            serde_json::to_string_pretty(&message.chatbot).unwrap() + "\n",
        ),
    ] {
        let path = PathBuf::from(format!("{}{ext}", base.display()));
        if bless() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &content).unwrap();
            continue;
        }
        let golden = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (MAMORU_BLESS=1 writes it)", path.display()));
        assert!(
            golden == content,
            "{}: {}",
            path.display(),
            first_difference(&golden, &content)
        );
    }
}

#[test]
fn golden_renderings_do_not_carry_the_build_version() {
    // GIVEN a rendering for the golden files
    let files = rendered("aws.cloudtrail/ct-stop-logging.json");
    // THEN it shows the normalised version only, so goldens are stable across commits
    for (path, content) in files {
        assert!(
            content.contains(mamoru_tests::render::GOLDEN_VERSION),
            "{}",
            path.display()
        );
        assert!(!content.contains(mamoru::VERSION), "{}", path.display());
    }
}

/// Every member path of a document: `a`, `a.b`, `a[].b`. Free-form members (`params`, `before`,
/// `after`) are not descended into.
fn member_paths(v: &serde_json::Value, prefix: &str, out: &mut BTreeSet<String>) {
    let Some(map) = v.as_object() else { return };
    for (key, child) in map {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        out.insert(path.clone());
        if matches!(key.as_str(), "params" | "before" | "after") {
            continue;
        }
        match child {
            serde_json::Value::Object(_) => member_paths(child, &path, out),
            serde_json::Value::Array(items) => {
                for item in items {
                    member_paths(item, &format!("{path}[]"), out);
                }
            }
            _ => {}
        }
    }
}

#[test]
fn the_schema_document_lists_exactly_the_members_documents_have() {
    // GIVEN the member table of docs/notification-schema.md
    let doc =
        std::fs::read_to_string(mamoru_tests::root().join("docs/notification-schema.md")).unwrap();
    let section = doc
        .split("## The notification document")
        .nth(1)
        .unwrap()
        .split("\nExample")
        .next()
        .unwrap();
    let documented: BTreeSet<String> = section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_string)
        .collect();
    assert!(documented.len() > 40, "{documented:?}");

    // WHEN every fixture's document is rendered
    let mut produced = BTreeSet::new();
    for rel in all_fixtures() {
        let message = render(&dry_run_report(&fixture(&rel)));
        member_paths(&message.document, "", &mut produced);
    }

    // THEN the documented members and the produced ones are the same
    let undocumented: Vec<_> = produced.difference(&documented).collect();
    let never_produced: Vec<_> = documented.difference(&produced).collect();
    assert!(undocumented.is_empty(), "not documented: {undocumented:?}");
    assert!(
        never_produced.is_empty(),
        "documented, never produced: {never_produced:?}"
    );
}
