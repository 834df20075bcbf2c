//! Every action's declared IAM grants against the calls it really makes.
//!
//! moto does not enforce IAM. Each action here runs in enforce mode (`mamoru replay --execute`,
//! shadow rules promoted) against moto through the recording proxy; the IAM action each request
//! needs is named from the request alone ([`mamoru_tests::grants::iam_action`]). For every run:
//! what the requests need is a subset of what the actions that ran declare, and when every action
//! that ran changed something (`done`, the whole path), exactly that. Over the whole test: every
//! action kind ran, and each of its declared grants was used by a run in which it ran.
//!
//! GuardDuty trusted-IP lists: moto serves no IPSet API, so `deactivate_ip_set` fails against it;
//! the request the SDK sends is still seen by the proxy and mapped, which is what this test needs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::Command;

use mamoru_tests::faults::{FaultMix, FaultProxy};
use mamoru_tests::grants::{declared, every_action, needed};
use mamoru_tests::scenario::{self, event_with};
use mamoru_tests::{Moto, binary};
use serde_json::{Value, json};

const REGION: &str = "us-east-1";

/// The built-in playbook with every shadow rule promoted to enforce (overrides by id).
fn promoted_rules() -> PathBuf {
    let text = mamoru::decide::rules::BUILTIN_RULES.replace("mode = \"shadow\"\n", "");
    let dir = std::env::temp_dir().join(format!("mamoru-grants-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("promoted.toml");
    std::fs::write(&path, text).unwrap();
    path
}

struct Wire {
    moto: Moto,
    proxy: FaultProxy,
    /// Per action name: the IAM actions needed by the runs in which it ran.
    used: BTreeMap<String, BTreeSet<String>>,
    runs: usize,
}

impl Wire {
    fn start() -> Wire {
        let moto = Moto::start();
        let proxy = FaultProxy::start(moto.port(), FaultMix::none());
        Wire {
            moto,
            proxy,
            used: BTreeMap::new(),
            runs: 0,
        }
    }

    /// Runs one event through the CLI, its AWS calls through the proxy, and checks the calls
    /// against the grants of the actions that ran. Returns the report.
    fn run(&mut self, label: &str, event: &str, promote: bool) -> Value {
        self.runs += 1;
        let dir = std::env::temp_dir().join(format!("mamoru-grants-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(format!("event-{}.json", self.runs));
        std::fs::write(&file, event).unwrap();
        let before = self.proxy.seen().len();
        let mut cmd = Command::new(binary("mamoru"));
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(self.moto.env(REGION))
            .env("AWS_ENDPOINT_URL", self.proxy.endpoint())
            .env(
                "MAMORU_SELF_RESOURCES",
                mamoru_tests::render::SELF_RESOURCES.join(","),
            )
            // Many events, one principal: without memory, so that no remediation budget or repeat
            // digest withholds what the test counts.
            .args(["replay", "--json", "--execute", "--state", "none"]);
        if promote {
            cmd.arg("--rules").arg(promoted_rules());
        }
        let out = cmd.arg(&file).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let report: Value = serde_json::from_str(stdout.lines().next().unwrap_or_else(|| {
            panic!(
                "{label}: no output; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        }))
        .unwrap();
        let seen = self.proxy.seen()[before..].to_vec();
        let needed = needed(&seen).unwrap_or_else(|e| panic!("{label}: {e}"));

        let outcomes = report["outcomes"].as_array().unwrap();
        let ran: Vec<(&str, &str)> = outcomes
            .iter()
            .map(|o| (o["action"].as_str().unwrap(), o["status"].as_str().unwrap()))
            .filter(|(_, s)| matches!(*s, "done" | "already_done" | "failed"))
            .collect();
        assert!(!ran.is_empty(), "{label}: no action ran: {report}");
        let grants: BTreeSet<String> = ran.iter().flat_map(|(a, _)| declared(a)).collect();
        let missing: BTreeSet<&String> = needed.difference(&grants).collect();
        assert!(
            missing.is_empty(),
            "{label}: calls made without a declared grant: {missing:?} (actions {ran:?}, requests {:?})",
            seen.iter()
                .map(|s| format!("{} {} {}", s.service, s.method, s.operation))
                .collect::<Vec<_>>()
        );
        if ran.iter().all(|(_, s)| *s == "done") {
            let unused: BTreeSet<&String> = grants.difference(&needed).collect();
            assert!(
                unused.is_empty(),
                "{label}: declared grants the whole path did not use: {unused:?} (actions {ran:?})"
            );
        }
        for (a, _) in &ran {
            self.used
                .entry(a.to_string())
                .or_default()
                .extend(needed.iter().cloned());
        }
        report
    }
}

fn status<'a>(report: &'a Value, action: &str) -> &'a str {
    report["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["action"] == action)
        .and_then(|o| o["status"].as_str())
        .unwrap_or_else(|| panic!("no {action} outcome in {report}"))
}

#[tokio::test]
async fn every_action_calls_exactly_what_it_is_granted() {
    let mut w = Wire::start();
    let moto = &w.moto;
    let sdk = moto.sdk(REGION).await;

    // Set-up, straight to moto (not through the proxy).
    let (key, _) = scenario::user_with_two_keys(moto, "alice").await;
    let (key_b, _) = scenario::user_with_two_keys(moto, "bob").await;
    let trail = scenario::stopped_trail(moto, "eu-west-1", "org-trail", false).await;
    scenario::stopped_trail(moto, "us-east-2", "stopped-trail", false).await;
    let detector = scenario::disabled_detector(moto, REGION).await;
    scenario::stopped_recorder(moto, "us-west-2", "default").await;
    let audit = scenario::stopped_trail(moto, REGION, "audit", false).await;
    let ct = aws_sdk_cloudtrail::Client::new(&sdk);
    ct.start_logging().name(&audit).send().await.unwrap();
    ct.put_event_selectors()
        .trail_name("audit")
        .event_selectors(
            aws_sdk_cloudtrail::types::EventSelector::builder()
                .read_write_type(aws_sdk_cloudtrail::types::ReadWriteType::ReadOnly)
                .include_management_events(false)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let events = aws_sdk_eventbridge::Client::new(&sdk);
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
    let iam = aws_sdk_iam::Client::new(&sdk);
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    iam.create_role()
        .role_name("app-instance-role")
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .unwrap();
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let group = ec2
        .create_security_group()
        .group_name("bastion")
        .description("test")
        .send()
        .await
        .unwrap()
        .group_id
        .unwrap();
    ec2.authorize_security_group_ingress()
        .group_id(&group)
        .ip_permissions(
            aws_sdk_ec2::types::IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(22)
                .to_port(22)
                .ip_ranges(
                    aws_sdk_ec2::types::IpRange::builder()
                        .cidr_ip("0.0.0.0/0")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let ec2_east2 = aws_sdk_ec2::Client::new(&moto.sdk("us-east-2").await);
    let image = ec2_east2.describe_images().send().await.unwrap().images()[0]
        .image_id()
        .unwrap()
        .to_string();
    let instance = ec2_east2
        .run_instances()
        .image_id(image)
        .min_count(1)
        .max_count(1)
        .send()
        .await
        .unwrap()
        .instances()[0]
        .instance_id()
        .unwrap()
        .to_string();
    moto.create_bucket("customer-exports-123456789012");
    let key_event = |user: &str, key: &str| {
        event_with(
            "constructed/finding-iamuser-key-malicious-ip-high.json",
            |v| {
                v["detail"]["resource"]["accessKeyDetails"]["userName"] = json!(user);
                v["detail"]["resource"]["accessKeyDetails"]["accessKeyId"] = json!(key);
            },
        )
    };

    // The runs, each action at least once on its whole path.
    let r = w.run("key, shipped rules", &key_event("alice", &key), false);
    assert_eq!(status(&r, "deactivate_access_key"), "done");
    assert_eq!(status(&r, "quarantine_user"), "would_do");
    let r = w.run("key, promoted", &key_event("bob", &key_b), true);
    assert_eq!(status(&r, "quarantine_user"), "done");

    let ev = event_with(
        "constructed/ct-stop-logging-trail-in-other-region.json",
        |v| v["detail"]["requestParameters"]["name"] = json!(trail),
    );
    assert_eq!(
        status(&w.run("stop logging", &ev, true), "start_logging"),
        "done"
    );

    let ev = event_with("aws.guardduty/ct-update-detector-disable.json", |v| {
        v["detail"]["requestParameters"]["detectorId"] = json!(detector);
    });
    assert_eq!(
        status(&w.run("detector disabled", &ev, true), "enable_detector"),
        "done"
    );
    // Disabled again for the Config compliance path.
    aws_sdk_guardduty::Client::new(&sdk)
        .update_detector()
        .detector_id(&detector)
        .enable(false)
        .send()
        .await
        .unwrap();
    let ev = mamoru_tests::fixture(
        "aws.config/compliance-guardduty-enabled-centralized-noncompliant.json",
    );
    assert_eq!(
        status(
            &w.run("guardduty noncompliant", &ev, true),
            "enable_region_detectors"
        ),
        "done"
    );

    let ev = event_with("aws.config/ct-stop-configuration-recorder.json", |v| {
        v["detail"]["recipientAccountId"] = json!(mamoru_tests::moto::ACCOUNT);
    });
    assert_eq!(
        status(
            &w.run("recorder stopped", &ev, true),
            "start_configuration_recorder"
        ),
        "done"
    );

    // Security Hub's Config.1: every recorder of the finding's account and region that is not
    // recording is started.
    scenario::stopped_recorder(&w.moto, REGION, "default").await;
    let ev = event_with("aws.securityhub/imported-config-1.json", |v| {
        let text = v
            .to_string()
            .replace("111122223333", mamoru_tests::moto::ACCOUNT);
        *v = serde_json::from_str(&text).unwrap();
    });
    assert_eq!(
        status(&w.run("config.1", &ev, true), "start_stopped_recorders"),
        "done"
    );

    let ev = mamoru_tests::fixture("aws.config/compliance-cloudtrail-enabled-noncompliant.json");
    assert_eq!(
        status(
            &w.run("cloudtrail noncompliant", &ev, true),
            "start_stopped_trails"
        ),
        "done"
    );

    let ev = event_with("aws.cloudtrail/ct-put-event-selectors.json", |v| {
        v["detail"]["requestParameters"]["trailName"] = json!("audit");
    });
    assert_eq!(
        status(&w.run("selectors", &ev, true), "restore_management_events"),
        "done"
    );

    let ev = mamoru_tests::fixture("tamper/events-disable-rule-mamoru.json");
    assert_eq!(
        status(&w.run("rule disabled", &ev, true), "enable_rule"),
        "done"
    );

    // The detector deleted, as the event says.
    aws_sdk_guardduty::Client::new(&sdk)
        .delete_detector()
        .detector_id(&detector)
        .send()
        .await
        .unwrap();
    let ev = mamoru_tests::fixture("aws.guardduty/ct-delete-detector.json");
    assert_eq!(
        status(&w.run("detector deleted", &ev, true), "create_detector"),
        "done"
    );

    let ev = mamoru_tests::fixture("tamper/guardduty-update-ip-set-activate.json");
    let r = w.run("ip set activated", &ev, true);
    // moto serves no IPSet API: the call is made and fails.
    assert_eq!(status(&r, "deactivate_ip_set"), "failed");

    let ev =
        mamoru_tests::fixture("constructed/finding-assumedrole-credential-exfiltration-high.json");
    assert_eq!(
        status(
            &w.run("role credentials", &ev, true),
            "revoke_role_sessions"
        ),
        "done"
    );

    let ev = event_with(
        "aws.config/ci-change-securitygroup-ssh-open-world.json",
        |v| v["detail"]["configurationItem"]["resourceId"] = json!(group),
    );
    assert_eq!(
        status(
            &w.run("world-open ssh", &ev, true),
            "revoke_world_open_admin_ingress"
        ),
        "done"
    );

    // Security Hub EC2.19 on the same group, now also world-open on 5432.
    ec2.authorize_security_group_ingress()
        .group_id(&group)
        .ip_permissions(
            aws_sdk_ec2::types::IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(5432)
                .to_port(5432)
                .ip_ranges(
                    aws_sdk_ec2::types::IpRange::builder()
                        .cidr_ip("0.0.0.0/0")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let ev = event_with("aws.securityhub/imported-ec2-19-high-risk.json", |v| {
        let text = v
            .to_string()
            .replace("sg-47dddc34c51b4be58", &group)
            .replace("us-east-2", REGION);
        *v = serde_json::from_str(&text).unwrap();
    });
    assert_eq!(
        status(
            &w.run("world-open high-risk port", &ev, true),
            "revoke_world_open_high_risk_ingress"
        ),
        "done"
    );

    let ev = event_with("findings/cryptocurrency-ec2-bitcointool.json", |v| {
        v["detail"]["resource"]["instanceDetails"]["instanceId"] = json!(instance);
    });
    assert_eq!(
        status(&w.run("mining instance", &ev, true), "isolate_instance"),
        "done"
    );

    let ev = mamoru_tests::fixture("findings/policy-s3-bucketblockpublicaccessdisabled.json");
    assert_eq!(
        status(
            &w.run("bucket", &ev, true),
            "restore_bucket_public_access_block"
        ),
        "done"
    );

    // Security Hub S3.1: the account's public access block, partly on, read, put, read again.
    scenario::set_account_public_access_block(&w.moto, REGION, [true, false, false, true]).await;
    let ev = event_with("aws.securityhub/imported-s3-1.json", |v| {
        let text = v
            .to_string()
            .replace("111122223333", mamoru_tests::moto::ACCOUNT);
        *v = serde_json::from_str(&text).unwrap();
    });
    assert_eq!(
        status(
            &w.run("account public access", &ev, true),
            "restore_account_public_access_block"
        ),
        "done"
    );
    assert_eq!(
        scenario::account_public_access_block(&w.moto, REGION).await,
        Some([true; 4])
    );

    scenario::lambda_function(&w.moto, REGION, "invoice-renderer").await;
    let ev = mamoru_tests::fixture("constructed/finding-lambda-backdoor-ccactivity.json");
    assert_eq!(
        status(
            &w.run("lambda function", &ev, true),
            "contain_lambda_function"
        ),
        "done"
    );

    // A scan result naming an object version.
    let version = scenario::tagged_object(
        &w.moto,
        "ca-central-1",
        "scanned-bucket",
        "dl/sample.pdf",
        true,
    )
    .await
    .unwrap();
    let ev = event_with(
        "aws.guardduty/malware-s3-object-scan-threats-found.json",
        |v| {
            let o = &mut v["detail"]["s3ObjectDetails"];
            o["bucketName"] = "scanned-bucket".into();
            o["objectKey"] = "dl/sample.pdf".into();
            o["versionId"] = version.into();
        },
    );
    assert_eq!(
        status(&w.run("malware object", &ev, true), "tag_malicious_object"),
        "done"
    );

    // Data shared out of the account: a snapshot and an AMI shared with everyone and with an
    // account outside (no trusted accounts here), and the calls that did it.
    let ec2 = aws_sdk_ec2::Client::new(&w.moto.sdk(REGION).await);
    let volume = ec2
        .create_volume()
        .availability_zone("us-east-1a")
        .size(1)
        .send()
        .await
        .unwrap()
        .volume_id
        .unwrap();
    let snap = ec2
        .create_snapshot()
        .volume_id(volume)
        .send()
        .await
        .unwrap()
        .snapshot_id
        .unwrap();
    let instance = ec2
        .run_instances()
        .image_id("ami-12c6146b")
        .min_count(1)
        .max_count(1)
        .send()
        .await
        .unwrap()
        .instances()[0]
        .instance_id()
        .unwrap()
        .to_string();
    let image = ec2
        .create_image()
        .instance_id(instance)
        .name("golden")
        .send()
        .await
        .unwrap()
        .image_id
        .unwrap();
    let share = |file: &str, member: &str, id: &str| {
        let (member, id) = (member.to_string(), id.to_string());
        event_with(file, move |v| {
            v["region"] = json!(REGION);
            v["detail"]["awsRegion"] = json!(REGION);
            v["detail"]["requestParameters"][&member] = json!(id);
        })
    };
    for (label, file, action) in [
        (
            "snapshot public",
            "aws.ec2/ct-modify-snapshot-attribute-public.json",
            "unshare_public_snapshot",
        ),
        (
            "snapshot outside",
            "aws.ec2/ct-modify-snapshot-attribute-share-account.json",
            "unshare_snapshot_accounts",
        ),
    ] {
        // Shared again before each run, so that each removal changes something.
        ec2.modify_snapshot_attribute()
            .snapshot_id(&snap)
            .attribute(aws_sdk_ec2::types::SnapshotAttributeName::CreateVolumePermission)
            .operation_type(aws_sdk_ec2::types::OperationType::Add)
            .group_names("all")
            .user_ids("444455556666")
            .send()
            .await
            .unwrap();
        let ev = share(file, "snapshotId", &snap);
        assert_eq!(status(&w.run(label, &ev, true), action), "done", "{label}");
    }
    for (label, file, action) in [
        (
            "image public",
            "aws.ec2/ct-modify-image-attribute-public.json",
            "make_image_private",
        ),
        (
            "image outside",
            "aws.ec2/ct-modify-image-attribute-share-account.json",
            "unshare_image_accounts",
        ),
    ] {
        ec2.modify_image_attribute()
            .image_id(&image)
            .launch_permission(
                aws_sdk_ec2::types::LaunchPermissionModifications::builder()
                    .add(
                        aws_sdk_ec2::types::LaunchPermission::builder()
                            .group(aws_sdk_ec2::types::PermissionGroup::All)
                            .build(),
                    )
                    .add(
                        aws_sdk_ec2::types::LaunchPermission::builder()
                            .user_id("444455556666")
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let ev = share(file, "imageId", &image);
        assert_eq!(status(&w.run(label, &ev, true), action), "done", "{label}");
    }

    ec2.disable_ebs_encryption_by_default()
        .send()
        .await
        .unwrap();
    let ev = event_with("aws.ec2/ct-disable-ebs-encryption-by-default.json", |v| {
        v["region"] = json!(REGION);
        v["detail"]["awsRegion"] = json!(REGION);
    });
    assert_eq!(
        status(
            &w.run("ebs default", &ev, true),
            "enable_ebs_encryption_by_default"
        ),
        "done"
    );

    // A group opened to the world on SSH, and the call that did it.
    let group = ec2
        .create_security_group()
        .group_name("opened")
        .description("opened to the world")
        .send()
        .await
        .unwrap()
        .group_id
        .unwrap();
    ec2.authorize_security_group_ingress()
        .group_id(&group)
        .ip_protocol("tcp")
        .from_port(22)
        .to_port(22)
        .cidr_ip("0.0.0.0/0")
        .send()
        .await
        .unwrap();
    let ev = event_with(
        "aws.ec2/ct-authorize-security-group-ingress-ssh-world.json",
        |v| {
            v["region"] = json!(REGION);
            v["detail"]["awsRegion"] = json!(REGION);
            v["detail"]["requestParameters"]["groupId"] = json!(group);
        },
    );
    assert_eq!(
        status(&w.run("ingress opened", &ev, true), "revoke_added_ingress"),
        "done"
    );

    // A key and a console password given to another user, and the calls that did it.
    let backdoored = "stratus-red-team-backdoor-u-user";
    iam.create_user()
        .user_name(backdoored)
        .send()
        .await
        .unwrap();
    let key = iam
        .create_access_key()
        .user_name(backdoored)
        .send()
        .await
        .unwrap()
        .access_key
        .unwrap()
        .access_key_id;
    let ev = event_with("aws.iam/ct-create-access-key.json", |v| {
        v["detail"]["responseElements"]["accessKey"]["accessKeyId"] = json!(key);
    });
    assert_eq!(
        status(
            &w.run("key for another user", &ev, true),
            "deactivate_created_key"
        ),
        "done"
    );
    let profiled = "stratus-red-team-login-profile-user";
    iam.create_user().user_name(profiled).send().await.unwrap();
    iam.create_login_profile()
        .user_name(profiled)
        .password("correct-horse-battery-9A!")
        .send()
        .await
        .unwrap();
    let ev = event_with("aws.iam/ct-create-login-profile-other-user.json", |_| {});
    assert_eq!(
        status(
            &w.run("password for another user", &ev, true),
            "delete_login_profile"
        ),
        "done"
    );
    // Already gone: the read of the user (GetUser) says it still exists.
    assert_eq!(
        status(
            &w.run("password already gone", &ev, true),
            "delete_login_profile"
        ),
        "already_done"
    );

    // RDS DB snapshots and DB cluster snapshots shared with everyone and with an outside account.
    let rds = aws_sdk_rds::Client::new(&w.moto.sdk(REGION).await);
    rds.create_db_instance()
        .db_instance_identifier("orders")
        .db_instance_class("db.t3.micro")
        .engine("postgres")
        .allocated_storage(20)
        .master_username("orders_admin")
        .master_user_password("not-a-real-password-1")
        .send()
        .await
        .unwrap();
    rds.create_db_snapshot()
        .db_instance_identifier("orders")
        .db_snapshot_identifier("exfiltration")
        .send()
        .await
        .unwrap();
    rds.create_db_cluster()
        .db_cluster_identifier("orders-cluster")
        .engine("aurora-postgresql")
        .master_username("orders_admin")
        .master_user_password("not-a-real-password-1")
        .send()
        .await
        .unwrap();
    rds.create_db_cluster_snapshot()
        .db_cluster_identifier("orders-cluster")
        .db_cluster_snapshot_identifier("exfiltration")
        .send()
        .await
        .unwrap();
    let shared = || Some(vec!["all".to_string(), "444455556666".to_string()]);
    for (label, file, action, cluster, add) in [
        (
            "db snapshot public",
            "aws.rds/ct-modify-db-snapshot-attribute-public.json",
            "make_db_snapshot_private",
            false,
            "all",
        ),
        (
            "db snapshot outside",
            "aws.rds/ct-modify-db-snapshot-attribute-share-account.json",
            "unshare_db_snapshot_accounts",
            false,
            "444455556666",
        ),
        (
            "db cluster snapshot public",
            "constructed/ct-modify-db-cluster-snapshot-attribute-share.json",
            "make_db_cluster_snapshot_private",
            true,
            "all",
        ),
        (
            "db cluster snapshot outside",
            "constructed/ct-modify-db-cluster-snapshot-attribute-share.json",
            "unshare_db_cluster_snapshot_accounts",
            true,
            "444455556666",
        ),
    ] {
        // Shared again before each run, so that each removal changes something.
        if cluster {
            rds.modify_db_cluster_snapshot_attribute()
                .db_cluster_snapshot_identifier("exfiltration")
                .attribute_name("restore")
                .set_values_to_add(shared())
                .send()
                .await
                .unwrap();
        } else {
            rds.modify_db_snapshot_attribute()
                .db_snapshot_identifier("exfiltration")
                .attribute_name("restore")
                .set_values_to_add(shared())
                .send()
                .await
                .unwrap();
        }
        let ev = event_with(file, move |v| {
            v["region"] = json!(REGION);
            v["detail"]["awsRegion"] = json!(REGION);
            v["detail"]["requestParameters"]["valuesToAdd"] = json!([add]);
        });
        assert_eq!(status(&w.run(label, &ev, true), action), "done", "{label}");
    }

    // A bucket whose versioning was suspended: read, turned on again, read back.
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&w.moto.sdk(REGION).await)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket()
        .bucket("important-files-bucket")
        .send()
        .await
        .unwrap();
    for status in ["Enabled", "Suspended"] {
        s3.put_bucket_versioning()
            .bucket("important-files-bucket")
            .versioning_configuration(
                aws_sdk_s3::types::VersioningConfiguration::builder()
                    .status(aws_sdk_s3::types::BucketVersioningStatus::from(status))
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    let ev = event_with("aws.s3/ct-put-bucket-versioning-suspended.json", |v| {
        v["region"] = json!(REGION);
        v["detail"]["awsRegion"] = json!(REGION);
    });
    assert_eq!(
        status(
            &w.run("bucket versioning suspended", &ev, true),
            "enable_bucket_versioning"
        ),
        "done"
    );

    // Route 53 Domains: moto answers GetDomainDetail (InvalidInput for a domain it does not hold,
    // so the action fails as not found) and serves no transfer-lock operation, so the write
    // after the read is never sent here. Its request is checked on the wire against a local
    // endpoint instead (tests/tests/route53domains_wire.rs).
    let ev = event_with(
        "aws.route53domains/ct-disable-domain-transfer-lock.json",
        |_| {},
    );
    assert_eq!(
        status(
            &w.run("domain transfer lock removed", &ev, true),
            "enable_domain_transfer_lock"
        ),
        "failed"
    );
    // A transfer to another account: moto serves no cancel either; the request is sent, fails,
    // and the proxy maps it.
    let ev = event_with(
        "aws.route53domains/ct-transfer-domain-to-another-aws-account.json",
        |_| {},
    );
    assert_eq!(
        status(
            &w.run("domain offered to another account", &ev, true),
            "cancel_domain_transfer"
        ),
        "failed"
    );

    // moto serves no serial-console API: the call is made and fails, and the proxy still sees
    // (and maps) the request, as for the IP set above.
    let ev = event_with("aws.ec2/ct-enable-serial-console-access.json", |v| {
        v["region"] = json!(REGION);
        v["detail"]["awsRegion"] = json!(REGION);
    });
    assert_eq!(
        status(
            &w.run("serial console", &ev, true),
            "disable_serial_console_access"
        ),
        "failed"
    );

    // Every action kind ran, and every grant it declares was needed by a run it was part of.
    for action in every_action() {
        let used = w
            .used
            .get(action)
            .unwrap_or_else(|| panic!("{action} never ran: add a run for it"));
        let mut unused: BTreeSet<String> = declared(action).difference(used).cloned().collect();
        // moto serves no serial-console API: the status read fails, so the write after it is
        // never sent here. Its request is checked in process instead
        // (`action::exec_tests`, the SDK's real request at its HTTP seam).
        if action == "enable_domain_transfer_lock" {
            assert!(used.contains("route53domains:GetDomainDetail"), "{used:?}");
            unused.remove("route53domains:EnableDomainTransferLock");
        }
        if action == "disable_serial_console_access" {
            assert!(
                used.contains("ec2:GetSerialConsoleAccessStatus"),
                "{used:?}"
            );
            unused.remove("ec2:DisableSerialConsoleAccess");
        }
        assert!(
            unused.is_empty(),
            "{action} declares grants no run used: {unused:?}"
        );
    }
}
