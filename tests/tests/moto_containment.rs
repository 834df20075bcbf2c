//! Tamper reversals and containment against moto, through `mamoru replay --execute`. The
//! containment rules ship in shadow mode; these tests promote them with the one-word change a
//! deployment would make (`mode = "shadow"` removed) and check the state moto holds afterwards.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;

use mamoru_tests::scenario::{self, event_with};
use mamoru_tests::{Moto, binary};
use serde_json::{Value, json};

const REGION: &str = "us-east-1";

/// The built-in playbook with every shadow rule promoted to enforce, as a rule file that
/// overrides the built-in rules by id.
fn promoted_rules() -> PathBuf {
    let text = mamoru::decide::rules::BUILTIN_RULES.replace("mode = \"shadow\"\n", "");
    let dir = std::env::temp_dir().join(format!("mamoru-promoted-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("promoted.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn execute(moto: &Moto, event: &str, promote: bool) -> Value {
    let dir = std::env::temp_dir().join(format!(
        "mamoru-contain-{}-{}",
        std::process::id(),
        moto.port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("event.json");
    std::fs::write(&file, event).unwrap();
    let mut cmd = Command::new(binary("mamoru"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(moto.env(REGION))
        .env(
            "MAMORU_SELF_RESOURCES",
            mamoru_tests::render::SELF_RESOURCES.join(","),
        )
        .args(["replay", "--json", "--execute"]);
    if promote {
        cmd.arg("--rules").arg(promoted_rules());
    }
    let out = cmd.arg(&file).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().next().unwrap()).unwrap()
}

fn outcome<'a>(report: &'a Value, api: &str) -> &'a Value {
    report["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["api"] == api)
        .unwrap_or_else(|| panic!("no {api} outcome in {report}"))
}

fn expected_after() -> Vec<(String, i32, String)> {
    vec![
        ("tcp".into(), 443, "0.0.0.0/0".into()),
        ("tcp".into(), 3389, "198.51.100.0/24".into()),
    ]
}

// proves: contain-security-group-world-open-admin-port
#[tokio::test]
async fn world_open_ssh_is_revoked_and_every_other_rule_kept() {
    // GIVEN a group with 22/0.0.0.0/0, 22/::/0, 443/0.0.0.0/0 and 3389 from an office range
    let moto = Moto::start();
    let group = scenario::world_open_group(&moto, REGION, "bastion").await;
    assert_eq!(scenario::ingress(&moto, REGION, &group).await.len(), 4);

    // WHEN Config reports the group opened to the world, shadow mode: nothing changes
    let event = event_with(
        "aws.config/ci-change-securitygroup-ssh-open-world.json",
        |v| {
            v["detail"]["configurationItem"]["resourceId"] = json!(group);
        },
    );
    let shadow = execute(&moto, &event, false);
    assert_eq!(
        outcome(&shadow, "ec2:RevokeSecurityGroupIngress")["status"],
        "would_do"
    );
    assert_eq!(scenario::ingress(&moto, REGION, &group).await.len(), 4);

    // THEN promoted to enforce, exactly the two world-open SSH ranges go
    let report = execute(&moto, &event, true);
    let o = outcome(&report, "ec2:RevokeSecurityGroupIngress");
    assert_eq!(o["status"], "done", "{o}");
    assert_eq!(o["after"]["Revoked"].as_array().unwrap().len(), 2);
    assert_eq!(
        scenario::ingress(&moto, REGION, &group).await,
        expected_after()
    );

    // AND a second delivery finds nothing left to revoke
    let again = execute(&moto, &event, true);
    assert_eq!(
        outcome(&again, "ec2:RevokeSecurityGroupIngress")["status"],
        "already_done"
    );
}

// proves: contain-restricted-ssh-noncompliant
#[tokio::test]
async fn restricted_ssh_noncompliance_reads_the_group_then_revokes() {
    let moto = Moto::start();
    let group = scenario::world_open_group(&moto, REGION, "legacy").await;
    // The compliance event does not carry the rule: the action reads the group first.
    let event = event_with(
        "aws.config/compliance-restricted-ssh-noncompliant.json",
        |v| {
            v["detail"]["resourceId"] = json!(group);
            v["detail"]["newEvaluationResult"]["evaluationResultIdentifier"]["evaluationResultQualifier"]
                ["resourceId"] = json!(group);
        },
    );
    let report = execute(&moto, &event, true);
    let o = outcome(&report, "ec2:RevokeSecurityGroupIngress");
    assert_eq!(o["status"], "done", "{o}");
    assert_eq!(o["before"]["WorldOpenRules"].as_array().unwrap().len(), 2);
    assert_eq!(
        scenario::ingress(&moto, REGION, &group).await,
        expected_after()
    );
}

// proves: contain-assumed-role-credential-exfiltration
#[tokio::test]
async fn exfiltrated_role_credentials_get_older_sessions_revoked() {
    let moto = Moto::start();
    let iam = aws_sdk_iam::Client::new(&moto.sdk(REGION).await);
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    iam.create_role()
        .role_name("app-instance-role")
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .unwrap();
    let event =
        mamoru_tests::fixture("constructed/finding-assumedrole-credential-exfiltration-high.json");
    let report = execute(&moto, &event, true);
    assert!(
        report["outcomes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["api"] != "iam:UpdateAccessKey"),
        "never UpdateAccessKey on an ASIA key"
    );
    assert_eq!(outcome(&report, "iam:PutRolePolicy")["status"], "done");

    let policy = iam
        .get_role_policy()
        .role_name("app-instance-role")
        .policy_name("AWSRevokeOlderSessions")
        .send()
        .await
        .unwrap();
    // IAM returns policy documents URL-encoded.
    let doc = percent_encoding::percent_decode_str(policy.policy_document()).decode_utf8_lossy();
    let doc: Value = serde_json::from_str(&doc).unwrap();
    assert_deny_all(&doc, true);
    let stmt = &doc["Statement"][0];
    let when = stmt["Condition"]["DateLessThan"]["aws:TokenIssueTime"]
        .as_str()
        .unwrap();
    let when = chrono::DateTime::parse_from_rfc3339(when).unwrap();
    let off = (chrono::Utc::now() - when.to_utc()).num_seconds().abs();
    assert!(off < 120, "condition time {when} is {off}s away from now");
}

// proves: contain-iam-user-quarantine
#[tokio::test]
async fn a_compromised_user_is_quarantined_and_its_key_deactivated() {
    let moto = Moto::start();
    let (named, other) = scenario::user_with_two_keys(&moto, "alice").await;
    let event = event_with(
        "constructed/finding-iamuser-key-malicious-ip-high.json",
        |v| {
            v["detail"]["resource"]["accessKeyDetails"]["accessKeyId"] = json!(named);
        },
    );
    let report = execute(&moto, &event, true);
    assert_eq!(outcome(&report, "iam:UpdateAccessKey")["status"], "done");
    assert_eq!(outcome(&report, "iam:PutUserPolicy")["status"], "done");
    assert_eq!(
        scenario::key_status(&moto, "alice", &named).await,
        "Inactive"
    );
    assert_eq!(scenario::key_status(&moto, "alice", &other).await, "Active");
    let iam = aws_sdk_iam::Client::new(&moto.sdk(REGION).await);
    let names = iam
        .list_user_policies()
        .user_name("alice")
        .send()
        .await
        .unwrap()
        .policy_names;
    assert_eq!(names, ["mamoru-quarantine"]);
    // The policy moto holds denies everything, unconditionally.
    let doc = user_policy(&iam, "alice", "mamoru-quarantine").await;
    assert_deny_all(&doc, false);
}

/// An inline user policy's document as moto holds it (IAM returns it URL-encoded).
async fn user_policy(iam: &aws_sdk_iam::Client, user: &str, name: &str) -> Value {
    let p = iam
        .get_user_policy()
        .user_name(user)
        .policy_name(name)
        .send()
        .await
        .unwrap();
    let doc = percent_encoding::percent_decode_str(p.policy_document()).decode_utf8_lossy();
    serde_json::from_str(&doc).unwrap()
}

/// `Action` or `Resource` of a statement as a list (IAM takes a string or a list).
fn as_list(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().map(|x| x.as_str().unwrap().to_string()).collect(),
        other => panic!("not a string or list: {other}"),
    }
}

/// One statement: Deny of every action on every resource, with no exception (`NotAction`,
/// `NotResource`), and a condition only when `conditional` (the token-issue-time cut-off).
fn assert_deny_all(doc: &Value, conditional: bool) {
    let stmts = doc["Statement"].as_array().unwrap();
    assert_eq!(stmts.len(), 1, "{doc}");
    let s = &stmts[0];
    assert_eq!(s["Effect"], "Deny", "{doc}");
    assert_eq!(as_list(&s["Action"]), ["*"], "{doc}");
    assert_eq!(as_list(&s["Resource"]), ["*"], "{doc}");
    assert!(
        s.get("NotAction").is_none() && s.get("NotResource").is_none(),
        "{doc}"
    );
    assert!(
        s.get("Principal").is_none() && s.get("NotPrincipal").is_none(),
        "{doc}"
    );
    assert_eq!(s.get("Condition").is_some(), conditional, "{doc}");
}

#[tokio::test]
async fn shadow_containment_leaves_moto_unchanged() {
    // GIVEN a user with a key, a role, an instance and a bucket the shipped rules would contain
    let moto = Moto::start();
    let iam = aws_sdk_iam::Client::new(&moto.sdk(REGION).await);
    let (named, _) = scenario::user_with_two_keys(&moto, "alice").await;
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    iam.create_role()
        .role_name("app-instance-role")
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .unwrap();
    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk("us-east-2").await);
    let image = ec2.describe_images().send().await.unwrap().images()[0]
        .image_id()
        .unwrap()
        .to_string();
    let run = ec2
        .run_instances()
        .image_id(image)
        .min_count(1)
        .max_count(1)
        .send()
        .await
        .unwrap();
    let instance = run.instances()[0].instance_id().unwrap().to_string();
    let groups = |d: &aws_sdk_ec2::operation::describe_instances::DescribeInstancesOutput| {
        d.reservations()[0].instances()[0]
            .security_groups()
            .iter()
            .map(|g| g.group_id().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let before = groups(
        &ec2.describe_instances()
            .instance_ids(&instance)
            .send()
            .await
            .unwrap(),
    );
    moto.create_bucket("customer-exports-123456789012");

    // WHEN each event is executed under the shipped (shadow) containment rules
    let key = event_with(
        "constructed/finding-iamuser-key-malicious-ip-high.json",
        |v| {
            v["detail"]["resource"]["accessKeyDetails"]["accessKeyId"] = json!(named);
        },
    );
    let r = execute(&moto, &key, false);
    assert_eq!(outcome(&r, "iam:PutUserPolicy")["status"], "would_do");
    let role =
        mamoru_tests::fixture("constructed/finding-assumedrole-credential-exfiltration-high.json");
    let r = execute(&moto, &role, false);
    assert_eq!(outcome(&r, "iam:PutRolePolicy")["status"], "would_do");
    let mining = event_with("findings/cryptocurrency-ec2-bitcointool.json", |v| {
        v["detail"]["resource"]["instanceDetails"]["instanceId"] = json!(instance);
    });
    let r = execute(&moto, &mining, false);
    assert_eq!(
        outcome(&r, "ec2:ModifyInstanceAttribute")["status"],
        "would_do"
    );
    let bucket = mamoru_tests::fixture("findings/policy-s3-bucketblockpublicaccessdisabled.json");
    let r = execute(&moto, &bucket, false);
    assert_eq!(outcome(&r, "s3:PutPublicAccessBlock")["status"], "would_do");

    // THEN moto holds no policy, no quarantine group, no public access block
    let user_policies = iam
        .list_user_policies()
        .user_name("alice")
        .send()
        .await
        .unwrap();
    assert!(user_policies.policy_names().is_empty(), "{user_policies:?}");
    let role_policies = iam
        .list_role_policies()
        .role_name("app-instance-role")
        .send()
        .await
        .unwrap();
    assert!(role_policies.policy_names().is_empty(), "{role_policies:?}");
    let after = groups(
        &ec2.describe_instances()
            .instance_ids(&instance)
            .send()
            .await
            .unwrap(),
    );
    assert_eq!(after, before);
    let quarantine = ec2
        .describe_security_groups()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("group-name")
                .values("mamoru-quarantine")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(quarantine.security_groups().is_empty());
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&moto.sdk(REGION).await)
            .force_path_style(true)
            .build(),
    );
    let block = s3
        .get_public_access_block()
        .bucket("customer-exports-123456789012")
        .send()
        .await;
    assert!(block.is_err(), "no public access block was put: {block:?}");
}

// proves: contain-compromised-instance
#[tokio::test]
async fn a_mining_instance_is_moved_to_a_quarantine_group() {
    let moto = Moto::start();
    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk("us-east-2").await);
    let image = ec2.describe_images().send().await.unwrap().images()[0]
        .image_id()
        .unwrap()
        .to_string();
    let run = ec2
        .run_instances()
        .image_id(image)
        .min_count(1)
        .max_count(1)
        .send()
        .await
        .unwrap();
    let instance = run.instances()[0].instance_id().unwrap().to_string();
    let before: Vec<String> = run.instances()[0]
        .security_groups()
        .iter()
        .map(|g| g.group_id().unwrap().to_string())
        .collect();
    let event = event_with("findings/cryptocurrency-ec2-bitcointool.json", |v| {
        v["detail"]["resource"]["instanceDetails"]["instanceId"] = json!(instance);
    });
    let report = execute(&moto, &event, true);
    let o = outcome(&report, "ec2:ModifyInstanceAttribute");
    assert_eq!(o["status"], "done", "{o}");
    assert_eq!(o["before"]["Groups"], json!(before));

    let d = ec2
        .describe_instances()
        .instance_ids(&instance)
        .send()
        .await
        .unwrap();
    let now: Vec<String> = d.reservations()[0].instances()[0]
        .security_groups()
        .iter()
        .map(|g| g.group_name().unwrap().to_string())
        .collect();
    assert_eq!(now, ["mamoru-quarantine"]);
    let q = ec2
        .describe_security_groups()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("group-name")
                .values("mamoru-quarantine")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let q = &q.security_groups()[0];
    assert!(q.ip_permissions().is_empty(), "no ingress");
    assert!(q.ip_permissions_egress().is_empty(), "no egress");

    let again = execute(&moto, &event, true);
    assert_eq!(
        outcome(&again, "ec2:ModifyInstanceAttribute")["status"],
        "already_done"
    );
}

// proves: cloudtrail-management-events-dropped
#[tokio::test]
async fn dropped_management_events_are_restored_and_data_selectors_kept() {
    use aws_sdk_cloudtrail::types::{DataResource, EventSelector, ReadWriteType};
    let moto = Moto::start();
    // GIVEN a trail whose selectors log S3 data events only (the Stratus technique)
    let arn = scenario::stopped_trail(&moto, REGION, "audit", false).await;
    let ct = aws_sdk_cloudtrail::Client::new(&moto.sdk(REGION).await);
    ct.start_logging().name(&arn).send().await.unwrap();
    let data = DataResource::builder()
        .r#type("AWS::S3::Object")
        .values("arn:aws:s3:::payroll/")
        .build();
    ct.put_event_selectors()
        .trail_name("audit")
        .event_selectors(
            EventSelector::builder()
                .read_write_type(ReadWriteType::ReadOnly)
                .include_management_events(false)
                .data_resources(data)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let event = event_with("aws.cloudtrail/ct-put-event-selectors.json", |v| {
        v["detail"]["requestParameters"]["trailName"] = json!("audit");
    });
    // WHEN mamoru acts (this rule enforces by default)
    let report = execute(&moto, &event, false);
    assert_eq!(
        outcome(&report, "cloudtrail:PutEventSelectors")["status"],
        "done"
    );
    // THEN management events are logged again and the data selector is unchanged
    let now = ct
        .get_event_selectors()
        .trail_name("audit")
        .send()
        .await
        .unwrap();
    let selectors = now.event_selectors();
    assert!(
        selectors
            .iter()
            .any(|s| s.include_management_events() == Some(true)
                && s.read_write_type() == Some(&ReadWriteType::All)),
        "{selectors:?}"
    );
    let kept = selectors
        .iter()
        .find(|s| !s.data_resources().is_empty())
        .unwrap();
    assert_eq!(kept.data_resources()[0].values(), ["arn:aws:s3:::payroll/"]);
    assert_eq!(kept.read_write_type(), Some(&ReadWriteType::ReadOnly));
    // AND a second delivery changes nothing
    let again = execute(&moto, &event, false);
    assert_eq!(
        outcome(&again, "cloudtrail:PutEventSelectors")["status"],
        "already_done"
    );
}

// proves: mamoru-rule-disabled
#[tokio::test]
async fn a_disabled_mamoru_rule_is_re_enabled() {
    let moto = Moto::start();
    let events = aws_sdk_eventbridge::Client::new(&moto.sdk(REGION).await);
    events
        .put_rule()
        .name("mamoru-cloudtrail-tampering")
        .event_pattern(r#"{"source":["aws.cloudtrail"]}"#)
        .send()
        .await
        .unwrap();
    events
        .disable_rule()
        .name("mamoru-cloudtrail-tampering")
        .send()
        .await
        .unwrap();
    let event = mamoru_tests::fixture("tamper/events-disable-rule-mamoru.json");
    let report = execute(&moto, &event, false);
    assert_eq!(outcome(&report, "events:EnableRule")["status"], "done");
    let rule = events
        .describe_rule()
        .name("mamoru-cloudtrail-tampering")
        .send()
        .await
        .unwrap();
    assert_eq!(rule.state().map(|s| s.as_str()), Some("ENABLED"));
}

// proves: guardduty-detector-recreate
#[tokio::test]
async fn a_deleted_detector_is_re_created_when_opted_in() {
    let moto = Moto::start();
    let event = mamoru_tests::fixture("aws.guardduty/ct-delete-detector.json");
    let gd = aws_sdk_guardduty::Client::new(&moto.sdk(REGION).await);
    // Shadow by default: nothing is created.
    let shadow = execute(&moto, &event, false);
    assert_eq!(
        outcome(&shadow, "guardduty:CreateDetector")["status"],
        "would_do"
    );
    assert!(
        gd.list_detectors()
            .send()
            .await
            .unwrap()
            .detector_ids()
            .is_empty()
    );
    // Opted in: one detector, and only one however often the event is delivered.
    for status in ["done", "already_done"] {
        let report = execute(&moto, &event, true);
        assert_eq!(
            outcome(&report, "guardduty:CreateDetector")["status"],
            status
        );
        assert_eq!(
            gd.list_detectors()
                .send()
                .await
                .unwrap()
                .detector_ids()
                .len(),
            1
        );
    }
}

// proves: contain-bucket-public-access
#[tokio::test]
async fn a_bucket_gets_its_public_access_block_back() {
    let moto = Moto::start();
    moto.create_bucket("customer-exports-123456789012");
    let event = mamoru_tests::fixture("findings/policy-s3-bucketblockpublicaccessdisabled.json");
    let report = execute(&moto, &event, true);
    assert_eq!(
        outcome(&report, "s3:PutPublicAccessBlock")["status"],
        "done"
    );
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&moto.sdk(REGION).await)
            .force_path_style(true)
            .build(),
    );
    let block = s3
        .get_public_access_block()
        .bucket("customer-exports-123456789012")
        .send()
        .await
        .unwrap();
    let c = block.public_access_block_configuration().unwrap();
    assert_eq!(
        (
            c.block_public_acls(),
            c.ignore_public_acls(),
            c.block_public_policy(),
            c.restrict_public_buckets()
        ),
        (Some(true), Some(true), Some(true), Some(true))
    );
}
