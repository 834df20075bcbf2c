//! The securityhub function end to end: the binary as built, behind the Runtime API emulator on
//! loopback, with `AWS_ENDPOINT_URL` pointing at moto. Security Hub events carry findings in
//! `detail.findings`; each finding is decided, acted on and notified on its own, and one bad or
//! failing finding never drops the others. The state is checked in moto afterwards.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mamoru_tests::scenario::{self, event_with};
use mamoru_tests::{FunctionProcess, HttpSink, Invocation, Moto, RuntimeApi};
use serde_json::Value;

const REGION: &str = "us-east-1";
/// moto's account: the account the function acts in with its own credentials.
const ACCOUNT: &str = "123456789012";
/// The group the published CIS 4.1 / EC2.13 finding names.
const FIXTURE_GROUP: &str = "sg-47dddc34c51b4be58";

struct Function {
    api: RuntimeApi,
    _process: FunctionProcess,
}

fn start(moto: &Moto, topic: &str) -> Function {
    start_with(moto, topic, &[])
}

fn start_with(moto: &Moto, topic: &str, extra: &[(&str, String)]) -> Function {
    let api = RuntimeApi::start();
    let mut env = moto.env(REGION);
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
    env.push(("MAMORU_MODE".into(), "enforce".into()));
    env.push(("MAMORU_TOPIC_ARN".into(), topic.into()));
    let process = FunctionProcess::start_function("mamoru-securityhub", &api, &env);
    Function {
        api,
        _process: process,
    }
}

fn rules(v: &[(&str, i32, &str)]) -> Vec<(String, i32, String)> {
    v.iter()
        .map(|(p, port, r)| (p.to_string(), *port, r.to_string()))
        .collect()
}

fn before() -> Vec<(String, i32, String)> {
    rules(&[
        ("tcp", 22, "0.0.0.0/0"),
        ("tcp", 22, "::/0"),
        ("tcp", 443, "0.0.0.0/0"),
        ("tcp", 3389, "198.51.100.0/24"),
    ])
}

/// Points a published finding at moto: the group created there, in moto's account.
fn in_moto(finding: &mut Value, group: &str) {
    let text = finding
        .to_string()
        .replace(FIXTURE_GROUP, group)
        .replace("111122223333", ACCOUNT);
    *finding = serde_json::from_str(&text).unwrap();
}

fn responses(r: &Invocation) -> Vec<Value> {
    r.response()
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("{r:?}"))
}

// proves: securityhub-world-open-admin-ports
#[tokio::test]
async fn the_custom_action_runs_the_findings_shadow_revoke_once_and_keeps_the_rest() {
    // GIVEN a group open to the world on 22 and 443, and the EC2.13 finding on it
    let moto = Moto::start();
    let (topic, queue) = moto.topic_with_queue(REGION, "alerts").await;
    let group = scenario::world_open_group(&moto, REGION, "web").await;
    let f = start(&moto, &topic);

    // WHEN Security Hub imports the finding THEN the revoke is only reported (shadow)
    let imported = event_with("aws.securityhub/imported-ec2-13-ssh-world.json", |v| {
        in_moto(&mut v["detail"]["findings"][0], &group)
    });
    let r = f.api.invoke(&imported);
    let answers = responses(&r);
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert_eq!(answers[0]["disposition"], "notify", "{answers:?}");
    assert_eq!(answers[0]["outcomes"][0]["status"], "would_do");
    assert_eq!(scenario::ingress(&moto, REGION, &group).await, before());
    // AND the write-back failed (moto serves no BatchUpdateFindings), which fails nothing: the
    // invocation succeeded and the failure is in the answer (and the audit line)
    assert_eq!(answers[0]["write_back"]["status"], "failed", "{answers:?}");

    // WHEN an analyst chooses mamoru's custom action on it THEN the revoke runs: the world-open
    // 22 ranges are gone, the 443 rule and the 3389 rule from a known range are kept
    let approved = event_with("aws.securityhub/custom-action-ec2-13-ssh-world.json", |v| {
        in_moto(&mut v["detail"]["findings"][0], &group)
    });
    let r = f.api.invoke(&approved);
    let answers = responses(&r);
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert_eq!(answers[0]["disposition"], "remediate", "{answers:?}");
    assert_eq!(
        answers[0]["outcomes"][0]["api"],
        "ec2:RevokeSecurityGroupIngress"
    );
    assert_eq!(answers[0]["outcomes"][0]["status"], "done", "{answers:?}");
    let after = rules(&[("tcp", 443, "0.0.0.0/0"), ("tcp", 3389, "198.51.100.0/24")]);
    assert_eq!(scenario::ingress(&moto, REGION, &group).await, after);

    // AND choosing it again changes nothing more (once: the second run finds nothing to revoke)
    let r = f.api.invoke(&approved);
    assert_eq!(responses(&r)[0]["outcomes"][0]["status"], "already_done");
    assert_eq!(scenario::ingress(&moto, REGION, &group).await, after);

    // AND each run was notified, naming the group
    let notes = scenario::notifications(&moto, REGION, &queue).await;
    assert_eq!(notes.len(), 3, "{notes:?}");
    assert!(
        notes
            .iter()
            .all(|n| n["Message"].as_str().unwrap().contains(&group)),
        "{notes:?}"
    );
}

// proves: securityhub-world-open-high-risk-ports
#[tokio::test]
async fn the_custom_action_on_ec2_19_revokes_every_world_open_high_risk_port_and_keeps_the_rest() {
    // GIVEN the web group of the EC2.13 test in the EC2.19 finding's region, also open to the
    // world on TCP 5432 (and to a private range on it), on UDP 1434, and on TCP 8000-9000
    use aws_sdk_ec2::types::{IpPermission, IpRange};
    let region = "us-east-2";
    let moto = Moto::start();
    let (topic, _queue) = moto.topic_with_queue(REGION, "alerts").await;
    let group = scenario::world_open_group(&moto, region, "db").await;
    let perm = |proto: &str, from: i32, to: i32, cidrs: &[&str]| {
        let mut p = IpPermission::builder()
            .ip_protocol(proto)
            .from_port(from)
            .to_port(to);
        for c in cidrs {
            p = p.ip_ranges(IpRange::builder().cidr_ip(*c).build());
        }
        p.build()
    };
    aws_sdk_ec2::Client::new(&moto.sdk(region).await)
        .authorize_security_group_ingress()
        .group_id(&group)
        .ip_permissions(perm("tcp", 5432, 5432, &["0.0.0.0/0", "10.0.0.0/8"]))
        .ip_permissions(perm("udp", 1434, 1434, &["0.0.0.0/0"]))
        .ip_permissions(perm("tcp", 8000, 9000, &["0.0.0.0/0"]))
        .send()
        .await
        .unwrap();
    let f = start(&moto, &topic);

    // WHEN an analyst chooses mamoru's custom action on the EC2.19 finding
    let event: Value = serde_json::from_str(&mamoru_tests::fixture(
        "aws.securityhub/imported-ec2-19-high-risk.json",
    ))
    .unwrap();
    let mut finding = event["detail"]["findings"][0].clone();
    in_moto(&mut finding, &group);
    let approved = event_with("aws.securityhub/custom-action-ec2-13-ssh-world.json", |v| {
        v["detail"]["findings"] = serde_json::json!([finding]);
    });
    let r = f.api.invoke(&approved);
    let answers = responses(&r);

    // THEN the high-risk revoke ran in the finding's region: the world-open ranges on 22 (IPv4
    // and IPv6), TCP 5432 and UDP 1434 are gone; 443 (not high-risk), 3389 and 5432 from known
    // ranges, and the wider 8000-9000 range (reported for a person) are kept
    assert_eq!(answers.len(), 1, "{answers:?}");
    let outcome = &answers[0]["outcomes"][0];
    assert_eq!(
        outcome["api"], "ec2:RevokeSecurityGroupIngress",
        "{answers:?}"
    );
    assert!(
        outcome["message"]
            .as_str()
            .unwrap()
            .contains("revoked 4 world-open range(s) on the high-risk ports"),
        "{answers:?}"
    );
    assert_eq!(outcome["status"], "done", "{answers:?}");
    assert!(
        outcome["message"]
            .as_str()
            .unwrap()
            .contains("tcp 8000-9000"),
        "{answers:?}"
    );
    assert_eq!(
        scenario::ingress(&moto, region, &group).await,
        rules(&[
            ("tcp", 443, "0.0.0.0/0"),
            ("tcp", 3389, "198.51.100.0/24"),
            ("tcp", 5432, "10.0.0.0/8"),
            ("tcp", 8000, "0.0.0.0/0"),
        ])
    );
}

// proves: securityhub-account-public-access
#[tokio::test]
async fn the_custom_action_on_s3_1_turns_the_accounts_public_access_block_on_once() {
    // GIVEN an account with no account-level S3 Block Public Access set, and the published S3.1
    // finding on it (moto's account)
    let moto = Moto::start();
    let (topic, queue) = moto.topic_with_queue(REGION, "alerts").await;
    assert_eq!(
        scenario::account_public_access_block(&moto, REGION).await,
        None
    );
    let f = start(&moto, &topic);
    let event: Value =
        serde_json::from_str(&mamoru_tests::fixture("aws.securityhub/imported-s3-1.json")).unwrap();
    let mut finding = event["detail"]["findings"][0].clone();
    in_moto(&mut finding, FIXTURE_GROUP);
    assert_eq!(
        finding["Resources"][0]["Id"],
        format!("AWS::::Account:{ACCOUNT}")
    );

    // WHEN Security Hub imports the finding THEN the put is only reported (shadow): nothing set
    let imported = event_with("aws.securityhub/imported-s3-1.json", |v| {
        v["detail"]["findings"] = serde_json::json!([finding.clone()]);
    });
    let answers = responses(&f.api.invoke(&imported));
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert_eq!(answers[0]["disposition"], "notify", "{answers:?}");
    let outcome = &answers[0]["outcomes"][0];
    assert_eq!(
        outcome["api"], "s3control:PutPublicAccessBlock",
        "{answers:?}"
    );
    assert_eq!(outcome["status"], "would_do", "{answers:?}");
    assert_eq!(
        scenario::account_public_access_block(&moto, REGION).await,
        None
    );

    // WHEN an analyst chooses mamoru's custom action on it THEN the account's four settings are
    // on, read before (none set) and after
    let approved = event_with("aws.securityhub/custom-action-ec2-13-ssh-world.json", |v| {
        v["detail"]["findings"] = serde_json::json!([finding.clone()]);
    });
    let answers = responses(&f.api.invoke(&approved));
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert_eq!(answers[0]["disposition"], "remediate", "{answers:?}");
    let outcome = &answers[0]["outcomes"][0];
    assert_eq!(
        outcome["api"], "s3control:PutPublicAccessBlock",
        "{answers:?}"
    );
    assert_eq!(outcome["status"], "done", "{answers:?}");
    assert_eq!(
        outcome["message"],
        format!("account {ACCOUNT} blocks all public access"),
        "{answers:?}"
    );
    assert_eq!(
        scenario::account_public_access_block(&moto, REGION).await,
        Some([true; 4])
    );

    // AND approving it again changes nothing and says so
    let answers = responses(&f.api.invoke(&approved));
    assert_eq!(
        answers[0]["outcomes"][0]["status"], "already_done",
        "{answers:?}"
    );
    assert_eq!(
        scenario::account_public_access_block(&moto, REGION).await,
        Some([true; 4])
    );

    // AND each run was notified, naming the account
    let notes = scenario::notifications(&moto, REGION, &queue).await;
    assert_eq!(notes.len(), 3, "{notes:?}");
    assert!(
        notes
            .iter()
            .all(|n| n["Message"].as_str().unwrap().contains(ACCOUNT)),
        "{notes:?}"
    );
}

/// An account whose settings are partly on: the put turns on the rest, and the finding of another
/// account's resource is refused without a call.
// proves: securityhub-account-public-access
#[tokio::test]
async fn the_s3_1_put_completes_partial_settings_and_never_acts_for_another_account() {
    let moto = Moto::start();
    let (topic, queue) = moto.topic_with_queue(REGION, "alerts").await;
    scenario::set_account_public_access_block(&moto, REGION, [true, false, true, false]).await;
    let f = start(&moto, &topic);
    let event: Value =
        serde_json::from_str(&mamoru_tests::fixture("aws.securityhub/imported-s3-1.json")).unwrap();
    let mut finding = event["detail"]["findings"][0].clone();
    in_moto(&mut finding, FIXTURE_GROUP);

    // WHEN the finding's AwsAccount resource is another account than its AwsAccountId THEN
    // nothing is put
    let mut foreign = finding.clone();
    foreign["Resources"][0]["Id"] = "AWS::::Account:444455556666".into();
    let approved = event_with("aws.securityhub/custom-action-ec2-13-ssh-world.json", |v| {
        v["detail"]["findings"] = serde_json::json!([foreign]);
    });
    let answers = responses(&f.api.invoke(&approved));
    assert_eq!(answers[0]["outcomes"], serde_json::json!([]), "{answers:?}");
    assert_eq!(
        scenario::account_public_access_block(&moto, REGION).await,
        Some([true, false, true, false])
    );
    // AND the notification says why: the resource's account is not the finding's
    let notes = scenario::notifications(&moto, REGION, &queue).await;
    assert_eq!(notes.len(), 1, "{notes:?}");
    let message = notes[0]["Message"].as_str().unwrap();
    assert!(
        message.contains("444455556666") && message.contains("withheld"),
        "{message}"
    );

    // WHEN the analyst approves the account's own finding THEN the two settings that were off
    // are on too
    let approved = event_with("aws.securityhub/custom-action-ec2-13-ssh-world.json", |v| {
        v["detail"]["findings"] = serde_json::json!([finding]);
    });
    let answers = responses(&f.api.invoke(&approved));
    assert_eq!(answers[0]["outcomes"][0]["status"], "done", "{answers:?}");
    assert_eq!(
        scenario::account_public_access_block(&moto, REGION).await,
        Some([true; 4])
    );
}

#[tokio::test]
async fn each_finding_is_handled_on_its_own_and_a_failing_one_drops_no_other() {
    // GIVEN a custom action on two findings: the EC2.13 group (in moto) and the S3.8 bucket
    // `example`, which does not exist
    let moto = Moto::start();
    let (topic, queue) = moto.topic_with_queue(REGION, "alerts").await;
    let group = scenario::world_open_group(&moto, REGION, "web").await;
    let f = start(&moto, &topic);
    let event = event_with("aws.securityhub/custom-action-two-findings.json", |v| {
        in_moto(&mut v["detail"]["findings"][0], &group);
        in_moto(&mut v["detail"]["findings"][1], &group);
    });

    // WHEN it is delivered THEN the invocation fails (the bucket's action failed: Lambda retries
    // the event, every action being idempotent) ...
    let r = f.api.invoke(&event);
    assert!(matches!(r, Invocation::Error(_)), "{r:?}");
    // ... yet the group's finding was handled: its world-open 22 ranges are gone
    assert_eq!(
        scenario::ingress(&moto, REGION, &group).await,
        rules(&[("tcp", 443, "0.0.0.0/0"), ("tcp", 3389, "198.51.100.0/24")])
    );
    // AND each finding was notified on its own, the bucket's as FAILED
    let notes = scenario::notifications(&moto, REGION, &queue).await;
    assert_eq!(notes.len(), 2, "{notes:?}");
    let subjects: Vec<&str> = notes
        .iter()
        .map(|n| n["Subject"].as_str().unwrap())
        .collect();
    assert!(
        subjects.iter().any(|s| s.contains("FAILED")),
        "{subjects:?}"
    );
    assert!(
        subjects.iter().any(|s| !s.contains("FAILED")),
        "{subjects:?}"
    );
}

#[tokio::test]
async fn a_malformed_finding_is_an_error_naming_it_and_the_others_are_still_handled() {
    // GIVEN an imported event whose first finding has no AwsAccountId and whose second is the
    // EC2.13 finding on a group in moto; and an event with no finding at all
    let moto = Moto::start();
    let (topic, queue) = moto.topic_with_queue(REGION, "alerts").await;
    let group = scenario::world_open_group(&moto, REGION, "web").await;
    let f = start(&moto, &topic);
    let event = event_with("aws.securityhub/imported-ec2-13-ssh-world.json", |v| {
        in_moto(&mut v["detail"]["findings"][0], &group);
        let good = v["detail"]["findings"][0].clone();
        let mut bad = good.clone();
        bad.as_object_mut().unwrap().remove("AwsAccountId");
        v["detail"]["findings"] = Value::Array(vec![bad, good]);
    });

    // WHEN it is delivered THEN the invocation fails (the event goes to the DLQ in the end) and
    // the log names the field at fault, while the good finding was decided and notified
    let r = f.api.invoke(&event);
    let Invocation::Error(err) = &r else {
        panic!("{r:?}")
    };
    assert!(err.to_string().contains("AwsAccountId"), "{err}");
    let notes = scenario::notifications(&moto, REGION, &queue).await;
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0]["Message"].as_str().unwrap().contains(&group));

    // AND an event without findings is answered with no result, nothing notified
    let empty = event_with("aws.securityhub/imported-s3-8.json", |v| {
        v["detail"]["findings"] = Value::Array(vec![]);
    });
    let r = f.api.invoke(&empty);
    assert_eq!(responses(&r), Vec::<Value>::new());
    assert!(
        scenario::notifications(&moto, REGION, &queue)
            .await
            .is_empty()
    );
}

/// What Security Hub answers a BatchUpdateFindings of one finding it processed.
fn processed(finding: &Value) -> String {
    serde_json::json!({
        "ProcessedFindings": [{"Id": finding["Id"], "ProductArn": finding["ProductArn"]}],
        "UnprocessedFindings": []
    })
    .to_string()
}

#[tokio::test]
async fn each_decided_finding_is_written_back_notified_then_resolved_after_the_approved_revoke() {
    // moto 5.2.5 serves no BatchUpdateFindings (no route for PATCH /findings/batchupdate): the
    // write-back goes to a local endpoint (AWS_ENDPOINT_URL_SECURITYHUB) that answers as Security
    // Hub does and keeps the SDK's real request. A request-shape test, not a state test.
    let moto = Moto::start();
    let (topic, _queue) = moto.topic_with_queue(REGION, "alerts").await;
    let group = scenario::world_open_group(&moto, REGION, "web").await;
    let imported = event_with("aws.securityhub/imported-ec2-13-ssh-world.json", |v| {
        in_moto(&mut v["detail"]["findings"][0], &group)
    });
    let finding =
        serde_json::from_str::<Value>(&imported).unwrap()["detail"]["findings"][0].clone();
    let hub = HttpSink::answering(&processed(&finding));
    let f = start_with(
        &moto,
        &topic,
        &[("AWS_ENDPOINT_URL_SECURITYHUB", hub.url(""))],
    );
    let identifiers =
        serde_json::json!([{"Id": finding["Id"], "ProductArn": finding["ProductArn"]}]);

    // WHEN Security Hub imports the EC2.13 finding (its revoke is shadow) THEN it is written back
    // NOTIFIED, the note saying the revoke was not executed
    let r = f.api.invoke(&imported);
    let answers = responses(&r);
    assert_eq!(answers[0]["write_back"]["status"], "written", "{answers:?}");
    let bodies = hub.bodies(
        "/findings/batchupdate",
        1,
        std::time::Duration::from_secs(5),
    );
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let sent: Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(sent["FindingIdentifiers"], identifiers);
    assert_eq!(sent["Workflow"], serde_json::json!({"Status": "NOTIFIED"}));
    let by = sent["Note"]["UpdatedBy"].as_str().unwrap();
    assert!(by.starts_with("mamoru/0."), "{by}");
    let note = sent["Note"]["Text"].as_str().unwrap();
    assert!(note.starts_with("mamoru: notified (HIGH); "), "{note}");
    assert!(
        note.contains(&group) && note.contains("not executed (shadow rule)"),
        "{note}"
    );
    assert!(note.chars().count() <= 512);
    // Nothing else was sent: no other member of the finding is changed.
    assert_eq!(
        sent.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["FindingIdentifiers", "Note", "Workflow"]
    );

    // WHEN an analyst approves it with the custom action THEN the revoke runs (state in moto)
    // and the finding is written back RESOLVED, the note naming the approval and what was done
    let approved = event_with("aws.securityhub/custom-action-ec2-13-ssh-world.json", |v| {
        in_moto(&mut v["detail"]["findings"][0], &group)
    });
    let r = f.api.invoke(&approved);
    let answers = responses(&r);
    assert_eq!(answers[0]["outcomes"][0]["status"], "done", "{answers:?}");
    assert_eq!(
        answers[0]["write_back"]["workflow"], "RESOLVED",
        "{answers:?}"
    );
    assert_eq!(
        scenario::ingress(&moto, REGION, &group).await,
        rules(&[("tcp", 443, "0.0.0.0/0"), ("tcp", 3389, "198.51.100.0/24")])
    );
    let bodies = hub.bodies(
        "/findings/batchupdate",
        2,
        std::time::Duration::from_secs(5),
    );
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    let sent: Value = serde_json::from_str(&bodies[1]).unwrap();
    assert_eq!(sent["FindingIdentifiers"], identifiers);
    assert_eq!(sent["Workflow"], serde_json::json!({"Status": "RESOLVED"}));
    let note = sent["Note"]["Text"].as_str().unwrap();
    assert!(
        note.starts_with(
            "mamoru: approved through the custom action 'mamoru: remediate'. remediated (HIGH); "
        ),
        "{note}"
    );
    assert!(note.contains(": done."), "{note}");
}

/// The keys of the live items of the state table under `prefix` (released ones left out).
async fn live_keys(ddb: &aws_sdk_dynamodb::Client, table: &str, prefix: &str) -> Vec<String> {
    use aws_sdk_dynamodb::types::AttributeValue;
    let items = ddb.scan().table_name(table).send().await.unwrap();
    let mut keys: Vec<String> = items
        .items()
        .iter()
        .filter(|i| i.get("released") != Some(&AttributeValue::Bool(true)))
        .filter_map(|i| i.get("pk").and_then(|k| k.as_s().ok()).cloned())
        .filter(|k| k.starts_with(prefix))
        .collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn the_update_event_of_the_write_back_is_ignored_and_a_note_merely_naming_mamoru_is_not() {
    // GIVEN the state table in moto's DynamoDB, and the write-back at a local endpoint (moto
    // serves no BatchUpdateFindings)
    const TABLE: &str = "mamoru-state";
    let moto = Moto::start();
    let (topic, queue) = moto.topic_with_queue(REGION, "alerts").await;
    let ddb = scenario::state_table(&moto, REGION, TABLE).await;
    let group = scenario::world_open_group(&moto, REGION, "web").await;
    let imported = event_with("aws.securityhub/imported-ec2-13-ssh-world.json", |v| {
        in_moto(&mut v["detail"]["findings"][0], &group)
    });
    let finding =
        serde_json::from_str::<Value>(&imported).unwrap()["detail"]["findings"][0].clone();
    let hub = HttpSink::answering(&processed(&finding));
    let f = start_with(
        &moto,
        &topic,
        &[
            ("AWS_ENDPOINT_URL_SECURITYHUB", hub.url("")),
            ("MAMORU_STATE_TABLE", TABLE.to_string()),
        ],
    );

    // WHEN the finding is imported THEN it is notified and written back, and the table records
    // what was written
    let r = f.api.invoke(&imported);
    assert_eq!(responses(&r)[0]["write_back"]["status"], "written", "{r:?}");
    let bodies = hub.bodies(
        "/findings/batchupdate",
        1,
        std::time::Duration::from_secs(5),
    );
    let sent: Value = serde_json::from_str(&bodies[0]).unwrap();
    let wrote = live_keys(&ddb, TABLE, "securityhub#wrote#").await;
    assert_eq!(wrote.len(), 1, "{wrote:?}");
    let id = finding["Id"].as_str().unwrap();
    assert!(
        wrote[0].starts_with(&format!(
            "securityhub#wrote#{id}#NOTIFIED#HIGH#FAILED#ACTIVE#"
        )),
        "{wrote:?}"
    );

    // WHEN Security Hub sends the update event of that write-back (the finding with the status
    // and note written) THEN it is mamoru's own: ignored, not notified, nothing written
    let echo = |id: &str, note: &str| {
        let mut v: Value = serde_json::from_str(&imported).unwrap();
        v["id"] = id.into();
        let f = &mut v["detail"]["findings"][0];
        f["Workflow"] = sent["Workflow"].clone();
        f["WorkflowState"] = "IN_PROGRESS".into();
        f["Note"] = serde_json::json!({
            "Text": note,
            "UpdatedBy": sent["Note"]["UpdatedBy"],
            "UpdatedAt": "2020-06-11T15:53:21.000Z"
        });
        v.to_string()
    };
    let note = sent["Note"]["Text"].as_str().unwrap();
    let r = f.api.invoke(&echo("6d7e4a53-echo", note));
    let answers = responses(&r);
    assert_eq!(answers[0]["disposition"], "ignore", "{answers:?}");
    assert!(
        answers[0]["reason"]
            .as_str()
            .unwrap()
            .contains("mamoru's own write-back"),
        "{answers:?}"
    );
    assert_eq!(answers[0].get("write_back"), None, "{answers:?}");

    // WHEN someone allowed BatchUpdateFindings writes a note naming mamoru, in other words THEN
    // the update is decided and notified, and mamoru writes its own note back
    let r = f
        .api
        .invoke(&echo("6d7e4a53-forged", "mamoru: nothing to do here."));
    let answers = responses(&r);
    assert_eq!(answers[0]["disposition"], "notify", "{answers:?}");
    assert_eq!(answers[0]["write_back"]["status"], "written", "{answers:?}");
    let bodies = hub.bodies(
        "/findings/batchupdate",
        2,
        std::time::Duration::from_secs(5),
    );
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    let again: Value = serde_json::from_str(&bodies[1]).unwrap();
    assert_eq!(again["Note"], sent["Note"]);

    // AND two notifications in all: the import and the forged note, not the echo
    let notes = scenario::notifications(&moto, REGION, &queue).await;
    assert_eq!(notes.len(), 2, "{notes:?}");
}
