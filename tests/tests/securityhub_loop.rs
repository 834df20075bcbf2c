//! mamoru's Security Hub write-back comes back as a `Findings - Imported` event of the finding it
//! updated. The responder, in process over its ports (the in-memory `Recording`, the state
//! store in memory, a write-back port that keeps what it is asked to write), recognises that
//! echo from what it recorded writing, and from nothing in the finding that another caller of
//! `BatchUpdateFindings` could write: a note that merely names mamoru is decided like any update.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};

use mamoru::action::port::{Publish, Recording, Remediate};
use mamoru::state::Memory;
use mamoru::writeback::{FindingUpdate, WriteBack, WriteBackOutcome, WriteStatus};
use mamoru::{Disposition, Handler, Mode, RuleSet, Settings};
use mamoru_tests::scenario::event_with;
use serde_json::Value;

const IMPORTED: &str = "aws.securityhub/imported-ec2-13-ssh-world.json";

/// Keeps every update it is asked to write, and answers that it was written.
#[derive(Default)]
struct Hub {
    written: Mutex<Vec<FindingUpdate>>,
}

impl Hub {
    fn written(&self) -> Vec<FindingUpdate> {
        self.written.lock().unwrap().clone()
    }
}

impl WriteBack for Hub {
    fn write_back<'a>(
        &'a self,
        update: &'a FindingUpdate,
    ) -> mamoru::state::BoxFuture<'a, WriteBackOutcome> {
        self.written.lock().unwrap().push(update.clone());
        let out = WriteBackOutcome::new(update.clone(), WriteStatus::Written, "written");
        Box::pin(async move { out })
    }
}

struct Setup {
    responder: mamoru::Responder,
    rec: Arc<Recording>,
    hub: Arc<Hub>,
}

fn setup(with_state: bool) -> Setup {
    let rec = Arc::new(Recording::default());
    let hub = Arc::new(Hub::default());
    let settings = Settings {
        mode: Mode::Enforce,
        ..Settings::default()
    };
    let responder = mamoru::Responder::new(
        Some(Handler::Securityhub),
        settings,
        RuleSet::builtin().unwrap(),
        Some(rec.clone() as Arc<dyn Remediate>),
        Some(rec.clone() as Arc<dyn Publish>),
    )
    .with_write_back(hub.clone() as Arc<dyn WriteBack>);
    let responder = if with_state {
        responder.with_state(Arc::new(Memory::new()))
    } else {
        responder
    };
    Setup {
        responder,
        rec,
        hub,
    }
}

/// The event Security Hub sends once `update` is applied to the finding: another event ID, the
/// finding with the workflow status and the note written, everything else as it was, unless
/// `change` says otherwise.
fn echo(update: &FindingUpdate, id: &str, change: impl FnOnce(&mut Value)) -> String {
    event_with(IMPORTED, |v| {
        v["id"] = id.into();
        let f = &mut v["detail"]["findings"][0];
        f["Workflow"]["Status"] = update.workflow.as_str().into();
        f["WorkflowState"] = "IN_PROGRESS".into();
        f["Note"] = serde_json::json!({
            "Text": update.note,
            "UpdatedBy": update.updated_by,
            "UpdatedAt": "2020-06-11T15:53:21.000Z"
        });
        change(v);
    })
}

#[tokio::test]
async fn mamorus_own_write_back_coming_back_is_ignored_by_what_it_recorded_writing() {
    // GIVEN the EC2.13 finding decided and written back NOTIFIED
    let s = setup(true);
    let first = s
        .responder
        .handle_json(&event_with(IMPORTED, |_| {}))
        .await
        .unwrap();
    assert_eq!(first.plan.disposition, Disposition::Notify);
    assert_eq!(
        first.write_back.as_ref().map(|w| w.status),
        Some(WriteStatus::Written)
    );
    let written = s.hub.written();
    assert_eq!(written.len(), 1);
    assert_eq!(s.rec.messages().len(), 1);

    // WHEN Security Hub sends the finding's update event THEN it is mamoru's own: ignored, not
    // notified, not written back again
    let back = s
        .responder
        .handle_json(&echo(&written[0], "echo-1", |_| {}))
        .await
        .unwrap();
    assert_eq!(
        back.plan.disposition,
        Disposition::Ignore,
        "{}",
        back.plan.reason
    );
    assert!(
        back.plan.reason.contains("mamoru's own write-back"),
        "{}",
        back.plan.reason
    );
    assert_eq!(back.write_back, None);
    assert_eq!(s.rec.messages().len(), 1);
    assert_eq!(s.hub.written().len(), 1);

    // AND the same state arriving again (a re-import that changes nothing decided) is too
    let again = s
        .responder
        .handle_json(&echo(&written[0], "echo-2", |_| {}))
        .await
        .unwrap();
    assert_eq!(again.plan.disposition, Disposition::Ignore);
    assert_eq!(s.rec.messages().len(), 1);
}

#[tokio::test]
async fn a_note_that_merely_claims_to_be_mamorus_is_still_decided() {
    // GIVEN mamoru wrote back to the finding
    let s = setup(true);
    s.responder
        .handle_json(&event_with(IMPORTED, |_| {}))
        .await
        .unwrap();
    let written = s.hub.written().remove(0);

    // WHEN someone else allowed BatchUpdateFindings writes a note naming mamoru (its UpdatedBy
    // and its version) with other words THEN the update is decided and notified
    let forged = echo(&written, "forged-1", |v| {
        v["detail"]["findings"][0]["Note"]["Text"] =
            "mamoru: remediated (HIGH); nothing left to do.".into();
    });
    let r = s.responder.handle_json(&forged).await.unwrap();
    assert_eq!(r.plan.disposition, Disposition::Notify, "{}", r.plan.reason);
    assert_eq!(s.rec.messages().len(), 2);
    // AND written back again, putting mamoru's own note back
    assert_eq!(s.hub.written().len(), 2);
    assert_eq!(s.hub.written()[1].note, written.note);

    // AND the published-shape fixture of such a note is decided too, with or without a store
    let fixture = event_with(
        "aws.securityhub/imported-ec2-13-notified-by-mamoru.json",
        |_| {},
    );
    for with_state in [true, false] {
        let s = setup(with_state);
        let r = s.responder.handle_json(&fixture).await.unwrap();
        assert_eq!(r.plan.disposition, Disposition::Notify, "{}", r.plan.reason);
        assert_eq!(s.rec.messages().len(), 1);
    }
}

#[tokio::test]
async fn an_update_after_the_write_back_that_changes_what_is_decided_is_decided() {
    // GIVEN mamoru wrote back to the finding
    let s = setup(true);
    s.responder
        .handle_json(&event_with(IMPORTED, |_| {}))
        .await
        .unwrap();
    let written = s.hub.written().remove(0);

    // WHEN the finding comes back with mamoru's note but a raised severity, or suppressed, or
    // with mamoru's note on another finding THEN each is decided on its own merits
    let raised = echo(&written, "raised", |v| {
        v["detail"]["findings"][0]["Severity"]["Label"] = "CRITICAL".into();
    });
    let r = s.responder.handle_json(&raised).await.unwrap();
    assert_eq!(r.plan.disposition, Disposition::Notify, "{}", r.plan.reason);
    assert_eq!(r.plan.severity.band, mamoru::decide::Band::Critical);

    let suppressed = echo(&written, "suppressed", |v| {
        v["detail"]["findings"][0]["Workflow"]["Status"] = "SUPPRESSED".into();
    });
    let r = s.responder.handle_json(&suppressed).await.unwrap();
    assert_eq!(r.plan.disposition, Disposition::Ignore);
    assert!(r.plan.reason.contains("SUPPRESSED"), "{}", r.plan.reason);

    let other = echo(&written, "other", |v| {
        v["detail"]["findings"][0]["Id"] = "arn:aws:securityhub:us-east-1:111122223333:subscription/cis-aws-foundations-benchmark/v/1.2.0/4.1/finding/00000000-0000-4000-8000-000000000000".into();
    });
    let r = s.responder.handle_json(&other).await.unwrap();
    assert_eq!(r.plan.disposition, Disposition::Notify, "{}", r.plan.reason);
}

#[tokio::test]
async fn without_a_state_table_the_echo_is_decided_but_nothing_is_written_again() {
    // GIVEN no state table: mamoru cannot know what it wrote
    let s = setup(false);
    s.responder
        .handle_json(&event_with(IMPORTED, |_| {}))
        .await
        .unwrap();
    let written = s.hub.written().remove(0);

    // WHEN its write-back comes back THEN it is decided again, but the finding already shows the
    // same status and note: nothing is sent, so no further update event follows (the loop ends)
    let r = s
        .responder
        .handle_json(&echo(&written, "echo-1", |_| {}))
        .await
        .unwrap();
    assert_eq!(r.plan.disposition, Disposition::Notify);
    assert_eq!(
        r.write_back.as_ref().map(|w| w.status),
        Some(WriteStatus::Unchanged)
    );
    assert_eq!(s.hub.written().len(), 1);
}
