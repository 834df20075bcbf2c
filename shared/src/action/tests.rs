use std::collections::BTreeSet;

use super::iam_names::{IAM_ACTIONS, authorising};
use super::*;

#[test]
fn arn_region_reads_the_fourth_field() {
    assert_eq!(
        arn_region("arn:aws:cloudtrail:eu-west-1:123456789012:trail/org"),
        Some("eu-west-1")
    );
    assert_eq!(arn_region("arn:aws:iam::123456789012:role/x"), None);
    assert_eq!(arn_region("org-trail"), None);
}

#[test]
fn action_names_round_trip() {
    for k in ActionKind::ALL {
        assert_eq!(k.name().parse::<ActionKind>(), Ok(*k));
    }
    assert!("delete_everything".parse::<ActionKind>().is_err());
}

/// The registry test: every action declares grants (with a resource for each), its own API is
/// authorised by one of them, every IAM action it names is a known one, and each known one is
/// used; every action has words for each status, a summary and a description.
#[test]
fn every_action_declares_what_it_needs() {
    let known: BTreeSet<&str> = IAM_ACTIONS.iter().map(|a| a.iam).collect();
    assert_eq!(known.len(), IAM_ACTIONS.len(), "IAM_ACTIONS has a repeat");
    let mut used = BTreeSet::new();
    let mut names = BTreeSet::new();
    for kind in ActionKind::ALL {
        let d = kind.def();
        assert!(names.insert(d.name()), "{} is registered twice", d.name());
        assert!(!d.grants().is_empty(), "{kind}: no grants");
        for g in d.grants() {
            assert!(!g.actions.is_empty() && !g.resources.is_empty(), "{kind}");
            for a in g.actions {
                assert!(
                    known.contains(a),
                    "{kind}: {a} is not in iam_names::IAM_ACTIONS"
                );
                used.insert(*a);
            }
            for r in g.resources {
                assert!(
                    *r == "*" || r.starts_with("arn:${AWS::Partition}:"),
                    "{kind}: resource {r}"
                );
            }
            if g.resources == ["*"] {
                // Every resource: reads, or writes held to the region by a condition.
                for a in g.actions {
                    let op = a.split_once(':').map(|(_, o)| o).unwrap_or("");
                    let read = ["Describe", "Get", "List"]
                        .iter()
                        .any(|p| op.starts_with(p));
                    assert!(
                        read || matches!(
                            g.condition,
                            Condition::StackRegion | Condition::DomainsRegion
                        ),
                        "{kind}: {a} on every resource with no condition"
                    );
                }
            }
        }
        let own = authorising(d.api());
        assert!(
            !own.is_empty(),
            "{kind}: api {} is not a known operation",
            d.api()
        );
        assert!(
            own.iter().any(|a| kind.permissions().contains(&a.iam)),
            "{kind} must be granted one of {own:?} for its own call {}",
            d.api()
        );
        let w = d.words();
        let phrases = [w.done, w.already, w.would, w.noun, w.withheld];
        assert!(phrases.iter().all(|p| !p.trim().is_empty()), "{kind}");
        let distinct: BTreeSet<&str> = phrases.iter().copied().collect();
        assert_eq!(
            distinct.len(),
            phrases.len(),
            "{kind}: two statuses share words"
        );
        assert!(
            !d.summary().is_empty() && !d.detail_types().is_empty(),
            "{kind}"
        );
    }
    // The log destination lookup's reads are granted by it, not by an action.
    for a in crate::lookup::GRANT.actions {
        assert!(
            known.contains(a),
            "lookup: {a} is not in iam_names::IAM_ACTIONS"
        );
        used.insert(*a);
    }
    let unused: Vec<&&str> = known.difference(&used).collect();
    assert!(
        unused.is_empty(),
        "listed but granted by no action: {unused:?}"
    );
}

/// Every action is used by a built-in rule (a rule that names it, enforced or shadow).
#[test]
fn every_action_is_used_by_a_builtin_rule() {
    let rules = crate::decide::RuleSet::builtin().expect("the built-in rules compile");
    let used: BTreeSet<ActionKind> = rules
        .rules()
        .iter()
        .flat_map(|r| r.actions.iter().copied())
        .collect();
    for kind in ActionKind::ALL {
        assert!(used.contains(kind), "{kind}: no built-in rule uses it");
    }
}

/// docs/rules.md lists every action, from the registry. `MAMORU_BLESS=1` rewrites the table.
#[test]
fn docs_rules_md_lists_the_registry() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/rules.md");
    let text = std::fs::read_to_string(path).expect("docs/rules.md");
    let begin = text
        .find("<!-- actions:begin")
        .expect("the actions:begin marker");
    let begin = begin + text[begin..].find("-->\n").expect("marker end") + 4;
    let end = text
        .find("<!-- actions:end -->")
        .expect("the actions:end marker");
    let want = docs_table();
    if text[begin..end] != want {
        if std::env::var_os("MAMORU_BLESS").is_some() {
            let new = format!("{}{}{}", &text[..begin], want, &text[end..]);
            std::fs::write(path, new).expect("write docs/rules.md");
        } else {
            panic!(
                "docs/rules.md's action table is stale: run MAMORU_BLESS=1 cargo test -p mamoru-core --lib action"
            );
        }
    }
    for kind in ActionKind::ALL {
        assert!(want.contains(&format!("| `{}` |", kind.name())), "{kind}");
    }
}

/// A CloudTrail record of an action's own call is recognised as restoring, and the same API used
/// to weaken is not.
#[test]
fn own_calls_are_restoring_and_weakening_uses_of_the_same_api_are_not() {
    let call = |source: &str, name: &str, params: serde_json::Value| -> CloudTrailCall {
        serde_json::from_value(serde_json::json!({
            "eventSource": source, "eventName": name, "awsRegion": "us-east-1",
            "userIdentity": {"type": "AssumedRole"}, "requestParameters": params
        }))
        .expect("a CloudTrail record")
    };
    let cases = [
        (
            call(
                "s3.amazonaws.com",
                "PutBucketVersioning",
                serde_json::json!({"bucketName": "b", "VersioningConfiguration": {"Status": "Enabled"}}),
            ),
            true,
        ),
        (
            call(
                "s3.amazonaws.com",
                "PutBucketVersioning",
                serde_json::json!({"bucketName": "b", "VersioningConfiguration": {"Status": "Suspended"}}),
            ),
            false,
        ),
        (
            call(
                "iam.amazonaws.com",
                "UpdateAccessKey",
                serde_json::json!({"status": "Inactive"}),
            ),
            true,
        ),
        (
            call(
                "iam.amazonaws.com",
                "UpdateAccessKey",
                serde_json::json!({"status": "Active"}),
            ),
            false,
        ),
        (
            call(
                "guardduty.amazonaws.com",
                "UpdateDetector",
                serde_json::json!({"enable": true}),
            ),
            true,
        ),
        (
            call(
                "guardduty.amazonaws.com",
                "UpdateDetector",
                serde_json::json!({"enable": false}),
            ),
            false,
        ),
        (
            call(
                "cloudtrail.amazonaws.com",
                "StartLogging",
                serde_json::json!({"name": "t"}),
            ),
            true,
        ),
        (
            call(
                "cloudtrail.amazonaws.com",
                "StopLogging",
                serde_json::json!({"name": "t"}),
            ),
            false,
        ),
        (
            call(
                "ec2.amazonaws.com",
                "CreateSecurityGroup",
                serde_json::json!({"groupName": QUARANTINE_GROUP}),
            ),
            true,
        ),
        (
            call(
                "ec2.amazonaws.com",
                "CreateSecurityGroup",
                serde_json::json!({"groupName": "open"}),
            ),
            false,
        ),
        (
            call(
                "guardduty.amazonaws.com",
                "UpdateIPSet",
                serde_json::json!({"activate": false}),
            ),
            true,
        ),
        (
            call(
                "guardduty.amazonaws.com",
                "UpdateIPSet",
                serde_json::json!({"activate": false, "location": "https://example.com/x"}),
            ),
            false,
        ),
        (
            call(
                "iam.amazonaws.com",
                "DeleteRolePolicy",
                serde_json::json!({}),
            ),
            false,
        ),
        // Taking a snapshot's or an AMI's permissions back is mamoru's call; sharing is not.
        (
            call(
                "ec2.amazonaws.com",
                "ModifySnapshotAttribute",
                serde_json::json!({"snapshotId": "snap-1", "createVolumePermission": {"remove": {"items": [{"group": "all"}]}}}),
            ),
            true,
        ),
        (
            call(
                "ec2.amazonaws.com",
                "ModifySnapshotAttribute",
                serde_json::json!({"snapshotId": "snap-1", "createVolumePermission": {"add": {"items": [{"userId": "444455556666"}]}}}),
            ),
            false,
        ),
        (
            call(
                "ec2.amazonaws.com",
                "ModifyImageAttribute",
                serde_json::json!({"imageId": "ami-1", "launchPermission": {"remove": {"items": [{"userId": "444455556666"}]}}}),
            ),
            true,
        ),
        (
            call(
                "ec2.amazonaws.com",
                "ModifyImageAttribute",
                serde_json::json!({"imageId": "ami-1", "launchPermission": {"add": {"items": [{"group": "all"}]}}}),
            ),
            false,
        ),
        (
            call(
                "ec2.amazonaws.com",
                "DisableSerialConsoleAccess",
                serde_json::json!({"DisableSerialConsoleAccessRequest": ""}),
            ),
            true,
        ),
        (
            call(
                "ec2.amazonaws.com",
                "EnableSerialConsoleAccess",
                serde_json::json!({"EnableSerialConsoleAccessRequest": ""}),
            ),
            false,
        ),
        (
            call(
                "ec2.amazonaws.com",
                "EnableEbsEncryptionByDefault",
                serde_json::json!({}),
            ),
            true,
        ),
        (
            call(
                "ec2.amazonaws.com",
                "DisableEbsEncryptionByDefault",
                serde_json::json!({}),
            ),
            false,
        ),
    ];
    for (c, want) in cases {
        assert_eq!(
            is_restoring_call(&c),
            want,
            "{} {:?}",
            c.event_name,
            c.request_parameters
        );
    }
}

/// Security Hub S3.1: the account's public access block, bound to the finding's own account and
/// region; an `AwsAccount` resource of another account, a malformed one, or none is a typed
/// error naming the field.
#[test]
fn account_public_access_block_binds_to_the_findings_own_account() {
    use crate::event::securityhub::fixture_event;
    let kind = ActionKind::RestoreAccountPublicAccessBlock;
    let ok = kind
        .bind(&fixture_event("imported-s3-1.json", |_| {}))
        .expect("bound");
    assert_eq!(ok.account, "111122223333");
    assert_eq!(ok.region, "us-east-1");
    assert_eq!(ok.target, Target::AccountPublicAccessBlock);
    assert_eq!(
        ok.params()["PublicAccessBlockConfiguration"],
        serde_json::json!({"BlockPublicAcls": true, "IgnorePublicAcls": true,
            "BlockPublicPolicy": true, "RestrictPublicBuckets": true})
    );

    // The finding's region, not the envelope's (the aggregation region).
    let moved = kind
        .bind(&fixture_event("imported-s3-1.json", |v| {
            v["region"] = "eu-west-1".into();
            v["detail"]["findings"][0]["Region"] = "ap-northeast-1".into();
        }))
        .expect("bound");
    assert_eq!(moved.region, "ap-northeast-1");

    let other = kind
        .bind(&fixture_event("imported-s3-1.json", |v| {
            v["detail"]["findings"][0]["Resources"][0]["Id"] = "AWS::::Account:444455556666".into();
        }))
        .expect_err("another account's resource");
    assert!(
        other.contains("444455556666") && other.contains("AwsAccountId"),
        "{other}"
    );

    let malformed = kind
        .bind(&fixture_event("imported-s3-1.json", |v| {
            v["detail"]["findings"][0]["Resources"][0]["Id"] =
                "arn:aws:iam::111122223333:root".into();
        }))
        .expect_err("not an AwsAccount Id");
    assert!(malformed.contains("AwsAccount resource Id"), "{malformed}");

    let none = kind
        .bind(&fixture_event("imported-s3-8.json", |_| {}))
        .expect_err("a bucket finding names no account resource");
    assert!(none.contains("AwsAccount"), "{none}");
}
