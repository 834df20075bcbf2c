//! The `mamoru render` command as a security team runs it to preview alerts: the same
//! renderings as the golden files, in each format, and a bad file reported without stopping
//! the others.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

use mamoru_tests::render::{GOLDEN_VERSION, golden_dir};
use mamoru_tests::{all_fixtures, binary, fixtures};
use serde_json::Value;

fn mamoru(args: &[&str]) -> Output {
    let mut cmd = Command::new(binary("mamoru"));
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("MAMORU_") || k == "AWS_ENDPOINT_URL" {
            cmd.env_remove(k);
        }
    }
    // The goldens' test deployment: the resources the fixtures name as mamoru's own.
    cmd.env(
        "MAMORU_SELF_RESOURCES",
        mamoru_tests::render::SELF_RESOURCES.join(","),
    );
    cmd.args(args).output().unwrap()
}

/// The binary's own version, which its output shows where goldens show GOLDEN_VERSION.
fn binary_version() -> String {
    let out = String::from_utf8(mamoru(&["--version"]).stdout).unwrap();
    out.split_whitespace().nth(1).unwrap().to_string()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .replace(&binary_version(), GOLDEN_VERSION)
}

fn golden(rel: &str, ext: &str) -> String {
    let stem = rel.strip_suffix(".json").unwrap();
    std::fs::read_to_string(golden_dir().join(format!("{stem}{ext}"))).unwrap()
}

fn path(rel: &str) -> String {
    fixtures().join(rel).display().to_string()
}

#[test]
fn json_format_prints_the_golden_document_of_every_fixture() {
    // GIVEN every fixture
    let files = all_fixtures();
    let paths: Vec<String> = files.iter().map(|f| path(f)).collect();
    let mut args = vec!["render", "--format", "json"];
    args.extend(paths.iter().map(String::as_str));

    // WHEN rendered as JSON in one run
    let out = mamoru(&args);

    // THEN it succeeds and prints, in order, exactly the golden documents
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    let docs: Vec<Value> = serde_json::Deserializer::from_str(&text)
        .into_iter::<Value>()
        .map(Result::unwrap)
        .collect();
    assert_eq!(docs.len(), files.len());
    for (doc, rel) in docs.iter().zip(&files) {
        let want: Value = serde_json::from_str(&golden(rel, ".json")).unwrap();
        assert_eq!(doc, &want, "{rel}");
    }
}

#[test]
fn text_and_chatbot_formats_match_the_goldens() {
    // GIVEN a stopped trail event
    let rel = "constructed/ct-stop-logging-trail-in-other-region.json";
    // WHEN rendered as text and as the Chatbot payload
    let text = mamoru(&["render", "--format", "text", &path(rel)]);
    let chatbot = mamoru(&["render", "--format", "chatbot", &path(rel)]);
    // THEN each is the golden rendering
    assert_eq!(stdout(&text), golden(rel, ".txt"));
    assert_eq!(stdout(&chatbot), golden(rel, ".chatbot.json"));
}

#[test]
fn all_format_shows_every_version_and_sns_format_the_published_message() {
    let rel = "constructed/finding-iamuser-key-malicious-ip-high.json";
    // WHEN rendered with the default format
    let all = stdout(&mamoru(&["render", &path(rel)]));
    // THEN text, document and Chatbot payload are all shown
    assert!(
        all.starts_with(&format!("==> {}\nSubject: [HIGH] ", path(rel))),
        "{all}"
    );
    assert!(all.contains(&golden(rel, ".txt")));
    assert!(all.contains("\n--- JSON document (default: sqs, lambda, http, firehose) ---\n"));
    assert!(all.contains("\n--- AWS Chatbot custom notification (https) ---\n"));

    // WHEN rendered as the SNS message THEN it is the MessageStructure=json object
    let sns: Value =
        serde_json::from_str(&stdout(&mamoru(&["render", "--format", "sns", &path(rel)]))).unwrap();
    let doc: Value = serde_json::from_str(sns["default"].as_str().unwrap()).unwrap();
    assert_eq!(
        doc,
        serde_json::from_str::<Value>(&golden(rel, ".json")).unwrap()
    );
    assert!(all.contains(sns["email"].as_str().unwrap()));
}

#[test]
fn a_bad_file_is_reported_and_the_others_still_rendered() {
    // GIVEN a file that is not an event between two that are
    let dir = std::env::temp_dir().join(format!("mamoru-render-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.json");
    std::fs::write(&bad, "{\"id\": ").unwrap();
    let good = path("aws.signin/console-login-root.json");

    // WHEN rendered
    let out = mamoru(&[
        "render",
        "--format",
        "text",
        &good,
        bad.to_str().unwrap(),
        &good,
    ]);

    // THEN both good files are shown, the bad one is named on stderr, and the exit code says so
    assert!(!out.status.success());
    assert_eq!(
        stdout(&out)
            .matches("Subject: [HIGH] Root user console sign-in")
            .count(),
        2
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.json: not a valid event"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}
