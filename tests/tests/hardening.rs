//! The guard must not be turned: one regression test per class an adversarial review found
//! (each failed on the code before the fix). Events are the fixtures, changed only where the
//! probe changes them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mamoru::decide::{Band, Disposition, RuleSet, decide};
use mamoru::{Event, Plan, Settings};
use mamoru_tests::fixture;
use serde_json::{Value, json};

const STOP_BY_SELF: &str = "constructed/ct-stop-logging-by-mamoru-itself.json";
const SELF_ROLE: &str = "arn:aws:iam::123456789012:role/mamoru-cloudtrail-role";
const KEY_FINDING: &str = "constructed/finding-iamuser-key-malicious-ip-high.json";
const SELECTORS: &str = "tamper/cloudtrail-put-event-selectors-keeps-management.json";
const DISABLE_OWN_RULE: &str = "tamper/events-disable-rule-mamoru.json";

fn json_of(rel: &str) -> Value {
    serde_json::from_str(&fixture(rel)).unwrap()
}

fn plan_of(v: &Value, settings: &Settings) -> Plan {
    let event = Event::from_json(&v.to_string()).unwrap();
    decide(&event, None, &RuleSet::builtin().unwrap(), settings)
}

fn settings(pairs: &[(&str, &str)]) -> Settings {
    Settings::from_lookup(
        |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        },
        false,
    )
    .unwrap()
}

fn apis(plan: &Plan) -> Vec<&'static str> {
    plan.actions.iter().map(|a| a.action.kind.api()).collect()
}

// --- 2. Calls made with mamoru's roles -----------------------------------------------------

#[test]
fn a_weakening_call_made_with_mamorus_role_is_critical_and_restored() {
    let s = settings(&[("MAMORU_SELF_ROLE_ARNS", SELF_ROLE)]);
    let plan = plan_of(&json_of(STOP_BY_SELF), &s);
    assert_eq!(plan.severity.band, Band::Critical);
    assert!(
        plan.title.starts_with("Made with mamoru's role"),
        "{}",
        plan.title
    );
    assert!(
        plan.reason.contains("investigate the role"),
        "{}",
        plan.reason
    );
    assert_eq!(apis(&plan), ["cloudtrail:StartLogging"]);
}

#[test]
fn a_disabled_detector_by_mamorus_role_is_alerted_but_an_enabling_one_is_its_own() {
    let s = settings(&[("MAMORU_SELF_ROLE_ARNS", SELF_ROLE)]);
    let mut v = json_of(STOP_BY_SELF);
    v["source"] = json!("aws.guardduty");
    v["detail"]["eventSource"] = json!("guardduty.amazonaws.com");
    v["detail"]["eventName"] = json!("UpdateDetector");
    v["detail"]["requestParameters"] =
        json!({"detectorId": "12abc34d567e8fa901bc2d34e56789f0", "enable": false});
    let disabled = plan_of(&v, &s);
    assert_eq!(disabled.disposition, Disposition::Remediate);
    assert_eq!(disabled.severity.band, Band::Critical);
    v["detail"]["requestParameters"]["enable"] = json!(true);
    let enabled = plan_of(&v, &s);
    assert_eq!(enabled.disposition, Disposition::Ignore);
    assert!(enabled.reason.contains("restoring"), "{}", enabled.reason);
}

#[test]
fn only_deny_policies_under_mamorus_names_are_its_own_calls() {
    let s = settings(&[("MAMORU_SELF_ROLE_ARNS", SELF_ROLE)]);
    let mut v = json_of(STOP_BY_SELF);
    v["source"] = json!("aws.iam");
    v["detail"]["eventSource"] = json!("iam.amazonaws.com");
    v["detail"]["eventName"] = json!("PutUserPolicy");
    let deny =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#;
    let allow =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    v["detail"]["requestParameters"] =
        json!({"userName": "alice", "policyName": "mamoru-quarantine", "policyDocument": deny});
    assert_eq!(plan_of(&v, &s).disposition, Disposition::Ignore);
    // The same name with an Allow document is an escalation, not a quarantine.
    v["detail"]["requestParameters"]["policyDocument"] = json!(allow);
    let plan = plan_of(&v, &s);
    assert_eq!(plan.severity.band, Band::Critical, "{plan:?}");
    assert!(
        plan.rule_ids
            .contains(&"iam-inline-admin-policy".to_string())
    );
}

#[test]
fn a_role_of_the_same_name_in_another_partition_is_not_mamoru() {
    let s = settings(&[(
        "MAMORU_SELF_ROLE_ARNS",
        "arn:aws-us-gov:iam::123456789012:role/mamoru-cloudtrail-role",
    )]);
    let mut v = json_of(STOP_BY_SELF);
    v["detail"]["eventName"] = json!("StartLogging");
    // Not mamoru's: a StartLogging by a stranger matches no rule, but is not "mamoru's own".
    let plan = plan_of(&v, &s);
    assert!(!plan.reason.contains("mamoru's own"), "{}", plan.reason);
    let same = settings(&[("MAMORU_SELF_ROLE_ARNS", SELF_ROLE)]);
    assert!(plan_of(&v, &same).reason.contains("mamoru's own restoring"));
}

// --- 3. A real finding passed off as a sample ----------------------------------------------

#[test]
fn a_principal_named_generated_finding_does_not_make_a_sample() {
    let mut v = json_of(KEY_FINDING);
    let key = &mut v["detail"]["resource"]["accessKeyDetails"];
    key["userName"] = json!("GeneratedFindingUserName");
    let plan = plan_of(&v, &Settings::default());
    assert_eq!(plan.severity.band, Band::High);
    assert!(!plan.title.starts_with("Sample"), "{}", plan.title);
    assert_eq!(apis(&plan).first(), Some(&"iam:UpdateAccessKey"));
    // GuardDuty's own marker still makes it a sample.
    v["detail"]["service"]["additionalInfo"] = json!({"sample": true});
    let sample = plan_of(&v, &Settings::default());
    assert_eq!(sample.severity.band, Band::Info);
    assert!(sample.actions.is_empty());
}

// --- 4. Trails told to log only reads ------------------------------------------------------

#[test]
fn read_only_selectors_drop_the_write_events_and_are_restored() {
    let mut v = json_of(SELECTORS);
    v["detail"]["requestParameters"]["eventSelectors"] = json!([{"readWriteType": "ReadOnly", "includeManagementEvents": true, "dataResources": []}]);
    v["detail"]["requestParameters"]
        .as_object_mut()
        .unwrap()
        .remove("advancedEventSelectors");
    let plan = plan_of(&v, &Settings::default());
    assert_eq!(plan.severity.band, Band::High, "{plan:?}");
    assert_eq!(apis(&plan), ["cloudtrail:PutEventSelectors"]);

    let mut adv = json_of(SELECTORS);
    let p = adv["detail"]["requestParameters"].as_object_mut().unwrap();
    p.remove("eventSelectors");
    p.insert(
        "advancedEventSelectors".into(),
        json!([{"name": "m", "fieldSelectors": [
            {"field": "eventCategory", "equals": ["Management"]},
            {"field": "readOnly", "equals": ["true"]}
        ]}]),
    );
    let plan = plan_of(&adv, &Settings::default());
    assert_eq!(apis(&plan), ["cloudtrail:PutEventSelectors"], "{plan:?}");
}

#[test]
fn excluding_kms_events_is_medium_and_not_a_drop() {
    let mut v = json_of(SELECTORS);
    v["detail"]["requestParameters"]["eventSelectors"] = json!([{
        "readWriteType": "All", "includeManagementEvents": true,
        "excludeManagementEventSources": ["kms.amazonaws.com"], "dataResources": []
    }]);
    v["detail"]["requestParameters"]
        .as_object_mut()
        .unwrap()
        .remove("advancedEventSelectors");
    let plan = plan_of(&v, &Settings::default());
    assert_eq!(plan.severity.band, Band::Medium, "{plan:?}");
    assert!(plan.actions.is_empty());
}

// --- 5. Protected principals ---------------------------------------------------------------

#[test]
fn protection_spares_the_principal_not_the_control_it_changed() {
    let s = settings(&[(
        "MAMORU_PROTECTED_PRINCIPALS",
        "arn:aws:iam::*:role/breakglass*",
    )]);
    let plan = plan_of(
        &json_of("constructed/ct-stop-logging-by-protected-principal.json"),
        &s,
    );
    // Name matching ignores case (IAM names are unique regardless of case) …
    assert!(plan.withheld.is_empty(), "{plan:?}");
    // … and the trail is restarted all the same.
    assert_eq!(apis(&plan), ["cloudtrail:StartLogging"]);

    let user = settings(&[("MAMORU_PROTECTED_PRINCIPALS", "arn:aws:iam::*:user/ALICE")]);
    let key = plan_of(&json_of(KEY_FINDING), &user);
    assert!(key.actions.iter().all(|a| a.shadow), "{key:?}");
    assert!(key.withheld.iter().any(|w| w.reason.contains("protected")));
}

#[test]
fn protected_globs_with_a_path_are_refused_at_start_up() {
    let e = Settings::from_lookup(
        |k| (k == "MAMORU_PROTECTED_PRINCIPALS").then(|| "arn:aws:iam::*:user/automation/*".into()),
        false,
    )
    .unwrap_err();
    assert_eq!(e.variable, "MAMORU_PROTECTED_PRINCIPALS");
}

// --- 6 and 7. Tamper paths that went unseen -----------------------------------------------

#[test]
fn a_world_open_admin_port_in_cidr_halves_is_seen() {
    let v = json_of("aws.config/ci-change-securitygroup-ssh-open-world.json");
    let text = v.to_string();
    assert!(text.contains("0.0.0.0/0"));
    let halves = text.replace(
        r#"{"cidrIp":"0.0.0.0/0"}"#,
        r#"{"cidrIp":"0.0.0.0/1"},{"cidrIp":"128.0.0.0/1"}"#,
    );
    assert_ne!(halves, text, "the fixture's range shape changed");
    let event = Event::from_json(&halves).unwrap();
    let plan = decide(
        &event,
        None,
        &RuleSet::builtin().unwrap(),
        &Settings::default(),
    );
    assert!(
        plan.rule_ids
            .contains(&"config-security-group-world-open-admin-port".to_string()),
        "{plan:?}"
    );
}

#[test]
fn update_trail_that_moves_the_logs_is_high() {
    let mut v = json_of("aws.cloudtrail/ct-update-trail.json");
    v["detail"]["requestParameters"] = json!({"name": "org-trail", "isMultiRegionTrail": false});
    let plan = plan_of(&v, &Settings::default());
    assert_eq!(plan.severity.band, Band::High, "{plan:?}");
    v["detail"]["requestParameters"] = json!({"name": "org-trail", "isMultiRegionTrail": true});
    assert_eq!(
        plan_of(&v, &Settings::default()).severity.band,
        Band::Medium
    );
}

#[test]
fn recorder_narrowed_by_listing_types_is_seen() {
    let mut v = json_of("tamper/config-put-recorder-all.json");
    let group = &mut v["detail"]["requestParameters"]["configurationRecorder"]["recordingGroup"];
    *group = json!({"resourceTypes": ["AWS::EC2::Instance"], "includeGlobalResourceTypes": true});
    let plan = plan_of(&v, &Settings::default());
    assert!(
        plan.rule_ids
            .contains(&"config-recording-narrowed".to_string()),
        "{plan:?}"
    );
}

// --- 8. mamoru's own resources are known exactly -------------------------------------------

#[test]
fn a_rule_that_only_has_mamoru_in_its_name_is_not_mamorus() {
    let mut v = json_of(DISABLE_OWN_RULE);
    v["detail"]["requestParameters"]["name"] = json!("attacker-mamoru-noise");
    let s = settings(&[("MAMORU_SELF_RESOURCES", "mamoru-cloudtrail-tampering")]);
    let plan = plan_of(&v, &s);
    assert!(
        !plan.rule_ids.iter().any(|r| r.starts_with("mamoru-")),
        "{plan:?}"
    );
    assert!(plan.actions.is_empty(), "no EnableRule that IAM would deny");
    let own = plan_of(&json_of(DISABLE_OWN_RULE), &s);
    assert_eq!(own.rule_ids, ["mamoru-rule-disabled"]);
    assert_eq!(apis(&own), ["events:EnableRule"]);
}

#[test]
fn events_from_a_source_mamoru_does_not_route_are_refused() {
    let mut v = json_of(KEY_FINDING);
    v["source"] = json!("custom.forged");
    let plan = plan_of(&v, &Settings::default());
    assert_eq!(plan.disposition, Disposition::Ignore);
    assert!(plan.actions.is_empty());
    assert!(plan.reason.contains("custom.forged"), "{}", plan.reason);
}

// --- 9. Chat and email injection -----------------------------------------------------------

/// Every span of the chat description outside code spans: what chat markdown acts on.
fn outside_code(s: &str) -> String {
    s.split('`').step_by(2).collect::<Vec<_>>().join(" ")
}

#[test]
fn attacker_markup_stays_inert_in_chat_and_in_the_documents_display_fields() {
    let mut v = json_of(STOP_BY_SELF);
    let hostile = "*URGENT* [click here](https://evil.example/login) @here <!channel> ~gone~";
    v["detail"]["userAgent"] = json!(hostile);
    v["detail"]["requestParameters"]["name"] = json!(format!("trail {hostile}"));
    let report = mamoru_tests::render::dry_run_report(&v.to_string());
    let message = mamoru::notify::render(&report);
    let chat = message.chatbot["content"]["description"].as_str().unwrap();
    let live = outside_code(chat);
    for markup in [
        "*URGENT*",
        "[click here]",
        "](https",
        "@here",
        "<!channel>",
        "~gone~",
        "https://evil",
    ] {
        assert!(!live.contains(markup), "{markup:?} is live in chat: {chat}");
    }
    // The value is still shown, as code.
    assert!(chat.contains("`") && chat.contains("URGENT"), "{chat}");
    for s in message.chatbot["content"]["nextSteps"].as_array().unwrap() {
        let s = s.as_str().unwrap();
        assert!(!s.contains("@here") && !s.contains("](https"), "{s}");
    }
    for field in ["subject", "title", "description"] {
        let text = message.document[field].as_str().unwrap_or_default();
        for markup in ["*URGENT*", "](https", "@here", "<!channel>", "https://evil"] {
            assert!(
                !text.contains(markup),
                "document {field} keeps {markup:?}: {text}"
            );
        }
    }
}

// --- 10 and 11. Secrets, and linear masking ------------------------------------------------

#[test]
fn secrets_in_a_call_reach_neither_the_plan_nor_the_notification() {
    let secrets = [
        "wJalrXUtnFEMI%2FK7MDENG%2FbPxRfiCYEXAMPLEKEY",
        "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
        "https://deploy:Sup3rS3cret@git.example.com/x.git",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    ];
    let mut v = json_of(STOP_BY_SELF);
    v["detail"]["userAgent"] = json!(format!("tool password=hunter2 {}", secrets.join(" ")));
    v["detail"]["requestParameters"]["SecretString"] = json!("plain-secret-value");
    let report = mamoru_tests::render::dry_run_report(&v.to_string());
    let message = mamoru::notify::render(&report);
    let all = format!(
        "{}{}{}",
        message.sns_message(),
        serde_json::to_string(&report.plan).unwrap(),
        message.body
    );
    for s in [
        "hunter2",
        "plain-secret-value",
        "bPxRfiCYEXAMPLEKEY",
        "ghp_aBcDeF",
        "Sup3rS3cret",
        "dozjgNryP4J3",
    ] {
        assert!(!all.contains(s), "{s} leaked");
    }
}

#[test]
fn a_256_kb_adversarial_user_agent_is_decided_and_rendered() {
    // Once quadratic: many PEM headers, none of them a private key. The criterion benchmark
    // (shared/benches) measures the time; this checks the result.
    let mut v = json_of(STOP_BY_SELF);
    let ua = "-----BEGIN ".repeat(240 * 1024 / 11);
    v["detail"]["userAgent"] = json!(ua);
    let report = mamoru_tests::render::dry_run_report(&v.to_string());
    let message = mamoru::notify::render(&report);
    assert!(message.size() <= 256 * 1024);
    assert_eq!(report.plan.rule_ids, ["cloudtrail-stop-logging"]);
}
