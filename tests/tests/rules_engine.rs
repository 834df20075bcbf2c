//! Response rules as code: precedence when several rules match, exceptions, shadow mode, the
//! field conditions, and the `mamoru rules check|test` commands.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use mamoru::decide::{Band, Disposition, RuleSet, decide};
use mamoru::{Event, Settings};
use mamoru_tests::{binary, fixture, fixtures};

fn rules_with(extra: &str) -> RuleSet {
    let mut set = RuleSet::builtin().unwrap();
    set.add_source("extra.toml", extra, true).unwrap();
    set
}

fn plan_for(rules: &RuleSet, rel: &str) -> mamoru::Plan {
    let event = Event::from_json(&fixture(rel)).unwrap();
    decide(&event, None, rules, &Settings::default())
}

const STOP: &str = "aws.cloudtrail/ct-stop-logging.json";

#[test]
fn the_highest_severity_wins_and_titles_follow_it() {
    // GIVEN a second rule on StopLogging that says critical
    let rules = rules_with(
        r#"
[[rule]]
id = "stop-logging-is-critical-here"
description = "this account treats a stopped trail as critical"
[rule.match]
detail_type = ["AWS API Call via CloudTrail"]
event_name = ["StopLogging"]
[rule.response]
title = "Trail stopped in production"
severity = "critical"
"#,
    );
    // WHEN decided THEN both match, critical wins and names the event
    let plan = plan_for(&rules, STOP);
    assert_eq!(
        plan.rule_ids,
        ["cloudtrail-stop-logging", "stop-logging-is-critical-here"]
    );
    assert_eq!(plan.severity.band, Band::Critical);
    assert_eq!(plan.title, "Trail stopped in production");
    // AND the built-in rule's action is kept
    assert_eq!(plan.actions.len(), 1);
}

#[test]
fn the_same_action_from_two_rules_runs_once_and_enforce_beats_shadow() {
    let rules = rules_with(
        r#"
[[rule]]
id = "shadow-restart"
description = "asks for the same restart, in shadow"
mode = "shadow"
[rule.match]
detail_type = ["AWS API Call via CloudTrail"]
event_name = ["StopLogging"]
[rule.response]
actions = [{ action = "start_logging" }]
"#,
    );
    let plan = plan_for(&rules, STOP);
    assert_eq!(plan.actions.len(), 1, "merged: {:?}", plan.actions);
    assert!(!plan.actions[0].shadow, "the enforcing rule wins");
    assert_eq!(plan.actions[0].rule_id, "cloudtrail-stop-logging");
    assert_eq!(plan.disposition, Disposition::Remediate);
}

#[test]
fn an_exception_beats_a_match() {
    // GIVEN the built-in StopLogging rule overridden with an exception for the caller's IP range
    let rules = rules_with(
        r#"
[[rule]]
id = "cloudtrail-stop-logging"
description = "restart stopped trails, except from the maintenance network"
[rule.match]
detail_type = ["AWS API Call via CloudTrail"]
event_source = ["cloudtrail.amazonaws.com"]
event_name = ["StopLogging"]
call = "succeeded"
[rule.response]
severity = "high"
actions = [{ action = "start_logging" }]
[rule.exceptions]
source_ips = ["127.0.0.0/8"]
"#,
    );
    // WHEN the event comes from that range (the fixture's caller is 127.0.0.1)
    let plan = plan_for(&rules, STOP);
    // THEN the rule does not count: nothing else matches, so the event is ignored, and says why
    assert!(plan.rule_ids.is_empty());
    assert_eq!(plan.disposition, Disposition::Ignore);
    assert!(plan.reason.contains("exception"), "{}", plan.reason);

    // AND a principal exception and a tag exception work the same way
    let rules = rules_with(
        r#"
[[rule]]
id = "config-security-group-world-open-admin-port"
description = "open admin ports, except on tagged bastions"
[rule.match]
detail_type = ["Config Configuration Item Change"]
signal = ["security_group_world_open_admin_port"]
[rule.response]
severity = "high"
[rule.exceptions]
resource_tags = { Name = "bastion-sg" }
"#,
    );
    let plan = plan_for(
        &rules,
        "aws.config/ci-change-securitygroup-ssh-open-world.json",
    );
    // The excepted rule does not count; the (shadow) containment rule, without the exception,
    // still does.
    assert_eq!(
        plan.rule_ids,
        ["contain-security-group-world-open-admin-port"],
        "{:?}",
        plan.rule_ids
    );
}

#[test]
fn shadow_mode_plans_but_never_executes() {
    // GIVEN the key rule promoted to shadow mode (a one-word change)
    let builtin = mamoru::decide::rules::BUILTIN_RULES;
    let shadowed = builtin.replace(
        "id = \"guardduty-iam-user-key-compromise\"\n",
        "id = \"guardduty-iam-user-key-compromise\"\nmode = \"shadow\"\n",
    );
    assert_ne!(builtin, shadowed);
    let mut rules = RuleSet::default();
    rules.add_source("shadowed.toml", &shadowed, false).unwrap();
    // WHEN decided
    let plan = plan_for(
        &rules,
        "constructed/finding-iamuser-key-malicious-ip-high.json",
    );
    // THEN every action is planned as shadow (the quarantine ships in shadow mode too), and the
    // event is a notification
    let key = plan
        .actions
        .iter()
        .find(|a| a.action.kind.api() == "iam:UpdateAccessKey")
        .unwrap();
    assert!(key.shadow);
    assert!(plan.actions.iter().all(|a| a.shadow));
    assert_eq!(plan.disposition, Disposition::Notify);
    assert!(plan.reason.contains("shadow"), "{}", plan.reason);
}

#[tokio::test]
async fn shadow_outcomes_are_would_do_even_in_enforce_mode() {
    let builtin = mamoru::decide::rules::BUILTIN_RULES;
    let shadowed = builtin.replace(
        "id = \"cloudtrail-stop-logging\"\n",
        "id = \"cloudtrail-stop-logging\"\nmode = \"shadow\"\n",
    );
    let mut rules = RuleSet::default();
    rules.add_source("shadowed.toml", &shadowed, false).unwrap();
    let settings = Settings {
        mode: mamoru::Mode::Enforce,
        ..Settings::default()
    };
    // No AWS access at all: a shadow action must not even try.
    let responder = mamoru::Responder::new(None, settings, rules, None, None);
    let report = responder.handle_json(&fixture(STOP)).await.unwrap();
    assert_eq!(report.outcomes.len(), 1);
    assert_eq!(report.outcomes[0].status, mamoru::action::Status::WouldDo);
    assert!(
        report.outcomes[0]
            .message
            .contains("shadow rule cloudtrail-stop-logging")
    );
}

#[test]
fn field_conditions_prefix_glob_cidr_exists_and_one_of() {
    let rule = |cond: &str| {
        rules_with(&format!(
            r#"
[[rule]]
id = "probe"
description = "probe"
[rule.match]
detail_type = ["AWS API Call via CloudTrail"]
field = [{cond}]
[rule.response]
severity = "low"
"#
        ))
    };
    let matches = |cond: &str| {
        plan_for(&rule(cond), STOP)
            .rule_ids
            .contains(&"probe".to_string())
    };
    assert!(matches(
        r#"{ path = "detail.userIdentity.arn", prefix = "arn:aws:iam::123456789012:user/" }"#
    ));
    assert!(!matches(
        r#"{ path = "detail.userIdentity.arn", prefix = "arn:aws:iam::999999999999:" }"#
    ));
    assert!(matches(
        r#"{ path = "detail.requestParameters.name", glob = "*:trail/test-*" }"#
    ));
    assert!(matches(
        r#"{ path = "detail.sourceIPAddress", cidr = "127.0.0.0/8" }"#
    ));
    assert!(!matches(
        r#"{ path = "detail.sourceIPAddress", cidr = "203.0.113.0/24" }"#
    ));
    assert!(matches(r#"{ path = "detail.errorCode", exists = false }"#));
    assert!(!matches(r#"{ path = "detail.errorCode", exists = true }"#));
    assert!(matches(
        r#"{ path = "detail.eventName", one_of = ["StartLogging", "StopLogging"] }"#
    ));
    assert!(matches(r#"{ path = "region", equals = "us-east-1" }"#));
    assert!(matches(
        r#"{ path = "detail.userIdentity.sessionContext.attributes.mfaAuthenticated", equals = "true" }"#
    ));
}

fn mamoru(args: &[&str]) -> (bool, String) {
    let out = Command::new(binary("mamoru")).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn temp(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mamoru-rules-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn rules_check_reports_file_line_and_message() {
    let bad = temp(
        "bad.toml",
        "[[rule]]\nid = \"a\"\ndescription = \"d\"\n[rule.match]\ndetail_type = [\"GuardDuty Finding\"]\nfinding_type = [\"**\"]\n[rule.response]\nactions = [{ action = \"start_logging\" }]\n",
    );
    let (ok, out) = mamoru(&["rules", "check", bad.to_str().unwrap()]);
    assert!(!ok);
    let loc = format!("{}:1:", bad.display());
    assert!(
        out.contains(&format!("{loc} rule `a`: bad pattern `**`")),
        "{out}"
    );
    assert!(
        out.contains("cannot take its parameters from `GuardDuty Finding` events"),
        "{out}"
    );

    let unknown = temp(
        "unknown.toml",
        "[[rule]]\nid = \"a\"\ndescription = \"d\"\nseverity = \"high\"\n[rule.match]\n",
    );
    let (ok, out) = mamoru(&["rules", "check", unknown.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        out.contains(&format!(
            "{}:4: unknown field `severity`",
            unknown.display()
        )),
        "{out}"
    );

    let (ok, out) = mamoru(&["rules", "check"]);
    assert!(ok, "{out}");
}

#[test]
fn rules_test_runs_the_builtin_cases_and_shows_a_diff_on_mismatch() {
    let dir = mamoru_tests::root().join("shared/rules");
    let (ok, out) = mamoru(&["rules", "test", dir.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert!(out.contains(" passed, 0 failed, 0 rules without"), "{out}");

    // GIVEN a case that expects the wrong region and disposition
    let event = fixtures().join(STOP);
    let case = temp(
        "wrong.toml",
        &format!(
            "[[case]]\nname = \"expects eu-west-1\"\nevent = \"{}\"\n[case.expect]\ndisposition = \"notify\"\nactions = [{{ api = \"cloudtrail:StartLogging\", region = \"eu-west-1\", params = {{ Name = \"x\" }} }}]\n",
            event.display()
        ),
    );
    let (ok, out) = mamoru(&["rules", "test", "--no-coverage", case.to_str().unwrap()]);
    assert!(!ok);
    assert!(out.contains("FAIL"), "{out}");
    assert!(
        out.contains("disposition: expected notify, got remediate"),
        "{out}"
    );
    assert!(
        out.contains("- cloudtrail:StartLogging in eu-west-1"),
        "{out}"
    );
    assert!(
        out.contains("+ cloudtrail:StartLogging in us-east-1"),
        "{out}"
    );

    // AND the built-in rules, defined outside the file tested, are said to be outside the run,
    // not reported as missing cases
    let (ok, out) = mamoru(&["rules", "test", case.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        !out.contains("MISSING rule `cloudtrail-stop-logging`"),
        "{out}"
    );
    assert!(out.contains("were not part of this run"), "{out}");

    // AND coverage is required by default for the rules the tested files define
    let uncovered = temp(
        "uncovered.toml",
        "[[rule]]\nid = \"lonely\"\ndescription = \"d\"\n[rule.match]\ndetail_type = [\"AWS API Call via CloudTrail\"]\nevent_name = [\"StopLogging\"]\n",
    );
    let (ok, out) = mamoru(&["rules", "test", uncovered.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        out.contains("MISSING rule `lonely`") && out.contains("has no positive case"),
        "{out}"
    );
}

#[test]
fn rules_check_rejects_an_unknown_placeholder_with_file_line_and_the_valid_ones() {
    // GIVEN a rule titled "Production bucket deleted: {bucket}" (there is no such placeholder)
    let bad = temp(
        "placeholder.toml",
        "# a rule file\n\n[[rule]]\nid = \"prod-bucket-deleted\"\ndescription = \"d\"\n[rule.match]\ndetail_type = [\"AWS API Call via CloudTrail\"]\nevent_name = [\"DeleteBucket\"]\n[rule.response]\ntitle = \"Production bucket deleted: {bucket}\"\n",
    );
    // WHEN checked THEN it fails at the rule's line, names the placeholder and lists the valid ones
    let (ok, out) = mamoru(&["rules", "check", bad.to_str().unwrap()]);
    assert!(!ok, "{out}");
    assert!(
        out.contains(&format!(
            "{}:3: rule `prod-bucket-deleted`: title: unknown placeholder `{{bucket}}`",
            bad.display()
        )),
        "{out}"
    );
    assert!(
        out.contains("{detail.<path>}") && out.contains("{resource}"),
        "{out}"
    );

    // AND the same title by path is accepted, and a path no CloudTrail call has is warned about
    let good = temp(
        "placeholder-ok.toml",
        "[[rule]]\nid = \"prod-bucket-deleted\"\ndescription = \"d\"\n[rule.match]\ndetail_type = [\"AWS API Call via CloudTrail\"]\nevent_name = [\"DeleteBucket\"]\n[rule.response]\ntitle = \"Production bucket deleted: {detail.requestParameters.bucketName}\"\nrunbook = \"See {detail.service.archived}\"\n",
    );
    let (ok, out) = mamoru(&["rules", "check", good.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert!(
        out.contains("warning: rule `prod-bucket-deleted`: runbook placeholder `{detail.service.archived}` can never be present"),
        "{out}"
    );
    assert!(out.contains("1 warning(s)"), "{out}");
}

#[test]
fn a_path_placeholder_renders_the_event_value_and_a_missing_one_is_marked() {
    let rules = rules_with(
        r#"
[[rule]]
id = "named-trail-stopped"
description = "names the trail and the caller"
[rule.match]
detail_type = ["AWS API Call via CloudTrail"]
event_name = ["StopLogging"]
[rule.response]
title = "Trail {detail.requestParameters.name} stopped by {principal} in {account}/{region}: {detail.requestParameters.nothing}"
severity = "critical"
"#,
    );
    let plan = plan_for(&rules, STOP);
    assert_eq!(
        plan.title,
        "Trail arn:aws:cloudtrail:us-east-1:123456789012:trail/test-trail stopped by arn:aws:iam::123456789012:user/example.user in 123456789012/us-east-1: (no detail.requestParameters.nothing)"
    );
}

#[test]
fn rules_test_on_a_path_alone_says_the_built_in_rules_were_not_part_of_it() {
    let dir = std::env::temp_dir().join(format!("mamoru-rules-only-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("empty.toml"), "").unwrap();
    let (ok, out) = mamoru(&["rules", "test", dir.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert!(!out.contains("MISSING"), "{out}");
    assert!(!out.contains("has no a "), "{out}");
    assert!(
        out.contains("rules defined outside these paths (the built-in playbook: shared/rules) were not part of this run"),
        "{out}"
    );
}

#[test]
fn each_exception_kind_withholds_only_the_match_it_names() {
    // docs/examples/exceptions: a principals and an accounts exception, each with a case it
    // withholds and a case naming another principal or account that still matches. Run on their
    // own: with the built-in cases, the extra rules would change what those expect.
    let dir = mamoru_tests::root().join("docs/examples/exceptions");
    let (ok, out) = mamoru(&["rules", "test", dir.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert!(out.contains("4 passed, 0 failed"), "{out}");
}

#[test]
fn a_negative_case_counts_only_on_an_event_of_the_rules_kind() {
    // GIVEN a rule on EC2 DeleteFlowLogs calls, a positive case, and a "negative" case whose
    // event is a Config compliance change (another detail-type: it cannot show the rule not
    // matching)
    let fixtures = fixtures();
    let rule = "[[rule]]\nid = \"flow-logs-gone\"\ndescription = \"d\"\n[rule.match]\ndetail_type = [\"AWS API Call via CloudTrail\"]\nevent_source = [\"ec2.amazonaws.com\"]\nevent_name = [\"DeleteFlowLogs\"]\ncall = \"succeeded\"\n";
    let positive = format!(
        "[[case]]\nname = \"deleted\"\nevent = \"{}\"\n[case.expect]\ndisposition = \"notify\"\nrules = [\"ec2-flow-logs-deleted\", \"flow-logs-gone\"]\n",
        fixtures.join("tamper/ec2-delete-flow-logs.json").display()
    );
    let config = format!(
        "[[case]]\nname = \"config\"\nevent = \"{}\"\n[case.expect]\ndisposition = \"notify\"\nnot_rules = [\"flow-logs-gone\"]\n",
        fixtures
            .join("aws.config/compliance-cloudtrail-enabled-back-to-compliant.json")
            .display()
    );
    let other_kind = temp("other-kind.toml", &format!("{rule}\n{positive}\n{config}"));
    let (ok, out) = mamoru(&["rules", "test", other_kind.to_str().unwrap()]);
    // THEN the rule is reported without a negative case
    assert!(!ok, "{out}");
    assert!(
        out.contains("MISSING rule `flow-logs-gone`")
            && out.contains("no negative case of the same detail-type and event source"),
        "{out}"
    );

    // AND a refused DeleteFlowLogs (same detail-type and source) is a negative that counts
    let same = format!(
        "[[case]]\nname = \"refused\"\nevent = \"{}\"\n[case.expect]\ndisposition = \"ignore\"\nnot_rules = [\"flow-logs-gone\"]\n",
        fixtures
            .join("tamper/ec2-delete-flow-logs-denied.json")
            .display()
    );
    let same_kind = temp("same-kind.toml", &format!("{rule}\n{positive}\n{same}"));
    let (ok, out) = mamoru(&["rules", "test", same_kind.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert!(out.contains("2 passed, 0 failed, 0 rules without"), "{out}");
}

/// A threshold names a count of 2 to 1000, a window of 1 minute to 1 day, and what it counts
/// by; a rule with one names its calls. Each mistake is an error naming the rule and the field.
#[test]
fn a_bad_threshold_is_refused_naming_what_is_wrong() {
    let rule = |threshold: &str, event_name: &str| {
        format!(
            r#"
[[rule]]
id = "volume-test"
description = "test"
[rule.match]
detail_type = ["AWS API Call via CloudTrail"]
{event_name}
threshold = {threshold}
"#
        )
    };
    let names = r#"event_name = ["GetSecretValue"]"#;
    let cases = [
        (
            rule("{ count = 1, window = \"10m\" }", names),
            "count 1 is outside 2–1000",
        ),
        (
            rule("{ count = 5000, window = \"10m\" }", names),
            "count 5000 is outside",
        ),
        (
            rule("{ count = 5, window = \"30s\" }", names),
            "window `30s` is outside 1 minute to 1 day",
        ),
        (
            rule("{ count = 5, window = \"2d\" }", names),
            "outside 1 minute to 1 day",
        ),
        (
            rule("{ count = 5, window = \"10\" }", names),
            "bad threshold window `10`",
        ),
        (
            rule("{ count = 5, window = \"é\" }", names),
            "bad threshold window `é`",
        ),
        (
            rule(
                "{ count = 5, window = \"10m\", by = \"requestParameters.x\" }",
                names,
            ),
            "threshold by",
        ),
        (
            rule("{ count = 5, window = \"10m\", distinct = \"x\" }", names),
            "threshold distinct",
        ),
        (
            rule(
                "{ count = 5, window = \"10m\", by = \"detail.responseElements.password\" }",
                names,
            ),
            "names the secret member `password`",
        ),
        (
            rule(
                "{ count = 5, window = \"10m\", distinct = \"detail.requestParameters.Credentials.SessionToken\" }",
                names,
            ),
            "names the secret member `Credentials`",
        ),
        (
            rule("{ count = 5, window = \"10m\" }", ""),
            "a threshold rule names its calls",
        ),
    ];
    for (text, want) in cases {
        let mut set = RuleSet::builtin().unwrap();
        let errors = set.add_source("extra.toml", &text, true).unwrap_err();
        let all: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        assert!(
            all.iter()
                .any(|e| e.contains(want) && e.contains("volume-test")),
            "{want}: {all:?}"
        );
    }
    // A good one compiles, and its window reads back as written.
    let set = rules_with(&rule(
        "{ count = 20, distinct = \"detail.requestParameters.secretId\", window = \"10m\", by = \"account\" }",
        names,
    ));
    let t = set.get("volume-test").unwrap().threshold.clone().unwrap();
    assert_eq!(
        (t.count, t.window, t.window_text()),
        (20, 600, "10m".to_string())
    );
}
