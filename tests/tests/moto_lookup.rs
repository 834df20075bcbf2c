//! The log destination lookup over the real AWS wire protocol: `mamoru replay --execute` (the
//! cloudtrail function's pipeline, with the Actor's clients as the lookup) on the KMS and
//! CloudWatch Logs fixtures, against moto server reached through `AWS_ENDPOINT_URL`. moto holds
//! the trails and flow logs that `DescribeTrails` (shadow trails included) and
//! `DescribeFlowLogs` list; the alert is High naming them when they use exactly the key or group
//! the fixture names, Medium saying none does otherwise. Notifications are read from an SQS
//! queue subscribed to the topic. The last test runs the cloudtrail Lambda binary itself under a
//! Runtime API emulator.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use mamoru_tests::{Moto, binary, fixtures};
use serde_json::Value;

/// Runs `mamoru replay --json --execute` on a fixture; returns the report.
fn replay(moto: &Moto, region: &str, topic: &str, fixture: &str) -> Value {
    let out = Command::new(binary("mamoru"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(moto.env(region))
        .env("MAMORU_TOPIC_ARN", topic)
        .args(["replay", "--json", "--execute"])
        .arg(fixtures().join(fixture))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().next().unwrap()).unwrap()
}

fn band(report: &Value) -> String {
    report["severity"].as_str().unwrap().to_ascii_uppercase()
}

async fn subjects(moto: &Moto, region: &str, queue: &str) -> Vec<String> {
    moto.drain(region, queue)
        .await
        .iter()
        .map(|m| m["Subject"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// A trail in `region`, made as CloudTrail would by `CreateTrail` with a key and a log group.
async fn trail(
    moto: &Moto,
    region: &str,
    name: &str,
    key: Option<&str>,
    log_group_arn: Option<&str>,
    multi_region: bool,
) -> String {
    trail_to(
        moto,
        region,
        name,
        &format!("{name}-logs"),
        key,
        log_group_arn,
        multi_region,
    )
    .await
}

/// [`trail`], delivering its log files to `bucket`.
async fn trail_to(
    moto: &Moto,
    region: &str,
    name: &str,
    bucket: &str,
    key: Option<&str>,
    log_group_arn: Option<&str>,
    multi_region: bool,
) -> String {
    moto.create_bucket(bucket);
    let ct = aws_sdk_cloudtrail::Client::new(&moto.sdk(region).await);
    let mut req = ct
        .create_trail()
        .name(name)
        .s3_bucket_name(bucket)
        .is_multi_region_trail(multi_region);
    if let Some(k) = key {
        req = req.kms_key_id(k);
    }
    if let Some(g) = log_group_arn {
        req = req
            .cloud_watch_logs_log_group_arn(g)
            .cloud_watch_logs_role_arn("arn:aws:iam::123456789012:role/CloudTrail_CloudWatchLogs");
    }
    req.send().await.unwrap().trail_arn.unwrap()
}

// The lookup of rule kms-key-disabled-or-deleted (notify-only).
#[tokio::test]
async fn a_key_deletion_is_high_naming_the_trail_only_when_a_trail_uses_that_key() {
    // GIVEN the account and region of the fixture (123456789012, us-west-2: moto's account),
    // with a trail encrypting with another key
    let moto = Moto::start();
    let region = "us-west-2";
    let (topic, queue) = moto.topic_with_queue(region, "alerts").await;
    trail(
        &moto,
        region,
        "other-key-trail",
        Some("arn:aws:kms:us-west-2:123456789012:key/2"),
        None,
        false,
    )
    .await;

    // WHEN key 1 is scheduled for deletion
    let report = replay(
        &moto,
        region,
        &topic,
        "aws.kms/ct-schedule-key-deletion.json",
    );
    // THEN no trail uses it: Medium, and the alert says so
    assert_eq!(band(&report), "MEDIUM", "{report}");
    assert!(
        report["reason"]
            .as_str()
            .unwrap()
            .contains("no trail in us-west-2 uses the key"),
        "{report}"
    );
    let s = subjects(&moto, region, &queue).await;
    assert_eq!(s.len(), 1, "{s:?}");
    assert!(s[0].contains("MEDIUM"), "{s:?}");

    // GIVEN a multi-region trail homed in us-east-1 (a shadow trail in us-west-2) that
    // encrypts with key 1 of us-west-2, as the fixture's responseElements name it
    let arn = trail(
        &moto,
        "us-east-1",
        "org-wide",
        Some("arn:aws:kms:us-west-2:123456789012:key/1"),
        None,
        true,
    )
    .await;
    // WHEN the key is disabled, and scheduled for deletion
    for fixture in [
        "aws.kms/ct-disable-key.json",
        "aws.kms/ct-schedule-key-deletion.json",
    ] {
        let report = replay(&moto, region, &topic, fixture);
        // THEN the alert is High and names the trail
        assert_eq!(band(&report), "HIGH", "{fixture}: {report}");
        assert!(
            report["title"]
                .as_str()
                .unwrap()
                .ends_with(&format!("used by trail {arn}")),
            "{fixture}: {report}"
        );
        let s = subjects(&moto, region, &queue).await;
        assert_eq!(s.len(), 1, "{s:?}");
        assert!(s[0].contains("HIGH"), "{fixture}: {s:?}");
    }
}

// The lookup of rule logs-log-group-deleted (notify-only).
#[tokio::test]
async fn a_log_group_deletion_is_high_naming_the_trail_and_flow_log_that_delivered_to_it() {
    // GIVEN the fixture's account and region (us-east-1), a trail delivering to another group
    // and a flow log delivering to a group whose name only starts like the deleted one
    let moto = Moto::start();
    let region = "us-east-1";
    let (topic, queue) = moto.topic_with_queue(region, "alerts").await;
    trail(
        &moto,
        region,
        "other-group-trail",
        None,
        Some("arn:aws:logs:us-east-1:123456789012:log-group:other:*"),
        false,
    )
    .await;
    let ec2 = aws_sdk_ec2::Client::new(&moto.sdk(region).await);
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc
        .unwrap()
        .vpc_id
        .unwrap();
    let flow = |group: &'static str| {
        let ec2 = ec2.clone();
        let vpc = vpc.clone();
        async move {
            ec2.create_flow_logs()
                .resource_type(aws_sdk_ec2::types::FlowLogsResourceType::Vpc)
                .resource_ids(&vpc)
                .traffic_type(aws_sdk_ec2::types::TrafficType::All)
                .log_destination_type(aws_sdk_ec2::types::LogDestinationType::CloudWatchLogs)
                .log_group_name(group)
                .deliver_logs_permission_arn("arn:aws:iam::123456789012:role/flow-logs")
                .send()
                .await
                .unwrap()
                .flow_log_ids()[0]
                .clone()
        }
    };
    flow("yourloggroup-old").await;

    // WHEN the group `yourloggroup` is deleted
    let fixture = "aws.logs/ct-delete-log-group.json";
    let report = replay(&moto, region, &topic, fixture);
    // THEN nothing delivered to it: Medium, and the alert says so
    assert_eq!(band(&report), "MEDIUM", "{report}");
    assert!(
        report["reason"]
            .as_str()
            .unwrap()
            .contains("no trail or flow log in us-east-1 delivers to the log group"),
        "{report}"
    );
    assert!(subjects(&moto, region, &queue).await[0].contains("MEDIUM"));

    // GIVEN a flow log of the VPC delivering to exactly that group
    let id = flow("yourloggroup").await;
    let report = replay(&moto, region, &topic, fixture);
    // THEN the alert is High and names the flow log
    assert_eq!(band(&report), "HIGH", "{report}");
    assert!(
        report["title"]
            .as_str()
            .unwrap()
            .ends_with(&format!("used by flow log {id} ({vpc})")),
        "{report}"
    );
    assert!(subjects(&moto, region, &queue).await[0].contains("HIGH"));

    // GIVEN also a trail delivering to it (CloudWatchLogsLogGroupArn)
    let arn = trail(
        &moto,
        region,
        "management",
        None,
        Some("arn:aws:logs:us-east-1:123456789012:log-group:yourloggroup:*"),
        false,
    )
    .await;
    let report = replay(&moto, region, &topic, fixture);
    // THEN both are named: the title the first, the alert's lines each
    assert_eq!(band(&report), "HIGH", "{report}");
    let reason = report["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!("trail {arn}")) && reason.contains(&format!("flow log {id}")),
        "{report}"
    );
    assert!(
        report["title"].as_str().unwrap().contains("and 1 more"),
        "{report}"
    );
}

// The lookup of rule s3-bucket-deleted (notify-only).
#[tokio::test]
async fn a_bucket_deletion_is_high_naming_the_trail_that_delivered_to_it() {
    // GIVEN the fixture's account and region (us-east-2) and a trail delivering to another
    // bucket
    let moto = Moto::start();
    let region = "us-east-2";
    let (topic, queue) = moto.topic_with_queue(region, "alerts").await;
    trail(&moto, region, "other-bucket-trail", None, None, false).await;
    // WHEN the bucket `my-test-bucket-cross-account` is deleted
    let fixture = "aws.s3/ct-delete-bucket.json";
    let report = replay(&moto, region, &topic, fixture);
    // THEN no trail delivered to it: Medium, and the alert says so
    assert_eq!(band(&report), "MEDIUM", "{report}");
    assert!(
        report["reason"]
            .as_str()
            .unwrap()
            .contains("none delivers to the bucket"),
        "{report}"
    );
    assert!(subjects(&moto, region, &queue).await[0].contains("MEDIUM"));

    // GIVEN a trail delivering its log files to exactly that bucket
    let bucket = "my-test-bucket-cross-account";
    let arn = trail_to(&moto, region, "management", bucket, None, None, false).await;
    let report = replay(&moto, region, &topic, fixture);
    // THEN the alert is High and names the trail
    assert_eq!(band(&report), "HIGH", "{report}");
    assert_eq!(
        report["title"].as_str().unwrap(),
        format!("S3 bucket {bucket} deleted, used by trail {arn}"),
        "{report}"
    );
    assert!(subjects(&moto, region, &queue).await[0].contains("HIGH"));
}

/// The KMS fixture as recorded in another account of the organization.
fn in_account(fixture: &str, account: &str) -> String {
    mamoru_tests::scenario::event_with(fixture, |v| {
        v["account"] = account.into();
        v["detail"]["recipientAccountId"] = account.into();
        v["detail"]["userIdentity"]["accountId"] = account.into();
    })
}

#[tokio::test]
async fn in_an_organization_the_lookup_is_made_in_the_account_that_owns_the_key() {
    // GIVEN a hub (moto's default account) whose trail uses its own key 1, and a member account
    // reached through the member role, with no trail yet
    let moto = Moto::start();
    let region = "us-west-2";
    let member = "444455556666";
    let (topic, _queue) = moto.topic_with_queue(region, "alerts").await;
    trail(
        &moto,
        region,
        "hub-trail",
        Some("arn:aws:kms:us-west-2:123456789012:key/1"),
        None,
        false,
    )
    .await;
    let dir = std::env::temp_dir().join(format!("mamoru-lookup-org-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("disable-key.json");
    std::fs::write(&file, in_account("aws.kms/ct-disable-key.json", member)).unwrap();
    let run = || {
        let out = Command::new(binary("mamoru"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(moto.env(region))
            .env("MAMORU_TOPIC_ARN", &topic)
            .env("MAMORU_MEMBER_ROLE_NAME", "mamoru-member")
            .env("MAMORU_HUB_ACCOUNT", "123456789012")
            .args(["replay", "--json", "--execute"])
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        serde_json::from_str::<Value>(stdout.lines().next().unwrap()).unwrap()
    };

    // WHEN the member's key 1 is disabled
    let report = run();
    // THEN the hub's trail (same key id, another account) is not taken for the member's
    assert_eq!(band(&report), "MEDIUM", "{report}");
    assert!(
        report["reason"]
            .as_str()
            .unwrap()
            .contains("looked up the trails of 444455556666: no trail in us-west-2 uses the key"),
        "{report}"
    );

    // GIVEN the member's own trail encrypting with its key 1 (made with the member's credentials)
    let sdk = moto.sdk_in(member, region).await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket()
        .bucket("member-trail-logs")
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::UsWest2)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let arn = aws_sdk_cloudtrail::Client::new(&sdk)
        .create_trail()
        .name("member-trail")
        .s3_bucket_name("member-trail-logs")
        .kms_key_id("arn:aws:kms:us-west-2:444455556666:key/1")
        .send()
        .await
        .unwrap()
        .trail_arn
        .unwrap();
    assert!(arn.contains(":444455556666:"), "{arn}");
    // THEN the lookup, through the member role, finds it: High, naming the member's trail
    let report = run();
    assert_eq!(band(&report), "HIGH", "{report}");
    assert!(
        report["title"]
            .as_str()
            .unwrap()
            .ends_with(&format!("used by trail {arn}")),
        "{report}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_cloudtrail_lambda_function_looks_up_too() {
    // GIVEN the cloudtrail function's binary under a Lambda Runtime API, reaching moto, where a
    // trail delivers to the log group the fixture deletes
    let moto = Moto::start();
    let region = "us-east-1";
    let (topic, queue) = moto.topic_with_queue(region, "alerts").await;
    let arn = trail(
        &moto,
        region,
        "management",
        None,
        Some("arn:aws:logs:us-east-1:123456789012:log-group:yourloggroup:*"),
        false,
    )
    .await;
    let api = mamoru_tests::RuntimeApi::start();
    let mut env = moto.env(region);
    env.push(("MAMORU_MODE".into(), "enforce".into()));
    env.push(("MAMORU_TOPIC_ARN".into(), topic.clone()));
    let mut function =
        mamoru_tests::FunctionProcess::start_function("mamoru-cloudtrail", &api, &env);

    // WHEN it is invoked with the deletion
    let invocation = api.invoke(&mamoru_tests::fixture("aws.logs/ct-delete-log-group.json"));

    // THEN it succeeds, the audit line is High with the trail in the title, and so is the alert
    assert!(
        matches!(invocation, mamoru_tests::Invocation::Response(_)),
        "{invocation:?}"
    );
    // Every line the answered invocation wrote, read to the end of the pipe.
    function.finish();
    let audit = function.audit_lines();
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0]["severity"], "high", "{}", audit[0]);
    assert!(
        audit[0]["plan"]["title"]
            .as_str()
            .unwrap()
            .ends_with(&format!("used by trail {arn}")),
        "{}",
        audit[0]
    );
    let s = subjects(&moto, region, &queue).await;
    assert!(s.len() == 1 && s[0].contains("HIGH"), "{s:?}");
}
