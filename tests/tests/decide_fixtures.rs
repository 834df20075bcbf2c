//! Decision tests: every fixture event through parse and decide, with the plan asserted.
//! GIVEN a fixture and the test settings, WHEN decided, THEN the plan is exactly the expected one.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mamoru::decide::{Band, Disposition, Handler, RuleSet, decide};
use mamoru::{Event, Settings};
use mamoru_tests::{all_fixtures, fixture};
use serde_json::{Value, json};

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
            _ => None,
        },
        false,
    )
    .unwrap()
}

struct Expect {
    file: &'static str,
    handler: Handler,
    disposition: Disposition,
    band: Band,
    rules: &'static [&'static str],
    /// (api, region, params)
    actions: Vec<(&'static str, &'static str, Value)>,
    /// Substring the reason must contain.
    reason: &'static str,
}

fn e(
    file: &'static str,
    handler: Handler,
    disposition: Disposition,
    band: Band,
    rules: &'static [&'static str],
) -> Expect {
    Expect {
        file,
        handler,
        disposition,
        band,
        rules,
        actions: Vec::new(),
        reason: "",
    }
}

impl Expect {
    fn action(mut self, api: &'static str, region: &'static str, params: Value) -> Self {
        self.actions.push((api, region, params));
        self
    }
    fn because(mut self, reason: &'static str) -> Self {
        self.reason = reason;
        self
    }
}

use Band::*;
use Disposition::*;
use Handler::*;

const SAMPLE: &[&str] = &["guardduty-finding"];

fn expectations() -> Vec<Expect> {
    vec![
        // --- GuardDuty findings (the published samples: notify, informational, no action)
        e("aws.guardduty/finding-backdoor-ec2-ccactivity-b.json", Guardduty, Notify, Info, SAMPLE).because("sample finding"),
        e("aws.guardduty/finding-credentialaccess-iamuser-anomalousbehavior.json", Guardduty, Notify, Info, SAMPLE).because("sample finding"),
        e("aws.guardduty/finding-cryptocurrency-ec2-bitcointool-b-dns.json", Guardduty, Notify, Info, SAMPLE).because("sample finding"),
        e("aws.guardduty/finding-policy-s3-bucketblockpublicaccessdisabled.json", Guardduty, Notify, Info, SAMPLE).because("sample finding"),
        e("aws.guardduty/finding-recon-ec2-portprobeunprotectedport-low-severity.json", Guardduty, Notify, Info, SAMPLE).because("sample finding"),
        e("aws.guardduty/finding-recon-iamuser-maliciousipcaller.json", Guardduty, Notify, Info, SAMPLE).because("sample finding"),
        e("aws.guardduty/finding-stealth-iamuser-cloudtrailloggingdisabled.json", Guardduty, Notify, Info, SAMPLE).because("sample finding"),
        e("aws.guardduty/finding-unauthorizedaccess-ec2-sshbruteforce.json", Guardduty, Notify, Info, SAMPLE).because("sample finding"),
        e("aws.guardduty/finding-unauthorizedaccess-iamuser-consoleloginsuccess-b.json", Guardduty, Notify, Info, SAMPLE).because("sample finding"),
        e("aws.guardduty/finding-unauthorizedaccess-iamuser-instancecredentialexfiltration-outsideaws.json", Guardduty, Notify, Info, SAMPLE).because("sample finding"),
        e("aws.guardduty/finding-unauthorizedaccess-iamuser-maliciousipcaller.json", Guardduty, Notify, Info, SAMPLE).because("sample finding"),
        // A real root finding of severity 2: escalated to High, never remediated.
        e("aws.guardduty/finding-policy-iamuser-rootcredentialusage.json", Guardduty, Notify, High, &["guardduty-finding", "guardduty-root-credential-usage"]),
        // Constructed findings.
        e("constructed/finding-iamuser-key-malicious-ip-high.json", Guardduty, Remediate, High, &["guardduty-finding", "guardduty-iam-user-key-compromise"])
            .action("iam:UpdateAccessKey", "us-east-2", json!({"UserName": "alice", "AccessKeyId": "AKIAIOSFODNN7EXAMPLE", "Status": "Inactive"})),
        e("constructed/finding-iamuser-key-malicious-ip-medium.json", Guardduty, Notify, Medium, &["guardduty-finding", "guardduty-iam-user-key-compromise"])
            .because("below MAMORU_MIN_REMEDIATION_SEVERITY"),
        e("constructed/finding-assumedrole-credential-exfiltration-high.json", Guardduty, Notify, High, &["guardduty-finding"]),
        e("constructed/finding-iamuser-key-archived.json", Guardduty, Ignore, Info, &[]).because("archived"),
        e("constructed/finding-iamuser-key-protected-breakglass.json", Guardduty, Notify, High, &["guardduty-finding", "guardduty-iam-user-key-compromise"])
            .because("is protected"),
        // --- CloudTrail tampering
        e("aws.cloudtrail/ct-stop-logging.json", Cloudtrail, Remediate, High, &["cloudtrail-stop-logging"])
            .action("cloudtrail:StartLogging", "us-east-1", json!({"Name": "arn:aws:cloudtrail:us-east-1:123456789012:trail/test-trail"})),
        e("constructed/ct-stop-logging-trail-in-other-region.json", Cloudtrail, Remediate, High, &["cloudtrail-stop-logging"])
            .action("cloudtrail:StartLogging", "eu-west-1", json!({"Name": "arn:aws:cloudtrail:eu-west-1:123456789012:trail/org-trail"})),
        e("constructed/ct-stop-logging-by-name.json", Cloudtrail, Remediate, High, &["cloudtrail-stop-logging"])
            .action("cloudtrail:StartLogging", "us-west-2", json!({"Name": "audit-trail"})),
        e("aws.cloudtrail/ct-stop-logging-error-invalidtrailname.json", Cloudtrail, Notify, Medium, &["cloudtrail-stop-logging-attempt"])
            .because("the call failed"),
        e("constructed/ct-stop-logging-by-mamoru-itself.json", Cloudtrail, Ignore, Info, &[]).because("made by mamoru itself"),
        e("constructed/ct-stop-logging-by-protected-principal.json", Cloudtrail, Notify, High, &["cloudtrail-stop-logging"])
            .because("BreakGlassAdmin is protected"),
        e("aws.cloudtrail/ct-delete-trail.json", Cloudtrail, Notify, Critical, &["cloudtrail-trail-deleted"]),
        e("aws.cloudtrail/ct-update-trail.json", Cloudtrail, Ignore, Info, &[]).because("no rule matched"),
        e("aws.cloudtrail/ct-update-trail-error-trailnotfound.json", Cloudtrail, Ignore, Info, &[]),
        e("aws.cloudtrail/ct-put-event-selectors.json", Cloudtrail, Ignore, Info, &[]),
        // --- GuardDuty tampering
        e("aws.guardduty/ct-update-detector-disable.json", Cloudtrail, Remediate, High, &["guardduty-detector-disabled"])
            .action("guardduty:UpdateDetector", "us-east-1", json!({"DetectorId": "82c919daa523bc69d203c24868c06849", "Enable": true})),
        e("constructed/ct-update-detector-enable.json", Cloudtrail, Ignore, Info, &[]).because("no rule matched"),
        e("constructed/ct-update-detector-disable-denied.json", Cloudtrail, Ignore, Info, &[]).because("no rule matched"),
        e("aws.guardduty/ct-delete-detector.json", Cloudtrail, Notify, Critical, &["guardduty-detector-deleted"]),
        e("aws.guardduty/ct-disassociate-from-master-account.json", Cloudtrail, Ignore, Info, &[]),
        // --- Config tampering
        e("aws.config/ct-stop-configuration-recorder.json", Cloudtrail, Remediate, High, &["config-recorder-stopped"])
            .action("config:StartConfigurationRecorder", "us-west-2", json!({"ConfigurationRecorderName": "default"})),
        e("aws.config/ct-delete-configuration-recorder.json", Cloudtrail, Notify, Critical, &["config-recorder-or-channel-deleted"]),
        e("aws.config/ct-delete-delivery-channel.json", Cloudtrail, Notify, Critical, &["config-recorder-or-channel-deleted"]),
        // --- Sign-in
        e("aws.signin/console-login-root.json", Cloudtrail, Notify, High, &["signin-root-console-login"]),
        e("constructed/console-login-root-failure.json", Cloudtrail, Ignore, Info, &[]),
        e("aws.iam/ct-create-access-key.json", Cloudtrail, Ignore, Info, &[]),
        // --- Config compliance
        e("aws.config/compliance-cloudtrail-enabled-noncompliant.json", Config, Remediate, High, &["config-cloudtrail-noncompliant", "config-rule-noncompliant"])
            .action("cloudtrail:StartLogging", "us-east-2", json!({"Name": "each trail seen from the region with IsLogging = false, started in its home region"})),
        e("aws.config/compliance-multi-region-cloudtrail-enabled-noncompliant.json", Config, Remediate, High, &["config-cloudtrail-noncompliant", "config-rule-noncompliant"])
            .action("cloudtrail:StartLogging", "us-east-1", json!({"Name": "each trail seen from the region with IsLogging = false, started in its home region"})),
        e("aws.config/compliance-guardduty-enabled-centralized-noncompliant.json", Config, Remediate, High, &["config-guardduty-noncompliant", "config-rule-noncompliant"])
            .action("guardduty:UpdateDetector", "us-east-1", json!({"DetectorId": "each detector of the region that is not enabled", "Enable": true})),
        e("aws.config/compliance-cloudtrail-enabled-back-to-compliant.json", Config, Notify, Info, &["config-rule-resolved"]),
        e("aws.config/compliance-iam-user-unused-credentials-check-noncompliant.json", Config, Notify, Medium, &["config-rule-noncompliant"]),
        e("aws.config/compliance-restricted-ssh-noncompliant.json", Config, Notify, High, &["config-rule-noncompliant", "config-restricted-ssh-noncompliant"]),
        // --- Config item changes
        e("aws.config/ci-change-cloudtrail-trail-single-region.json", Config, Notify, High, &["config-trail-weakened"]),
        e("aws.config/ci-change-iam-user-admin-policy-attached.json", Config, Notify, High, &["config-user-admin-policy"]),
        e("aws.config/ci-change-securitygroup-ssh-open-world.json", Config, Notify, High, &["config-security-group-world-open-admin-port"]),
        e("aws.config/ci-change-securitygroup-created.json", Config, Ignore, Info, &[]).because("no rule matched"),
        // --- Not handled by any function
        e("constructed/ec2-instance-state-change.json", Unhandled, Ignore, Info, &[]).because("not handled"),
    ]
}

#[test]
fn every_fixture_has_an_expected_plan() {
    let listed: Vec<&str> = expectations().iter().map(|e| e.file).collect();
    for f in all_fixtures() {
        assert!(
            listed.contains(&f.as_str()),
            "fixture {f} has no expected plan in this test"
        );
    }
}

#[test]
fn plans_match_the_playbook() {
    let rules = RuleSet::builtin().unwrap();
    let settings = settings();
    let mut failures = Vec::new();
    for exp in expectations() {
        let event =
            Event::from_json(&fixture(exp.file)).unwrap_or_else(|e| panic!("{}: {e}", exp.file));
        let plan = decide(&event, None, &rules, &settings);
        let actions: Vec<(String, String, Value)> = plan
            .actions
            .iter()
            .map(|a| {
                (
                    a.action.kind.api().to_string(),
                    a.action.region.clone(),
                    Value::Object(a.action.params()),
                )
            })
            .collect();
        let want_actions: Vec<(String, String, Value)> = exp
            .actions
            .iter()
            .map(|(api, region, params)| (api.to_string(), region.to_string(), params.clone()))
            .collect();
        let checks = [
            ("handler", plan.handler == exp.handler),
            ("disposition", plan.disposition == exp.disposition),
            ("severity", plan.severity.band == exp.band),
            ("rules", plan.rule_ids == exp.rules),
            ("actions", actions == want_actions),
            ("reason", plan.reason.contains(exp.reason)),
            (
                "notify",
                plan.notify == matches!(exp.disposition, Notify | Remediate),
            ),
            (
                "account",
                plan.actions
                    .iter()
                    .all(|a| a.action.account == event.account),
            ),
        ];
        for (what, ok) in checks {
            if !ok {
                failures.push(format!(
                    "{}: {what} differs\n  got: {:?} {:?} {:?} {:?} {:?} reason={:?}",
                    exp.file,
                    plan.handler,
                    plan.disposition,
                    plan.severity.band,
                    plan.rule_ids,
                    actions,
                    plan.reason
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
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
    assert!(plan.actions.is_empty(), "{:?}", plan.actions);
    assert_eq!(plan.withheld.len(), 1);
    assert!(
        plan.withheld[0]
            .reason
            .contains("not a long-term IAM user key")
    );
}
