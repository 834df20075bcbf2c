//! One hub for the organization: mamoru acts in the account that owns the resource, through
//! the member role, never on a same-named resource of its own account. moto holds several
//! accounts at once (the hub is moto's default account, 123456789012) and binds what an
//! assumed role's credentials create to that role's account.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use aws_config::SdkConfig;
use mamoru_tests::faults::{FaultMix, FaultProxy};
use mamoru_tests::scenario::{self, event_with};
use mamoru_tests::{FunctionProcess, Moto, RuntimeApi, binary};
use serde_json::Value;

const REGION: &str = "us-east-1";
const HUB: &str = "123456789012";
const MEMBER: &str = "444455556666";
const OTHER: &str = "777788889999";

fn org_env(moto: &Moto, endpoint: Option<String>) -> Vec<(String, String)> {
    let mut env = moto.env(REGION);
    if let Some(e) = endpoint {
        for (k, v) in env.iter_mut() {
            if k == "AWS_ENDPOINT_URL" {
                *v = e.clone();
            }
        }
    }
    env.push(("MAMORU_MODE".into(), "enforce".into()));
    env.push(("MAMORU_MEMBER_ROLE_NAME".into(), "mamoru-member".into()));
    env.push(("MAMORU_HUB_ACCOUNT".into(), HUB.into()));
    env
}

async fn user_with_key(sdk: &SdkConfig, user: &str) -> String {
    let iam = aws_sdk_iam::Client::new(sdk);
    iam.create_user().user_name(user).send().await.unwrap();
    iam.create_access_key()
        .user_name(user)
        .send()
        .await
        .unwrap()
        .access_key
        .unwrap()
        .access_key_id
}

async fn key_status(sdk: &SdkConfig, user: &str, key: &str) -> String {
    aws_sdk_iam::Client::new(sdk)
        .list_access_keys()
        .user_name(user)
        .send()
        .await
        .unwrap()
        .access_key_metadata
        .into_iter()
        .find(|k| k.access_key_id.as_deref() == Some(key))
        .and_then(|k| k.status)
        .map(|s| s.as_str().to_string())
        .unwrap()
}

/// A finding on `user`'s key in `account`, delivered to the hub (the envelope's account).
fn member_finding(account: &str, user: &str, key: &str) -> String {
    event_with(
        "constructed/finding-iamuser-key-malicious-ip-high.json",
        |v| {
            v["account"] = HUB.into();
            v["detail"]["accountId"] = account.into();
            v["detail"]["resource"]["accessKeyDetails"]["userName"] = user.into();
            v["detail"]["resource"]["accessKeyDetails"]["accessKeyId"] = key.into();
        },
    )
}

/// `mamoru replay --json --execute` over event files, in one process (one actor).
fn replay(env: &[(String, String)], events: &[String]) -> Vec<Value> {
    let dir = std::env::temp_dir().join(format!(
        "mamoru-org-{}-{}",
        std::process::id(),
        events.len()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let mut cmd = Command::new(binary("mamoru"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        // Many events, one principal: without memory, so that no remediation budget or repeat
        // digest withholds what the test counts.
        .args(["replay", "--json", "--execute", "--state", "none"]);
    for (i, e) in events.iter().enumerate() {
        let f = dir.join(format!("event-{i}.json"));
        std::fs::write(&f, e).unwrap();
        cmd.arg(f);
    }
    let out = cmd.output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test]
async fn a_members_key_is_deactivated_in_the_member_and_a_same_named_hub_key_is_untouched() {
    // GIVEN user alice with a key in the member account, and a same-named user in the hub
    let moto = Moto::start();
    let (topic, queue) = moto.topic_with_queue(REGION, "alerts").await;
    let member = moto.sdk_in(MEMBER, REGION).await;
    let member_key = user_with_key(&member, "alice").await;
    let hub = moto.sdk(REGION).await;
    let hub_key = user_with_key(&hub, "alice").await;

    // WHEN the guardduty function, as built, gets the member's finding in the hub
    let api = RuntimeApi::start();
    let mut env = org_env(&moto, None);
    env.push(("MAMORU_TOPIC_ARN".into(), topic.clone()));
    let _process = FunctionProcess::start_function("mamoru-guardduty", &api, &env);
    let r = api.invoke(&member_finding(MEMBER, "alice", &member_key));

    // THEN the member's key is Inactive, the hub's same-named user keeps its key Active
    let resp = r.response();
    assert_eq!(resp["outcomes"][0]["status"], "done", "{resp}");
    assert_eq!(key_status(&member, "alice", &member_key).await, "Inactive");
    assert_eq!(key_status(&hub, "alice", &hub_key).await, "Active");
    // AND the alert names the member account
    let notes = scenario::notifications(&moto, REGION, &queue).await;
    assert_eq!(notes.len(), 1);
    assert_eq!(
        notes[0]["MessageAttributes"]["account"]["Value"], MEMBER,
        "{}",
        notes[0]
    );
    assert!(
        notes[0]["Subject"].as_str().unwrap().contains(MEMBER),
        "{}",
        notes[0]["Subject"]
    );
}

#[tokio::test]
async fn a_forwarded_stop_restarts_the_members_trail_and_recorder_and_not_the_hubs() {
    let moto = Moto::start();
    let member = moto.sdk_in(OTHER, "eu-west-1").await;
    // GIVEN a stopped trail (home region eu-west-1) and a stopped recorder in the member
    let bucket = "member-trail-logs";
    moto.create_bucket(bucket);
    let ct = aws_sdk_cloudtrail::Client::new(&member);
    let trail = ct
        .create_trail()
        .name("org-trail")
        .s3_bucket_name(bucket)
        .send()
        .await
        .unwrap()
        .trail_arn
        .unwrap();
    assert!(trail.contains(OTHER), "{trail}");
    let cfg_member = aws_sdk_config::Client::new(&moto.sdk_in(OTHER, REGION).await);
    put_stopped_recorder(&cfg_member, OTHER).await;
    // AND a stopped recorder of the same name in the hub
    let cfg_hub = aws_sdk_config::Client::new(&moto.sdk(REGION).await);
    put_stopped_recorder(&cfg_hub, HUB).await;

    // WHEN the member's StopLogging and StopConfigurationRecorder arrive on the hub's bus
    let stop = event_with("aws.cloudtrail/ct-stop-logging.json", |v| {
        v["account"] = OTHER.into();
        v["detail"]["recipientAccountId"] = OTHER.into();
        v["detail"]["requestParameters"]["name"] = trail.clone().into();
    });
    let recorder = event_with("aws.config/ct-stop-configuration-recorder.json", |v| {
        v["account"] = OTHER.into();
        v["region"] = REGION.into();
        v["detail"]["awsRegion"] = REGION.into();
        v["detail"]["recipientAccountId"] = OTHER.into();
        v["detail"]["requestParameters"]["configurationRecorderName"] = "default".into();
    });
    let out = replay(&org_env(&moto, None), &[stop, recorder]);

    // THEN the member's trail logs again in its home region, and the member's recorder records
    assert_eq!(out[0]["outcomes"][0]["status"], "done", "{out:?}");
    assert_eq!(out[0]["outcomes"][0]["region"], "eu-west-1", "{out:?}");
    let status = ct.get_trail_status().name(&trail).send().await.unwrap();
    assert_eq!(status.is_logging, Some(true));
    assert_eq!(out[1]["outcomes"][0]["status"], "done", "{out:?}");
    assert!(recording(&cfg_member).await);
    // AND the hub's recorder is untouched
    assert!(!recording(&cfg_hub).await);
}

async fn put_stopped_recorder(cfg: &aws_sdk_config::Client, account: &str) {
    use aws_sdk_config::types::{ConfigurationRecorder, DeliveryChannel};
    cfg.put_configuration_recorder()
        .configuration_recorder(
            ConfigurationRecorder::builder()
                .name("default")
                .role_arn(format!("arn:aws:iam::{account}:role/config-recorder"))
                .build(),
        )
        .send()
        .await
        .unwrap();
    cfg.put_delivery_channel()
        .delivery_channel(
            DeliveryChannel::builder()
                .name("default")
                .s3_bucket_name("config-bucket")
                .build(),
        )
        .send()
        .await
        .unwrap();
}

async fn recording(cfg: &aws_sdk_config::Client) -> bool {
    cfg.describe_configuration_recorder_status()
        .configuration_recorder_names("default")
        .send()
        .await
        .unwrap()
        .configuration_recorders_status
        .unwrap_or_default()
        .first()
        .is_some_and(|s| s.recording)
}

#[tokio::test]
async fn a_member_role_that_cannot_be_assumed_fails_naming_the_account_and_changes_nothing() {
    let moto = Moto::start();
    let member = moto.sdk_in(MEMBER, REGION).await;
    let key = user_with_key(&member, "alice").await;
    // GIVEN STS denies the member role (through a proxy in front of moto)
    let proxy = FaultProxy::start(
        moto.port(),
        FaultMix {
            denied: 1.0,
            only_operation: Some("AssumeRole"),
            ..FaultMix::none()
        },
    );
    let out = replay(
        &org_env(&moto, Some(proxy.endpoint())),
        &[member_finding(MEMBER, "alice", &key)],
    );
    let outcome = &out[0]["outcomes"][0];
    assert_eq!(outcome["status"], "failed", "{out:?}");
    assert_eq!(outcome["account"], MEMBER);
    assert_eq!(
        outcome["message"],
        format!(
            "mamoru cannot act in {MEMBER}: role arn:aws:iam::{MEMBER}:role/mamoru/mamoru-member not assumable (AccessDenied)"
        )
    );
    assert_eq!(key_status(&member, "alice", &key).await, "Active");
    // AND nothing reached IAM at all
    assert!(
        proxy
            .seen()
            .iter()
            .all(|s| !s.operation.contains("UpdateAccessKey")),
        "{:?}",
        proxy.seen()
    );
}

#[tokio::test]
async fn two_hundred_events_across_twenty_accounts_and_three_regions_assume_twenty_roles() {
    let moto = Moto::start();
    let proxy = FaultProxy::start(moto.port(), FaultMix::none());
    let regions = ["us-east-1", "eu-west-1", "ap-southeast-2"];
    let events: Vec<String> = (0..200)
        .map(|i| {
            let account = format!("{:012}", 500_000_000_000u64 + (i % 20));
            let region = regions[i as usize % 3];
            event_with("aws.guardduty/ct-update-detector-disable.json", |v| {
                v["account"] = account.clone().into();
                v["region"] = region.into();
                v["id"] = format!("event-{i}").into();
                v["detail"]["awsRegion"] = region.into();
                v["detail"]["recipientAccountId"] = account.clone().into();
            })
        })
        .collect();
    let out = replay(&org_env(&moto, Some(proxy.endpoint())), &events);
    assert_eq!(out.len(), 200);
    // Every event was acted on in its own account (moto has no such detectors: each update
    // fails, after the role was assumed).
    for (i, o) in out.iter().enumerate() {
        let account = format!("{:012}", 500_000_000_000u64 + (i as u64 % 20));
        assert_eq!(o["outcomes"][0]["account"], account.as_str(), "{o}");
    }
    let assumed = proxy
        .seen()
        .iter()
        .filter(|s| s.operation.contains("AssumeRole"))
        .count();
    assert_eq!(assumed, 20);
}

#[tokio::test]
async fn out_of_scope_and_dry_run_accounts_are_not_acted_on() {
    let moto = Moto::start();
    let member = moto.sdk_in(MEMBER, REGION).await;
    let key = user_with_key(&member, "alice").await;
    let event = member_finding(MEMBER, "alice", &key);

    let mut denied = org_env(&moto, None);
    denied.push(("MAMORU_ACCOUNTS_DENY".into(), MEMBER.into()));
    let out = replay(&denied, std::slice::from_ref(&event));
    assert!(out[0]["outcomes"].as_array().unwrap().is_empty(), "{out:?}");
    assert!(
        out[0]["reason"].as_str().unwrap().contains("out of scope"),
        "{out:?}"
    );

    let mut allow_other = org_env(&moto, None);
    allow_other.push(("MAMORU_ACCOUNTS_ALLOW".into(), OTHER.into()));
    let out = replay(&allow_other, std::slice::from_ref(&event));
    assert!(out[0]["outcomes"].as_array().unwrap().is_empty(), "{out:?}");

    let mut dry = org_env(&moto, None);
    dry.push(("MAMORU_ACCOUNT_MODES".into(), format!("{MEMBER}=dry-run")));
    let out = replay(&dry, std::slice::from_ref(&event));
    assert_eq!(out[0]["outcomes"][0]["status"], "would_do", "{out:?}");
    assert_eq!(key_status(&member, "alice", &key).await, "Active");

    // AND with the member in scope and enforced, the same event acts
    let out = replay(&org_env(&moto, None), &[event]);
    assert_eq!(out[0]["outcomes"][0]["status"], "done", "{out:?}");
    assert_eq!(key_status(&member, "alice", &key).await, "Inactive");
}
