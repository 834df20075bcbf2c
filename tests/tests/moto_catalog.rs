//! The attack-catalog actions against moto, through `mamoru replay --execute`, with the state
//! read back from moto afterwards: snapshots and AMIs shared out of the account (the public
//! permission removed, enforced by default; the outside accounts' permissions removed once the
//! shadow rule is promoted; trusted and earlier shares kept), and EBS encryption by default
//! turned on again in the region of the call only. EC2 serial console access is not served by
//! moto: its executor is tested in process (shared/src/action/exec_tests.rs). A security group
//! opened to the world on SSH loses exactly the range the call added once the rule is promoted;
//! a key or a console password given to another IAM user is taken back once promoted. A bucket
//! whose versioning was suspended gets it back once promoted (moto keeps no MFA Delete: a bucket
//! with it enabled is tested in process, shared/src/action/exec_tests.rs; the S3 calls go through
//! the recording proxy, which renames the XML root moto gives GetBucketVersioning to the one S3
//! gives).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;

use aws_sdk_ec2::types::{
    ImageAttributeName, LaunchPermission, LaunchPermissionModifications, OperationType,
    PermissionGroup, SnapshotAttributeName,
};
use mamoru_tests::faults::{FaultMix, FaultProxy};
use mamoru_tests::scenario::event_with;
use mamoru_tests::{Moto, binary};
use serde_json::{Value, json};

const REGION: &str = "us-east-1";
/// Outside unless trusted (the fixtures' shared account).
const OUTSIDE: &str = "444455556666";
/// Shared before the event, by someone else: never touched.
const EARLIER: &str = "111122223333";

/// The built-in playbook with every shadow rule promoted to enforce.
fn promoted_rules() -> PathBuf {
    let text = mamoru::decide::rules::BUILTIN_RULES.replace("mode = \"shadow\"\n", "");
    let dir = std::env::temp_dir().join(format!("mamoru-catalog-promoted-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("promoted.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn execute(moto: &Moto, event: &str, promote: bool, trusted: &str) -> Value {
    execute_at(moto, None, event, promote, trusted)
}

/// As [`execute`], with the SDK's calls sent to `endpoint` (a proxy in front of moto).
fn execute_at(
    moto: &Moto,
    endpoint: Option<&str>,
    event: &str,
    promote: bool,
    trusted: &str,
) -> Value {
    let dir = std::env::temp_dir().join(format!(
        "mamoru-catalog-{}-{}",
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
        .env("MAMORU_TRUSTED_ACCOUNTS", trusted)
        .args(["replay", "--json", "--execute"]);
    if let Some(endpoint) = endpoint {
        cmd.env("AWS_ENDPOINT_URL", endpoint);
    }
    if promote {
        cmd.arg("--rules").arg(promoted_rules());
    }
    let out = cmd.arg(&file).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().next().unwrap_or("null"))
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)))
}

fn outcome<'a>(report: &'a Value, api: &str) -> &'a Value {
    report["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["api"] == api)
        .unwrap_or_else(|| panic!("no {api} outcome in {report}"))
}

async fn ec2(moto: &Moto) -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::new(&moto.sdk(REGION).await)
}

/// A snapshot shared with everyone, the outside account and an earlier account.
async fn shared_snapshot(moto: &Moto) -> String {
    let ec2 = ec2(moto).await;
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
    ec2.modify_snapshot_attribute()
        .snapshot_id(&snap)
        .attribute(SnapshotAttributeName::CreateVolumePermission)
        .operation_type(OperationType::Add)
        .group_names("all")
        .user_ids(OUTSIDE)
        .user_ids(EARLIER)
        .send()
        .await
        .unwrap();
    snap
}

/// (public, accounts sorted) of a snapshot's create-volume permissions, as moto holds them.
async fn snapshot_shares(moto: &Moto, snap: &str) -> (bool, Vec<String>) {
    let out = ec2(moto)
        .await
        .describe_snapshot_attribute()
        .snapshot_id(snap)
        .attribute(SnapshotAttributeName::CreateVolumePermission)
        .send()
        .await
        .unwrap();
    let perms = out.create_volume_permissions();
    let public = perms
        .iter()
        .any(|p| p.group() == Some(&PermissionGroup::All));
    let mut accounts: Vec<String> = perms
        .iter()
        .filter_map(|p| p.user_id().map(str::to_string))
        .collect();
    accounts.sort();
    (public, accounts)
}

/// An AMI launchable by everyone, the outside account and an earlier account.
async fn shared_image(moto: &Moto) -> String {
    let ec2 = ec2(moto).await;
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
    ec2.modify_image_attribute()
        .image_id(&image)
        .launch_permission(
            LaunchPermissionModifications::builder()
                .add(
                    LaunchPermission::builder()
                        .group(PermissionGroup::All)
                        .build(),
                )
                .add(LaunchPermission::builder().user_id(OUTSIDE).build())
                .add(LaunchPermission::builder().user_id(EARLIER).build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    image
}

async fn image_shares(moto: &Moto, image: &str) -> (bool, Vec<String>) {
    let out = ec2(moto)
        .await
        .describe_image_attribute()
        .image_id(image)
        .attribute(ImageAttributeName::LaunchPermission)
        .send()
        .await
        .unwrap();
    let perms = out.launch_permissions();
    let public = perms
        .iter()
        .any(|p| p.group() == Some(&PermissionGroup::All));
    let mut accounts: Vec<String> = perms
        .iter()
        .filter_map(|p| p.user_id().map(str::to_string))
        .collect();
    accounts.sort();
    (public, accounts)
}

fn in_region(v: &mut Value) {
    v["region"] = json!(REGION);
    v["detail"]["awsRegion"] = json!(REGION);
}

// proves: ec2-snapshot-made-public
#[tokio::test]
async fn a_public_snapshot_loses_its_public_permission_only() {
    // GIVEN a snapshot shared with everyone, an outside account and an earlier account
    let moto = Moto::start();
    let snap = shared_snapshot(&moto).await;
    assert_eq!(
        snapshot_shares(&moto, &snap).await,
        (true, vec![EARLIER.to_string(), OUTSIDE.to_string()])
    );

    // WHEN the call that made it public arrives (the built-in rule enforces)
    let event = event_with("aws.ec2/ct-modify-snapshot-attribute-public.json", |v| {
        in_region(v);
        v["detail"]["requestParameters"]["snapshotId"] = json!(snap);
    });
    let report = execute(&moto, &event, false, "");
    let o = outcome(&report, "ec2:ModifySnapshotAttribute");
    assert_eq!(o["status"], "done", "{o}");
    assert_eq!(o["before"]["Public"], true);
    assert_eq!(o["after"]["Public"], false);

    // THEN only the public permission went; both accounts keep theirs
    assert_eq!(
        snapshot_shares(&moto, &snap).await,
        (false, vec![EARLIER.to_string(), OUTSIDE.to_string()])
    );

    // AND a second delivery finds it already private
    let again = execute(&moto, &event, false, "");
    assert_eq!(
        outcome(&again, "ec2:ModifySnapshotAttribute")["status"],
        "already_done"
    );
}

// proves: ec2-snapshot-shared-outside
#[tokio::test]
async fn a_snapshot_shared_outside_loses_that_account_once_promoted() {
    let moto = Moto::start();
    let snap = shared_snapshot(&moto).await;
    let event = event_with(
        "aws.ec2/ct-modify-snapshot-attribute-share-account.json",
        |v| {
            in_region(v);
            v["detail"]["requestParameters"]["snapshotId"] = json!(snap);
        },
    );
    let all = (true, vec![EARLIER.to_string(), OUTSIDE.to_string()]);

    // Shadow as shipped: reported, nothing changes.
    let shadow = execute(&moto, &event, false, "");
    assert_eq!(
        outcome(&shadow, "ec2:ModifySnapshotAttribute")["status"],
        "would_do"
    );
    assert_eq!(snapshot_shares(&moto, &snap).await, all);

    // Trusted: not outside, no action at all.
    let trusted = execute(&moto, &event, true, OUTSIDE);
    assert_eq!(trusted["outcomes"], json!([]), "{trusted}");
    assert_eq!(snapshot_shares(&moto, &snap).await, all);

    // Promoted: exactly the outside account the call added goes; public stays for its own rule,
    // the earlier account stays.
    let report = execute(&moto, &event, true, "");
    let o = outcome(&report, "ec2:ModifySnapshotAttribute");
    assert_eq!(o["status"], "done", "{o}");
    assert_eq!(
        snapshot_shares(&moto, &snap).await,
        (true, vec![EARLIER.to_string()])
    );
}

#[tokio::test]
async fn a_snapshot_that_does_not_exist_is_a_failure_not_done() {
    let moto = Moto::start();
    let event = event_with("aws.ec2/ct-modify-snapshot-attribute-public.json", |v| {
        in_region(v);
        v["detail"]["requestParameters"]["snapshotId"] = json!("snap-0123456789abcdef0");
    });
    let report = execute(&moto, &event, false, "");
    let o = outcome(&report, "ec2:ModifySnapshotAttribute");
    assert_eq!(o["status"], "failed", "{o}");
    assert_eq!(o["error_code"], "NotFound", "{o}");
}

// proves: ec2-image-made-public
#[tokio::test]
async fn a_public_image_loses_its_public_permission_only() {
    let moto = Moto::start();
    let image = shared_image(&moto).await;
    assert_eq!(
        image_shares(&moto, &image).await,
        (true, vec![EARLIER.to_string(), OUTSIDE.to_string()])
    );
    let event = event_with("aws.ec2/ct-modify-image-attribute-public.json", |v| {
        in_region(v);
        v["detail"]["requestParameters"]["imageId"] = json!(image);
    });
    let report = execute(&moto, &event, false, "");
    let o = outcome(&report, "ec2:ModifyImageAttribute");
    assert_eq!(o["status"], "done", "{o}");
    assert_eq!(
        image_shares(&moto, &image).await,
        (false, vec![EARLIER.to_string(), OUTSIDE.to_string()])
    );
    let again = execute(&moto, &event, false, "");
    assert_eq!(
        outcome(&again, "ec2:ModifyImageAttribute")["status"],
        "already_done"
    );
}

// proves: ec2-image-shared-outside
#[tokio::test]
async fn an_image_shared_outside_loses_that_account_once_promoted() {
    let moto = Moto::start();
    let image = shared_image(&moto).await;
    let event = event_with(
        "aws.ec2/ct-modify-image-attribute-share-account.json",
        |v| {
            in_region(v);
            v["detail"]["requestParameters"]["imageId"] = json!(image);
        },
    );
    let shadow = execute(&moto, &event, false, "");
    assert_eq!(
        outcome(&shadow, "ec2:ModifyImageAttribute")["status"],
        "would_do"
    );
    let report = execute(&moto, &event, true, "");
    let o = outcome(&report, "ec2:ModifyImageAttribute");
    assert_eq!(o["status"], "done", "{o}");
    assert_eq!(
        image_shares(&moto, &image).await,
        (true, vec![EARLIER.to_string()])
    );
}

async fn ebs_default(moto: &Moto, region: &str) -> Option<bool> {
    aws_sdk_ec2::Client::new(&moto.sdk(region).await)
        .get_ebs_encryption_by_default()
        .send()
        .await
        .unwrap()
        .ebs_encryption_by_default
}

// proves: ec2-ebs-encryption-by-default-disabled
#[tokio::test]
async fn ebs_encryption_by_default_is_turned_on_again_in_that_region_only() {
    // GIVEN encryption by default off in two regions
    let moto = Moto::start();
    for region in [REGION, "us-west-2"] {
        aws_sdk_ec2::Client::new(&moto.sdk(region).await)
            .disable_ebs_encryption_by_default()
            .send()
            .await
            .unwrap();
        assert_eq!(ebs_default(&moto, region).await, Some(false));
    }

    // WHEN the call that turned it off in us-west-2 arrives
    let event = event_with("aws.ec2/ct-disable-ebs-encryption-by-default.json", |v| {
        v["region"] = json!("us-west-2");
        v["detail"]["awsRegion"] = json!("us-west-2");
    });
    let report = execute(&moto, &event, false, "");
    let o = outcome(&report, "ec2:EnableEbsEncryptionByDefault");
    assert_eq!(o["status"], "done", "{o}");
    assert_eq!(o["region"], "us-west-2");
    assert_eq!(o["before"]["EbsEncryptionByDefault"], false);
    assert_eq!(o["after"]["EbsEncryptionByDefault"], true);

    // THEN it is on in us-west-2, and us-east-1 was not touched
    assert_eq!(ebs_default(&moto, "us-west-2").await, Some(true));
    assert_eq!(ebs_default(&moto, REGION).await, Some(false));

    // AND a second delivery finds it already on
    let again = execute(&moto, &event, false, "");
    assert_eq!(
        outcome(&again, "ec2:EnableEbsEncryptionByDefault")["status"],
        "already_done"
    );
}

/// (protocol, from, to, cidr) of every ingress range of a group, sorted, as moto holds them.
async fn ingress(moto: &Moto, group: &str) -> Vec<(String, Option<i32>, Option<i32>, String)> {
    let out = ec2(moto)
        .await
        .describe_security_groups()
        .group_ids(group)
        .send()
        .await
        .unwrap();
    let mut rules = Vec::new();
    for p in out.security_groups()[0].ip_permissions() {
        let proto = p.ip_protocol().unwrap_or("").to_string();
        for r in p.ip_ranges() {
            rules.push((
                proto.clone(),
                p.from_port(),
                p.to_port(),
                r.cidr_ip().unwrap().to_string(),
            ));
        }
        for r in p.ipv6_ranges() {
            rules.push((
                proto.clone(),
                p.from_port(),
                p.to_port(),
                r.cidr_ipv6().unwrap().to_string(),
            ));
        }
    }
    rules.sort();
    rules
}

fn tcp(port: i32, cidr: &str) -> (String, Option<i32>, Option<i32>, String) {
    ("tcp".into(), Some(port), Some(port), cidr.into())
}

// proves: ec2-ingress-opened-to-world
#[tokio::test]
async fn world_open_ssh_a_call_added_is_revoked_once_promoted_and_every_other_rule_stays() {
    // GIVEN a group holding SSH from the world (the call's), SSH from an office range, HTTPS
    // from the world and RDP from the world over IPv6 (there before, not the call's)
    let moto = Moto::start();
    let client = ec2(&moto).await;
    let group = client
        .create_security_group()
        .group_name("web")
        .description("web servers")
        .send()
        .await
        .unwrap()
        .group_id
        .unwrap();
    let perm = |port: i32, v4: Option<&str>, v6: Option<&str>| {
        let mut p = aws_sdk_ec2::types::IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(port)
            .to_port(port);
        if let Some(c) = v4 {
            p = p.ip_ranges(aws_sdk_ec2::types::IpRange::builder().cidr_ip(c).build());
        }
        if let Some(c) = v6 {
            p = p.ipv6_ranges(
                aws_sdk_ec2::types::Ipv6Range::builder()
                    .cidr_ipv6(c)
                    .build(),
            );
        }
        p.build()
    };
    client
        .authorize_security_group_ingress()
        .group_id(&group)
        .ip_permissions(perm(22, Some("0.0.0.0/0"), None))
        .ip_permissions(perm(22, Some("198.51.100.0/24"), None))
        .ip_permissions(perm(443, Some("0.0.0.0/0"), None))
        .ip_permissions(perm(3389, None, Some("::/0")))
        .send()
        .await
        .unwrap();
    let before = ingress(&moto, &group).await;
    assert_eq!(before.len(), 4, "{before:?}");
    let event = event_with(
        "aws.ec2/ct-authorize-security-group-ingress-ssh-world.json",
        |v| {
            in_region(v);
            v["detail"]["requestParameters"]["groupId"] = json!(group);
        },
    );

    // WHEN the call arrives with the rule as shipped (shadow): reported, nothing changes
    let shadow = execute(&moto, &event, false, "");
    assert_eq!(
        outcome(&shadow, "ec2:RevokeSecurityGroupIngress")["status"],
        "would_do"
    );
    assert_eq!(ingress(&moto, &group).await, before);

    // AND with the rule promoted
    let report = execute(&moto, &event, true, "");
    let o = outcome(&report, "ec2:RevokeSecurityGroupIngress");
    assert_eq!(o["status"], "done", "{o}");
    assert_eq!(
        o["before"]["AddedWorldOpenIngressHeld"],
        json!(["tcp 22 from 0.0.0.0/0"])
    );
    assert_eq!(o["after"]["AddedWorldOpenIngressHeld"], json!([]));

    // THEN exactly SSH from the world is gone; the office range, HTTPS and the earlier IPv6 RDP
    // rule stay
    let mut want = vec![
        tcp(22, "198.51.100.0/24"),
        tcp(443, "0.0.0.0/0"),
        tcp(3389, "::/0"),
    ];
    want.sort();
    assert_eq!(ingress(&moto, &group).await, want);

    // AND a second delivery finds it already gone
    let again = execute(&moto, &event, true, "");
    assert_eq!(
        outcome(&again, "ec2:RevokeSecurityGroupIngress")["status"],
        "already_done"
    );
    assert_eq!(ingress(&moto, &group).await, want);
}

#[tokio::test]
async fn a_security_group_that_does_not_exist_is_a_failure_not_done() {
    let moto = Moto::start();
    let event = event_with(
        "aws.ec2/ct-authorize-security-group-ingress-ssh-world.json",
        |v| {
            in_region(v);
            v["detail"]["requestParameters"]["groupId"] = json!("sg-0123456789abcdef0");
        },
    );
    let report = execute(&moto, &event, true, "");
    let o = outcome(&report, "ec2:RevokeSecurityGroupIngress");
    assert_eq!(o["status"], "failed", "{o}");
    assert_eq!(o["error_code"], "NotFound", "{o}");
}

async fn iam(moto: &Moto) -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::new(&moto.sdk(REGION).await)
}

/// The status of each access key of a user, by key ID, as moto holds them.
async fn key_statuses(moto: &Moto, user: &str) -> Vec<(String, String)> {
    let out = iam(moto)
        .await
        .list_access_keys()
        .user_name(user)
        .send()
        .await
        .unwrap();
    let mut keys: Vec<(String, String)> = out
        .access_key_metadata()
        .iter()
        .map(|k| {
            (
                k.access_key_id().unwrap().to_string(),
                k.status().unwrap().as_str().to_string(),
            )
        })
        .collect();
    keys.sort();
    keys
}

// proves: iam-access-key-for-another-user
#[tokio::test]
async fn a_key_created_for_another_user_is_deactivated_once_promoted_and_only_that_key() {
    // GIVEN a user with an older key and the key the call created
    let moto = Moto::start();
    let client = iam(&moto).await;
    let user = "stratus-red-team-backdoor-u-user";
    client.create_user().user_name(user).send().await.unwrap();
    let older = client
        .create_access_key()
        .user_name(user)
        .send()
        .await
        .unwrap()
        .access_key
        .unwrap()
        .access_key_id;
    let new = client
        .create_access_key()
        .user_name(user)
        .send()
        .await
        .unwrap()
        .access_key
        .unwrap()
        .access_key_id;
    let event = event_with("aws.iam/ct-create-access-key.json", |v| {
        v["detail"]["responseElements"]["accessKey"]["accessKeyId"] = json!(new);
    });

    // Shadow as shipped: reported, both keys stay active.
    let shadow = execute(&moto, &event, false, "");
    assert_eq!(
        outcome(&shadow, "iam:UpdateAccessKey")["status"],
        "would_do"
    );
    let mut active = vec![
        (older.clone(), "Active".to_string()),
        (new.clone(), "Active".to_string()),
    ];
    active.sort();
    assert_eq!(key_statuses(&moto, user).await, active);

    // WHEN promoted
    let report = execute(&moto, &event, true, "");
    assert_eq!(outcome(&report, "iam:UpdateAccessKey")["status"], "done");

    // THEN the new key is Inactive, the older one still Active
    let mut want = vec![
        (older.clone(), "Active".to_string()),
        (new.clone(), "Inactive".to_string()),
    ];
    want.sort();
    assert_eq!(key_statuses(&moto, user).await, want);

    // AND a key of a user that does not exist is a failure
    let missing = event_with("aws.iam/ct-create-access-key.json", |v| {
        v["detail"]["requestParameters"]["userName"] = json!("nobody");
        v["detail"]["responseElements"]["accessKey"]["userName"] = json!("nobody");
    });
    let report = execute(&moto, &missing, true, "");
    let o = outcome(&report, "iam:UpdateAccessKey");
    assert_eq!(o["status"], "failed", "{o}");
    assert_eq!(o["error_code"], "NotFound", "{o}");
}

async fn has_login_profile(moto: &Moto, user: &str) -> bool {
    iam(moto)
        .await
        .get_login_profile()
        .user_name(user)
        .send()
        .await
        .is_ok()
}

// proves: iam-login-profile-for-another-user
#[tokio::test]
async fn a_password_set_for_another_user_is_deleted_once_promoted_and_the_user_kept() {
    // GIVEN a user with a key and the console password the call created, and another user with
    // a password of its own
    let moto = Moto::start();
    let client = iam(&moto).await;
    let user = "stratus-red-team-login-profile-user";
    for u in [user, "alice"] {
        client.create_user().user_name(u).send().await.unwrap();
        client
            .create_login_profile()
            .user_name(u)
            .password("correct-horse-battery-9A!")
            .send()
            .await
            .unwrap();
    }
    client
        .create_access_key()
        .user_name(user)
        .send()
        .await
        .unwrap();
    let event = event_with("aws.iam/ct-create-login-profile-other-user.json", |_| {});

    // Shadow as shipped: reported, the password stays.
    let shadow = execute(&moto, &event, false, "");
    assert_eq!(
        outcome(&shadow, "iam:DeleteLoginProfile")["status"],
        "would_do"
    );
    assert!(has_login_profile(&moto, user).await);

    // WHEN promoted
    let report = execute(&moto, &event, true, "");
    let o = outcome(&report, "iam:DeleteLoginProfile");
    assert_eq!(o["status"], "done", "{o}");
    assert_eq!(o["before"]["LoginProfile"], true);
    assert_eq!(o["after"]["LoginProfile"], false);

    // THEN the user has no console password, keeps its key, and alice keeps hers
    assert!(!has_login_profile(&moto, user).await);
    assert_eq!(key_statuses(&moto, user).await.len(), 1);
    assert!(has_login_profile(&moto, "alice").await);

    // AND a second delivery finds it already gone
    let again = execute(&moto, &event, true, "");
    assert_eq!(
        outcome(&again, "iam:DeleteLoginProfile")["status"],
        "already_done"
    );

    // AND a user that does not exist is a failure, not "already done"
    let missing = event_with("aws.iam/ct-update-login-profile-other-user.json", |v| {
        v["detail"]["requestParameters"]["userName"] = json!("nobody");
    });
    let report = execute(&moto, &missing, true, "");
    let o = outcome(&report, "iam:DeleteLoginProfile");
    assert_eq!(o["status"], "failed", "{o}");
    assert_eq!(o["error_code"], "NotFound", "{o}");
}

// --- RDS DB snapshots and DB cluster snapshots ------------------------------------------------

async fn rds(moto: &Moto) -> aws_sdk_rds::Client {
    aws_sdk_rds::Client::new(&moto.sdk(REGION).await)
}

/// A manual DB snapshot (or DB cluster snapshot) whose `restore` attribute holds `all`, the
/// outside account and an earlier account.
async fn shared_db_snapshot(moto: &Moto, cluster: bool) -> String {
    let rds = rds(moto).await;
    let values = ["all", OUTSIDE, EARLIER].map(String::from).to_vec();
    if cluster {
        rds.create_db_cluster()
            .db_cluster_identifier("orders")
            .engine("aurora-postgresql")
            .master_username("orders_admin")
            .master_user_password("not-a-real-password-1")
            .send()
            .await
            .unwrap();
        rds.create_db_cluster_snapshot()
            .db_cluster_identifier("orders")
            .db_cluster_snapshot_identifier("orders-final")
            .send()
            .await
            .unwrap();
        rds.modify_db_cluster_snapshot_attribute()
            .db_cluster_snapshot_identifier("orders-final")
            .attribute_name("restore")
            .set_values_to_add(Some(values))
            .send()
            .await
            .unwrap();
        "orders-final".into()
    } else {
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
        rds.modify_db_snapshot_attribute()
            .db_snapshot_identifier("exfiltration")
            .attribute_name("restore")
            .set_values_to_add(Some(values))
            .send()
            .await
            .unwrap();
        "exfiltration".into()
    }
}

/// The `restore` values of a snapshot, sorted, as moto holds them.
async fn db_snapshot_restore(moto: &Moto, cluster: bool, id: &str) -> Vec<String> {
    let rds = rds(moto).await;
    let attributes: Vec<(Option<String>, Vec<String>)> = if cluster {
        rds.describe_db_cluster_snapshot_attributes()
            .db_cluster_snapshot_identifier(id)
            .send()
            .await
            .unwrap()
            .db_cluster_snapshot_attributes_result()
            .unwrap()
            .db_cluster_snapshot_attributes()
            .iter()
            .map(|a| {
                (
                    a.attribute_name().map(str::to_string),
                    a.attribute_values().to_vec(),
                )
            })
            .collect()
    } else {
        rds.describe_db_snapshot_attributes()
            .db_snapshot_identifier(id)
            .send()
            .await
            .unwrap()
            .db_snapshot_attributes_result()
            .unwrap()
            .db_snapshot_attributes()
            .iter()
            .map(|a| {
                (
                    a.attribute_name().map(str::to_string),
                    a.attribute_values().to_vec(),
                )
            })
            .collect()
    };
    let mut values: Vec<String> = attributes
        .into_iter()
        .filter(|(name, _)| name.as_deref() == Some("restore"))
        .flat_map(|(_, v)| v)
        .collect();
    values.sort();
    values
}

fn sorted(values: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = values.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

// proves: rds-snapshot-made-public
#[tokio::test]
async fn a_public_db_snapshot_loses_its_all_value_only() {
    // GIVEN a DB snapshot restorable by everyone, an outside account and an earlier account
    let moto = Moto::start();
    let snap = shared_db_snapshot(&moto, false).await;
    assert_eq!(
        db_snapshot_restore(&moto, false, &snap).await,
        sorted(&["all", OUTSIDE, EARLIER])
    );

    // WHEN the call that made it public arrives (the built-in rule enforces)
    let event = event_with("aws.rds/ct-modify-db-snapshot-attribute-public.json", |v| {
        in_region(v);
    });
    let report = execute(&moto, &event, false, "");
    let o = outcome(&report, "rds:ModifyDBSnapshotAttribute");
    assert_eq!(o["status"], "done", "{o}");
    assert_eq!(o["before"]["Public"], true);
    assert_eq!(o["after"]["Public"], false);

    // THEN only `all` went; both accounts keep their permission
    assert_eq!(
        db_snapshot_restore(&moto, false, &snap).await,
        sorted(&[OUTSIDE, EARLIER])
    );

    // AND a second delivery finds it already private
    let again = execute(&moto, &event, false, "");
    assert_eq!(
        outcome(&again, "rds:ModifyDBSnapshotAttribute")["status"],
        "already_done"
    );
}

// proves: rds-snapshot-shared-outside
#[tokio::test]
async fn a_db_snapshot_shared_outside_loses_that_account_once_promoted() {
    let moto = Moto::start();
    let snap = shared_db_snapshot(&moto, false).await;
    let event = event_with(
        "aws.rds/ct-modify-db-snapshot-attribute-share-account.json",
        in_region,
    );
    let all = sorted(&["all", OUTSIDE, EARLIER]);

    // Shadow as shipped: reported, nothing changes.
    let shadow = execute(&moto, &event, false, "");
    assert_eq!(
        outcome(&shadow, "rds:ModifyDBSnapshotAttribute")["status"],
        "would_do"
    );
    assert_eq!(db_snapshot_restore(&moto, false, &snap).await, all);

    // Trusted: not outside, no action at all.
    let trusted = execute(&moto, &event, true, OUTSIDE);
    assert_eq!(trusted["outcomes"], json!([]), "{trusted}");
    assert_eq!(db_snapshot_restore(&moto, false, &snap).await, all);

    // Promoted: exactly the outside account the call added goes; `all` stays for its own rule,
    // the earlier account stays.
    let report = execute(&moto, &event, true, "");
    let o = outcome(&report, "rds:ModifyDBSnapshotAttribute");
    assert_eq!(o["status"], "done", "{o}");
    assert_eq!(
        db_snapshot_restore(&moto, false, &snap).await,
        sorted(&["all", EARLIER])
    );
}

#[tokio::test]
async fn a_db_snapshot_that_does_not_exist_is_a_failure_not_done() {
    let moto = Moto::start();
    let event = event_with("aws.rds/ct-modify-db-snapshot-attribute-public.json", |v| {
        in_region(v);
        v["detail"]["requestParameters"]["dBSnapshotIdentifier"] = json!("gone");
    });
    let report = execute(&moto, &event, false, "");
    let o = outcome(&report, "rds:ModifyDBSnapshotAttribute");
    assert_eq!(o["status"], "failed", "{o}");
    assert_eq!(o["error_code"], "NotFound", "{o}");
}

// proves: rds-cluster-snapshot-made-public
#[tokio::test]
async fn a_public_db_cluster_snapshot_loses_its_all_value_only() {
    let moto = Moto::start();
    let snap = shared_db_snapshot(&moto, true).await;
    let event = event_with(
        "constructed/ct-modify-db-cluster-snapshot-attribute-share.json",
        |v| {
            in_region(v);
            v["detail"]["requestParameters"]["dBClusterSnapshotIdentifier"] = json!(snap);
        },
    );
    let report = execute(&moto, &event, false, "");
    let o = outcome(&report, "rds:ModifyDBClusterSnapshotAttribute");
    assert_eq!(o["status"], "done", "{o}");
    assert_eq!(
        db_snapshot_restore(&moto, true, &snap).await,
        sorted(&[OUTSIDE, EARLIER])
    );
    let again = execute(&moto, &event, false, "");
    assert_eq!(
        outcome(&again, "rds:ModifyDBClusterSnapshotAttribute")["status"],
        "already_done"
    );

    // A cluster snapshot that does not exist is a failure.
    let gone = event_with(
        "constructed/ct-modify-db-cluster-snapshot-attribute-share.json",
        |v| {
            in_region(v);
            v["detail"]["requestParameters"]["dBClusterSnapshotIdentifier"] = json!("gone");
        },
    );
    let report = execute(&moto, &gone, false, "");
    let o = outcome(&report, "rds:ModifyDBClusterSnapshotAttribute");
    assert_eq!(o["status"], "failed", "{o}");
    assert_eq!(o["error_code"], "NotFound", "{o}");
}

// proves: rds-cluster-snapshot-shared-outside
#[tokio::test]
async fn a_db_cluster_snapshot_shared_outside_loses_that_account_once_promoted() {
    let moto = Moto::start();
    let snap = shared_db_snapshot(&moto, true).await;
    // The cluster form of the call that shared it with the outside account.
    let event = event_with(
        "constructed/ct-modify-db-cluster-snapshot-attribute-share.json",
        |v| {
            in_region(v);
            v["detail"]["requestParameters"]["dBClusterSnapshotIdentifier"] = json!(snap);
            v["detail"]["requestParameters"]["valuesToAdd"] = json!([OUTSIDE]);
        },
    );
    let shadow = execute(&moto, &event, false, "");
    assert_eq!(
        outcome(&shadow, "rds:ModifyDBClusterSnapshotAttribute")["status"],
        "would_do"
    );
    let report = execute(&moto, &event, true, "");
    let o = outcome(&report, "rds:ModifyDBClusterSnapshotAttribute");
    assert_eq!(o["status"], "done", "{o}");
    assert_eq!(
        db_snapshot_restore(&moto, true, &snap).await,
        sorted(&["all", EARLIER])
    );
}

/// moto answers GetBucketVersioning under another XML root than S3 does, which the SDK refuses:
/// the S3 calls go through the recording proxy, which renames only that root
/// (`mamoru_tests::faults`).
fn s3_proxy(moto: &Moto) -> FaultProxy {
    FaultProxy::start(moto.port(), FaultMix::none())
}

async fn s3(moto: &Moto, proxy: &FaultProxy) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&moto.sdk(REGION).await)
            .endpoint_url(proxy.endpoint())
            .force_path_style(true)
            .build(),
    )
}

/// The versioning status of a bucket as moto holds it (`None`: never set).
async fn versioning(moto: &Moto, proxy: &FaultProxy, bucket: &str) -> Option<String> {
    s3(moto, proxy)
        .await
        .get_bucket_versioning()
        .bucket(bucket)
        .send()
        .await
        .unwrap()
        .status
        .map(|s| s.as_str().to_string())
}

async fn set_versioning(moto: &Moto, proxy: &FaultProxy, bucket: &str, status: &str) {
    s3(moto, proxy)
        .await
        .put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::from(status))
                .build(),
        )
        .send()
        .await
        .unwrap();
}

fn versioning_event(bucket: &str) -> String {
    event_with("aws.s3/ct-put-bucket-versioning-suspended.json", |v| {
        in_region(v);
        v["detail"]["requestParameters"]["bucketName"] = json!(bucket);
    })
}

// proves: s3-bucket-versioning-suspended
#[tokio::test]
async fn a_suspended_bucket_gets_versioning_back_once_promoted_and_no_other_bucket_changes() {
    // GIVEN two versioned buckets, both suspended
    let moto = Moto::start();
    let proxy = s3_proxy(&moto);
    let at = Some(proxy.endpoint());
    let at = at.as_deref();
    let client = s3(&moto, &proxy).await;
    for bucket in ["important-files-bucket", "other-bucket"] {
        client.create_bucket().bucket(bucket).send().await.unwrap();
        set_versioning(&moto, &proxy, bucket, "Enabled").await;
        set_versioning(&moto, &proxy, bucket, "Suspended").await;
        assert_eq!(
            versioning(&moto, &proxy, bucket).await.as_deref(),
            Some("Suspended")
        );
    }
    let event = versioning_event("important-files-bucket");

    // WHEN the call arrives with the rule as shipped (shadow) THEN it is reported, nothing changes
    let shadow = execute_at(&moto, at, &event, false, "");
    assert_eq!(
        outcome(&shadow, "s3:PutBucketVersioning")["status"],
        "would_do"
    );
    assert_eq!(
        versioning(&moto, &proxy, "important-files-bucket")
            .await
            .as_deref(),
        Some("Suspended")
    );

    // WHEN promoted THEN versioning of that bucket is on again, read before and after
    let report = execute_at(&moto, at, &event, true, "");
    let o = outcome(&report, "s3:PutBucketVersioning");
    assert_eq!(o["status"], "done", "{o}");
    assert_eq!(o["before"]["Status"], "Suspended", "{o}");
    assert_eq!(o["after"]["Status"], "Enabled", "{o}");
    assert_eq!(
        versioning(&moto, &proxy, "important-files-bucket")
            .await
            .as_deref(),
        Some("Enabled")
    );
    // AND the other bucket was not touched
    assert_eq!(
        versioning(&moto, &proxy, "other-bucket").await.as_deref(),
        Some("Suspended")
    );

    // AND a second delivery finds it already in the target state
    let again = execute_at(&moto, at, &event, true, "");
    let o = outcome(&again, "s3:PutBucketVersioning");
    assert_eq!(o["status"], "already_done", "{o}");
}

#[tokio::test]
async fn versioning_of_a_bucket_that_does_not_exist_is_a_failure_not_done() {
    let moto = Moto::start();
    let proxy = s3_proxy(&moto);
    let report = execute_at(
        &moto,
        Some(&proxy.endpoint()),
        &versioning_event("gone-bucket"),
        true,
        "",
    );
    let o = outcome(&report, "s3:PutBucketVersioning");
    assert_eq!(o["status"], "failed", "{o}");
    assert_eq!(o["error_code"], "NotFound", "{o}");
}
