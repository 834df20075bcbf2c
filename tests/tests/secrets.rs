//! Secrets never reach logs, notifications or answers: events carrying them go through the
//! Lambda binaries (handled, and malformed), and every byte they output is scanned.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mamoru_tests::runtime_api::FunctionProcess;
use mamoru_tests::scenario::{self, event_with};
use mamoru_tests::{Invocation, Moto, RuntimeApi};
use serde_json::json;

const REGION: &str = "us-east-1";
const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const PASSWORD: &str = "correct-horse-battery-staple-42";
const PRIVATE_KEY_BODY: &str = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7";

fn session_token() -> String {
    "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD".repeat(6)
}

fn secrets() -> Vec<String> {
    vec![
        SECRET_KEY.to_string(),
        PASSWORD.to_string(),
        PRIVATE_KEY_BODY.to_string(),
        session_token(),
        session_token()[..60].to_string(),
    ]
}

fn assert_clean(what: &str, text: &str) {
    for s in secrets() {
        assert!(
            !text.contains(&s),
            "{what} leaks a secret ({}…):\n{text}",
            &s[..12]
        );
    }
}

#[tokio::test]
async fn secrets_in_events_never_reach_logs_notifications_or_answers() {
    let moto = Moto::start();
    let (topic, queue) = moto.topic_with_queue(REGION, "alerts").await;
    let arn = scenario::stopped_trail(&moto, REGION, "audit", false).await;

    let mut outputs: Vec<(String, String)> = Vec::new();
    for function in ["mamoru-cloudtrail", "mamoru-guardduty"] {
        let api = RuntimeApi::start();
        let mut env = moto.env(REGION);
        env.push(("MAMORU_MODE".into(), "enforce".into()));
        env.push(("MAMORU_TOPIC_ARN".into(), topic.clone()));
        let mut process = FunctionProcess::start_function(function, &api, &env);

        // GIVEN a StopLogging record whose free-text and structured fields carry secrets
        let arn = arn.clone();
        let stop = event_with("aws.cloudtrail/ct-stop-logging.json", move |v| {
            let d = &mut v["detail"];
            d["requestParameters"]["name"] = arn.into();
            d["requestParameters"]["password"] = PASSWORD.into();
            d["userAgent"] = format!("aws-cli/2.15 creds={SECRET_KEY}").into();
            d["responseElements"] = json!({"credentials": {
                "accessKeyId": "ASIAIOSFODNN7EXAMPLE",
                "secretAccessKey": SECRET_KEY,
                "sessionToken": session_token(),
            }});
            d["additionalEventData"] = json!({
                "note": format!("-----BEGIN RSA PRIVATE KEY-----\n{PRIVATE_KEY_BODY}\n-----END RSA PRIVATE KEY-----"),
                "SessionToken": session_token(),
            });
            d["errorMessage"] = format!("token was {}", session_token()).into();
            d["userIdentity"]["userName"] = format!("bob {SECRET_KEY}").into();
        });
        // AND a finding whose severity holds a secret (a wrong type: a parse error quoting it)
        let bad = event_with(
            "constructed/finding-iamuser-key-malicious-ip-high.json",
            |v| {
                v["detail"]["severity"] = SECRET_KEY.into();
            },
        );
        // AND a malformed document with a secret in it
        let malformed = format!(
            "{{\"id\": \"x\", \"detail\": {{\"password\": \"{PASSWORD}\", \"k\": \"{SECRET_KEY}\""
        );

        // WHEN each function receives all three
        for payload in [&stop, &bad, &malformed] {
            let r = api.invoke(payload);
            let text = match r {
                Invocation::Response(v) | Invocation::Error(v) => v.to_string(),
            };
            outputs.push((format!("{function} answer"), text));
        }
        drop(api);
        // Scanned only once the process and its pipe readers are done: every line is in.
        let (stdout, stderr) = process.finish();
        outputs.push((format!("{function} stdout"), stdout.join("\n")));
        outputs.push((format!("{function} stderr"), stderr.join("\n")));
    }

    // THEN the trail was still restarted (secrets are masked in output, not in the decision)
    assert!(scenario::trail_logging(&moto, REGION, "audit").await);
    // AND no answer, log line or notification contains a secret
    let notes = scenario::notifications(&moto, REGION, &queue).await;
    assert!(!notes.is_empty());
    for n in &notes {
        outputs.push(("notification".into(), n.to_string()));
    }
    for (what, text) in &outputs {
        assert_clean(what, text);
    }
    // AND the logs do say what was wrong, naming the field
    let logs: String = outputs
        .iter()
        .filter(|(w, _)| w.ends_with("stdout"))
        .map(|(_, t)| t.as_str())
        .collect();
    assert!(logs.contains("detail.severity"), "{logs}");
}
