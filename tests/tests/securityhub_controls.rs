//! Security Hub control findings acted on in moto: the securityhub function as built, behind the
//! Runtime API emulator on loopback with `AWS_ENDPOINT_URL` pointing at moto, handles a published
//! control finding moved into moto's account, and the state is read back from moto.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mamoru_tests::scenario::{self, event_with};
use mamoru_tests::{FunctionProcess, Invocation, Moto, RuntimeApi};
use serde_json::Value;

const REGION: &str = "us-east-1";
/// moto's account: the account the function acts in with its own credentials.
const ACCOUNT: &str = "123456789012";

struct Function {
    api: RuntimeApi,
    _process: FunctionProcess,
}

fn start(moto: &Moto, topic: &str) -> Function {
    let api = RuntimeApi::start();
    let mut env = moto.env(REGION);
    env.push(("MAMORU_MODE".into(), "enforce".into()));
    env.push(("MAMORU_TOPIC_ARN".into(), topic.into()));
    let process = FunctionProcess::start_function("mamoru-securityhub", &api, &env);
    Function {
        api,
        _process: process,
    }
}

/// A published finding moved into moto's account.
fn in_moto(rel: &str) -> String {
    event_with(rel, |v| {
        let text = v.to_string().replace("111122223333", ACCOUNT);
        *v = serde_json::from_str(&text).unwrap();
    })
}

fn one(r: &Invocation) -> Value {
    let all = r.response().as_array().cloned().unwrap();
    assert_eq!(all.len(), 1, "{all:?}");
    all[0].clone()
}

// proves: securityhub-config-recorder-stopped
#[tokio::test]
async fn config_1_starts_the_stopped_recorder_of_the_findings_region() {
    // GIVEN a configuration recorder that is not recording, in the finding's account and region
    let moto = Moto::start();
    let (topic, _queue) = moto.topic_with_queue(REGION, "alerts").await;
    scenario::stopped_recorder(&moto, REGION, "default").await;
    let f = start(&moto, &topic);

    // WHEN Security Hub reports Config.1 failed (the published FSBP finding)
    let event = in_moto("aws.securityhub/imported-config-1.json");
    let a = one(&f.api.invoke(&event));

    // THEN the recorder records again, and the outcome read the state before and after
    assert_eq!(a["disposition"], "remediate", "{a}");
    assert_eq!(
        a["outcomes"][0]["api"], "config:StartConfigurationRecorder",
        "{a}"
    );
    assert_eq!(a["outcomes"][0]["status"], "done", "{a}");
    assert!(scenario::recorder_recording(&moto, REGION, "default").await);

    // AND the same finding again finds it recording: already done, nothing started
    let a = one(&f.api.invoke(&event));
    assert_eq!(a["outcomes"][0]["status"], "already_done", "{a}");
    assert!(scenario::recorder_recording(&moto, REGION, "default").await);
}

#[tokio::test]
async fn config_1_in_a_region_without_a_recorder_is_a_failure_not_already_done() {
    // GIVEN no configuration recorder at all in the finding's region
    let moto = Moto::start();
    let (topic, _queue) = moto.topic_with_queue(REGION, "alerts").await;
    let f = start(&moto, &topic);

    // WHEN Config.1 failed THEN the invocation fails (Lambda retries, then the DLQ), saying that
    // no recorder exists: mamoru does not create one
    let r = f
        .api
        .invoke(&in_moto("aws.securityhub/imported-config-1.json"));
    let Invocation::Error(e) = &r else {
        panic!("expected an error, got {r:?}")
    };
    let text = e.to_string();
    assert!(
        text.contains("no configuration recorder in us-east-1"),
        "{text}"
    );
}

// proves: securityhub-v2-config-recorder-stopped
#[tokio::test]
async fn an_ocsf_config_1_finding_starts_the_recorder_and_is_written_back_with_batch_update_findings_v2()
 {
    // moto 5.2.5 serves no BatchUpdateFindingsV2: the write-back goes to a local endpoint
    // (AWS_ENDPOINT_URL_SECURITYHUB) that answers as Security Hub does and keeps the SDK's real
    // request. The recorder's state is moto's; the write-back is a request-shape test.
    let moto = Moto::start();
    let (topic, _queue) = moto.topic_with_queue(REGION, "alerts").await;
    scenario::stopped_recorder(&moto, REGION, "default").await;
    let event = in_moto("aws.securityhub/v2-control-config-1.json");
    let finding = serde_json::from_str::<Value>(&event).unwrap()["detail"]["findings"][0].clone();
    let identifier = serde_json::json!({
        "CloudAccountUid": finding["cloud"]["account"]["uid"],
        "FindingInfoUid": finding["finding_info"]["uid"],
        "MetadataProductUid": finding["metadata"]["product"]["uid"],
    });
    let hub = mamoru_tests::HttpSink::answering(
        &serde_json::json!({
            "ProcessedFindings": [{"FindingIdentifier": identifier}],
            "UnprocessedFindings": []
        })
        .to_string(),
    );
    let api = RuntimeApi::start();
    let mut env = moto.env(REGION);
    env.push(("MAMORU_MODE".into(), "enforce".into()));
    env.push(("MAMORU_TOPIC_ARN".into(), topic.clone()));
    env.push(("AWS_ENDPOINT_URL_SECURITYHUB".into(), hub.url("")));
    let _process = FunctionProcess::start_function("mamoru-securityhub", &api, &env);

    // WHEN the new Security Hub reports Config.1 failed (OCSF)
    let a = one(&api.invoke(&event));

    // THEN the recorder of the finding's region records again
    assert_eq!(a["disposition"], "remediate", "{a}");
    assert_eq!(a["outcomes"][0]["status"], "done", "{a}");
    assert!(scenario::recorder_recording(&moto, REGION, "default").await);
    // AND the finding is written back Resolved (4) with BatchUpdateFindingsV2, naming the finding
    // by its OCSF identifier, the note as its comment
    assert_eq!(a["write_back"]["status"], "written", "{a}");
    let bodies = hub.bodies(
        "/findingsv2/batchupdatev2",
        1,
        std::time::Duration::from_secs(5),
    );
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let sent: Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(sent["FindingIdentifiers"], serde_json::json!([identifier]));
    assert_eq!(sent["StatusId"], 4);
    let comment = sent["Comment"].as_str().unwrap();
    assert!(
        comment.starts_with("mamoru: remediated (CRITICAL); "),
        "{comment}"
    );
    assert!(comment.chars().count() <= 512);
    assert!(
        sent.get("Workflow").is_none() && sent.get("Note").is_none(),
        "{sent}"
    );
}
