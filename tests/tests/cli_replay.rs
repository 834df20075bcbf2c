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
fn the_resource_is_typed_with_the_account_and_region_that_own_it() {
    // A StopLogging call made in us-east-1 naming, by ARN, a trail whose home is eu-west-1.
    let file = fixtures().join("constructed/ct-stop-logging-trail-in-other-region.json");
    let (ok, lines, err) = replay(&["--json", file.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert_eq!(
        lines[0]["resource"],
        serde_json::json!({
            "kind": "trail",
            "id": "arn:aws:cloudtrail:eu-west-1:123456789012:trail/org-trail",
            "name": "org-trail",
            "arn": "arn:aws:cloudtrail:eu-west-1:123456789012:trail/org-trail",
            "account": "123456789012",
            "region": "eu-west-1",
        })
    );
    assert_eq!(lines[0]["actions"][0]["region"], "eu-west-1");
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

/// `replay` keeps memory between the files of one run (issue: state): a redelivered event is
/// not alerted or acted on again, an update of a finding at the same band is counted, and a rise
/// to High alerts again saying how many updates were counted. `--state none` forgets.
#[test]
fn replay_remembers_redeliveries_and_finding_updates_within_a_run() {
    let dir = std::env::temp_dir().join(format!("mamoru-cli-state-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let base = fixtures().join("constructed/finding-iamuser-key-malicious-ip-medium.json");
    let original: Value = serde_json::from_str(&std::fs::read_to_string(&base).unwrap()).unwrap();
    let update = |name: &str, id: &str, severity: f64| {
        let mut v = original.clone();
        v["id"] = id.into();
        v["detail"]["severity"] = severity.into();
        let path = dir.join(name);
        std::fs::write(&path, v.to_string()).unwrap();
        path
    };
    let same_band = update(
        "same-band.json",
        "7c1e1d4a-0000-4000-8000-000000000001",
        5.0,
    );
    let high = update("high.json", "7c1e1d4a-0000-4000-8000-000000000002", 8.0);
    let files = [
        base.to_str().unwrap(),
        base.to_str().unwrap(),
        same_band.to_str().unwrap(),
        high.to_str().unwrap(),
    ];

    let mut args = vec!["--json"];
    args.extend(files);
    let (ok, lines, err) = replay(&args);
    assert!(ok, "{err}");
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert_eq!(lines[0]["notify"], true, "{}", lines[0]);
    assert_eq!(lines[1]["notify"], false, "{}", lines[1]);
    assert!(
        lines[1]["reason"]
            .as_str()
            .unwrap()
            .starts_with("redelivery of event"),
        "{}",
        lines[1]
    );
    assert_eq!(lines[2]["notify"], false, "{}", lines[2]);
    assert!(
        lines[2]["actions"].as_array().unwrap().is_empty(),
        "{}",
        lines[2]
    );
    assert_eq!(lines[3]["notify"], true, "{}", lines[3]);
    assert_eq!(lines[3]["severity"], "high", "{}", lines[3]);
    assert!(
        lines[3]["reason"]
            .as_str()
            .unwrap()
            .contains("Seen 1 more time since"),
        "{}",
        lines[3]
    );

    // Without memory, every file alerts.
    let mut args = vec!["--json", "--state", "none"];
    args.extend(files);
    let (ok, lines, err) = replay(&args);
    assert!(ok, "{err}");
    assert!(lines.iter().all(|l| l["notify"] == true), "{lines:?}");

    // A state that is not one of the forms is refused, naming them.
    let (ok, _, err) = replay(&["--state", "redis://x", base.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("dynamodb://TABLE"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A threshold rule in a replay (issue: state, windowed thresholds): the counts are kept in
/// memory across the files of one run, so the file that reaches the count alerts, once; without
/// memory nothing is counted and the rule stays silent.
#[test]
fn replay_counts_towards_thresholds_across_the_files_of_a_run() {
    let dir = std::env::temp_dir().join(format!("mamoru-cli-threshold-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let base = fixtures().join("aws.volume/ct-send-ssh-public-key.json");
    let original: Value = serde_json::from_str(&std::fs::read_to_string(&base).unwrap()).unwrap();
    // One principal pushes keys to six instances (volume-ec2-instance-connect: 5 within 10m).
    let paths: Vec<String> = (1..=6)
        .map(|n| {
            let mut v = original.clone();
            v["id"] = format!("push-{n}").into();
            v["detail"]["eventID"] = format!("push-{n}").into();
            v["detail"]["requestParameters"]["instanceId"] =
                format!("i-0000000000000000{n}").into();
            let path = dir.join(format!("push-{n}.json"));
            std::fs::write(&path, v.to_string()).unwrap();
            path.display().to_string()
        })
        .collect();

    let mut args = vec!["--json"];
    args.extend(paths.iter().map(String::as_str));
    let (ok, lines, err) = replay(&args);
    assert!(ok, "{err}");
    let dispositions: Vec<&str> = lines
        .iter()
        .map(|l| l["disposition"].as_str().unwrap())
        .collect();
    assert_eq!(
        dispositions,
        ["ignore", "ignore", "ignore", "ignore", "notify", "ignore"],
        "{lines:?}"
    );
    assert_eq!(
        lines[4]["rule_ids"],
        serde_json::json!(["volume-ec2-instance-connect"])
    );

    // Without memory, nothing is counted: the rule never matches.
    let mut args = vec!["--json", "--state", "none"];
    args.extend(paths.iter().map(String::as_str));
    let (ok, lines, err) = replay(&args);
    assert!(ok, "{err}");
    assert!(
        lines.iter().all(|l| l["disposition"] == "ignore"),
        "{lines:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
