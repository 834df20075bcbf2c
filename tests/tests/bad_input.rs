//! Bad input through the Lambda binaries: malformed JSON, wrong types, missing fields,
//! oversize payloads and hostile strings. Each ends in a typed error (the event goes to the DLQ)
//! or is handled, with a log line naming the field, and never a panic.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mamoru_tests::runtime_api::FunctionProcess;
use mamoru_tests::scenario::{self, event_with};
use mamoru_tests::{Invocation, Moto, RuntimeApi};
use serde_json::{Value, json};

const REGION: &str = "us-east-1";

#[tokio::test]
async fn bad_events_are_typed_errors_naming_the_field_and_hostile_strings_are_handled() {
    let moto = Moto::start();
    let (topic, queue) = moto.topic_with_queue(REGION, "alerts").await;
    let api = RuntimeApi::start();
    let mut env = moto.env(REGION);
    env.push(("MAMORU_MODE".into(), "dry-run".into()));
    env.push(("MAMORU_TOPIC_ARN".into(), topic));
    let mut process = FunctionProcess::start_function("mamoru-cloudtrail", &api, &env);

    let stop = "aws.cloudtrail/ct-stop-logging.json";
    // (payload, the field its error must name)
    let bad: Vec<(String, &str)> = vec![
        (
            event_with(stop, |v| v["detail"]["eventName"] = json!(42)),
            "detail.eventName",
        ),
        (
            event_with(stop, |v| v["detail"]["userIdentity"] = json!("root")),
            "detail.userIdentity",
        ),
        (
            event_with(stop, |v| {
                v["detail"].as_object_mut().unwrap().remove("awsRegion");
            }),
            "detail.awsRegion",
        ),
        (
            event_with(stop, |v| {
                v.as_object_mut().unwrap().remove("detail");
            }),
            "detail",
        ),
        (
            event_with(stop, |v| v["id"] = json!(["not", "a", "string"])),
            "id",
        ),
        (
            event_with(stop, |v| {
                v["detail"]["requestParameters"]["padding"] = json!("x".repeat(300 * 1024))
            }),
            "",
        ),
    ];
    for (payload, field) in &bad {
        let r = api.invoke(payload);
        let Invocation::Error(e) = &r else {
            panic!("expected an error for {field}: {r:?}")
        };
        assert_eq!(e["errorType"], "mamoru.BadEvent", "{e}");
        assert!(
            e["errorMessage"].as_str().unwrap().contains(field),
            "{field}: {e}"
        );
    }
    // Malformed JSON never reaches mamoru's parser: the runtime itself answers with an error.
    for payload in ["{", "[1,2", "\"just a string", "{\"id\": \"x\",}"] {
        let r = api.invoke(payload);
        assert!(matches!(r, Invocation::Error(_)), "{payload}: {r:?}");
    }

    // Hostile strings where the subject and body take them: handled, subject still safe.
    let hostile_name = format!(
        "evil\r\nSubject: pwned <script>alert(1)</script> \u{202e}\u{1F600}{}",
        "A".repeat(10_000)
    );
    let hostile = event_with("constructed/ct-stop-logging-by-name.json", |v| {
        v["detail"]["requestParameters"]["name"] = json!(hostile_name);
        v["detail"]["userAgent"] = json!("\u{0}\u{7}\u{1b}[31mred\u{1b}[0m\n\nfake: line");
        v["detail"]["userIdentity"]["arn"] = json!(format!(
            "arn:aws:iam::123456789012:user/{}",
            "\u{0301}".repeat(500)
        ));
    });
    let r = api.invoke(&hostile);
    assert_eq!(r.response()["disposition"], "remediate", "{r:?}");
    let notes = scenario::notifications(&moto, REGION, &queue).await;
    assert_eq!(notes.len(), 1);
    let subject = notes[0]["Subject"].as_str().unwrap();
    assert!(
        subject.len() <= 100 && subject.is_ascii() && !subject.contains(['\n', '\r']),
        "{subject:?}"
    );

    // The process is still serving: no panic, no crash.
    assert!(process.is_running(), "no panic, no crash");
    // Every bad event was logged at error, naming its field. The output is scanned once the
    // process and its pipe readers are done: every line is in.
    let (stdout, stderr) = process.finish();
    let errors: Vec<Value> = stdout
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["level"] == "ERROR")
        .collect();
    for (_, field) in bad.iter().filter(|(_, f)| !f.is_empty()) {
        assert!(
            errors.iter().any(|l| l["field"] == *field),
            "no error log names {field}: {errors:?}"
        );
    }
    assert!(errors.iter().any(|l| {
        l["error"]
            .as_str()
            .is_some_and(|e| e.contains("larger than"))
    }));
    let all = [stdout, stderr].concat().join("\n");
    assert!(!all.contains("panicked"), "{all}");
}
