#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::decide::{Band, decide};
use crate::settings::Settings;
use crate::{Event, RuleSet};

const SCHEDULE: &str =
    include_str!("../../../tests/fixtures/events/aws.kms/ct-schedule-key-deletion.json");
const DISABLE: &str = include_str!("../../../tests/fixtures/events/aws.kms/ct-disable-key.json");
const DISABLE_NOT_FOUND: &str =
    include_str!("../../../tests/fixtures/events/aws.kms/ct-disable-key-not-found.json");
const DELETE_GROUP: &str =
    include_str!("../../../tests/fixtures/events/aws.logs/ct-delete-log-group.json");
const DELETE_GROUP_MISSING: &str =
    include_str!("../../../tests/fixtures/events/aws.logs/ct-delete-log-group-missing.json");
const STOP_LOGGING: &str =
    include_str!("../../../tests/fixtures/events/aws.cloudtrail/ct-stop-logging.json");

const ACCOUNT: &str = "123456789012";

fn event(text: &str) -> Event {
    Event::from_json(text).unwrap()
}

fn with_key(text: &str, key: &str) -> Event {
    let mut v: serde_json::Value = serde_json::from_str(text).unwrap();
    v["detail"]["requestParameters"]["keyId"] = key.into();
    event(&v.to_string())
}

fn key(k: KeyName) -> Destination {
    Destination::Key {
        key: k,
        account: ACCOUNT.into(),
        region: "us-west-2".into(),
    }
}

fn group(name: &str) -> Destination {
    Destination::LogGroup {
        name: name.into(),
        account: ACCOUNT.into(),
        region: "us-east-1".into(),
    }
}

fn trail(arn: &str, key: Option<&str>, group: Option<&str>) -> Trail {
    Trail {
        arn: arn.into(),
        kms_key_id: key.map(Into::into),
        log_group_arn: group.map(Into::into),
        s3_bucket: None,
    }
}

const DELETE_BUCKET: &str =
    include_str!("../../../tests/fixtures/events/aws.s3/ct-delete-bucket.json");
const DELETE_BUCKET_NOT_EMPTY: &str =
    include_str!("../../../tests/fixtures/events/aws.s3/ct-delete-bucket-not-empty.json");

#[test]
fn a_deleted_bucket_is_a_trails_by_its_exact_name() {
    // GIVEN the DeleteBucket fixtures: the successful one names its bucket, the refused one
    // (BucketNotEmpty) removes nothing
    let dest = Destination::of(&event(DELETE_BUCKET)).unwrap();
    assert_eq!(
        dest,
        Destination::Bucket {
            name: "my-test-bucket-cross-account".into(),
            account: ACCOUNT.into(),
            region: "us-east-2".into(),
        }
    );
    assert_eq!(Destination::of(&event(DELETE_BUCKET_NOT_EMPTY)), None);
    let on = |bucket: &str| Trail {
        s3_bucket: Some(bucket.into()),
        ..trail(TRAIL, None, None)
    };
    // WHEN a trail delivers to a bucket whose name only starts or ends like it
    let near = Found {
        trails: vec![
            on("my-test-bucket-cross-account-old"),
            on("x-my-test-bucket-cross-account"),
        ],
        flow_logs: vec![],
    };
    // THEN it is not used: Medium, saying no trail delivers to it
    let mut p = plan(DELETE_BUCKET);
    assert!(p.title.ends_with(MAYBE), "{}", p.title);
    apply(&mut p, &dest, &Check::of(&dest, Ok(&near)));
    assert_eq!(p.severity.band, Band::Medium);
    assert!(p.title.ends_with(", used by no trail"), "{}", p.title);
    assert!(
        p.reason.contains("none delivers to the bucket"),
        "{}",
        p.reason
    );
    // WHEN a trail delivers to exactly that bucket
    let used = Found {
        trails: vec![on("my-test-bucket-cross-account")],
        flow_logs: vec![],
    };
    let mut p = plan(DELETE_BUCKET);
    apply(&mut p, &dest, &Check::of(&dest, Ok(&used)));
    // THEN the alert is High and names the trail
    assert_eq!(p.severity.band, Band::High);
    assert_eq!(
        p.title,
        format!("S3 bucket my-test-bucket-cross-account deleted, used by trail {TRAIL}")
    );
}

const TRAIL: &str = "arn:aws:cloudtrail:us-west-2:123456789012:trail/management";
const KEY_ARN: &str = "arn:aws:kms:us-west-2:123456789012:key/1";

#[test]
fn the_destination_is_the_key_or_group_a_successful_call_names() {
    // GIVEN the fixtures of the three calls, failed ones included
    // THEN a successful call gives its key or group, in the call's account and region
    assert_eq!(
        Destination::of(&event(SCHEDULE)),
        Some(key(KeyName::Id("1".into())))
    );
    assert_eq!(
        Destination::of(&event(DISABLE)),
        Some(key(KeyName::Id("1".into())))
    );
    assert_eq!(
        Destination::of(&event(DELETE_GROUP)),
        Some(group("yourloggroup"))
    );
    // AND a failed call, another call, or a call with no key removes nothing
    assert_eq!(Destination::of(&event(DISABLE_NOT_FOUND)), None);
    assert_eq!(Destination::of(&event(DELETE_GROUP_MISSING)), None);
    assert_eq!(Destination::of(&event(STOP_LOGGING)), None);
    assert_eq!(Destination::of(&with_key(DISABLE, "")), None);
}

#[test]
fn a_key_is_named_by_id_arn_or_alias() {
    assert_eq!(KeyName::parse("1"), Some(KeyName::Id("1".into())));
    assert_eq!(KeyName::parse(KEY_ARN), Some(KeyName::Arn(KEY_ARN.into())));
    assert_eq!(
        KeyName::parse("alias/trail-key"),
        Some(KeyName::Alias("alias/trail-key".into()))
    );
    let alias_arn = "arn:aws:kms:us-west-2:123456789012:alias/trail-key";
    assert_eq!(
        KeyName::parse(alias_arn),
        Some(KeyName::Alias(alias_arn.into()))
    );
    // Not a key: another service's ARN, a key ARN without an id, a path.
    assert_eq!(KeyName::parse("arn:aws:s3:::bucket"), None);
    assert_eq!(
        KeyName::parse("arn:aws:kms:us-west-2:123456789012:key/"),
        None
    );
    assert_eq!(KeyName::parse("key/1"), None);
    assert_eq!(KeyName::parse(""), None);
    // The event's ARN form is read as such.
    assert_eq!(
        Destination::of(&with_key(DISABLE, KEY_ARN)),
        Some(key(KeyName::Arn(KEY_ARN.into())))
    );
}

#[test]
fn a_bare_key_id_matches_the_trails_key_arn_in_the_calls_account_and_region_only() {
    let found = |k: &str| Found {
        trails: vec![
            trail(TRAIL, Some(k), None),
            trail(
                "arn:aws:cloudtrail:us-west-2:123456789012:trail/plain",
                None,
                None,
            ),
        ],
        flow_logs: vec![],
    };
    let by_id = key(KeyName::Id("1".into()));
    let by_arn = key(KeyName::Arn(KEY_ARN.into()));
    // The trail's key ARN, named by id or by ARN.
    assert_eq!(users(&by_id, &found(KEY_ARN)), [User::Trail(TRAIL.into())]);
    assert_eq!(users(&by_arn, &found(KEY_ARN)), [User::Trail(TRAIL.into())]);
    // The same id in another account or region, or another key: not the call's key.
    for other in [
        "arn:aws:kms:us-west-2:444455556666:key/1",
        "arn:aws:kms:us-east-1:123456789012:key/1",
        "arn:aws:kms:us-west-2:123456789012:key/12",
        "arn:aws:kms:us-west-2:123456789012:alias/1",
        "1",
    ] {
        assert!(users(&by_id, &found(other)).is_empty(), "{other}");
        assert!(users(&by_arn, &found(other)).is_empty(), "{other}");
    }
    // An alias is never matched: which key it is is not known.
    let by_alias = key(KeyName::Alias("alias/1".into()));
    assert!(users(&by_alias, &found(KEY_ARN)).is_empty());
    assert_eq!(
        Check::of(&by_alias, Ok(&found(KEY_ARN))),
        Check::Alias {
            alias: "alias/1".into()
        }
    );
}

#[test]
fn a_log_group_arn_gives_its_exact_name() {
    assert_eq!(
        log_group_of_arn("arn:aws:logs:us-east-1:123456789012:log-group:yourloggroup:*"),
        Some(("us-east-1", ACCOUNT, "yourloggroup"))
    );
    assert_eq!(
        log_group_of_arn("arn:aws:logs:us-east-1:123456789012:log-group:/aws/x/y"),
        Some(("us-east-1", ACCOUNT, "/aws/x/y"))
    );
    assert_eq!(
        log_group_of_arn("arn:aws:logs:us-east-1:123456789012:log-group::*"),
        None
    );
    assert_eq!(
        log_group_of_arn("arn:aws:logs:us-east-1:123456789012:destination:d"),
        None
    );
    assert_eq!(
        log_group_of_arn("arn:aws:s3:us-east-1:123456789012:log-group:g:*"),
        None
    );
    assert_eq!(log_group_of_arn("yourloggroup"), None);
}

#[test]
fn a_log_group_is_a_trails_or_flow_logs_by_exact_name_account_and_region() {
    let arn = |region: &str, account: &str, name: &str| {
        format!("arn:aws:logs:{region}:{account}:log-group:{name}:*")
    };
    let trail_of = |g: String| trail(TRAIL, None, Some(&g));
    let dest = group("yourloggroup");
    let found = Found {
        trails: vec![trail_of(arn("us-east-1", ACCOUNT, "yourloggroup"))],
        flow_logs: vec![],
    };
    assert_eq!(users(&dest, &found), [User::Trail(TRAIL.into())]);
    for (region, account, name) in [
        ("us-east-1", ACCOUNT, "yourloggroup2"),
        ("us-east-1", ACCOUNT, "yourlog"),
        ("us-east-1", ACCOUNT, "YourLogGroup"),
        ("us-east-1", "444455556666", "yourloggroup"),
        ("us-west-2", ACCOUNT, "yourloggroup"),
    ] {
        let found = Found {
            trails: vec![trail_of(arn(region, account, name))],
            flow_logs: vec![],
        };
        assert!(users(&dest, &found).is_empty(), "{region} {account} {name}");
    }
    // Flow logs: by name, or by the group's ARN when given; never an S3 destination.
    let flow = |name: Option<&str>, destination: Option<String>, kind: &str| FlowLog {
        id: "fl-1".into(),
        resource_id: Some("vpc-1".into()),
        destination_type: Some(kind.into()),
        log_group_name: name.map(Into::into),
        log_destination: destination,
    };
    let with_flow = |f: FlowLog| Found {
        trails: vec![],
        flow_logs: vec![f],
    };
    let used = [User::FlowLog("fl-1 (vpc-1)".into())];
    assert_eq!(
        users(
            &dest,
            &with_flow(flow(Some("yourloggroup"), None, "cloud-watch-logs"))
        ),
        used
    );
    assert_eq!(
        users(
            &dest,
            &with_flow(flow(
                Some("yourloggroup"),
                Some(arn("us-east-1", ACCOUNT, "yourloggroup")),
                "cloud-watch-logs"
            ))
        ),
        used
    );
    assert!(
        users(
            &dest,
            &with_flow(flow(
                Some("yourloggroup"),
                Some(arn("us-east-1", "444455556666", "yourloggroup")),
                "cloud-watch-logs"
            ))
        )
        .is_empty()
    );
    assert!(
        users(
            &dest,
            &with_flow(flow(Some("other"), None, "cloud-watch-logs"))
        )
        .is_empty()
    );
    assert!(users(&dest, &with_flow(flow(Some("yourloggroup"), None, "s3"))).is_empty());
}

fn plan(text: &str) -> Plan {
    decide(
        &event(text),
        None,
        &RuleSet::builtin().unwrap(),
        &Settings::default(),
    )
}

#[test]
fn the_built_in_rules_are_medium_and_say_maybe_until_looked_up() {
    for text in [SCHEDULE, DISABLE, DELETE_GROUP] {
        let p = plan(text);
        assert_eq!(p.severity.band, Band::Medium, "{}", p.title);
        assert!(p.title.ends_with(MAYBE), "{}", p.title);
    }
}

#[test]
fn a_used_destination_makes_the_alert_high_and_names_the_trail() {
    let mut p = plan(SCHEDULE);
    let dest = Destination::of(&event(SCHEDULE)).unwrap();
    let found = Found {
        trails: vec![trail(TRAIL, Some(KEY_ARN), None)],
        flow_logs: vec![],
    };
    apply(&mut p, &dest, &Check::of(&dest, Ok(&found)));
    assert_eq!(p.severity.band, Band::High);
    assert_eq!(
        p.title,
        format!("KMS key 1: ScheduleKeyDeletion, used by trail {TRAIL}")
    );
    assert!(
        p.reason.contains(&format!("used by trail {TRAIL}")),
        "{}",
        p.reason
    );
    assert!(
        p.details
            .iter()
            .any(|d| d.value == format!("trail {TRAIL}"))
    );
}

#[test]
fn an_unused_destination_stays_medium_and_says_no_trail_uses_it() {
    let mut p = plan(DISABLE);
    let dest = Destination::of(&event(DISABLE)).unwrap();
    let found = Found {
        trails: vec![trail(
            TRAIL,
            Some("arn:aws:kms:us-west-2:123456789012:key/2"),
            None,
        )],
        flow_logs: vec![],
    };
    apply(&mut p, &dest, &Check::of(&dest, Ok(&found)));
    assert_eq!(p.severity.band, Band::Medium);
    assert_eq!(p.title, "KMS key 1: DisableKey, used by no trail");
    assert!(
        p.reason.contains("no trail in us-west-2 uses the key"),
        "{}",
        p.reason
    );

    let mut p = plan(DELETE_GROUP);
    let dest = Destination::of(&event(DELETE_GROUP)).unwrap();
    apply(&mut p, &dest, &Check::of(&dest, Ok(&Found::default())));
    assert_eq!(p.severity.band, Band::Medium);
    assert!(
        p.reason
            .contains("no trail or flow log in us-east-1 delivers to the log group"),
        "{}",
        p.reason
    );
}

#[test]
fn a_failed_lookup_or_an_alias_stays_medium_and_says_why() {
    let mut p = plan(DELETE_GROUP);
    let title = p.title.clone();
    let dest = Destination::of(&event(DELETE_GROUP)).unwrap();
    let failure = Failure {
        code: "AccessDeniedException".into(),
        message: "not authorized".into(),
    };
    apply(&mut p, &dest, &Check::of(&dest, Err(&failure)));
    assert_eq!(p.severity.band, Band::Medium);
    assert_eq!(p.title, title);
    assert!(
        p.reason.contains("could not check") && p.reason.contains("(AccessDeniedException)"),
        "{}",
        p.reason
    );

    let mut v: serde_json::Value = serde_json::from_str(SCHEDULE).unwrap();
    v["detail"]["requestParameters"]["keyId"] = "alias/trail-key".into();
    let text = v.to_string();
    let e = event(&text);
    let mut p = plan(&text);
    let dest = Destination::of(&e).unwrap();
    apply(&mut p, &dest, &Check::of(&dest, Ok(&Found::default())));
    assert_eq!(p.severity.band, Band::Medium);
    assert!(p.reason.contains("alias alias/trail-key"), "{}", p.reason);
}
