//! The `mamoru replay` command as users run it: dry-run by default, JSON output, and a bad file
//! reported without stopping the others.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use mamoru_tests::{binary, fixtures};
use serde_json::Value;

fn replay(args: &[&str]) -> (bool, Vec<Value>, String) {
    let out = Command::new(binary("mamoru"))
        .env_remove("AWS_ENDPOINT_URL")
        .arg("replay")
        .args(args)
        .output()
        .unwrap();
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or(Value::String(l.to_string())))
        .collect();
    (
        out.status.success(),
        lines,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_bad_file_is_reported_and_the_others_still_processed() {
    let dir = std::env::temp_dir().join(format!("mamoru-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, r#"{"version":"0","id":"x","detail-type":"GuardDuty Finding","source":"aws.guardduty","detail":{"id":"f"}}"#).unwrap();
    let good = fixtures().join("aws.cloudtrail/ct-stop-logging.json");
    let also_good = fixtures().join("aws.signin/console-login-root.json");

    let (ok, lines, _) = replay(&[
        "--json",
        good.to_str().unwrap(),
        bad.to_str().unwrap(),
        also_good.to_str().unwrap(),
    ]);

    assert!(!ok, "exit code must be non-zero");
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[0]["disposition"], "remediate");
    assert_eq!(lines[0]["handler"], "cloudtrail");
    assert_eq!(lines[0]["actions"][0]["api"], "cloudtrail:StartLogging");
    assert_eq!(lines[0]["actions"][0]["region"], "us-east-1");
    assert_eq!(
        lines[0]["actions"][0]["params"]["Name"],
        "arn:aws:cloudtrail:us-east-1:123456789012:trail/test-trail"
    );
    assert_eq!(lines[1]["disposition"], "error");
    assert!(
        lines[1]["error"].as_str().unwrap().contains("detail"),
        "{}",
        lines[1]
    );
    assert_eq!(lines[2]["disposition"], "notify");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_fixture_replays_in_dry_run() {
    let files = mamoru_tests::all_fixtures();
    let paths: Vec<String> = files
        .iter()
        .map(|f| fixtures().join(f).display().to_string())
        .collect();
    let args: Vec<&str> = std::iter::once("--json")
        .chain(paths.iter().map(String::as_str))
        .collect();
    let (ok, lines, stderr) = replay(&args);
    assert!(ok, "{stderr}");
    assert_eq!(lines.len(), files.len());
    // Without --execute nothing is called: no outcomes are reported.
    assert!(lines.iter().all(|l| l.get("outcomes").is_none()));
}
