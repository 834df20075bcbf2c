//! Goldens of notifications rendered from outcomes that really happened: `mamoru replay
//! --execute` against moto deactivates a key (done), finds every trail of a region already logging
//! when Config reports them (already done), fails on a key IAM does not have (failed: not found is a failure), and withholds
//! a Medium finding's action (withheld). The notification compared is the one moto's SNS topic
//! delivered to an SQS subscriber: its Subject and the `mamoru.notification/1` document.
//!
//! They live in tests/golden-executed/ (tests/golden/ holds one rendering per fixture, checked
//! by notify_golden). Values moto or the build choose (the generated key id, mamoru's version) are replaced by
//! placeholders; everything else is compared as delivered. To accept a change:
//! `MAMORU_BLESS=1 cargo nextest run -p mamoru-tests --test executed_golden`, then review the diff
//! (README: "Blessing goldens").

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use mamoru_tests::scenario::{self, event_with};
use mamoru_tests::{Moto, binary};
use serde_json::{Value, json};

const REGION: &str = "us-east-1";

fn bless() -> bool {
    std::env::var_os("MAMORU_BLESS").is_some_and(|v| v == "1")
}

/// Runs `mamoru replay --json --execute` on one event with the topic set; returns the report.
fn execute(moto: &Moto, topic: &str, event: &str, n: usize) -> Value {
    let dir = std::env::temp_dir().join(format!("mamoru-executed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("event-{n}.json"));
    std::fs::write(&file, event).unwrap();
    let out = Command::new(binary("mamoru"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(moto.env(REGION))
        .env("MAMORU_TOPIC_ARN", topic)
        .args(["replay", "--json", "--execute"])
        .arg(&file)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(
        stdout
            .lines()
            .next()
            .unwrap_or_else(|| panic!("no output: {}", String::from_utf8_lossy(&out.stderr))),
    )
    .unwrap()
}

/// The one notification the run delivered: Subject and document, with `replace` applied to
/// every string and the version replaced.
async fn delivered(moto: &Moto, queue: &str, replace: &[(&str, &str)]) -> Value {
    let notes = scenario::notifications(moto, REGION, queue).await;
    assert_eq!(notes.len(), 1, "{notes:?}");
    let doc: Value = serde_json::from_str(notes[0]["Message"].as_str().unwrap()).unwrap();
    let mut v = json!({"Subject": notes[0]["Subject"], "document": doc});
    let mut text = v.to_string();
    for (from, to) in replace {
        text = text.replace(from, to);
    }
    v = serde_json::from_str(&text).unwrap();
    v["document"]["version"] = json!("<mamoru version>");
    v
}

fn compare(name: &str, got: &Value) -> Option<String> {
    let path = mamoru_tests::root().join(format!("tests/golden-executed/{name}.json"));
    let text = serde_json::to_string_pretty(got).unwrap() + "\n";
    if bless() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
        return None;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (MAMORU_BLESS=1 writes it)", path.display()));
    (want != text).then(|| {
        format!(
            "{}:\n--- golden\n{want}\n+++ delivered\n{text}",
            path.display()
        )
    })
}

#[tokio::test]
async fn notifications_of_real_outcomes_match_their_goldens() {
    let moto = Moto::start();
    let (topic, queue) = moto.topic_with_queue(REGION, "alerts").await;
    let (key, _) = scenario::user_with_two_keys(&moto, "alice").await;
    let finding = |user: &str, key: &str| {
        event_with(
            "constructed/finding-iamuser-key-malicious-ip-high.json",
            |v| {
                v["detail"]["resource"]["accessKeyDetails"]["userName"] = json!(user);
                v["detail"]["resource"]["accessKeyDetails"]["accessKeyId"] = json!(key);
            },
        )
    };
    let placeholder = [(key.as_str(), "AKIA_MOTO_GENERATED")];
    let mut diffs = Vec::new();

    // done: the key is deactivated
    let r = execute(&moto, &topic, &finding("alice", &key), 1);
    assert_eq!(r["outcomes"][0]["status"], "done", "{r}");
    assert_eq!(scenario::key_status(&moto, "alice", &key).await, "Inactive");
    diffs.extend(compare(
        "done",
        &delivered(&moto, &queue, &placeholder).await,
    ));

    // already done: Config reports cloudtrail-enabled NON_COMPLIANT in us-east-2, where the one
    // trail is logging already (the key deactivation, by contrast, reports done on every delivery)
    let trail = scenario::stopped_trail(&moto, "us-east-2", "running-trail", false).await;
    aws_sdk_cloudtrail::Client::new(&moto.sdk("us-east-2").await)
        .start_logging()
        .name(&trail)
        .send()
        .await
        .unwrap();
    let noncompliant =
        mamoru_tests::fixture("aws.config/compliance-cloudtrail-enabled-noncompliant.json");
    let r = execute(&moto, &topic, &noncompliant, 2);
    assert_eq!(r["outcomes"][0]["status"], "already_done", "{r}");
    diffs.extend(compare(
        "already_done",
        &delivered(&moto, &queue, &[]).await,
    ));

    // failed: IAM has no such user or key (not found is a failure, never "already done")
    let r = execute(&moto, &topic, &finding("ghost", "AKIAIOSFODNN7EXAMPLE"), 3);
    assert_eq!(r["outcomes"][0]["status"], "failed", "{r}");
    diffs.extend(compare("failed", &delivered(&moto, &queue, &[]).await));

    // withheld: a Medium finding below the remediation threshold; the key stays as it is
    let (medium_key, _) = scenario::user_with_two_keys(&moto, "bob").await;
    let medium = event_with(
        "constructed/finding-iamuser-key-malicious-ip-medium.json",
        |v| {
            v["detail"]["resource"]["accessKeyDetails"]["userName"] = json!("bob");
            v["detail"]["resource"]["accessKeyDetails"]["accessKeyId"] = json!(medium_key);
        },
    );
    let r = execute(&moto, &topic, &medium, 4);
    assert_eq!(r["withheld"][0]["action"], "deactivate_access_key", "{r}");
    assert_eq!(
        scenario::key_status(&moto, "bob", &medium_key).await,
        "Active"
    );
    let placeholder = [(medium_key.as_str(), "AKIA_MOTO_GENERATED")];
    diffs.extend(compare(
        "withheld",
        &delivered(&moto, &queue, &placeholder).await,
    ));

    assert!(
        diffs.is_empty(),
        "{} golden file(s) differ (MAMORU_BLESS=1 regenerates them; review the diff):\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}
