//! The responder over its ports, in process: what runs is decided in one place (shadow rules and
//! dry-run, per account), and every notification says the same about it: the Subject, the text
//! body and the Chatbot version. The side effects are the in-memory `Recording` port.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use mamoru::action::Status;
use mamoru::action::port::{Publish, Recording, Remediate};
use mamoru::{Mode, RuleSet, Settings};
use mamoru_tests::fixture;

const STOP: &str = "aws.cloudtrail/ct-stop-logging.json";

fn rules(shadow: bool) -> RuleSet {
    let mut text = mamoru::decide::rules::BUILTIN_RULES.to_string();
    if shadow {
        text = text.replace(
            "id = \"cloudtrail-stop-logging\"\n",
            "id = \"cloudtrail-stop-logging\"\nmode = \"shadow\"\n",
        );
        assert!(text.contains("mode = \"shadow\"\n"), "the rule was found");
    }
    let mut rules = RuleSet::default();
    rules.add_source("builtin.toml", &text, false).unwrap();
    rules
}

struct Seen {
    calls: usize,
    status: Status,
    subject: String,
    body: String,
    chatbot: String,
}

/// A responder over the in-memory ports, and the ports.
fn responder(settings: Settings, shadow: bool) -> (mamoru::Responder, Arc<Recording>) {
    let rec = Arc::new(Recording::default());
    let responder = mamoru::Responder::new(
        None,
        settings,
        rules(shadow),
        Some(rec.clone() as Arc<dyn Remediate>),
        Some(rec.clone() as Arc<dyn Publish>),
    );
    (responder, rec)
}

async fn run(settings: Settings, shadow: bool) -> Seen {
    let (responder, rec) = responder(settings, shadow);
    let report = responder.handle_json(&fixture(STOP)).await.unwrap();
    let messages = rec.messages();
    assert_eq!(messages.len(), 1, "one notification");
    assert_eq!(report.outcomes.len(), 1);
    Seen {
        calls: rec.actions().len(),
        status: report.outcomes[0].status,
        subject: messages[0].subject.clone(),
        body: messages[0].body.clone(),
        chatbot: messages[0].chatbot.to_string(),
    }
}

fn mode(mode: Mode) -> Settings {
    Settings {
        mode,
        ..Settings::default()
    }
}

#[tokio::test]
async fn enforce_and_a_normal_rule_runs_the_action_and_says_done() {
    let s = run(mode(Mode::Enforce), false).await;
    assert_eq!(s.calls, 1);
    assert_eq!(s.status, Status::Done);
    assert!(s.subject.ends_with(", restarted"), "{}", s.subject);
    assert!(s.body.contains(": done"), "{}", s.body);
    assert!(!s.body.contains("not executed"), "{}", s.body);
}

#[tokio::test]
async fn enforce_and_a_shadow_rule_runs_nothing_and_says_shadow_everywhere() {
    let s = run(mode(Mode::Enforce), true).await;
    assert_eq!(s.calls, 0);
    assert_eq!(s.status, Status::WouldDo);
    assert!(
        s.subject.ends_with("would restart (shadow)"),
        "{}",
        s.subject
    );
    assert!(s.body.contains("not executed (shadow rule)"), "{}", s.body);
    assert!(!s.body.contains("(dry-run)"), "{}", s.body);
    assert!(
        s.chatbot.contains("not executed (shadow rule)"),
        "{}",
        s.chatbot
    );
}

#[tokio::test]
async fn dry_run_and_a_normal_rule_runs_nothing_and_says_dry_run_everywhere() {
    let s = run(mode(Mode::DryRun), false).await;
    assert_eq!(s.calls, 0);
    assert_eq!(s.status, Status::WouldDo);
    assert!(
        s.subject.ends_with("would restart (dry-run)"),
        "{}",
        s.subject
    );
    assert!(s.body.contains("not executed (dry-run)"), "{}", s.body);
    assert!(!s.body.contains("shadow"), "{}", s.body);
    assert!(
        s.chatbot.contains("not executed (dry-run)"),
        "{}",
        s.chatbot
    );
}

/// Both hold: the shadow rule is the reason given (promoting the deployment to enforce would
/// still not run it), in the Subject and in the body alike.
#[tokio::test]
async fn dry_run_and_a_shadow_rule_says_shadow_in_the_subject_and_the_body_alike() {
    let s = run(mode(Mode::DryRun), true).await;
    assert_eq!(s.calls, 0);
    assert_eq!(s.status, Status::WouldDo);
    assert!(
        s.subject.ends_with("would restart (shadow)"),
        "{}",
        s.subject
    );
    assert!(s.body.contains("not executed (shadow rule)"), "{}", s.body);
    assert!(!s.body.contains("not executed (dry-run)"), "{}", s.body);
}

/// Enforce, with the event's account in dry-run (MAMORU_ACCOUNT_MODES): nothing runs, and the
/// alert says dry-run in that account, never shadow.
#[tokio::test]
async fn an_account_in_dry_run_under_enforce_says_dry_run_in_this_account() {
    let settings = Settings {
        mode: Mode::Enforce,
        account_modes: vec![("123456789012".to_string(), Mode::DryRun)],
        ..Settings::default()
    };
    let s = run(settings, false).await;
    assert_eq!(s.calls, 0);
    assert!(
        s.subject.ends_with("would restart (dry-run)"),
        "{}",
        s.subject
    );
    assert!(
        s.body.contains("not executed (dry-run in this account)"),
        "{}",
        s.body
    );
    assert!(!s.body.contains("shadow"), "{}", s.body);
}

/// A failure the remediate port reports fails the event (so Lambda retries it, then the DLQ),
/// and the notification still goes out, saying FAILED.
#[tokio::test]
async fn a_failed_remediation_is_notified_and_fails_the_event() {
    let (responder, rec) = responder(mode(Mode::Enforce), false);
    rec.answer(
        mamoru::action::ActionKind::StartLogging,
        Status::Failed,
        "cloudtrail:StartLogging failed: AccessDenied",
    );
    let err = responder.handle_json(&fixture(STOP)).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("1 of 1 remediation actions failed"),
        "{err}"
    );
    let messages = rec.messages();
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0].subject.ends_with("restart FAILED"),
        "{}",
        messages[0].subject
    );
}
