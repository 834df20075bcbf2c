//! Property test of the attack-sequence actions: whatever the resources of a sequence say (keys of
//! any shape and owner, roles, instances, other accounts, hostile names), every action the
//! built-in playbook plans targets a resource the sequence lists, in the finding's account, and
//! never a session key.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mamoru::action::Target;
use mamoru::decide::{RuleSet, decide};
use mamoru::{Event, Settings};
use mamoru_tests::fixture;
use proptest::prelude::*;
use serde_json::{Value, json};

const FIXTURE: &str = "aws.guardduty/finding-attacksequence-iam-compromisedcredentials.json";
const ACCOUNT: &str = "123456789012";

static RULES: std::sync::LazyLock<RuleSet> =
    std::sync::LazyLock::new(|| RuleSet::builtin().unwrap());

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9+=,.@_-]{1,20}",
        Just("john_doe".to_string()),
        Just("admin](http://x)".to_string()),
        Just("../root".to_string()),
        Just(String::new()),
    ]
}

fn uid() -> impl Strategy<Value = String> {
    prop_oneof![
        "AKIA[A-Z0-9]{16}",
        "ASIA[A-Z0-9]{16}",
        "i-[0-9a-f]{8,17}",
        "arn:aws:ec2:eu-west-1:(123456789012|444455556666):instance/i-[0-9a-f]{17}",
        "arn:aws:s3:::[a-z0-9-]{3,20}",
        "AKIA[a-z!<> ]{3,16}",
        "[A-Za-z0-9:/ -]{0,30}",
    ]
}

/// One `ResourceV2` of any type, owner and account.
fn resource() -> impl Strategy<Value = Value> {
    (
        uid(),
        prop_oneof![
            Just("ACCESS_KEY"),
            Just("EC2_INSTANCE"),
            Just("S3_BUCKET"),
            Just("EKS_CLUSTER"),
            Just("IAM_INSTANCE_PROFILE"),
        ],
        prop::option::of(prop_oneof![
            Just(ACCOUNT.to_string()),
            Just("444455556666".to_string()),
            Just(String::new()),
        ]),
        prop::option::of(prop_oneof![
            Just("IAMUser"),
            Just("AssumedRole"),
            Just("Root"),
            Just("FederatedUser")
        ]),
        prop::option::of(name()),
        prop::option::of(prop_oneof![
            Just("us-east-1".to_string()),
            Just("eu-west-1".to_string())
        ]),
    )
        .prop_map(|(uid, kind, account, user_type, user_name, region)| {
            let mut r = json!({"uid": uid, "resourceType": kind});
            if let Some(a) = account {
                r["accountId"] = a.into();
            }
            if let Some(region) = region {
                r["region"] = region.into();
            }
            if user_type.is_some() || user_name.is_some() {
                r["data"] = json!({"accessKey": {"principalId": "AIDAEXAMPLE"}});
                if let Some(t) = user_type {
                    r["data"]["accessKey"]["userType"] = t.into();
                }
                if let Some(n) = user_name {
                    r["data"]["accessKey"]["userName"] = n.into();
                }
            }
            r
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn sequence_actions_target_only_listed_resources(
        resources in prop::collection::vec(resource(), 0..8),
        severity in 0.0f64..=10.0,
    ) {
        let mut v: Value = serde_json::from_str(&fixture(FIXTURE)).unwrap();
        v["detail"]["severity"] = json!(severity);
        v["detail"]["service"]["detection"]["sequence"]["resources"] = Value::Array(resources.clone());
        let event = Event::from_json(&v.to_string()).unwrap();
        let plan = decide(&event, None, &RULES, &Settings::default());

        let listed = |kind: &'static str| resources.iter().filter(move |r| r["resourceType"] == kind);
        let in_account = |r: &Value| r["accountId"].as_str().is_none_or(|a| a.is_empty() || a == ACCOUNT);
        for p in &plan.actions {
            let a = &p.action;
            prop_assert_eq!(&a.account, ACCOUNT, "{:?}", a);
            match &a.target {
                Target::AccessKey { user_name, access_key_id } => {
                    prop_assert!(access_key_id.starts_with("AKIA"), "{:?}", a);
                    prop_assert!(
                        listed("ACCESS_KEY").any(|r| in_account(r)
                            && r["uid"] == access_key_id.as_str()
                            && r["data"]["accessKey"]["userType"] == "IAMUser"
                            && r["data"]["accessKey"]["userName"] == user_name.as_str()),
                        "key {} of {} is not a listed IAM user key", access_key_id, user_name
                    );
                }
                Target::Role { role_name } => prop_assert!(
                    listed("ACCESS_KEY").any(|r| in_account(r)
                        && r["data"]["accessKey"]["userType"] == "AssumedRole"
                        && r["data"]["accessKey"]["userName"] == role_name.as_str()),
                    "role {} has no listed session key", role_name
                ),
                Target::Instance { instance_id } => prop_assert!(
                    listed("EC2_INSTANCE").any(|r| in_account(r)
                        && r["uid"].as_str().is_some_and(|u| u == instance_id
                            || u.ends_with(&format!(":instance/{instance_id}")))
                        && r["region"].as_str().unwrap_or("us-east-1") == a.region),
                    "instance {} in {} is not listed", instance_id, a.region
                ),
                other => prop_assert!(false, "an action on something the sequence does not list: {:?}", other),
            }
        }
    }
}

#[test]
fn a_listed_key_of_another_account_is_not_acted_on() {
    // GIVEN the sequence's AKIA key listed in another account
    let mut v: Value = serde_json::from_str(&fixture(FIXTURE)).unwrap();
    v["detail"]["service"]["detection"]["sequence"]["resources"][0]["accountId"] =
        "444455556666".into();
    let event = Event::from_json(&v.to_string()).unwrap();

    // WHEN it is decided
    let plan = decide(&event, None, &RULES, &Settings::default());

    // THEN no key is deactivated, and the plan says why
    assert!(
        !plan
            .actions
            .iter()
            .any(|p| matches!(p.action.target, Target::AccessKey { .. })),
        "{:?}",
        plan.actions
    );
    assert!(
        plan.withheld
            .iter()
            .any(|w| w.reason.contains("444455556666")),
        "{:?}",
        plan.withheld
    );
}

#[test]
fn names_from_a_sequence_never_become_links_or_markup() {
    // GIVEN a sequence whose user, role and bucket names are crafted to look like markup
    let hostile_user = "eve](https://attacker.example/x)";
    let hostile_role = "<!channel>role";
    let hostile_bucket = "Bucket*with*stars";
    let event = mamoru_tests::scenario::event_with(FIXTURE, |v| {
        let seq = &mut v["detail"]["service"]["detection"]["sequence"];
        seq["actors"][0]["user"]["name"] = hostile_user.into();
        seq["actors"][1]["user"]["name"] = hostile_role.into();
        seq["resources"] = json!([{
            "uid": "arn:aws:s3:::x", "name": hostile_bucket, "resourceType": "S3_BUCKET"
        }, {
            "uid": "arn:aws:s3:::amzn-s3-demo-bucket", "resourceType": "S3_BUCKET"
        }]);
    });

    // WHEN it is rendered
    let message = mamoru::notify::render(&mamoru_tests::render::dry_run_report(&event));

    // THEN the valid bucket has its console link, the crafted names have none, and chat shows
    // the crafted names only inside code spans, without the characters chat acts on
    let links: Vec<String> = message.document["details"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["link"].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        links,
        ["https://console.aws.amazon.com/s3/buckets/amzn-s3-demo-bucket"],
        "{:#}",
        message.document["details"]
    );
    let chat = message.chatbot["content"]["description"].as_str().unwrap();
    assert!(!chat.contains("<!channel>"), "{chat}");
    assert!(
        chat.contains(&format!("`{hostile_user}`")),
        "the crafted name is shown only as code: {chat}"
    );
    let live: String = chat.split('`').step_by(2).collect::<Vec<_>>().join(" ");
    for markup in ["](https", "<!channel>", "https://attacker"] {
        assert!(!live.contains(markup), "{markup:?} is live in chat: {chat}");
    }
    let doc = message.document["details"].to_string();
    assert!(
        !doc.contains("]("),
        "document values are markdown-inert: {doc}"
    );
    assert!(!doc.contains("<!channel>"), "{doc}");
    // The email shows the names as text, and links only what the identifiers allow.
    assert!(
        !message.body.contains("/users/details/eve"),
        "{}",
        message.body
    );
    assert!(
        !message.body.contains("/roles/details/"),
        "{}",
        message.body
    );
}

#[test]
fn an_instance_the_sequence_lists_in_its_account_would_be_isolated_and_no_other() {
    // GIVEN the sequence with two EC2 instances added to its resources: one of the finding's
    // account (by ARN, in another region), one of another account
    let mut v: Value = serde_json::from_str(&fixture(FIXTURE)).unwrap();
    let resources = v["detail"]["service"]["detection"]["sequence"]["resources"]
        .as_array_mut()
        .unwrap();
    resources.push(json!({
        "uid": "arn:aws:ec2:eu-west-1:123456789012:instance/i-0123456789abcdef0",
        "resourceType": "EC2_INSTANCE",
        "accountId": ACCOUNT,
        "region": "eu-west-1",
    }));
    resources.push(json!({
        "uid": "arn:aws:ec2:us-east-1:444455556666:instance/i-0fedcba9876543210",
        "resourceType": "EC2_INSTANCE",
        "accountId": "444455556666",
        "region": "us-east-1",
    }));
    let event = Event::from_json(&v.to_string()).unwrap();

    // WHEN it is decided
    let plan = decide(&event, None, &RULES, &Settings::default());

    // THEN the instance of the account is isolated in its own region, in shadow (opt-in), and
    // the other account's instance is not
    let isolated: Vec<_> = plan
        .actions
        .iter()
        .filter_map(|p| match &p.action.target {
            Target::Instance { instance_id } => {
                Some((instance_id.as_str(), p.action.region.as_str(), p.shadow))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        isolated,
        [("i-0123456789abcdef0", "eu-west-1", true)],
        "{:?}",
        plan.actions
    );
    assert!(
        plan.withheld
            .iter()
            .any(|w| w.action == "isolate_instance" && w.reason.contains("444455556666")),
        "{:?}",
        plan.withheld
    );
}
