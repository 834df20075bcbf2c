#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::decide::{RuleSet, decide};
use crate::settings::{Mode, Settings};
use serde_json::Value;

const STOP_LOGGING: &str =
    include_str!("../../../tests/fixtures/events/aws.cloudtrail/ct-stop-logging.json");

fn home() -> Home {
    Home {
        partition: "aws".into(),
        account: "123456789012".into(),
        region: "us-east-1".into(),
    }
}

fn changed(text: &str, f: impl FnOnce(&mut Value)) -> Event {
    let mut v: Value = serde_json::from_str(text).unwrap();
    f(&mut v);
    Event::from_json(&v.to_string()).unwrap()
}

fn report_of(event: &Event, settings: &Settings) -> Report {
    let plan = decide(
        event,
        Some(Handler::Cloudtrail),
        &RuleSet::builtin().unwrap(),
        settings,
    );
    Report::new(plan, Vec::new(), Mode::Enforce)
}

fn detection(event: &Event) -> Result<Option<Detection>, String> {
    detection_for(event, &report_of(event, &Settings::default()), &home())
}

#[test]
fn a_stopped_trail_is_published_as_a_finding_of_the_default_product() {
    let event = Event::from_json(STOP_LOGGING).unwrap();
    let d = detection(&event).unwrap().unwrap();
    assert_eq!(
        d.id,
        "mamoru/aws/123456789012/us-east-1/cloudtrail/c58dkfjdkf-333-414274"
    );
    assert_eq!(
        d.product_arn,
        "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default"
    );
    assert_eq!(d.aws_account_id, "123456789012");
    assert_eq!(d.region, "us-east-1");
    assert_eq!(d.severity, "HIGH");
    assert_eq!(d.generator_id, "mamoru/cloudtrail-stop-logging");
    assert!(d.title.starts_with("mamoru: "), "{}", d.title);
    assert_eq!(d.title, "mamoru: CloudTrail logging stopped");
    assert_eq!(d.types, [FINDING_TYPE]);
    assert_eq!(
        d.resources[0],
        FindingResource {
            resource_type: "AwsCloudTrailTrail".into(),
            id: "arn:aws:cloudtrail:us-east-1:123456789012:trail/test-trail".into(),
        }
    );
    assert_eq!(
        d.resources[1],
        FindingResource {
            resource_type: "AwsAccount".into(),
            id: "AWS::::Account:123456789012".into(),
        }
    );
    assert_eq!(d.resources.len(), 2, "{:?}", d.resources);
    assert_eq!(d.first_observed_at, "2020-03-18T02:53:09Z");
    assert!(d.description.contains("StopLogging"), "{}", d.description);
}

#[test]
fn the_same_call_delivered_again_is_the_same_finding() {
    let once = detection(&Event::from_json(STOP_LOGGING).unwrap()).unwrap();
    // EventBridge gives a redelivery the same event; a second route gives another envelope id
    // for the same CloudTrail record: either way the finding is the record's.
    let again = detection(&changed(STOP_LOGGING, |v| {
        v["id"] = "another-envelope".into()
    }))
    .unwrap();
    assert_eq!(once.as_ref().unwrap().id, again.as_ref().unwrap().id);
    let other = detection(&changed(STOP_LOGGING, |v| {
        v["detail"]["eventID"] = "another-record".into()
    }))
    .unwrap();
    assert_ne!(once.unwrap().id, other.unwrap().id);
}

#[test]
fn a_call_in_another_account_is_not_imported_and_says_why() {
    let event = changed(STOP_LOGGING, |v| {
        let text = v.to_string().replace("123456789012", "444455556666");
        *v = serde_json::from_str(&text).unwrap();
    });
    let err = detection(&event).unwrap_err();
    assert!(err.contains("444455556666"), "{err}");
    assert!(err.contains("calling account (123456789012)"), "{err}");
}

#[test]
fn an_ignored_call_or_another_kind_of_event_is_not_published() {
    // A call no rule watches is ignored: nothing to publish.
    let event = changed(STOP_LOGGING, |v| {
        v["detail"]["eventName"] = "DescribeTrails".into();
    });
    let report = report_of(&event, &Settings::default());
    assert_eq!(report.plan.disposition, Disposition::Ignore, "{report:?}");
    assert_eq!(detection_for(&event, &report, &home()), Ok(None));

    // A Security Hub finding is not a CloudTrail call.
    let finding = crate::event::securityhub::fixture_event("imported-s3-8.json", |_| {});
    let report = report_of(&finding, &Settings::default());
    assert_eq!(detection_for(&finding, &report, &home()), Ok(None));
}

#[test]
fn secrets_in_the_call_never_reach_the_finding() {
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    let event = changed(STOP_LOGGING, |v| {
        v["detail"]["requestParameters"]["name"] =
            format!("arn:aws:cloudtrail:us-east-1:123456789012:trail/x-{secret}").into();
    });
    let d = detection(&event).unwrap().unwrap();
    let text = serde_json::to_string(&d).unwrap();
    assert!(!text.contains(secret), "{text}");
}

#[test]
fn long_values_are_bounded_to_security_hubs_limits() {
    let long = "t".repeat(5000);
    let event = changed(STOP_LOGGING, |v| {
        v["detail"]["requestParameters"]["name"] = long.clone().into();
    });
    let d = detection(&event).unwrap().unwrap();
    assert!(d.title.chars().count() <= TITLE_MAX);
    assert!(d.description.chars().count() <= DESCRIPTION_MAX);
    assert!(d.resources.iter().all(|r| r.id.chars().count() <= 512));
}

fn own_finding() -> AsffFinding {
    let d = detection(&Event::from_json(STOP_LOGGING).unwrap())
        .unwrap()
        .unwrap();
    serde_json::from_value(serde_json::json!({
        "Id": d.id,
        "ProductArn": d.product_arn,
        "GeneratorId": d.generator_id,
        "AwsAccountId": d.aws_account_id,
        "Region": d.region,
        "Title": d.title,
    }))
    .unwrap()
}

#[test]
fn own_findings_are_recognised_by_product_account_and_generator_together() {
    let hub = "123456789012";
    let f = own_finding();
    assert!(is_own_finding(&f, hub));
    // Another stack's account: not ours.
    assert!(!is_own_finding(&f, "444455556666"));
    // The default product of another account (imported there by its own principals).
    let mut other = f.clone();
    other.product_arn =
        "arn:aws:securityhub:us-east-1:444455556666:product/444455556666/default".into();
    other.aws_account_id = "444455556666".into();
    assert!(!is_own_finding(&other, hub));
    // Another generator in the same product: a finding someone else imported.
    let mut other = f.clone();
    other.generator_id = Some("custom-scanner/rule-1".into());
    assert!(!is_own_finding(&other, hub));
    // A title naming mamoru does not make a Security Hub control finding mamoru's.
    let mut other = f.clone();
    other.product_arn = "arn:aws:securityhub:us-east-1::product/aws/securityhub".into();
    assert!(!is_own_finding(&other, hub));
    // A product ARN with more parts.
    let mut other = f;
    other.product_arn = format!("{}:x", other.product_arn);
    assert!(!is_own_finding(&other, hub));
}

#[test]
fn the_securityhub_function_does_not_decide_mamorus_own_detection_again() {
    // GIVEN mamoru's custom action chosen on a finding mamoru published
    let own = own_finding();
    let event =
        crate::event::securityhub::fixture_event("custom-action-ec2-13-ssh-world.json", |v| {
            let f = &mut v["detail"]["findings"][0];
            f["ProductArn"] = own.product_arn.clone().into();
            f["GeneratorId"] = own.generator_id.clone().unwrap().into();
            f["AwsAccountId"] = own.aws_account_id.clone().into();
        });
    let rules = RuleSet::builtin().unwrap();
    // WHEN the stack's account is the finding's THEN it is ignored, saying why
    let hub = Settings {
        hub_account: Some("123456789012".into()),
        ..Settings::default()
    };
    let plan = decide(&event, Some(Handler::Securityhub), &rules, &hub);
    assert_eq!(plan.disposition, Disposition::Ignore, "{plan:?}");
    assert!(
        plan.reason.contains("mamoru's own detection"),
        "{}",
        plan.reason
    );
    assert!(plan.actions.is_empty() && !plan.notify);
    // AND seen by a stack in another account, the same finding is not taken for mamoru's own
    let other = Settings {
        hub_account: Some("444455556666".into()),
        ..Settings::default()
    };
    let plan = decide(&event, Some(Handler::Securityhub), &rules, &other);
    assert!(
        !plan.reason.contains("mamoru's own detection"),
        "{}",
        plan.reason
    );
}
