//! Integration tests over the real AWS wire protocol: `mamoru replay --execute` runs the whole
//! pipeline against moto server, reached through the SDK's own `AWS_ENDPOINT_URL`, and the
//! state is read back from moto afterwards. Notifications are read from an SQS queue subscribed
//! to the topic.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

use mamoru_tests::scenario::{self, event_with};
use mamoru_tests::{Moto, binary};
use serde_json::Value;

/// Runs `mamoru replay --json [--execute]` on one event (written to a temp file).
fn replay(
    moto: &Moto,
    region: &str,
    topic: Option<&str>,
    event: &str,
    execute: bool,
) -> (Output, Value) {
    let dir = std::env::temp_dir().join(format!(
        "mamoru-test-{}-{}",
        std::process::id(),
        moto.port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("event-{}.json", rand_suffix()));
    std::fs::write(&file, event).unwrap();
    let mut cmd = Command::new(binary("mamoru"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(moto.env(region))
        .arg("replay")
        .arg("--json");
    if execute {
        cmd.arg("--execute");
    }
    if let Some(t) = topic {
        cmd.env("MAMORU_TOPIC_ARN", t);
    }
    let out = cmd.arg(&file).output().unwrap();
    let _ = std::fs::remove_file(&file);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().next().unwrap_or_else(|| {
        panic!(
            "no output; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.clone(), serde_json::from_str(line).unwrap())
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!("{}", N.fetch_add(1, Ordering::SeqCst))
}

fn statuses(report: &Value) -> Vec<String> {
    report["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap().to_string())
        .collect()
}

fn key_finding(user: &str, key: &str) -> String {
    event_with(
        "constructed/finding-iamuser-key-malicious-ip-high.json",
        |v| {
            v["detail"]["resource"]["accessKeyDetails"]["userName"] = user.into();
            v["detail"]["resource"]["accessKeyDetails"]["accessKeyId"] = key.into();
        },
    )
}

// proves: guardduty-iam-user-key-compromise
#[tokio::test]
async fn compromised_key_is_deactivated_and_only_that_key() {
    // GIVEN a user with two active keys, and a High finding naming the first
    let moto = Moto::start();
    let (topic, queue) = moto.topic_with_queue("us-east-1", "alerts").await;
    let (named, other) = scenario::user_with_two_keys(&moto, "alice").await;
    // moto's generated key ids start with AKIA, like real long-term keys.
    assert!(named.starts_with("AKIA"), "{named}");

    // WHEN mamoru executes the plan
    let (out, report) = replay(
        &moto,
        "us-east-1",
        Some(&topic),
        &key_finding("alice", &named),
        true,
    );

    // THEN only the named key is Inactive
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(report["disposition"], "remediate");
    // The key deactivation ran; the quarantine rule ships in shadow mode and only reports.
    assert_eq!(statuses(&report), ["done", "would_do"]);
    assert_eq!(report["outcomes"][1]["api"], "iam:PutUserPolicy");
    assert_eq!(
        scenario::key_status(&moto, "alice", &named).await,
        "Inactive"
    );
    assert_eq!(scenario::key_status(&moto, "alice", &other).await, "Active");
    assert_eq!(
        scenario::key_statuses(&moto, "alice").await.len(),
        2,
        "no key is deleted"
    );

    // AND one notification says what happened, with its attributes; the SQS subscriber gets
    // the notification document
    let notes = scenario::notifications(&moto, "us-east-1", &queue).await;
    assert_eq!(notes.len(), 1, "{notes:?}");
    let subject = notes[0]["Subject"].as_str().unwrap();
    assert!(subject.starts_with("[HIGH] "), "{subject}");
    assert!(subject.ends_with(", key deactivated"), "{subject}");
    assert!(subject.len() <= 100);
    assert_eq!(notes[0]["MessageAttributes"]["severity"]["Value"], "HIGH");
    assert_eq!(
        notes[0]["MessageAttributes"]["event_kind"]["Value"],
        "guardduty:UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom"
    );
    let doc: Value = serde_json::from_str(notes[0]["Message"].as_str().unwrap()).unwrap();
    assert_eq!(doc["schema"], "mamoru.notification/1");
    assert_eq!(doc["actions"][0]["status"], "done");
    assert_eq!(doc["actions"][0]["params"]["AccessKeyId"], named.as_str());
    assert_eq!(
        doc["actions"][0]["message"],
        format!("access key {named} of alice is Inactive")
    );
}

#[tokio::test]
async fn deactivating_twice_is_idempotent_and_dry_run_changes_nothing() {
    let moto = Moto::start();
    let (named, _) = scenario::user_with_two_keys(&moto, "bob").await;
    let event = key_finding("bob", &named);

    // GIVEN no --execute (dry-run): nothing changes
    let (out, report) = replay(&moto, "us-east-1", None, &event, false);
    assert!(out.status.success());
    assert_eq!(report["disposition"], "remediate");
    assert!(report.get("outcomes").is_none());
    assert_eq!(scenario::key_status(&moto, "bob", &named).await, "Active");

    // WHEN executed twice THEN the second run succeeds too and the state is the same
    for _ in 0..2 {
        let (out, report) = replay(&moto, "us-east-1", None, &event, true);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(statuses(&report), ["done", "would_do"]);
        assert_eq!(scenario::key_status(&moto, "bob", &named).await, "Inactive");
    }
}

// proves: cloudtrail-stop-logging
#[tokio::test]
async fn stopped_trail_is_restarted_in_its_home_region() {
    // GIVEN a trail in eu-west-1, stopped by a call recorded in us-east-1
    let moto = Moto::start();
    let (topic, queue) = moto.topic_with_queue("us-east-1", "alerts").await;
    let arn = scenario::stopped_trail(&moto, "eu-west-1", "org-trail", false).await;
    assert!(arn.contains(":eu-west-1:"), "{arn}");
    let event = event_with(
        "constructed/ct-stop-logging-trail-in-other-region.json",
        |v| {
            v["detail"]["requestParameters"]["name"] = arn.clone().into();
        },
    );

    // WHEN executed from us-east-1
    let (out, report) = replay(&moto, "us-east-1", Some(&topic), &event, true);

    // THEN the trail logs again, in eu-west-1
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(report["outcomes"][0]["region"], "eu-west-1");
    assert_eq!(statuses(&report), ["done"]);
    assert!(scenario::trail_logging(&moto, "eu-west-1", &arn).await);
    let notes = scenario::notifications(&moto, "us-east-1", &queue).await;
    assert_eq!(notes.len(), 1);
    let subject = notes[0]["Subject"].as_str().unwrap();
    assert!(
        subject.starts_with("[HIGH] CloudTrail logging stopped: org-trail"),
        "{subject}"
    );
}

// proves: guardduty-detector-disabled
#[tokio::test]
async fn disabled_detector_is_enabled() {
    let moto = Moto::start();
    let id = scenario::disabled_detector(&moto, "us-east-1").await;
    let event = event_with("aws.guardduty/ct-update-detector-disable.json", |v| {
        v["detail"]["requestParameters"]["detectorId"] = id.clone().into();
    });
    let (out, report) = replay(&moto, "us-east-1", None, &event, true);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(statuses(&report), ["done"]);
    assert_eq!(
        scenario::detector_status(&moto, "us-east-1", &id).await,
        "ENABLED"
    );
}

// proves: config-recorder-stopped
#[tokio::test]
async fn stopped_recorder_is_restarted() {
    let moto = Moto::start();
    // The fixture's call was made in us-west-2 on the recorder "default".
    scenario::stopped_recorder(&moto, "us-west-2", "default").await;
    // The published record was made in account 222222222222; here it is mamoru's own account.
    let event =
        mamoru_tests::scenario::event_with("aws.config/ct-stop-configuration-recorder.json", |v| {
            v["detail"]["recipientAccountId"] = mamoru_tests::moto::ACCOUNT.into()
        });
    let (out, report) = replay(&moto, "us-east-1", None, &event, true);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(statuses(&report), ["done"]);
    assert!(scenario::recorder_recording(&moto, "us-west-2", "default").await);
}

#[tokio::test]
async fn a_stop_in_another_account_never_restarts_the_hubs_recorder() {
    // GIVEN the hub's recorder is stopped too, and no member role is configured
    let moto = Moto::start();
    scenario::stopped_recorder(&moto, "us-west-2", "default").await;
    // WHEN the published record (account 222222222222) arrives
    let event = mamoru_tests::fixture("aws.config/ct-stop-configuration-recorder.json");
    let (out, report) = replay(&moto, "us-east-1", None, &event, true);
    // THEN it fails naming that account, and the hub's recorder stays stopped
    assert!(!out.status.success());
    assert_eq!(statuses(&report), ["failed"]);
    assert!(
        report["outcomes"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("mamoru cannot act in 222222222222"),
        "{report}"
    );
    assert!(!scenario::recorder_recording(&moto, "us-west-2", "default").await);
}

// proves: config-cloudtrail-noncompliant
#[tokio::test]
async fn config_noncompliance_restarts_every_stopped_trail_and_only_those() {
    // GIVEN two trails in us-east-2: one stopped, one logging
    let moto = Moto::start();
    let stopped = scenario::stopped_trail(&moto, "us-east-2", "stopped-trail", false).await;
    let running = scenario::stopped_trail(&moto, "us-east-2", "running-trail", false).await;
    let ct = aws_sdk_cloudtrail::Client::new(&moto.sdk("us-east-2").await);
    ct.start_logging().name(&running).send().await.unwrap();

    // WHEN cloudtrail-enabled goes NON_COMPLIANT in us-east-2
    let event = mamoru_tests::fixture("aws.config/compliance-cloudtrail-enabled-noncompliant.json");
    let (out, report) = replay(&moto, "us-east-1", None, &event, true);

    // THEN both log, and the outcome names the one restarted, with the state read before
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(statuses(&report), ["done"]);
    assert!(scenario::trail_logging(&moto, "us-east-2", &stopped).await);
    assert!(scenario::trail_logging(&moto, "us-east-2", &running).await);
    let o = &report["outcomes"][0];
    assert_eq!(o["after"]["Started"], serde_json::json!(["stopped-trail"]));
    assert_eq!(o["before"].as_array().unwrap().len(), 2);

    // AND a second delivery finds nothing to do
    let (_, report) = replay(&moto, "us-east-1", None, &event, true);
    assert_eq!(statuses(&report), ["already_done"]);
}

// proves: config-guardduty-noncompliant
#[tokio::test]
async fn config_guardduty_noncompliance_enables_the_region_detector() {
    let moto = Moto::start();
    let id = scenario::disabled_detector(&moto, "us-east-1").await;
    let event = mamoru_tests::fixture(
        "aws.config/compliance-guardduty-enabled-centralized-noncompliant.json",
    );
    let (out, report) = replay(&moto, "us-east-1", None, &event, true);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(statuses(&report), ["done"]);
    assert_eq!(
        scenario::detector_status(&moto, "us-east-1", &id).await,
        "ENABLED"
    );
}

#[tokio::test]
async fn a_failed_remediation_is_notified_and_fails_the_run() {
    // GIVEN a StopLogging event naming a trail that does not exist
    let moto = Moto::start();
    let (topic, queue) = moto.topic_with_queue("us-east-1", "alerts").await;
    let event = mamoru_tests::fixture("aws.cloudtrail/ct-stop-logging.json");

    // WHEN executed
    let (out, report) = replay(&moto, "us-east-1", Some(&topic), &event, true);

    // THEN the outcome is failed, the notification says so, and the exit code is non-zero
    assert!(!out.status.success());
    assert_eq!(statuses(&report), ["failed"]);
    assert!(
        report["outcomes"][0]["message"]
            .as_str()
            .unwrap()
            .contains("TrailNotFound")
    );
    let notes = scenario::notifications(&moto, "us-east-1", &queue).await;
    assert_eq!(notes.len(), 1);
    assert!(
        notes[0]["Subject"]
            .as_str()
            .unwrap()
            .ends_with(", restart FAILED"),
        "{}",
        notes[0]["Subject"]
    );
    let doc: Value = serde_json::from_str(notes[0]["Message"].as_str().unwrap()).unwrap();
    assert_eq!(doc["actions"][0]["status"], "failed");
    assert_eq!(doc["actions"][0]["error_code"], "TrailNotFoundException");
    assert_eq!(doc["outcome"], "restart FAILED");
}
