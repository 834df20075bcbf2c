//! Property tests of the decision engine's safety invariants, over generated events built from
//! the fixtures with random identifiers, regions, principals, severities and outcomes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mamoru::action::Target;
use mamoru::decide::{RuleSet, decide};
use mamoru::{Event, Settings};
use mamoru_tests::fixture;
use proptest::prelude::*;
use serde_json::{Value, json};

static RULES: std::sync::LazyLock<RuleSet> =
    std::sync::LazyLock::new(|| RuleSet::builtin().unwrap());

fn ident() -> impl Strategy<Value = String> {
    "[A-Za-z0-9+=,.@_-]{1,64}"
}

fn region() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("us-east-1".to_string()),
        Just("eu-west-1".to_string()),
        Just("ap-southeast-2".to_string()),
        "[a-z]{2}-[a-z]{4,9}-[1-9]",
    ]
}

fn key_id() -> impl Strategy<Value = String> {
    prop_oneof![
        "AKIA[A-Z0-9]{16}",
        "ASIA[A-Z0-9]{16}",
        "[A-Z0-9]{20}",
        Just("GeneratedFindingAccessKeyId".to_string()),
    ]
}

/// A GuardDuty finding on an access key, with everything that matters randomised.
fn finding() -> impl Strategy<Value = Value> {
    (
        ident(),
        key_id(),
        prop_oneof![
            Just("IAMUser"),
            Just("AssumedRole"),
            Just("Root"),
            Just("FederatedUser")
        ],
        0.0f64..=10.0,
        region(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(user, key, user_type, severity, region, sample, archived)| {
                let mut v: Value = serde_json::from_str(&fixture(
                    "constructed/finding-iamuser-key-malicious-ip-high.json",
                ))
                .unwrap();
                let d = &mut v["detail"];
                d["resource"]["accessKeyDetails"] =
                    json!({"userName": user, "accessKeyId": key, "userType": user_type});
                d["severity"] = json!(severity);
                d["region"] = json!(region);
                d["service"]["archived"] = json!(archived);
                if sample {
                    d["service"]["additionalInfo"] = json!({"sample": true});
                }
                v["region"] = json!(region);
                v
            },
        )
}

/// A CloudTrail tamper call, with random names, regions and outcome.
fn tamper_call() -> impl Strategy<Value = Value> {
    (
        prop_oneof![
            Just(("aws.cloudtrail/ct-stop-logging.json", "name")),
            Just((
                "aws.guardduty/ct-update-detector-disable.json",
                "detectorId"
            )),
            Just((
                "aws.config/ct-stop-configuration-recorder.json",
                "configurationRecorderName"
            )),
            Just(("aws.cloudtrail/ct-delete-trail.json", "name")),
        ],
        ident(),
        region(),
        region(),
        any::<bool>(),
        any::<bool>(),
        prop::option::of("[A-Za-z]{3,30}"),
    )
        .prop_map(
            |((file, param), name, call_region, arn_region, as_arn, enable, error)| {
                let mut v: Value = serde_json::from_str(&fixture(file)).unwrap();
                let value = if as_arn && param == "name" {
                    format!("arn:aws:cloudtrail:{arn_region}:123456789012:trail/{name}")
                } else {
                    name
                };
                let d = &mut v["detail"];
                d["requestParameters"][param] = json!(value);
                if param == "detectorId" {
                    d["requestParameters"]["enable"] = json!(enable);
                }
                d["awsRegion"] = json!(call_region);
                if let Some(code) = error {
                    d["errorCode"] = json!(code);
                }
                v["region"] = json!(call_region);
                v
            },
        )
}

/// A call sharing an EBS snapshot or an AMI, with random IDs, regions, outcome and items (the
/// `all` group, the owner's account, and other accounts).
fn sharing_call() -> impl Strategy<Value = Value> {
    (
        prop_oneof![
            Just((
                "aws.ec2/ct-modify-snapshot-attribute-share-account.json",
                "snap",
                "snapshotId",
                "createVolumePermission"
            )),
            Just((
                "aws.ec2/ct-modify-image-attribute-share-account.json",
                "ami",
                "imageId",
                "launchPermission"
            )),
        ],
        "[0-9a-f]{8,17}",
        prop::collection::vec(
            prop_oneof![
                Just(json!({"group": "all"})),
                Just(json!({"userId": "123456789012"})),
                Just(json!({"userId": "444455556666"})),
                "[0-9]{12}".prop_map(|a| json!({"userId": a})),
            ],
            0..4,
        ),
        prop_oneof![Just("add"), Just("remove")],
        region(),
        prop::option::of("[A-Za-z.]{3,30}"),
    )
        .prop_map(
            |((file, prefix, param, attribute), suffix, items, op, call_region, error)| {
                let mut v: Value = serde_json::from_str(&fixture(file)).unwrap();
                let d = &mut v["detail"];
                d["requestParameters"][param] = json!(format!("{prefix}-{suffix}"));
                d["requestParameters"][attribute] = json!({ op: { "items": items } });
                d["awsRegion"] = json!(call_region);
                if let Some(code) = error {
                    d["errorCode"] = json!(code);
                }
                v["region"] = json!(call_region);
                v
            },
        )
}

/// A call sharing an RDS DB snapshot or DB cluster snapshot through its `restore` attribute,
/// with random identifiers (valid or not), regions, outcome, attribute and values.
fn db_sharing_call() -> impl Strategy<Value = Value> {
    (
        prop_oneof![
            Just((
                "aws.rds/ct-modify-db-snapshot-attribute-share-account.json",
                "dBSnapshotIdentifier"
            )),
            Just((
                "constructed/ct-modify-db-cluster-snapshot-attribute-share.json",
                "dBClusterSnapshotIdentifier"
            )),
        ],
        prop_oneof!["[a-z][a-z0-9-]{0,20}", "[ -~]{0,30}"],
        prop::collection::vec(
            prop_oneof![
                Just(json!("all")),
                Just(json!("123456789012")),
                Just(json!("444455556666")),
                "[0-9]{12}".prop_map(|a| json!(a)),
            ],
            0..4,
        ),
        prop_oneof![Just("valuesToAdd"), Just("valuesToRemove")],
        prop_oneof![Just("restore"), Just("other")],
        region(),
        prop::option::of("[A-Za-z.]{3,30}"),
    )
        .prop_map(
            |((file, param), id, values, op, attribute, call_region, error)| {
                let mut v: Value = serde_json::from_str(&fixture(file)).unwrap();
                let d = &mut v["detail"];
                d["requestParameters"] =
                    json!({ param: id, "attributeName": attribute, op: values });
                d["awsRegion"] = json!(call_region);
                if let Some(code) = error {
                    d["errorCode"] = json!(code);
                }
                v["region"] = json!(call_region);
                v
            },
        )
}

/// The items a generated sharing call adds: whether `all`, and the accounts.
fn added(d: &Value, attribute: &str) -> (bool, Vec<String>) {
    let items = d["requestParameters"][attribute]["add"]["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let public = items.iter().any(|i| i["group"] == "all");
    let accounts = items
        .iter()
        .filter_map(|i| i["userId"].as_str().map(str::to_string))
        .collect();
    (public, accounts)
}

fn check_plan(v: &Value) -> Result<(), TestCaseError> {
    let event = Event::from_json(&v.to_string()).unwrap();
    let plan = decide(&event, None, &RULES, &Settings::default());
    let d = &v["detail"];
    for p in &plan.actions {
        let a = &p.action;
        prop_assert_eq!(&a.account, &event.account);
        match &a.target {
            Target::AccessKey {
                user_name,
                access_key_id,
            } => {
                let k = &d["resource"]["accessKeyDetails"];
                prop_assert_eq!(k["userName"].as_str(), Some(user_name.as_str()));
                prop_assert_eq!(k["accessKeyId"].as_str(), Some(access_key_id.as_str()));
                prop_assert!(
                    access_key_id.starts_with("AKIA"),
                    "only long-term keys: {}",
                    access_key_id
                );
                prop_assert_eq!(k["userType"].as_str(), Some("IAMUser"));
                prop_assert!(d["severity"].as_f64().unwrap() >= 7.0);
                prop_assert!(d["service"]["additionalInfo"]["sample"] != json!(true));
            }
            Target::Trail { name } => {
                prop_assert_eq!(d["requestParameters"]["name"].as_str(), Some(name.as_str()));
                // arn:aws:cloudtrail:<region>:<account>:trail/<name>, else the call's region
                // (parsed here, not with the planner's own helper).
                let home = if name.starts_with("arn:") {
                    name.split(':').nth(3).unwrap()
                } else {
                    d["awsRegion"].as_str().unwrap()
                };
                prop_assert_eq!(&a.region, home);
            }
            Target::Detector { detector_id } => {
                prop_assert_eq!(
                    d["requestParameters"]["detectorId"].as_str(),
                    Some(detector_id.as_str())
                );
                prop_assert_eq!(d["requestParameters"]["enable"].as_bool(), Some(false));
                prop_assert_eq!(a.region.as_str(), d["awsRegion"].as_str().unwrap());
            }
            Target::Recorder { name } => {
                prop_assert_eq!(
                    d["requestParameters"]["configurationRecorderName"].as_str(),
                    Some(name.as_str())
                );
                prop_assert_eq!(a.region.as_str(), d["awsRegion"].as_str().unwrap());
            }
            Target::StoppedTrails
            | Target::StoppedRecorders
            | Target::RegionDetectors
            | Target::NewDetector => {
                prop_assert_eq!(&a.region, &event.region);
            }
            Target::EventSelectors { trail } => {
                prop_assert_eq!(
                    d["requestParameters"]["trailName"].as_str(),
                    Some(trail.as_str())
                );
            }
            Target::Rule { name, .. } => {
                prop_assert_eq!(d["requestParameters"]["name"].as_str(), Some(name.as_str()));
            }
            Target::IpSet { detector_id, .. } => {
                prop_assert_eq!(
                    d["requestParameters"]["detectorId"].as_str(),
                    Some(detector_id.as_str())
                );
            }
            Target::Role { role_name } => {
                let k = &d["resource"]["accessKeyDetails"];
                prop_assert_eq!(k["userName"].as_str(), Some(role_name.as_str()));
                prop_assert_eq!(k["userType"].as_str(), Some("AssumedRole"));
            }
            Target::User { user_name } => {
                let k = &d["resource"]["accessKeyDetails"];
                prop_assert_eq!(k["userName"].as_str(), Some(user_name.as_str()));
                prop_assert_eq!(k["userType"].as_str(), Some("IAMUser"));
            }
            Target::SecurityGroup { group_id } => {
                prop_assert!(v.to_string().contains(group_id.as_str()));
            }
            Target::Instance { instance_id } => {
                prop_assert_eq!(
                    d["resource"]["instanceDetails"]["instanceId"].as_str(),
                    Some(instance_id.as_str())
                );
            }
            Target::Bucket { name } => {
                prop_assert_eq!(
                    d["resource"]["s3BucketDetails"][0]["name"].as_str(),
                    Some(name.as_str())
                );
            }
            Target::Function { name } => {
                prop_assert_eq!(
                    d["resource"]["lambdaDetails"]["functionName"].as_str(),
                    Some(name.as_str())
                );
            }
            Target::Object {
                bucket,
                key,
                version_id,
            } => {
                let o = &d["s3ObjectDetails"];
                prop_assert_eq!(o["bucketName"].as_str(), Some(bucket.as_str()));
                prop_assert_eq!(o["objectKey"].as_str(), Some(key.as_str()));
                prop_assert_eq!(o["versionId"].as_str(), Some(version_id.as_str()));
            }
            // Exactly the snapshot or image the call named, in its region; only what the call
            // added is taken back, and never the owner's own account.
            Target::Snapshot {
                snapshot_id: id,
                public,
                accounts,
            }
            | Target::Image {
                image_id: id,
                public,
                accounts,
            } => {
                let (param, attribute) = if matches!(a.target, Target::Snapshot { .. }) {
                    ("snapshotId", "createVolumePermission")
                } else {
                    ("imageId", "launchPermission")
                };
                prop_assert_eq!(d["requestParameters"][param].as_str(), Some(id.as_str()));
                prop_assert_eq!(a.region.as_str(), d["awsRegion"].as_str().unwrap());
                let (added_public, added_accounts) = added(d, attribute);
                prop_assert!(!*public || added_public);
                prop_assert!(*public || !accounts.is_empty());
                for acct in accounts {
                    prop_assert!(added_accounts.contains(acct), "{} was not added", acct);
                    prop_assert_ne!(acct.as_str(), event.account.as_str());
                }
                // Removing the public permission is enforced; removing accounts is shadow.
                prop_assert_eq!(p.shadow, !*public);
            }
            // Exactly the RDS snapshot the call named, in its region; only values the call added
            // to `restore` are taken back, never the owner's own account.
            Target::DbSnapshot {
                cluster,
                identifier,
                public,
                accounts,
            } => {
                let param = if *cluster {
                    "dBClusterSnapshotIdentifier"
                } else {
                    "dBSnapshotIdentifier"
                };
                let r = &d["requestParameters"];
                prop_assert_eq!(r[param].as_str(), Some(identifier.as_str()));
                prop_assert_eq!(r["attributeName"].as_str(), Some("restore"));
                prop_assert_eq!(a.region.as_str(), d["awsRegion"].as_str().unwrap());
                let added: Vec<&str> = r["valuesToAdd"]
                    .as_array()
                    .map(|v| v.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                prop_assert!(!*public || added.contains(&"all"));
                prop_assert!(*public || !accounts.is_empty());
                for acct in accounts {
                    prop_assert!(added.contains(&acct.as_str()), "{} was not added", acct);
                    prop_assert_ne!(acct.as_str(), event.account.as_str());
                }
                prop_assert_eq!(p.shadow, !*public);
            }
            Target::SerialConsole | Target::EbsEncryptionByDefault => {
                prop_assert_eq!(a.region.as_str(), d["awsRegion"].as_str().unwrap());
            }
            // Security Hub S3.1: the finding's own account, in the finding's region.
            Target::AccountPublicAccessBlock => {
                let f = &d["findings"][0];
                prop_assert_eq!(Some(a.account.as_str()), f["AwsAccountId"].as_str());
                prop_assert_eq!(&a.region, &event.region);
            }
            // Exactly the group the call named, in its region; every range revoked is one the
            // call added, and the world's (shadow: opt-in).
            Target::Ingress { group_id, ranges } => {
                prop_assert_eq!(
                    d["requestParameters"]["groupId"].as_str(),
                    Some(group_id.as_str())
                );
                prop_assert_eq!(a.region.as_str(), d["awsRegion"].as_str().unwrap());
                let request = d["requestParameters"].to_string();
                for r in ranges {
                    prop_assert!(mamoru::decide::facts::world_cidr(&r.cidr), "{}", r.cidr);
                    prop_assert!(request.contains(&format!("\"{}\"", r.cidr)), "{}", r.cidr);
                }
                prop_assert!(p.shadow);
            }
            Target::Domain { name } => {
                // The domain the call named (a string, or an object with `name`), always acted
                // on in us-east-1, the one region that serves Route 53 Domains.
                let named = &d["requestParameters"]["domainName"];
                let named = named.as_str().or_else(|| named["name"].as_str());
                prop_assert_eq!(named.map(str::to_ascii_lowercase), Some(name.clone()));
                prop_assert_eq!(a.region.as_str(), "us-east-1");
            }
        }
        // Nothing is remediated for a failed call, an archived or a sample finding.
        prop_assert!(d["errorCode"].is_null());
        prop_assert!(d["service"]["archived"] != json!(true));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn findings_never_plan_beyond_the_named_key(v in finding()) {
        check_plan(&v)?;
    }

    #[test]
    fn tamper_calls_act_only_on_the_named_resource_in_its_region(v in tamper_call()) {
        check_plan(&v)?;
    }

    #[test]
    fn sharing_calls_take_back_only_what_they_shared_of_the_named_resource(v in sharing_call()) {
        check_plan(&v)?;
    }

    #[test]
    fn db_sharing_calls_take_back_only_what_they_shared_of_the_named_snapshot(v in db_sharing_call()) {
        check_plan(&v)?;
    }
}

/// A key finding biased toward the remediable case: each condition holds in most draws, so
/// about a third of the findings are eligible, and every way of not being eligible shows up.
fn biased_key_finding() -> impl Strategy<Value = (Value, KeyCase)> {
    (
        "[A-Za-z0-9_-]{1,32}",
        prop_oneof![
            4 => "AKIA[A-Z0-9]{16}",
            1 => "ASIA[A-Z0-9]{16}",
        ],
        prop_oneof![4 => Just("IAMUser"), 1 => Just("AssumedRole"), 1 => Just("Root")],
        prop_oneof![3 => 7.0f64..=10.0, 1 => 0.0f64..7.0],
        prop_oneof![
            Just("us-east-1"),
            Just("eu-west-1"),
            Just("ap-southeast-2"),
            Just("sa-east-1")
        ],
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.1),
        prop_oneof![
            Just("UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom"),
            Just("UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS"),
        ],
    )
        .prop_map(
            |(user, key, user_type, severity, region, sample, archived, finding_type)| {
                let mut v: Value = serde_json::from_str(&fixture(
                    "constructed/finding-iamuser-key-malicious-ip-high.json",
                ))
                .unwrap();
                let d = &mut v["detail"];
                d["resource"]["accessKeyDetails"] =
                    json!({"userName": user, "accessKeyId": key, "userType": user_type});
                d["severity"] = json!(severity);
                d["region"] = json!(region);
                d["type"] = json!(finding_type);
                d["service"]["archived"] = json!(archived);
                if sample {
                    d["service"]["additionalInfo"] = json!({"sample": true});
                }
                v["region"] = json!(region);
                // A role's credentials used from outside AWS: its sessions are revoked (shadow),
                // at the same threshold; never a key deactivation.
                let role_eligible = user_type == "AssumedRole"
                    && finding_type.contains("InstanceCredentialExfiltration")
                    && severity >= 7.0
                    && !sample
                    && !archived;
                // Eligible, as the README's playbook says: an IAM user's long-term (AKIA) key,
                // severity >= 7.0, not archived, not a sample.
                let eligible = user_type == "IAMUser"
                    && key.starts_with("AKIA")
                    && severity >= 7.0
                    && !sample
                    && !archived;
                let case = KeyCase {
                    eligible,
                    role_eligible,
                    user,
                    key,
                    region: region.to_string(),
                };
                (v, case)
            },
        )
}

#[derive(Debug, Clone)]
struct KeyCase {
    eligible: bool,
    role_eligible: bool,
    user: String,
    key: String,
    region: String,
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn an_eligible_key_finding_plans_exactly_that_key_and_nothing_else_does((v, case) in biased_key_finding()) {
        let event = Event::from_json(&v.to_string()).unwrap();
        let plan = decide(&event, None, &RULES, &Settings::default());
        let got: Vec<(String, Target, String, bool)> = plan
            .actions
            .iter()
            .map(|p| (p.action.kind.name().to_string(), p.action.target.clone(), p.action.region.clone(), p.shadow))
            .collect();
        let want: Vec<(String, Target, String, bool)> = if case.eligible {
            vec![
                (
                    "deactivate_access_key".to_string(),
                    Target::AccessKey { user_name: case.user.clone(), access_key_id: case.key.clone() },
                    case.region.clone(),
                    false,
                ),
                // The quarantine rule ships in shadow mode.
                (
                    "quarantine_user".to_string(),
                    Target::User { user_name: case.user.clone() },
                    case.region.clone(),
                    true,
                ),
            ]
        } else if case.role_eligible {
            vec![(
                "revoke_role_sessions".to_string(),
                Target::Role { role_name: case.user.clone() },
                case.region.clone(),
                true,
            )]
        } else {
            Vec::new()
        };
        prop_assert_eq!(got, want);
        // Remediate exactly when eligible (archived findings are ignored, the rest notify).
        prop_assert_eq!(
            plan.disposition == mamoru::decide::Disposition::Remediate,
            case.eligible
        );
    }

    #[test]
    fn a_stopped_trail_is_restarted_exactly_once_in_its_home_region(
        name in "[A-Za-z0-9_.-]{1,40}",
        call_region in prop_oneof![Just("us-east-1"), Just("eu-west-1"), Just("ap-south-1")],
        home in prop_oneof![Just("us-east-2"), Just("eu-central-1"), Just("ca-central-1")],
        as_arn in any::<bool>(),
        failed in prop::bool::weighted(0.2),
    ) {
        let mut v: Value = serde_json::from_str(&fixture("aws.cloudtrail/ct-stop-logging.json")).unwrap();
        let param = if as_arn {
            format!("arn:aws:cloudtrail:{home}:123456789012:trail/{name}")
        } else {
            name.clone()
        };
        let d = &mut v["detail"];
        d["requestParameters"]["name"] = json!(param);
        d["awsRegion"] = json!(call_region);
        if failed {
            d["errorCode"] = json!("AccessDenied");
        }
        v["region"] = json!(call_region);
        let event = Event::from_json(&v.to_string()).unwrap();
        let plan = decide(&event, None, &RULES, &Settings::default());
        // The trail's home region: the ARN's when the call named an ARN, else the call's.
        let expected_region = if as_arn { home } else { call_region };
        let got: Vec<(String, Target, String)> = plan
            .actions
            .iter()
            .map(|p| (p.action.kind.name().to_string(), p.action.target.clone(), p.action.region.clone()))
            .collect();
        let want = if failed {
            Vec::new()
        } else {
            vec![("start_logging".to_string(), Target::Trail { name: param.clone() }, expected_region.to_string())]
        };
        prop_assert_eq!(got, want);
    }
}
