//! Property tests: whatever an event puts in the names and fields a notification shows
//! (control characters, newlines, 10,000-character names, right-to-left overrides, emoji,
//! markup), the Subject stays at most 100 ASCII characters on one line with its severity and
//! outcome, and the whole message stays within SNS's size limit.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::OnceLock;

use mamoru::action::{Hold, Outcome, Status, Target};
use mamoru::decide::Principal;
use mamoru::decide::resource::{Kind, Resource};
use mamoru::notify::{MESSAGE_BUDGET, render, sanitize_subject, subject};
use mamoru::{Mode, Report};
use mamoru_tests::fixture;
use mamoru_tests::render::executed_report;
use proptest::prelude::*;

/// Text an attacker could put in a name.
fn hostile() -> impl Strategy<Value = String> {
    prop_oneof![
        // Anything at all, control characters included.
        proptest::collection::vec(any::<char>(), 0..200).prop_map(String::from_iter),
        // Only control characters and line breaks.
        proptest::collection::vec(
            prop_oneof![0u32..0x20, 0x7fu32..0xa0].prop_map(|c| char::from_u32(c).unwrap_or('\n')),
            0..60
        )
        .prop_map(String::from_iter),
        // Very long names.
        (1usize..12_000).prop_map(|n| "n".repeat(n)),
        (1usize..4_000).prop_map(|n| "名前🔥".repeat(n)),
        Just("\u{202E}lairt-gro\u{202C} \u{2066}x\u{2069}\u{200B}".to_string()),
        Just("🚨🔥💥 emoji 👩‍💻".to_string()),
        Just(
            "<script>alert(1)</script> <!channel> *bold* `code` [x](https://evil.example) &amp;"
                .to_string()
        ),
        Just("line1\r\nline2\nline3\u{2028}line4\u{85}".to_string()),
        Just(String::new()),
        Just(" \t ".to_string()),
    ]
}

fn status() -> impl Strategy<Value = Status> {
    prop_oneof![
        Just(Status::Done),
        Just(Status::AlreadyDone),
        Just(Status::WouldDo),
        Just(Status::Skipped),
        Just(Status::Failed),
    ]
}

/// Decided once: an event with an action, one without, and one withheld.
fn bases() -> &'static [Report] {
    static BASES: OnceLock<Vec<Report>> = OnceLock::new();
    BASES.get_or_init(|| {
        [
            "constructed/ct-stop-logging-trail-in-other-region.json",
            "constructed/finding-iamuser-key-malicious-ip-high.json",
            "constructed/finding-iamuser-key-malicious-ip-medium.json",
            "aws.config/compliance-restricted-ssh-noncompliant.json",
        ]
        .iter()
        .map(|f| executed_report(&fixture(f), Status::Done, "done"))
        .collect()
    })
}

#[derive(Debug, Clone)]
struct Hostile {
    base: usize,
    title: String,
    resource: String,
    account: String,
    region: String,
    target: String,
    principal: String,
    message: String,
    status: Status,
    dry_run: bool,
}

fn hostile_report() -> impl Strategy<Value = Hostile> {
    (
        0usize..4,
        (hostile(), hostile(), hostile(), hostile()),
        (hostile(), hostile(), hostile()),
        status(),
        any::<bool>(),
    )
        .prop_map(
            |(
                base,
                (title, resource, account, region),
                (target, principal, message),
                status,
                dry_run,
            )| Hostile {
                base,
                title,
                resource,
                account,
                region,
                target,
                principal,
                message,
                status,
                dry_run,
            },
        )
}

fn build(h: &Hostile) -> Report {
    let mut report = bases()[h.base % bases().len()].clone();
    let plan = &mut report.plan;
    plan.title = h.title.clone();
    // Every text of the typed resource is hostile: its type, identifiers, owner and location.
    let hostile = Some(h.resource.clone());
    plan.resource = Some(Resource {
        type_name: hostile.clone(),
        id: hostile.clone(),
        name: hostile.clone(),
        arn: hostile.clone(),
        owner: hostile.clone(),
        account: hostile.clone(),
        region: hostile,
        ..Resource::of_kind(Kind::Other)
    });
    plan.account = h.account.clone();
    plan.region = h.region.clone();
    plan.description = Some(h.message.clone());
    plan.principal = Some(Principal {
        kind: Some(h.principal.clone()),
        arn: Some(h.principal.clone()),
        name: Some(h.principal.clone()),
        user_agent: Some(h.message.clone()),
        source_ip: Some(h.title.clone()),
        ..Principal::default()
    });
    for p in &mut plan.actions {
        p.action.account = h.account.clone();
        p.action.region = h.region.clone();
        p.action.target = match &p.action.target {
            Target::AccessKey { .. } => Target::AccessKey {
                user_name: h.target.clone(),
                access_key_id: h.principal.clone(),
            },
            Target::Trail { .. } => Target::Trail {
                name: h.target.clone(),
            },
            other => other.clone(),
        };
    }
    report.outcomes = plan
        .actions
        .iter()
        .map(|p| match h.status {
            // Not executed, as the responder holds it: a shadow rule's action, else the
            // deployment's (or this account's) dry-run.
            Status::WouldDo => {
                let hold = if p.shadow {
                    Hold::Shadow
                } else if h.dry_run {
                    Hold::DryRun
                } else {
                    Hold::AccountDryRun
                };
                Outcome::held(&p.action, hold, h.message.clone())
            }
            status => Outcome::new(&p.action, status, h.message.clone()),
        })
        .collect();
    if h.dry_run {
        report.mode = Mode::DryRun;
    }
    report
}

/// The outcome a Subject ends with, written out per base report (see [`bases`]: a trail
/// restart; a key deactivation with a shadow quarantine; a withheld key finding; a shadow
/// ingress revocation) and status, independently of the renderer.
fn expected_outcome(base: usize, status: Status) -> String {
    // A would-have of an enforced rule is held by a dry-run (the deployment's or the account's).
    let would_why = "dry-run";
    match (base, status) {
        (0, Status::Done) => "restarted".into(),
        (0, Status::AlreadyDone) => "already logging".into(),
        (0, Status::WouldDo) => format!("would restart ({would_why})"),
        (0, Status::Skipped) => "restart skipped".into(),
        (0, Status::Failed) => "restart FAILED".into(),
        // The shadow quarantine is not named while the key deactivation ran.
        (1, Status::Done) => "key deactivated".into(),
        (1, Status::AlreadyDone) => "key already inactive".into(),
        (1, Status::WouldDo) => format!("would deactivate key ({would_why})"),
        (1, Status::Skipped) => "key deactivation skipped".into(),
        (1, Status::Failed) => "key deactivation FAILED".into(),
        (2, _) => "remediation withheld".into(),
        // A shadow rule's action is "shadow" even in a dry run.
        (3, Status::Done) => "world-open ingress revoked".into(),
        (3, Status::AlreadyDone) => "no world-open ingress left".into(),
        (3, Status::WouldDo) => "would revoke world-open ingress (shadow)".into(),
        (3, Status::Skipped) => "ingress revocation skipped".into(),
        (3, Status::Failed) => "ingress revocation FAILED".into(),
        other => panic!("no expected outcome for {other:?}"),
    }
}

fn assert_subject_is_safe(s: &str) {
    assert!(s.len() <= 100, "{} chars: {s:?}", s.len());
    assert!(s.is_ascii(), "{s:?}");
    assert!(!s.chars().any(|c| c.is_ascii_control()), "{s:?}");
    assert!(!s.starts_with(' ') && !s.ends_with(' '), "{s:?}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn sanitized_text_is_a_short_ascii_line(text in hostile()) {
        assert_subject_is_safe(&sanitize_subject(&text));
    }

    #[test]
    fn the_subject_keeps_severity_and_outcome_whatever_the_names(h in hostile_report()) {
        // GIVEN a report whose names and fields are hostile
        let report = build(&h);
        // WHEN its subject is rendered
        let s = subject(&report);
        // THEN it is a short ASCII line that starts with the severity and ends with the outcome
        assert_subject_is_safe(&s);
        let band = format!("[{}] ", report.plan.severity.band);
        prop_assert!(s.starts_with(&band), "{s:?}");
        let want = expected_outcome(h.base % bases().len(), h.status);
        prop_assert!(s.ends_with(&format!(", {want}")), "{s:?} / {want:?}");
    }

    #[test]
    fn the_whole_message_stays_sendable(h in hostile_report()) {
        // GIVEN a report whose names and fields are hostile
        let report = build(&h);
        // WHEN rendered
        let m = render(&report);
        // THEN it fits SNS, the text has no control or direction-changing characters outside
        // its own line breaks, and the chat payload cannot mention or link
        prop_assert!(m.size() <= MESSAGE_BUDGET, "{} bytes", m.size());
        assert_subject_is_safe(&m.subject);
        prop_assert!(
            !m.body.chars().any(|c| (c.is_control() && c != '\n') || ('\u{202A}'..='\u{202E}').contains(&c)),
            "{:?}", m.body
        );
        let chat = m.chatbot.to_string();
        prop_assert!(!chat.contains('<') && !chat.contains('>'), "{}", chat);
        prop_assert!(!chat.contains('\u{202E}'), "a right-to-left override reached the chat payload");
        prop_assert_eq!(&m.document["schema"], "mamoru.notification/1");
        for (name, (_, value)) in &m.attributes {
            prop_assert!(!value.is_empty() && value.chars().count() <= 256, "{name}: {value:?}");
        }
    }
}
