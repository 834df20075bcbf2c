//! mamoru's own detections in Security Hub: the cloudtrail function, as built, behind the Runtime
//! API emulator on loopback with `AWS_ENDPOINT_URL` pointing at moto, handles a published
//! StopLogging record and imports it with `BatchImportFindings`; the finding is read back from
//! moto with `GetFindings` (moto serves both) and checked field by field. A redelivery updates the
//! one finding, dry-run imports nothing, and `MAMORU_PUBLISH_FINDINGS=off` imports nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mamoru_tests::scenario::{self, event_with};
use mamoru_tests::{FunctionProcess, Moto, RuntimeApi};
use serde_json::Value;

const REGION: &str = "us-east-1";
/// moto's account, which is also the fixture's (`ct-stop-logging.json`).
const ACCOUNT: &str = "123456789012";
const FIXTURE: &str = "aws.cloudtrail/ct-stop-logging.json";
/// The fixture's CloudTrail `eventID`.
const EVENT_ID: &str = "c58dkfjdkf-333-414274";

struct Function {
    api: RuntimeApi,
    _process: FunctionProcess,
}

fn start(moto: &Moto, topic: &str, mode: &str, publish: &str) -> Function {
    let api = RuntimeApi::start();
    let mut env = moto.env(REGION);
    env.push(("MAMORU_MODE".into(), mode.into()));
    env.push(("MAMORU_TOPIC_ARN".into(), topic.into()));
    env.push(("MAMORU_PUBLISH_FINDINGS".into(), publish.into()));
    let process = FunctionProcess::start_function("mamoru-cloudtrail", &api, &env);
    Function {
        api,
        _process: process,
    }
}

/// The fixture pointed at a trail created in moto, with `event_id` as CloudTrail's eventID.
fn stop_logging(trail_arn: &str, event_id: &str) -> String {
    event_with(FIXTURE, |v| {
        v["detail"]["requestParameters"]["name"] = trail_arn.into();
        v["detail"]["eventID"] = event_id.into();
    })
}

async fn findings(moto: &Moto) -> Vec<aws_sdk_securityhub::types::AwsSecurityFinding> {
    let hub = aws_sdk_securityhub::Client::new(&moto.sdk(REGION).await);
    hub.get_findings()
        .send()
        .await
        .unwrap()
        .findings
        .unwrap_or_default()
}

fn answer(r: &mamoru_tests::Invocation) -> Value {
    r.response().clone()
}

#[tokio::test]
async fn a_stopped_trail_is_imported_into_security_hub_once_per_call() {
    // GIVEN a stopped trail and the cloudtrail function with publishing on (the stack's default)
    let moto = Moto::start();
    let (topic, _queue) = moto.topic_with_queue(REGION, "alerts").await;
    let trail = scenario::stopped_trail(&moto, REGION, "org-trail", true).await;
    let f = start(&moto, &topic, "enforce", "on");

    // WHEN the published StopLogging record of that trail is handled
    let event = stop_logging(&trail, EVENT_ID);
    let r = f.api.invoke(&event);
    let a = answer(&r);
    assert_eq!(a["outcomes"][0]["status"], "done", "{a}");
    assert_eq!(a["published"]["status"], "imported", "{a}");

    // THEN Security Hub holds one finding of the default product of moto's account, about that
    // call, with mamoru's severity and the trail among its resources
    let all = findings(&moto).await;
    assert_eq!(all.len(), 1, "{all:?}");
    let found = &all[0];
    let id = format!("mamoru/aws/{ACCOUNT}/{REGION}/cloudtrail/{EVENT_ID}");
    assert_eq!(found.id(), Some(id.as_str()));
    assert_eq!(a["published"]["finding_id"], id.as_str());
    assert_eq!(
        found.product_arn(),
        Some(format!("arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default").as_str())
    );
    assert_eq!(found.aws_account_id(), Some(ACCOUNT));
    assert_eq!(found.region(), Some(REGION));
    assert_eq!(
        found.severity().and_then(|s| s.label()).map(|l| l.as_str()),
        Some("HIGH")
    );
    assert_eq!(found.title(), Some("mamoru: CloudTrail logging stopped"));
    assert_eq!(found.types(), ["Unusual Behaviors/User"]);
    assert_eq!(found.generator_id(), Some("mamoru/cloudtrail-stop-logging"));
    assert_eq!(found.schema_version(), Some("2018-10-08"));
    assert_eq!(found.created_at(), Some("2020-03-18T02:53:09Z"));
    let resources: Vec<(&str, &str)> = found
        .resources()
        .iter()
        .map(|r| (r.r#type().unwrap_or(""), r.id().unwrap_or("")))
        .collect();
    assert_eq!(
        resources,
        [
            ("AwsCloudTrailTrail", trail.as_str()),
            ("AwsAccount", &format!("AWS::::Account:{ACCOUNT}")[..]),
        ]
    );
    let description = found.description().unwrap();
    assert!(description.contains("StopLogging"), "{description}");
    assert!(description.contains("restart"), "{description}");

    // WHEN EventBridge delivers the same event again THEN the one finding is updated, not
    // duplicated
    let r = f.api.invoke(&event);
    assert_eq!(answer(&r)["published"]["status"], "imported");
    let all = findings(&moto).await;
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0].id(), Some(id.as_str()));

    // WHEN another call stops the trail THEN it is a finding of its own
    scenario::stop_trail(&moto, REGION, &trail).await;
    let r = f.api.invoke(&stop_logging(&trail, "second-call-0001"));
    assert_eq!(answer(&r)["published"]["status"], "imported");
    let ids: Vec<String> = findings(&moto)
        .await
        .iter()
        .map(|f| f.id().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        ids,
        [
            id,
            format!("mamoru/aws/{ACCOUNT}/{REGION}/cloudtrail/second-call-0001")
        ]
    );
}

#[tokio::test]
async fn dry_run_or_publishing_off_imports_nothing() {
    let moto = Moto::start();
    let (topic, _queue) = moto.topic_with_queue(REGION, "alerts").await;
    let trail = scenario::stopped_trail(&moto, REGION, "org-trail", true).await;

    // GIVEN dry-run WHEN a trail is stopped THEN the import is only reported
    let f = start(&moto, &topic, "dry-run", "on");
    let r = f.api.invoke(&stop_logging(&trail, EVENT_ID));
    let a = answer(&r);
    assert_eq!(a["published"]["status"], "would_import", "{a}");
    assert!(findings(&moto).await.is_empty());

    // GIVEN publishing off WHEN a trail is stopped THEN nothing is imported or reported
    let f = start(&moto, &topic, "enforce", "off");
    let r = f.api.invoke(&stop_logging(&trail, EVENT_ID));
    let a = answer(&r);
    assert_eq!(a["outcomes"][0]["status"], "done", "{a}");
    assert!(a.get("published").is_none(), "{a}");
    assert!(findings(&moto).await.is_empty());
}
