//! Sigma rules as input: matching and non-matching rules written in the Sigma format
//! (tests/fixtures/sigma), unsupported ones (tests/fixtures/sigma-unsupported), a response rule
//! attached to a Sigma id, the routes derived, and the CLI and MAMORU_SIGMA_PATH loading them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::Command;

use mamoru::decide::sigma::Route;
use mamoru::decide::{Band, Disposition, Match, RuleSet, Subject, decide};
use mamoru::files::RuleFiles;
use mamoru::{Event, Settings};
use mamoru_tests::{all_fixtures, binary, fixture, root};
use serde_json::Value;

const STOPPED_BY_USER: &str = "sigma:5f0c2b4e-1a7d-4c3e-9b6a-7e1d00000001";
const BACKDOOR_KEY: &str = "sigma:5f0c2b4e-1a7d-4c3e-9b6a-7e1d00000002";
const ROOT_NO_MFA: &str = "sigma:5f0c2b4e-1a7d-4c3e-9b6a-7e1d00000003";
const ROOT_ACTIVITY: &str = "sigma:5f0c2b4e-1a7d-4c3e-9b6a-7e1d00000006";

fn sigma_dir() -> PathBuf {
    root().join("tests/fixtures/sigma")
}

fn unsupported_dir() -> PathBuf {
    root().join("tests/fixtures/sigma-unsupported")
}

fn mamoru(args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let mut cmd = Command::new(binary("mamoru"));
    cmd.env_remove("AWS_ENDPOINT_URL")
        .env_remove("MAMORU_SIGMA_PATH")
        .env_remove("MAMORU_RULES_PATH")
        .current_dir(root())
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn rules_with_sigma() -> RuleSet {
    let mut rules = RuleSet::builtin_with(&[sigma_dir()]).unwrap();
    rules.add_sigma_paths(&[sigma_dir()]);
    assert!(
        rules.sigma_unsupported().is_empty(),
        "{:?}",
        rules.sigma_unsupported()
    );
    rules
}

fn plan(rules: &RuleSet, event: &str) -> mamoru::decide::Plan {
    let event = Event::from_json(&fixture(event)).unwrap();
    decide(&event, None, rules, &Settings::default())
}

#[test]
fn a_match_names_the_sigma_rule_with_its_level_title_and_false_positives() {
    let rules = rules_with_sigma();
    let p = plan(&rules, "aws.iam/ct-create-access-key-own.json");
    assert_eq!(p.rule_ids, vec![BACKDOOR_KEY.to_string()]);
    assert_eq!(p.disposition, Disposition::Notify);
    assert_eq!(p.severity.band, Band::Medium);
    assert_eq!(p.title, "Access key created for a backdoor-looking user");
    assert!(p.actions.is_empty());
    let runbook = p.runbook.join("\n");
    assert!(
        runbook.contains(
            "Known false positives: Automation that names its users with a -user suffix."
        ),
        "{runbook}"
    );
    assert!(runbook.contains(BACKDOOR_KEY), "{runbook}");
    assert!(
        runbook.contains("An access key was created for a user whose name looks generated"),
        "{runbook}"
    );

    // Level critical, and `informational` on the other rule that matches: the highest wins.
    let p = plan(&rules, "aws.signin/console-login-root.json");
    assert_eq!(p.severity.band, Band::Critical);
    assert!(
        p.rule_ids.contains(&ROOT_NO_MFA.to_string()),
        "{:?}",
        p.rule_ids
    );
    assert!(
        p.rule_ids.contains(&ROOT_ACTIVITY.to_string()),
        "{:?}",
        p.rule_ids
    );
    assert_eq!(p.title, "Root console sign-in without MFA");
}

#[test]
fn non_matching_events_and_events_not_from_cloudtrail_match_no_sigma_rule() {
    let rules = rules_with_sigma();
    for event in [
        "aws.signin/console-login-iamuser-failed-authentication.json",
        "aws.guardduty/finding-unauthorizedaccess-iamuser-maliciousipcaller.json",
        "aws.config/ci-change-securitygroup-ssh-open-world.json",
    ] {
        let p = plan(&rules, event);
        assert!(
            !p.rule_ids.iter().any(|r| r.starts_with("sigma:")),
            "{event}: {:?}",
            p.rule_ids
        );
    }
    // The same rule set decides the built-in playbook's events as before.
    let without = RuleSet::builtin().unwrap();
    let a = plan(
        &rules,
        "aws.cloudtrail/ct-stop-logging-error-invalidtrailname.json",
    );
    let b = plan(
        &without,
        "aws.cloudtrail/ct-stop-logging-error-invalidtrailname.json",
    );
    assert_eq!(a.rule_ids, b.rule_ids);
    assert_eq!(a.severity, b.severity);
}

#[test]
fn a_response_rule_attaches_to_a_sigma_id_with_the_usual_precedence() {
    let rules = rules_with_sigma();
    let p = plan(&rules, "aws.cloudtrail/ct-stop-logging.json");
    assert_eq!(
        p.rule_ids,
        vec![
            STOPPED_BY_USER.to_string(),
            "cloudtrail-stop-logging".to_string(),
            "sigma-user-stopped-trail".to_string()
        ]
    );
    // severity_floor raises the alert; the shadow StartLogging merges with the built-in
    // rule's enforced one, which wins.
    assert_eq!(p.severity.band, Band::Critical);
    assert_eq!(p.actions.len(), 1, "{:?}", p.actions);
    assert_eq!(p.actions[0].action.kind.api(), "cloudtrail:StartLogging");
    assert!(!p.actions[0].shadow);

    // Alone (without the built-in StopLogging rule), the attached rule's action stays shadow.
    let mut alone = RuleSet::default();
    alone
        .add_source(
            "responses.toml",
            &std::fs::read_to_string(sigma_dir().join("responses.toml")).unwrap(),
            false,
        )
        .unwrap();
    alone.add_sigma_paths(&[sigma_dir().join("trail-stopped-by-user.yml")]);
    let p = plan(&alone, "aws.cloudtrail/ct-stop-logging.json");
    assert_eq!(
        p.rule_ids,
        vec![
            STOPPED_BY_USER.to_string(),
            "sigma-user-stopped-trail".to_string()
        ]
    );
    assert_eq!(p.actions.len(), 1);
    assert!(p.actions[0].shadow);
    assert_eq!(p.disposition, Disposition::Notify);

    // Without the Sigma rule loaded, the response rule is reported, never silently inert.
    let mut dangling = RuleSet::default();
    dangling
        .add_source(
            "responses.toml",
            &std::fs::read_to_string(sigma_dir().join("responses.toml")).unwrap(),
            false,
        )
        .unwrap();
    let errors = dangling.sigma_reference_errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].file, "responses.toml");
    assert!(
        errors[0]
            .message
            .contains("Sigma rule `5f0c2b4e-1a7d-4c3e-9b6a-7e1d00000001`, which is not loaded"),
        "{}",
        errors[0]
    );
}

#[test]
fn rules_test_runs_the_sigma_cases_and_requires_cases_for_sigma_rules() {
    let dir = sigma_dir();
    let dir = dir.to_str().unwrap();
    let (ok, out, _) = mamoru(&["rules", "test", dir, "--sigma", dir], &[]);
    assert!(ok, "{out}");
    assert!(
        out.contains("9 passed, 0 failed, 0 rules without both a positive and a negative case"),
        "{out}"
    );

    // A Sigma rule with no case is reported like any rule; one repeating an id, too.
    let tmp = std::env::temp_dir().join(format!("mamoru-sigma-cases-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::write(
        tmp.join("uncovered.yml"),
        "title: Uncovered\nid: 5f0c2b4e-1a7d-4c3e-9b6a-7e1d00000099\nlogsource:\n  product: aws\n  service: cloudtrail\ndetection:\n  sel:\n    eventName: DeleteTrail\n  condition: sel\nlevel: low\n",
    )
    .unwrap();
    let (ok, out, _) = mamoru(
        &[
            "rules",
            "test",
            dir,
            "--sigma",
            dir,
            "--sigma",
            tmp.to_str().unwrap(),
        ],
        &[],
    );
    assert!(!ok, "{out}");
    assert!(
        out.lines().any(|l| l.starts_with("MISSING")
            && l.contains("sigma:5f0c2b4e-1a7d-4c3e-9b6a-7e1d00000099")),
        "{out}"
    );
    std::fs::copy(
        sigma_dir().join("detector-disabled.yml"),
        tmp.join("detector-disabled.yml"),
    )
    .unwrap();
    let (ok, out, _) = mamoru(
        &[
            "rules",
            "test",
            dir,
            "--sigma",
            dir,
            "--sigma",
            tmp.to_str().unwrap(),
        ],
        &[],
    );
    std::fs::remove_dir_all(&tmp).unwrap();
    assert!(!ok, "{out}");
    assert!(out.contains("duplicate Sigma id"), "{out}");
}

#[test]
fn rules_check_reports_every_unsupported_rule_with_file_and_reason() {
    let (ok, out, _) = mamoru(
        &[
            "rules",
            "check",
            "--sigma",
            unsupported_dir().to_str().unwrap(),
        ],
        &[],
    );
    assert!(!ok, "{out}");
    for (file, reason) in [
        ("aggregation.yml", "an aggregation in the condition"),
        ("correlation.yml", "a correlation rule"),
        ("expand-modifier.yml", "Unknown field modifier 'expand'"),
        ("windows-logsource.yml", "logsource product `windows`"),
    ] {
        let line = out
            .lines()
            .find(|l| l.contains(file))
            .unwrap_or_else(|| panic!("{file} not reported:\n{out}"));
        assert!(
            line.contains("tests/fixtures/sigma-unsupported/") && line.contains(reason),
            "{line}"
        );
    }
    assert!(
        out.contains("4 error(s) (4 Sigma rule(s) not supported)"),
        "{out}"
    );

    let (ok, out, _) = mamoru(
        &[
            "rules",
            "check",
            "--sigma",
            sigma_dir().to_str().unwrap(),
            sigma_dir().to_str().unwrap(),
        ],
        &[],
    );
    assert!(ok, "{out}");
    assert!(out.contains("6 Sigma"), "{out}");
}

#[test]
fn routes_include_the_sigma_calls_and_name_the_rules_that_need_a_broad_route() {
    let (ok, out, err) = mamoru(&["routes", "--sigma", sigma_dir().to_str().unwrap()], &[]);
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let ct = &v["cloudtrail"];
    let names = |src: &str| -> Vec<String> {
        ct["cloudtrail_calls"][src]
            .as_array()
            .map(|a| a.iter().map(|n| n.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    };
    assert!(names("iam.amazonaws.com").contains(&"CreateAccessKey".to_string()));
    // `eventName|startswith: UpdateDetector` is a prefix route.
    assert!(names("guardduty.amazonaws.com").contains(&"UpdateDetector*".to_string()));
    assert!(names("ec2.amazonaws.com").contains(&"DeleteFlowLogs".to_string()));
    assert_eq!(ct["needs_broad_route"], serde_json::json!([ROOT_ACTIVITY]));

    // Without Sigma rules the routes are the playbook's own.
    let (ok, out, _) = mamoru(&["routes"], &[]);
    assert!(ok);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert!(v["cloudtrail"].get("needs_broad_route").is_none());
    assert!(
        !v["cloudtrail"]["cloudtrail_calls"]["guardduty.amazonaws.com"]
            .as_array()
            .unwrap()
            .contains(&Value::from("UpdateDetector*"))
    );

    // In process: the route of each rule.
    let rules = rules_with_sigma();
    let route = |id: &str| {
        rules
            .sigma_rules()
            .iter()
            .find(|r| r.rule_id() == id)
            .unwrap()
            .route
            .clone()
    };
    assert_eq!(
        route(STOPPED_BY_USER),
        Route::Calls(
            [
                (
                    "cloudtrail.amazonaws.com".to_string(),
                    "DeleteTrail".to_string()
                ),
                (
                    "cloudtrail.amazonaws.com".to_string(),
                    "StopLogging".to_string()
                )
            ]
            .into()
        )
    );
    assert_eq!(route(ROOT_ACTIVITY), Route::Broad);
}

#[test]
fn replay_and_render_take_sigma_from_the_flag_and_from_mamoru_sigma_path() {
    let event = root().join("tests/fixtures/events/aws.iam/ct-create-access-key-own.json");
    let event = event.to_str().unwrap();
    let dir = sigma_dir();
    let dir = dir.to_str().unwrap();

    let (ok, out, err) = mamoru(&["replay", "--json", event], &[("MAMORU_SIGMA_PATH", dir)]);
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["rule_ids"], serde_json::json!([BACKDOOR_KEY]));

    let (ok, out, _) = mamoru(&["replay", "--json", "--sigma", dir, event], &[]);
    assert!(ok);
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["severity"], "medium");

    let (ok, out, err) = mamoru(&["render", "--format", "text", "--sigma", dir, event], &[]);
    assert!(ok, "{err}");
    assert!(
        out.contains("Access key created for a backdoor-looking user"),
        "{out}"
    );

    // Without them, the event matches nothing.
    let (ok, out, _) = mamoru(&["replay", "--json", event], &[]);
    assert!(ok);
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["disposition"], "ignore");

    // Unsupported rules are named on stderr; the supported ones still apply.
    let (ok, _, err) = mamoru(
        &[
            "replay",
            "--json",
            "--sigma",
            unsupported_dir().to_str().unwrap(),
            "--sigma",
            dir,
            event,
        ],
        &[],
    );
    assert!(ok, "{err}");
    assert_eq!(err.matches("unsupported Sigma rule").count(), 4, "{err}");

    // A response rule naming a Sigma rule that is not loaded stops the run.
    let (ok, _, err) = mamoru(&["replay", "--rules", dir, event], &[]);
    assert!(!ok);
    assert!(err.contains("which is not loaded"), "{err}");
}

#[test]
fn the_route_prefilter_never_hides_a_match() {
    // Every CloudTrail fixture against every Sigma rule here and each probe rule of the support
    // matrix's shapes: a rule the engine matches is one its route and its field guard let
    // through.
    let rules = rules_with_sigma();
    let mut matched = 0;
    let mut guarded = 0;
    for f in all_fixtures() {
        let event = Event::from_json(&fixture(&f)).unwrap();
        let Some(call) = event.cloudtrail() else {
            continue;
        };
        let record = mamoru::decide::sigma::record(event.detail_value(), None).unwrap();
        let lowered = mamoru::decide::sigma::Call::lowered(&call.event_source, &call.event_name);
        for r in rules.sigma_rules() {
            // The record cut to the members the rule reads decides as the whole one does.
            let keys = mamoru::decide::sigma::keys_of([r]);
            let cut = mamoru::decide::sigma::record(event.detail_value(), keys.as_ref()).unwrap();
            assert_eq!(r.matches(&cut), r.matches(&record), "{f}: {}", r.rule_id());
            if r.matches(&record) {
                matched += 1;
                assert!(
                    r.may_match(&lowered),
                    "{f}: {} matches but its route {:?} would skip it",
                    r.rule_id(),
                    r.route
                );
                let mut probe = mamoru::decide::sigma::FieldProbe::new(&event);
                assert!(
                    r.may_match_fields(&mut probe),
                    "{f}: {} matches but its field guard would skip it",
                    r.rule_id()
                );
            } else if !r.may_match_fields(&mut mamoru::decide::sigma::FieldProbe::new(&event)) {
                guarded += 1;
            }
        }
        // And the decision agrees with evaluating every rule.
        let all: Vec<String> = rules
            .sigma_rules()
            .iter()
            .filter(|r| r.matches(&record))
            .map(|r| r.id.clone())
            .collect();
        assert_eq!(rules.sigma_matches(&event), all, "{f}");
    }
    assert!(matched >= 8, "{matched}");
    // The guards do skip rules: fields like `userIdentity.type: Root` fail most events.
    assert!(guarded >= 500, "{guarded}");
}

#[test]
fn the_rule_index_never_hides_a_rule() {
    // Every fixture, of every kind, against the playbook, the response rules attached to Sigma
    // ids, the Sigma rules and the documented examples: each rule that matches (or is excepted)
    // is among the candidates the index gives, and the candidates keep the set's order.
    let mut rules =
        RuleSet::builtin_with(&[sigma_dir(), root().join("docs/examples/rules")]).unwrap();
    rules.add_sigma_paths(&[sigma_dir()]);
    // And rules filed under each kind of value, or under none (held against every event).
    rules
        .add_source(
            "gates.toml",
            r#"[[rule]]
id = "by-account-only"
description = "any event of one account"
[rule.match]
account = ["123456789012", "111122223333"]

[[rule]]
id = "by-event-name-only"
description = "a call by name, from any source"
[rule.match]
event_name = ["Delete*", "StopLogging"]

[[rule]]
id = "by-source-only"
description = "anything GuardDuty or CloudTrail sends"
[rule.match]
source = ["aws.guardduty", "aws.cloudtrail"]
"#,
            true,
        )
        .unwrap();
    let order: std::collections::HashMap<&str, usize> = rules
        .rules()
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i))
        .collect();
    let (mut matched, mut skipped, mut events) = (0, 0, 0);
    for f in all_fixtures() {
        let Ok(event) = Event::from_json(&fixture(&f)) else {
            continue;
        };
        events += 1;
        let mut subject = Subject::new(&event);
        subject.sigma = rules.sigma_matches(&event);
        let candidates: Vec<&str> = rules
            .candidates(&event, &subject.sigma)
            .map(|r| r.id.as_str())
            .collect();
        assert!(
            candidates.windows(2).all(|w| order[w[0]] < order[w[1]]),
            "{f}: {candidates:?}"
        );
        for rule in rules.rules() {
            if rule.matches(&subject) == Match::No {
                if !candidates.contains(&rule.id.as_str()) {
                    skipped += 1;
                }
            } else {
                matched += 1;
                assert!(
                    candidates.contains(&rule.id.as_str()),
                    "{f}: {} matches but the index leaves it out",
                    rule.id
                );
            }
        }
    }
    assert!(events >= 200, "{events}");
    assert!(matched >= 200, "{matched}");
    // Most rules are left out of most events: each event is held against a few rules only.
    assert!(skipped >= events * rules.rules().len() / 2, "{skipped}");
}
