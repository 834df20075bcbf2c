//! Notifications over the real SNS wire protocol: `mamoru replay --execute` runs the whole
//! pipeline against moto and publishes with MessageStructure=json; subscribers of each
//! protocol then show what they receive.
//!
//! What moto does (verified here): it picks each subscription's version by protocol (`https`
//! here), falling back to `default` (`sqs`, `http`); with raw delivery an SQS queue gets that
//! version as the body and the attributes as SQS message attributes, without it the SNS
//! envelope whose `Message` is that version; it applies filter policies to the attributes. moto
//! accepts a plain-http URL for an `https` subscription (real SNS does not), which lets a
//! loopback endpoint stand in for AWS Chatbot. Email, SMS and Lambda deliveries are not
//! observable in moto (it sends no email or SMS; Lambda needs a container runtime), so their
//! versions are checked by the rendering tests only.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;
use std::time::Duration;

use mamoru_tests::scenario::{self, event_with};
use mamoru_tests::{HttpSink, Moto, binary};
use serde_json::Value;

const REGION: &str = "us-east-1";

/// Runs `mamoru replay --json --execute` on the events; returns whether it succeeded and its
/// output lines.
fn execute(moto: &Moto, topic: &str, events: &[String]) -> (bool, Vec<Value>, String) {
    let dir = std::env::temp_dir().join(format!(
        "mamoru-notify-{}-{}",
        std::process::id(),
        moto.port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let files: Vec<_> = events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let f = dir.join(format!("event-{i}.json"));
            std::fs::write(&f, e).unwrap();
            f
        })
        .collect();
    let out = Command::new(binary("mamoru"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(moto.env(REGION))
        .env("MAMORU_TOPIC_ARN", topic)
        .args(["replay", "--json", "--execute"])
        .args(&files)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (
        out.status.success(),
        lines,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn topic(moto: &Moto, name: &str) -> String {
    let sns = aws_sdk_sns::Client::new(&moto.sdk(REGION).await);
    sns.create_topic()
        .name(name)
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[tokio::test]
async fn each_subscriber_receives_its_own_version_of_the_notification() {
    // GIVEN a topic with an SQS queue subscribed with raw delivery, one without, one filtered
    // to High and Critical, one filtered on severity_score >= 7, and HTTP endpoints subscribed
    // with the https and http protocols
    let moto = Moto::start();
    let topic = topic(&moto, "alerts").await;
    let raw = moto
        .subscribe_queue(REGION, &topic, "raw", true, None)
        .await;
    let enveloped = moto
        .subscribe_queue(REGION, &topic, "enveloped", false, None)
        .await;
    let high = moto
        .subscribe_queue(
            REGION,
            &topic,
            "high-and-critical",
            false,
            Some(r#"{"severity": ["HIGH", "CRITICAL"]}"#),
        )
        .await;
    let scored = moto
        .subscribe_queue(
            REGION,
            &topic,
            "score-7-or-more",
            true,
            Some(r#"{"severity_score": [{"numeric": [">=", 7]}]}"#),
        )
        .await;
    let sink = HttpSink::start();
    moto.subscribe_endpoint(REGION, &topic, "https", &sink.url("/chatbot"))
        .await;
    moto.subscribe_endpoint(REGION, &topic, "http", &sink.url("/webhook"))
        .await;
    // AND a trail in eu-west-1 that was stopped
    let arn = scenario::stopped_trail(&moto, "eu-west-1", "org-trail", false).await;
    let stopped = event_with(
        "constructed/ct-stop-logging-trail-in-other-region.json",
        |v| v["detail"]["requestParameters"]["name"] = arn.clone().into(),
    );
    // AND a failed attempt to stop a trail (Medium, notify only)
    let attempt =
        mamoru_tests::fixture("aws.cloudtrail/ct-stop-logging-error-invalidtrailname.json");

    // WHEN mamoru handles both events and publishes
    let (ok, lines, stderr) = execute(&moto, &topic, &[stopped, attempt]);

    // THEN the trail is restarted and both events are handled
    assert!(ok, "{stderr}");
    assert_eq!(lines[0]["outcomes"][0]["status"], "done", "{}", lines[0]);
    assert_eq!(lines[1]["severity"], "medium", "{}", lines[1]);
    assert!(scenario::trail_logging(&moto, "eu-west-1", &arn).await);

    // AND with raw delivery the queue receives the notification document itself, with the
    // attributes as SQS message attributes
    let raw = moto.drain_with_attributes(REGION, &raw).await;
    assert_eq!(raw.len(), 2, "{raw:?}");
    let (body, attrs) = raw
        .iter()
        .find(|(b, _)| json(b)["severity"]["band"] == "HIGH")
        .unwrap();
    let doc = json(body);
    assert_eq!(doc["schema"], "mamoru.notification/1");
    assert_eq!(doc["mode"], "enforce");
    assert_eq!(doc["outcome"], "restarted");
    assert_eq!(doc["actions"][0]["status"], "done");
    assert_eq!(doc["actions"][0]["region"], "eu-west-1");
    assert_eq!(doc["actions"][0]["message"], "trail org-trail is logging");
    assert_eq!(
        doc["subject"],
        "[HIGH] CloudTrail logging stopped: org-trail (123456789012/eu-west-1), restarted"
    );
    assert_eq!(
        doc["links"]["trail"],
        format!("https://console.aws.amazon.com/cloudtrail/home?region=eu-west-1#/trails/{arn}")
    );
    assert_eq!(attrs["severity"]["DataType"], "String");
    assert_eq!(attrs["severity"]["StringValue"], "HIGH");
    assert_eq!(attrs["severity_score"]["DataType"], "Number");
    assert_eq!(attrs["severity_score"]["StringValue"], "7.0");
    assert_eq!(attrs["event_kind"]["StringValue"], "cloudtrail:StopLogging");
    assert_eq!(attrs["disposition"]["StringValue"], "remediate");
    assert_eq!(attrs["account"]["StringValue"], "123456789012");
    assert_eq!(attrs["region"]["StringValue"], "us-east-1");

    // AND without raw delivery the queue receives the SNS envelope: Subject, Message (the same
    // document) and MessageAttributes
    let enveloped = moto.drain_with_attributes(REGION, &enveloped).await;
    assert_eq!(enveloped.len(), 2);
    let envelope = enveloped
        .iter()
        .map(|(b, _)| json(b))
        .find(|e| e["MessageAttributes"]["severity"]["Value"] == "HIGH")
        .unwrap();
    assert_eq!(envelope["Type"], "Notification");
    assert_eq!(envelope["Subject"], doc["subject"]);
    assert_eq!(json(envelope["Message"].as_str().unwrap()), doc);
    assert_eq!(
        envelope["MessageAttributes"]["severity_score"],
        serde_json::json!({"Type": "Number", "Value": "7.0"})
    );
    assert_eq!(
        envelope["MessageAttributes"]["disposition"]["Value"],
        "remediate"
    );

    // AND the filtered subscriptions receive only what their policies select
    let high = moto.drain_with_attributes(REGION, &high).await;
    assert_eq!(high.len(), 1, "{high:?}");
    assert_eq!(
        json(&high[0].0)["MessageAttributes"]["severity"]["Value"],
        "HIGH"
    );
    let scored = moto.drain_with_attributes(REGION, &scored).await;
    assert_eq!(scored.len(), 1, "{scored:?}");
    assert_eq!(json(&scored[0].0)["severity"]["score"], 7.0);

    // AND the https subscriber (AWS Chatbot) receives the custom notification format
    let chat = sink.bodies("/chatbot", 2, Duration::from_secs(10));
    assert_eq!(chat.len(), 2, "{chat:?}");
    let payloads: Vec<Value> = chat
        .iter()
        .map(|b| json(json(b)["Message"].as_str().unwrap()))
        .collect();
    let payload = payloads
        .iter()
        .find(|p| p["metadata"]["additionalContext"]["severity"] == "HIGH")
        .unwrap();
    assert_eq!(payload["version"], "1.0");
    assert_eq!(payload["source"], "custom");
    assert_eq!(payload["content"]["textType"], "client-markdown");
    assert_eq!(payload["content"]["title"], doc["subject"]);
    assert!(
        payload["content"]["description"]
            .as_str()
            .unwrap()
            .contains("`restart logging on trail org-trail`: *done*"),
        "{payload}"
    );

    // AND any other protocol (here http) receives the default version: the document for
    // machines, the same one the queues got
    let hook = sink.bodies("/webhook", 2, Duration::from_secs(10));
    assert_eq!(hook.len(), 2, "{hook:?}");
    let docs: Vec<Value> = hook
        .iter()
        .map(|b| json(json(b)["Message"].as_str().unwrap()))
        .collect();
    let high = docs
        .iter()
        .find(|d| d["severity"]["band"] == "HIGH")
        .unwrap();
    assert_eq!(*high, doc);
    assert!(
        docs.iter().any(|d| d["severity"]["band"] == "MEDIUM"),
        "{docs:?}"
    );
}
