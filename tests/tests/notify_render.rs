//! What a notification says for what happened: the subject's outcome words, the body's
//! sections, console links per partition, the attributes, the message size limit, and secrets
//! and crafted names kept out.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mamoru::action::{ActionKind, Outcome, Status};
use mamoru::notify::{MESSAGE_BUDGET, PROTOCOLS, render, subject};
use mamoru::{Mode, Report};
use mamoru_tests::fixture;
use mamoru_tests::render::{dry_run_report, executed_report};
use mamoru_tests::scenario::event_with;
use serde_json::Value;

const TRAIL_ELSEWHERE: &str = "constructed/ct-stop-logging-trail-in-other-region.json";
const KEY_HIGH: &str = "constructed/finding-iamuser-key-malicious-ip-high.json";

#[test]
fn the_subject_reads_like_the_issue_example() {
    // GIVEN org-trail in eu-west-1 was stopped and mamoru restarted it
    let report = executed_report(
        &fixture(TRAIL_ELSEWHERE),
        Status::Done,
        "trail org-trail is logging",
    );
    // WHEN rendered THEN the subject gives severity, what, where and the outcome
    assert_eq!(
        subject(&report),
        "[HIGH] CloudTrail logging stopped: org-trail (123456789012/eu-west-1), restarted"
    );
}

#[test]
fn each_action_kind_has_natural_outcome_words() {
    // GIVEN one event per action kind, WHEN each outcome status is rendered THEN the subject
    // ends with words for that kind and status
    let cases: [(&str, ActionKind, [&str; 4]); 6] = [
        (
            KEY_HIGH,
            ActionKind::DeactivateAccessKey,
            [
                "key deactivated",
                "key already inactive",
                "key deactivation FAILED",
                "key deactivation skipped",
            ],
        ),
        (
            TRAIL_ELSEWHERE,
            ActionKind::StartLogging,
            [
                "restarted",
                "already logging",
                "restart FAILED",
                "restart skipped",
            ],
        ),
        (
            "aws.guardduty/ct-update-detector-disable.json",
            ActionKind::EnableDetector,
            [
                "detector enabled",
                "detector already enabled",
                "detector re-enable FAILED",
                "detector re-enable skipped",
            ],
        ),
        (
            "aws.config/ct-stop-configuration-recorder.json",
            ActionKind::StartConfigurationRecorder,
            [
                "recorder restarted",
                "recorder already recording",
                "recorder restart FAILED",
                "recorder restart skipped",
            ],
        ),
        (
            "aws.config/compliance-cloudtrail-enabled-noncompliant.json",
            ActionKind::StartStoppedTrails,
            [
                "stopped trails restarted",
                "trails already logging",
                "trail restart FAILED",
                "trail restart skipped",
            ],
        ),
        (
            "aws.config/compliance-guardduty-enabled-centralized-noncompliant.json",
            ActionKind::EnableRegionDetectors,
            [
                "detectors enabled",
                "detectors already enabled",
                "detector re-enable FAILED",
                "detector re-enable skipped",
            ],
        ),
    ];
    let statuses = [
        Status::Done,
        Status::AlreadyDone,
        Status::Failed,
        Status::Skipped,
    ];
    for (file, kind, words) in cases {
        for (status, word) in statuses.into_iter().zip(words) {
            let report = executed_report(&fixture(file), status, "message");
            assert_eq!(report.plan.actions[0].action.kind, kind, "{file}");
            let s = subject(&report);
            assert!(s.ends_with(&format!(", {word}")), "{file} {status:?}: {s}");
            assert!(s.len() <= 100, "{s}");
        }
    }
}

#[test]
fn dry_run_says_what_would_have_happened() {
    // GIVEN a dry-run rendering of a remediated event
    let message = render(&dry_run_report(&fixture(TRAIL_ELSEWHERE)));
    // THEN subject, text and document all say it was not executed
    assert!(
        message.subject.ends_with(", would restart (dry-run)"),
        "{}",
        message.subject
    );
    assert!(
        message.body.contains("): not executed (dry-run)."),
        "{}",
        message.body
    );
    assert_eq!(message.document["actions"][0]["status"], "would_do");
    assert_eq!(message.document["mode"], "dry-run");
}

#[test]
fn a_failure_shows_the_error_in_every_version() {
    // GIVEN a restart that failed with an AWS error
    let mut report = executed_report(&fixture(TRAIL_ELSEWHERE), Status::Done, "");
    let action = report.plan.actions[0].action.clone();
    let mut failed = Outcome::new(
        &action,
        Status::Failed,
        "cloudtrail:StartLogging failed: AccessDeniedException: not allowed",
    );
    failed.error_code = Some("AccessDeniedException".into());
    failed.retryable = Some(false);
    report.outcomes = vec![failed];

    // WHEN rendered
    let message = render(&report);

    // THEN the subject says FAILED, the text gives the error and what to do, the document the code
    assert!(
        message.subject.ends_with(", restart FAILED"),
        "{}",
        message.subject
    );
    assert!(
        message.body.contains(
            "FAILED [AccessDeniedException]. cloudtrail:StartLogging failed: AccessDeniedException: not allowed. A retry will not help: act by hand."
        ),
        "{}",
        message.body
    );
    assert_eq!(
        message.document["actions"][0]["error_code"],
        "AccessDeniedException"
    );
    assert_eq!(message.document["actions"][0]["retryable"], false);
    let description = message.chatbot["content"]["description"].as_str().unwrap();
    assert!(description.contains("*FAILED*"), "{description}");
}

#[test]
fn a_withheld_remediation_says_so_and_why() {
    // GIVEN a key finding below the remediation threshold
    let message = render(&dry_run_report(&fixture(
        "constructed/finding-iamuser-key-malicious-ip-medium.json",
    )));
    // THEN the subject says withheld and the text gives the reason
    assert!(
        message.subject.ends_with(", remediation withheld"),
        "{}",
        message.subject
    );
    assert!(
        message.body.contains("deactivate the access key: withheld, severity 5.0 is below MAMORU_MIN_REMEDIATION_SEVERITY 7.0."),
        "{}",
        message.body
    );
    assert_eq!(
        message.document["withheld"][0]["action"],
        "deactivate_access_key"
    );
}

#[test]
fn the_body_has_every_section_people_need() {
    // GIVEN a key finding that mamoru remediated
    let report = executed_report(
        &fixture(KEY_HIGH),
        Status::Done,
        "access key AKIAIOSFODNN7EXAMPLE of alice is Inactive",
    );
    // WHEN rendered
    let body = render(&report).body;
    // THEN it covers what, who, where, what was done, next steps, links, version and event id
    for needle in [
        "WHAT HAPPENED\n",
        "  Principal:  arn:aws:iam::123456789012:user/alice (IAMUser)\n",
        "  Source IP:  198.51.100.7\n",
        "  User agent: aws-cli/2.15.0 Python/3.11.6 Linux/6.1\n",
        "WHERE\n  Account:    123456789012\n  Region:     us-east-2\n",
        "(iam:UpdateAccessKey in us-east-2): done. access key AKIAIOSFODNN7EXAMPLE of alice is Inactive.\n",
        "WHAT TO DO NEXT\n  1. ",
        "  GuardDuty finding:        https://console.aws.amazon.com/guardduty/home?region=us-east-2#/findings?search=id%3D",
        "  IAM user:                 https://console.aws.amazon.com/iam/home#/users/details/alice\n",
        "mamoru 0.0.0+golden",
    ] {
        assert!(body.contains(needle), "missing {needle:?} in:\n{body}");
    }
    assert!(body.contains(&report.plan.event_id));
}

#[test]
fn console_links_follow_the_partition() {
    // GIVEN the same StopLogging call in GovCloud, in China and in an ISO region
    let in_region = |region: &str, partition: &str| {
        event_with("aws.cloudtrail/ct-stop-logging.json", |v| {
            v["region"] = region.into();
            v["detail"]["awsRegion"] = region.into();
            v["detail"]["userIdentity"]["arn"] =
                format!("arn:{partition}:iam::123456789012:user/example.user").into();
            v["detail"]["requestParameters"]["name"] = "test-trail".into();
        })
    };
    // WHEN rendered THEN the links use that partition's console, or are left out
    let gov = render(&dry_run_report(&in_region("us-gov-west-1", "aws-us-gov")));
    assert_eq!(
        gov.document["links"]["trail"],
        "https://console.amazonaws-us-gov.com/cloudtrail/home?region=us-gov-west-1#/trails/arn:aws-us-gov:cloudtrail:us-gov-west-1:123456789012:trail/test-trail"
    );
    let cn = render(&dry_run_report(&in_region("cn-north-1", "aws-cn")));
    assert!(
        cn.document["links"]["cloudtrail_event"]
            .as_str()
            .unwrap()
            .starts_with(
                "https://console.amazonaws.cn/cloudtrail/home?region=cn-north-1#/events?EventId="
            )
    );
    let iso = render(&dry_run_report(&in_region("us-iso-east-1", "aws-iso")));
    assert!(
        iso.document["links"]
            .as_object()
            .unwrap()
            .values()
            .all(Value::is_null),
        "{}",
        iso.document["links"]
    );
    assert!(!iso.body.contains("\nLINKS\n"));
}

#[test]
fn attributes_let_subscriptions_filter() {
    // GIVEN a High key finding
    let message = render(&dry_run_report(&fixture(KEY_HIGH)));
    // THEN the six attributes are there with SNS data types
    let attrs: Vec<(&str, &str, &str)> = message
        .attributes
        .iter()
        .map(|(k, (t, v))| (k.as_str(), *t, v.as_str()))
        .collect();
    assert_eq!(
        attrs,
        [
            ("account", "String", "123456789012"),
            ("disposition", "String", "remediate"),
            (
                "event_kind",
                "String",
                "guardduty:UnauthorizedAccess:IAMUser/MaliciousIPCaller.Custom"
            ),
            ("region", "String", "us-east-2"),
            ("severity", "String", "HIGH"),
            ("severity_score", "Number", "8.0"),
        ]
    );
}

#[test]
fn each_protocol_gets_its_own_version() {
    // GIVEN a rendered notification
    let message = render(&dry_run_report(&fixture(KEY_HIGH)));
    // WHEN it is made into the MessageStructure=json message
    let sns: Value = serde_json::from_str(message.sns_message()).unwrap();
    // THEN default is the document (SQS, Lambda, HTTP and any other machine get it), email the
    // text, sms the subject line, https the Chatbot payload
    let keys: Vec<&str> = sns
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    // The SNS protocols a MessageStructure=json message must name (sorted, as the JSON object
    // keeps them): written out, not read from the renderer's own list.
    assert_eq!(keys, ["default", "email", "https", "sms"]);
    // AND the renderer's own list, which its documentation describes, says the same
    let mut listed = PROTOCOLS.to_vec();
    listed.sort_unstable();
    assert_eq!(listed, keys);
    let doc: Value = serde_json::from_str(sns["default"].as_str().unwrap()).unwrap();
    assert_eq!(doc, message.document);
    assert_eq!(doc["schema"], "mamoru.notification/1");
    assert_eq!(sns["email"], message.body.as_str());
    assert_eq!(sns["sms"], message.subject.as_str());
    assert!(
        message.subject.starts_with("[HIGH] "),
        "{}",
        message.subject
    );
    let chatbot: Value = serde_json::from_str(sns["https"].as_str().unwrap()).unwrap();
    assert_eq!(chatbot["version"], "1.0");
    assert_eq!(chatbot["source"], "custom");
    assert_eq!(chatbot["content"]["textType"], "client-markdown");
    assert!(chatbot["content"]["nextSteps"].as_array().unwrap().len() >= 2);
}

#[test]
fn a_huge_event_still_fits_in_one_sns_message() {
    // GIVEN a finding whose description and user agent are 200,000 characters each
    let huge = "A".repeat(200_000);
    let event = event_with(KEY_HIGH, |v| {
        v["detail"]["description"] = huge.clone().into();
    });
    let mut report = dry_run_report(&event);
    if let Some(p) = report.plan.principal.as_mut() {
        p.user_agent = Some(huge.clone());
    }
    // WHEN rendered
    let message = render(&report);
    // THEN the message fits SNS's limit, with the long values cut and marked
    assert!(message.size() <= MESSAGE_BUDGET, "{} bytes", message.size());
    let description = message.document["description"].as_str().unwrap();
    assert!(description.ends_with("..."), "{}", description.len());
    assert!(description.len() < 5_000);
    assert_eq!(message.document["actions"][0]["status"], "would_do");
}

#[test]
fn secrets_in_the_event_are_masked_everywhere() {
    // GIVEN a user agent carrying something shaped like a secret access key
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    let event = event_with(KEY_HIGH, |v| {
        v["detail"]["service"]["action"]["awsApiCallAction"]["userAgent"] =
            format!("curl key={secret}").into();
    });
    // WHEN rendered THEN no version of the message contains it
    let message = render(&dry_run_report(&event));
    assert!(
        message.body.contains("curl key=***redacted***"),
        "{}",
        message.body
    );
    assert!(!message.sns_message().contains(secret));
}

#[test]
fn crafted_names_cannot_mention_a_channel_or_hide_text() {
    // GIVEN a trail name with a Slack mention, a link and a right-to-left override
    let event = event_with("aws.cloudtrail/ct-stop-logging.json", |v| {
        v["detail"]["requestParameters"]["name"] =
            "<!channel> `x` <https://evil.example|ok> \u{202E}lairt".into();
    });
    // WHEN rendered
    let message = render(&dry_run_report(&event));
    // THEN the chat payload carries no `<` or `>`, and no text shows the override
    let chat = message.chatbot.to_string();
    assert!(!chat.contains('<') && !chat.contains('>'), "{chat}");
    assert!(!chat.contains('\u{202E}') && !message.body.contains('\u{202E}'));
    assert!(message.subject.is_ascii());
}

#[test]
fn an_ignored_event_renders_with_the_reason_no_notification_goes_out() {
    // GIVEN an event mamoru ignores
    let report: Report = dry_run_report(&fixture("constructed/ec2-instance-state-change.json"));
    assert_eq!(report.mode, Mode::DryRun);
    // WHEN previewed THEN the text says no notification is sent, and why
    let message = render(&report);
    assert!(
        message.subject.ends_with(", ignored"),
        "{}",
        message.subject
    );
    assert!(
        message
            .body
            .contains("(mamoru sends no notification for this event: detail-type"),
        "{}",
        message.body
    );
}

#[test]
fn a_domain_transfer_password_never_reaches_the_notification_or_the_audit_line() {
    // GIVEN TransferDomainToAnotherAwsAccount records whose responseElements carry the transfer
    // password the API answers with (the other account needs it to accept the domain). No
    // published record shows whether CloudTrail keeps it; if it does, it must go nowhere.
    let password = "Qx4#Lm9vRt2Kp7Wz";
    let transfer = "aws.route53domains/ct-transfer-domain-to-another-aws-account.json";
    // AND a deployment's version of the built-in rule whose title and runbook name the
    // response's members by path
    let mut rules = mamoru::decide::RuleSet::builtin().unwrap();
    rules
        .add_source(
            "rules/domains.toml",
            r#"
[[rule]]
id = "route53domains-transferred-to-another-account"
description = "Domain transfers, with the call's response in the alert."
mode = "shadow"
[rule.match]
detail_type = ["AWS API Call via CloudTrail"]
event_source = ["route53domains.amazonaws.com"]
event_name = ["TransferDomainToAnotherAwsAccount", "transferDomainToAnotherAwsAccount"]
call = "succeeded"
[rule.response]
title = "Transfer of {detail.requestParameters.domainName.name}: {detail.responseElements.password} {detail.responseElements.Password}"
severity = "critical"
actions = [{ action = "cancel_domain_transfer" }]
runbook = "Response: {detail.responseElements}; operation {detail.responseElements.operationId}."
"#,
            true,
        )
        .unwrap();
    let responder = mamoru::Responder::new(
        None,
        mamoru_tests::render::golden_settings(),
        rules,
        None,
        None,
    );
    mamoru::audit::set_sink(mamoru::audit::Sink::Off);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for member in ["password", "Password"] {
        let event = event_with(transfer, |v| {
            v["detail"]["responseElements"] = serde_json::json!({
                "operationId": "d4d7a0e1-0f4b-4b4e-9d8a-EXAMPLE11111",
                member: password,
            });
        });
        let builtin = dry_run_report(&event);
        let custom = runtime.block_on(responder.handle_json(&event)).unwrap();
        assert!(
            custom.plan.title.starts_with("Transfer of example.com: "),
            "{}",
            custom.plan.title
        );
        for report in [builtin, custom] {
            // WHEN the notification and the audit line are made
            let message = render(&report);
            let audit = mamoru::audit::line(&report, None, std::time::Duration::ZERO).to_string();
            // THEN no version of either holds the password, and the rule still decided
            assert_eq!(report.plan.severity.band.as_str(), "CRITICAL");
            for (what, text) in [
                ("subject", message.subject.clone()),
                ("email body", message.body.clone()),
                ("document", message.document.to_string()),
                ("chat payload", message.chatbot.to_string()),
                ("SNS message", message.sns_message().to_string()),
                ("audit line", audit),
            ] {
                assert!(
                    !text.contains(password),
                    "{member}: the {what} leaks the transfer password:\n{text}"
                );
            }
        }
    }
}
