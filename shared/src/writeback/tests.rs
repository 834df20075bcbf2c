#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use crate::action::{Outcome, Status};
use crate::decide::{Handler, RuleSet, decide};
use crate::settings::{Mode, Settings};

use crate::event::securityhub::fixture_event as event;

/// The report of `event` with every planned action answered `status` (and, for `Done`, the
/// state read after acting when `after`).
fn report(event: &Event, status: Status, after: bool) -> Report {
    let rules = RuleSet::builtin().unwrap();
    let plan = decide(
        event,
        Some(Handler::Securityhub),
        &rules,
        &Settings::default(),
    );
    let outcomes = plan
        .actions
        .iter()
        .map(|p| {
            let mut o = if status == Status::WouldDo {
                Outcome::held(&p.action, crate::action::Hold::Shadow, "shadow")
            } else {
                Outcome::new(&p.action, status, "answered")
            };
            if after {
                o.after = Some(serde_json::json!({"Revoked": ["tcp 22 0.0.0.0/0"]}));
            }
            o
        })
        .collect();
    Report::new(plan, outcomes, Mode::Enforce)
}

fn finding(event: &Event) -> &AsffFinding {
    let EventKind::SecurityHub(sh) = &event.kind else {
        panic!("not Security Hub")
    };
    sh.finding().unwrap()
}

#[test]
fn a_notified_finding_is_written_back_notified_with_what_mamoru_did() {
    // The imported EC2.13 finding: the revoke is shadow, so only reported.
    let e = event("imported-ec2-13-ssh-world.json", |_| {});
    let r = report(&e, Status::WouldDo, false);
    let u = update_for(&e, &r).unwrap();
    assert_eq!(u.workflow, Workflow::Notified);
    assert_eq!(u.finding_id, finding(&e).id);
    assert_eq!(u.product_arn, finding(&e).product_arn);
    assert_eq!(u.updated_by, format!("mamoru/{}", crate::VERSION));
    assert!(
        u.note.starts_with("mamoru: notified (HIGH); "),
        "{}",
        u.note
    );
    assert!(u.note.contains("sg-47dddc34c51b4be58"), "{}", u.note);
    assert!(u.note.contains("not executed (shadow rule)"), "{}", u.note);
    // The same decision gives the same note: writing it again changes nothing.
    assert_eq!(update_for(&e, &report(&e, Status::WouldDo, false)), Some(u));
}

#[test]
fn resolved_only_after_every_action_succeeded_and_read_its_state() {
    let e = event("custom-action-ec2-13-ssh-world.json", |_| {});
    let done = update_for(&e, &report(&e, Status::Done, true)).unwrap();
    assert_eq!(done.workflow, Workflow::Resolved);
    assert!(
        done.note.starts_with(
            "mamoru: approved through the custom action 'mamoru: remediate'. remediated (HIGH); "
        ),
        "{}",
        done.note
    );
    let already = update_for(&e, &report(&e, Status::AlreadyDone, false)).unwrap();
    assert_eq!(already.workflow, Workflow::Resolved);
    // Done without the state read after acting, failed, withheld or held: NOTIFIED.
    for (status, after) in [
        (Status::Done, false),
        (Status::Failed, false),
        (Status::Skipped, false),
        (Status::WouldDo, false),
    ] {
        let u = update_for(&e, &report(&e, status, after)).unwrap();
        assert_eq!(u.workflow, Workflow::Notified, "{status:?}");
    }
    // A failure is named in the note.
    let failed = update_for(&e, &report(&e, Status::Failed, false)).unwrap();
    assert!(failed.note.contains("FAILED"), "{}", failed.note);
    // A finding with no action (a control that only notifies) is never RESOLVED.
    let config = event("imported-config-1.json", |v| {
        v["detail"]["findings"][0]["ProductFields"]["ControlId"] = "Account.1".into();
    });
    let r = report(&config, Status::Done, true);
    assert!(r.outcomes.is_empty());
    let u = update_for(&config, &r).unwrap();
    assert_eq!(u.workflow, Workflow::Notified);
    assert!(u.note.ends_with("; no action."), "{}", u.note);
}

#[test]
fn ignored_findings_and_other_events_are_not_written_back() {
    for name in [
        "imported-ec2-13-resolved.json",
        "imported-ec2-13-suppressed.json",
        "imported-s3-8-archived.json",
        "imported-guardduty-product-dga.json",
    ] {
        let e = event(name, |_| {});
        let r = report(&e, Status::Done, true);
        assert_eq!(update_for(&e, &r), None, "{name}: {}", r.plan.reason);
    }
}

#[test]
fn the_note_is_at_most_512_characters_and_masks_secrets() {
    let long = format!("sg-{}", "x".repeat(2000));
    let e = event("imported-ec2-13-ssh-world.json", |v| {
        let f = &mut v["detail"]["findings"][0];
        let text = f.to_string().replace("sg-47dddc34c51b4be58", &long);
        *f = serde_json::from_str(&text).unwrap();
    });
    let u = update_for(&e, &report(&e, Status::WouldDo, false)).unwrap();
    assert_eq!(u.note.chars().count(), NOTE_MAX, "{}", u.note);
    assert!(u.note.ends_with('…'));
    assert_eq!(bounded("é".repeat(600).as_str(), 512).chars().count(), 512);
    assert_eq!(bounded("short", 512), "short");
}

#[test]
fn already_shown_compares_status_note_and_author() {
    let e = event("imported-ec2-13-ssh-world.json", |_| {});
    let u = update_for(&e, &report(&e, Status::WouldDo, false)).unwrap();
    assert!(!already_shown(&FindingState::of(finding(&e)), &u));
    let shown = event("imported-ec2-13-ssh-world.json", |v| {
        let f = &mut v["detail"]["findings"][0];
        f["Workflow"]["Status"] = "NOTIFIED".into();
        f["Note"] = serde_json::json!({"Text": u.note, "UpdatedBy": u.updated_by, "UpdatedAt": "2020-06-11T15:53:21.000Z"});
    });
    assert!(already_shown(&FindingState::of(finding(&shown)), &u));
    // Another author's identical text is not mamoru's note.
    let theirs = event("imported-ec2-13-ssh-world.json", |v| {
        let f = &mut v["detail"]["findings"][0];
        f["Workflow"]["Status"] = "NOTIFIED".into();
        f["Note"] = serde_json::json!({"Text": u.note, "UpdatedBy": "analyst"});
    });
    assert!(!already_shown(&FindingState::of(finding(&theirs)), &u));
}

#[test]
fn an_ocsf_finding_is_written_back_in_progress_then_resolved_with_its_identifier() {
    // Config.1 failed (OCSF): the stopped recorders are started.
    let e = event("v2-control-config-1.json", |_| {});
    let notified = update_for(&e, &report(&e, Status::Failed, false)).unwrap();
    assert_eq!(notified.schema, Schema::Ocsf);
    assert_eq!(notified.api(), "securityhub:BatchUpdateFindingsV2");
    assert_eq!(notified.workflow, Workflow::Notified);
    assert_eq!(notified.workflow.status_id(), 2);
    assert_eq!(
        notified.finding_id,
        "arn:aws:securityhub:us-east-1:123456789012:security-control/Config.1/finding/a1b2c3d4-5678-90ab-cdef-EXAMPLE33333"
    );
    assert_eq!(
        notified.product_arn,
        "arn:aws:securityhub:us-east-1::productv2/aws/securityhub"
    );
    assert_eq!(notified.account, "123456789012");
    let resolved = update_for(&e, &report(&e, Status::Done, true)).unwrap();
    assert_eq!(resolved.workflow.status_id(), 4);
    assert!(
        resolved.note.starts_with("mamoru: remediated (CRITICAL); "),
        "{}",
        resolved.note
    );
}

#[test]
fn the_echo_of_an_ocsf_write_back_is_recognised_and_another_update_is_not() {
    let e = event("v2-control-config-1.json", |_| {});
    let u = update_for(&e, &report(&e, Status::Done, true)).unwrap();
    let now = FindingState::of_event(&e).unwrap();
    assert!(!already_shown(&now, &u));
    // Security Hub's Findings Imported V2 event of the updated finding: status Resolved (4) and
    // the comment mamoru wrote.
    let echo = event("v2-control-config-1.json", |v| {
        let f = &mut v["detail"]["findings"][0];
        f["status_id"] = 4.into();
        f["status"] = "Resolved".into();
        f["comment"] = u.note.clone().into();
    });
    let echoed = FindingState::of_event(&echo).unwrap();
    assert!(already_shown(&echoed, &u));
    assert_eq!(incoming_key(&echoed), echo_key(&u));
    // The same comment with another status, or a raised severity, is not mamoru's echo.
    for change in [
        |f: &mut serde_json::Value| f["status_id"] = 2.into(),
        |f: &mut serde_json::Value| f["severity_id"] = 6.into(),
    ] {
        let other = event("v2-control-config-1.json", |v| {
            let f = &mut v["detail"]["findings"][0];
            f["status_id"] = 4.into();
            f["comment"] = u.note.clone().into();
            change(f);
        });
        assert_ne!(
            incoming_key(&FindingState::of_event(&other).unwrap()),
            echo_key(&u)
        );
    }
}
