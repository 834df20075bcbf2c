//! Property tests of the decision engine's safety invariants, over generated events built from
//! the fixtures with random identifiers, regions, principals, severities and outcomes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mamoru::action::{Target, arn_region};
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
                let home = arn_region(name).unwrap_or(d["awsRegion"].as_str().unwrap());
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
            Target::StoppedTrails | Target::RegionDetectors | Target::NewDetector => {
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
}
