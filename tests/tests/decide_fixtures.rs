//! Decision tests: every fixture event through parse and decide, with the plan asserted. The
//! expected plans are the built-in playbook's cases (shared/rules/builtin.cases.toml), so they
//! are written once and also run by `mamoru rules test`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mamoru::decide::cases::Case;
use mamoru::decide::{Disposition, Handler, RuleSet, decide};
use mamoru::files::{RuleFiles, run_cases as run_all};
use mamoru::{Event, Settings};
use mamoru_tests::{all_fixtures, fixture};

use Disposition::*;
use Handler::*;

fn settings() -> Settings {
    Settings::from_lookup(
        |k| match k {
            "MAMORU_PROTECTED_PRINCIPALS" => Some(
                "arn:aws:iam::*:role/BreakGlass*,arn:aws:iam::123456789012:user/break-glass-admin"
                    .into(),
            ),
            "MAMORU_SELF_ROLE_ARNS" => {
                Some("arn:aws:iam::123456789012:role/mamoru-cloudtrail-role".into())
            }
            "MAMORU_SELF_RESOURCES" => Some(mamoru_tests::render::SELF_RESOURCES.join(",")),
            _ => None,
        },
        false,
    )
    .unwrap()
}

/// The built-in playbook's test cases (shared/rules/builtin.cases.toml): the expected plan of
/// every fixture, written once and also run by `mamoru rules test`.
fn builtin_cases() -> (RuleSet, Vec<Case>) {
    let dir = mamoru_tests::root().join("shared/rules");
    RuleSet::builtin_with_cases(&[dir]).unwrap_or_else(|e| panic!("{e:?}"))
}

#[test]
fn every_fixture_has_an_expected_plan() {
    let (_, cases) = builtin_cases();
    let covered: Vec<std::path::PathBuf> = cases
        .iter()
        .map(|c| std::fs::canonicalize(&c.event).unwrap())
        .collect();
    for f in all_fixtures() {
        let path = std::fs::canonicalize(mamoru_tests::fixtures().join(&f)).unwrap();
        assert!(
            covered.contains(&path),
            "fixture {f} has no case in shared/rules/builtin.cases.toml"
        );
    }
}

#[test]
fn plans_match_the_playbook() {
    // GIVEN every fixture and its expected plan WHEN decided THEN the plans match
    let (rules, cases) = builtin_cases();
    let report = run_all(&rules, &cases);
    let failures: Vec<String> = report
        .failed
        .iter()
        .map(|(case, diffs)| format!("{case}\n    {}", diffs.join("\n    ")))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(report.uncovered.is_empty(), "{:?}", report.uncovered);
}

#[test]
fn every_plan_is_routed_and_acts_in_the_events_account() {
    let rules = RuleSet::builtin().unwrap();
    for f in all_fixtures() {
        let event = Event::from_json(&fixture(&f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        let plan = decide(&event, None, &rules, &settings());
        // The function each detail-type is routed to, as infra/ subscribes them (written out
        // here, not read from the code that routes).
        let raw: serde_json::Value = serde_json::from_str(&fixture(&f)).unwrap();
        let expected = match raw["detail-type"].as_str().unwrap() {
            "GuardDuty Finding"
            | "GuardDuty Malware Protection Object Scan Result"
            | "GuardDuty Runtime Protection Unhealthy"
            | "GuardDuty Malware Protection Post Scan Action Failed" => Guardduty,
            "AWS API Call via CloudTrail" | "AWS Console Sign In via CloudTrail" => Cloudtrail,
            "Config Configuration Item Change" | "Config Rules Compliance Change" => Config,
            "Security Hub Findings - Imported"
            | "Security Hub Findings - Custom Action"
            | "Findings Imported V2" => Securityhub,
            "EC2 Instance State-change Notification" => Unhandled,
            other => panic!("{f}: detail-type {other:?} has no expected handler here: add it"),
        };
        assert_eq!(plan.handler, expected, "{f}");
        for a in &plan.actions {
            // The account that owns the resource: the finding's or record's own (in an
            // organization the envelope's is the account that received the event).
            assert_eq!(a.action.account, event.owner_account(), "{f}");
            assert!(!a.action.region.is_empty(), "{f}");
        }
        assert_eq!(
            plan.notify,
            matches!(plan.disposition, Notify | Remediate),
            "{f}: notified exactly when not ignored"
        );
    }
}

#[test]
fn a_function_leaves_other_families_unhandled() {
    let rules = RuleSet::builtin().unwrap();
    let event = Event::from_json(&fixture("aws.cloudtrail/ct-stop-logging.json")).unwrap();
    for handler in [Guardduty, Config] {
        let plan = decide(&event, Some(handler), &rules, &settings());
        assert_eq!(plan.handler, Unhandled);
        assert_eq!(plan.disposition, Ignore);
        assert!(plan.actions.is_empty());
    }
    let plan = decide(&event, Some(Cloudtrail), &rules, &settings());
    assert_eq!(plan.disposition, Remediate);
}

#[test]
fn the_threshold_is_a_setting() {
    let rules = RuleSet::builtin().unwrap();
    let event = Event::from_json(&fixture(
        "constructed/finding-iamuser-key-malicious-ip-medium.json",
    ))
    .unwrap();
    let lowered = Settings::from_lookup(
        |k| (k == "MAMORU_MIN_REMEDIATION_SEVERITY").then(|| "5".to_string()),
        false,
    )
    .unwrap();
    let plan = decide(&event, None, &rules, &lowered);
    assert_eq!(plan.disposition, Remediate, "{}", plan.reason);
    assert_eq!(plan.actions[0].action.kind.api(), "iam:UpdateAccessKey");
}

#[test]
fn an_assumed_role_key_is_never_deactivated_even_by_a_rule_that_asks() {
    // GIVEN a rule that asks to deactivate the key of any principal type
    let mut rules = RuleSet::builtin().unwrap();
    rules
        .add_source(
            "extra.toml",
            r#"[[rule]]
id = "greedy"
description = "asks for every finding's key"
[rule.match]
detail_type = ["GuardDuty Finding"]
[rule.response]
actions = [{ action = "deactivate_access_key" }]
"#,
            true,
        )
        .unwrap();
    let event = Event::from_json(&fixture(
        "constructed/finding-assumedrole-credential-exfiltration-high.json",
    ))
    .unwrap();
    // WHEN decided THEN no UpdateAccessKey is planned for the ASIA key: the action refuses it.
    let plan = decide(&event, None, &rules, &settings());
    assert!(
        plan.actions
            .iter()
            .all(|a| a.action.kind.api() != "iam:UpdateAccessKey"),
        "{:?}",
        plan.actions
    );
    let refused: Vec<_> = plan
        .withheld
        .iter()
        .filter(|w| w.rule_id == "greedy")
        .collect();
    assert_eq!(refused.len(), 1);
    assert!(refused[0].reason.contains("not a long-term IAM user key"));
}

#[test]
fn every_detail_member_of_every_fixture_is_known_to_the_placeholder_check() {
    // `rules check` warns about a path placeholder no event of the rule's detail-types can have;
    // the members it knows must cover every published sample.
    for f in all_fixtures() {
        let v: serde_json::Value = serde_json::from_str(&fixture(&f)).unwrap();
        let dt = v["detail-type"].as_str().unwrap_or_default();
        let Some(known) = mamoru::decide::template::detail_members(dt) else {
            continue;
        };
        for key in v["detail"].as_object().into_iter().flat_map(|m| m.keys()) {
            assert!(
                known.contains(&key.as_str()),
                "{f}: detail.{key} is not a known member of `{dt}` events"
            );
        }
    }
}
