//! Writing back to Security Hub what mamoru did about a finding: the workflow status NOTIFIED,
//! or RESOLVED only after every action ran, succeeded and its state was read, and a note of what
//! mamoru did (at most 512 characters). ASFF findings get `BatchUpdateFindings` (`UpdatedBy`
//! naming mamoru and its version); the new Security Hub's OCSF findings get
//! `BatchUpdateFindingsV2`, which has no workflow NOTIFIED and no author: status In Progress (2)
//! or Resolved (4), and the note as the finding's comment.
//!
//! What to write is decided here, purely, from the event and its report; the call is made by a
//! [`WriteBack`] port (the AWS one is `mamoru::writeback::hub::Hub`, in the `mamoru` crate). A failed write-back is
//! reported in the audit line and never fails the event.
//!
//! Security Hub answers every `BatchUpdateFindings` with a `Findings - Imported` event of the
//! updated finding. That echo is recognised by what mamoru recorded writing ([`echo_key`]), not
//! by anything in the finding that another caller of `BatchUpdateFindings` could write (a note
//! claiming to be mamoru's is decided like any other update).

use serde::Serialize;

use crate::action::Status;
use crate::decide::Disposition;
use crate::event::{AsffFinding, DT_SECURITYHUB_CUSTOM_ACTION, Event, EventKind, OcsfFinding};
use crate::report::Report;

/// The IAM action the write-back needs, for both formats: the Security Hub API reference says
/// `BatchUpdateFindingsV2` is authorized by `securityhub:BatchUpdateFindings` too.
pub const API: &str = "securityhub:BatchUpdateFindings";
/// The operation that writes back OCSF findings (named in outcomes, not an IAM action).
pub const API_V2: &str = "securityhub:BatchUpdateFindingsV2";

/// The write-back's grant: the hub of the account and region the function runs in, where
/// Security Hub delivered the finding's event (`BatchUpdateFindings`' resource type is `hub` in
/// the Service Authorization Reference). Not an action's grant: the securityhub function always
/// writes back; `mamoru permissions --grants` lists it (`by: write_back`) and the infra tests
/// compare the template with it both ways.
pub const GRANT: crate::action::Grant = crate::action::Grant {
    actions: &[API],
    resources: &["arn:${AWS::Partition}:securityhub:${AWS::Region}:${AWS::AccountId}:hub/default"],
    condition: crate::action::Condition::None,
};

/// Security Hub's limit on `Note.Text`, in characters.
pub const NOTE_MAX: usize = 512;

/// The workflow status mamoru sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Workflow {
    /// mamoru notified about the finding (and did whatever it reports).
    Notified,
    /// Every action mamoru took on the finding succeeded and read the resulting state.
    Resolved,
}

impl Workflow {
    /// The status as `BatchUpdateFindings` writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Workflow::Notified => "NOTIFIED",
            Workflow::Resolved => "RESOLVED",
        }
    }

    /// The OCSF `status_id` `BatchUpdateFindingsV2` writes: In Progress (people were notified
    /// and are on it; OCSF has no "notified"), or Resolved.
    pub fn status_id(self) -> i64 {
        match self {
            Workflow::Notified => crate::event::ocsf::STATUS_IN_PROGRESS,
            Workflow::Resolved => crate::event::ocsf::STATUS_RESOLVED,
        }
    }

    /// The status as a finding of `schema` shows it.
    fn shown(self, schema: Schema) -> String {
        match schema {
            Schema::Asff => self.as_str().to_string(),
            Schema::Ocsf => self.status_id().to_string(),
        }
    }
}

impl FindingUpdate {
    /// The API the write-back calls.
    pub fn api(&self) -> &'static str {
        match self.schema {
            Schema::Asff => API,
            Schema::Ocsf => API_V2,
        }
    }
}

/// The format of a finding, which chooses the write-back's API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Schema {
    /// AWS Security Finding Format: `BatchUpdateFindings`.
    Asff,
    /// OCSF, the new Security Hub: `BatchUpdateFindingsV2`.
    Ocsf,
}

/// One finding's write-back: which finding, the status and the note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FindingUpdate {
    pub schema: Schema,
    /// ASFF: the finding's `Id` and `ProductArn`, the identifiers `BatchUpdateFindings` takes.
    /// OCSF: `finding_info.uid` and `metadata.product.uid`, which with `account` make
    /// `BatchUpdateFindingsV2`'s `OcsfFindingIdentifier`.
    pub finding_id: String,
    pub product_arn: String,
    /// The finding's account (`AwsAccountId`, `cloud.account.uid`).
    pub account: String,
    pub workflow: Workflow,
    /// At most [`NOTE_MAX`] characters, secrets masked.
    pub note: String,
    /// `mamoru/<version>`.
    pub updated_by: String,
    /// The finding as mamoru decided it, for the record of what it wrote ([`echo_key`]).
    #[serde(skip)]
    pub decided: FindingState,
}

/// What became of a write-back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteStatus {
    /// Security Hub accepted the update.
    Written,
    /// The finding already shows this status and note: nothing was sent.
    Unchanged,
    /// Dry-run: the update would have been written.
    WouldWrite,
    /// Not attempted (the message says why).
    Skipped,
    /// The call failed, or Security Hub did not process the finding.
    Failed,
}

/// The write-back's result, as audited.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WriteBackOutcome {
    #[serde(flatten)]
    pub update: FindingUpdate,
    pub status: WriteStatus,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retryable: Option<bool>,
}

impl WriteBackOutcome {
    pub fn new(update: FindingUpdate, status: WriteStatus, message: impl Into<String>) -> Self {
        WriteBackOutcome {
            update,
            status,
            message: message.into(),
            error_code: None,
            retryable: None,
        }
    }
}

/// The members of a finding that mamoru's write-back leaves as they are or sets, and that a
/// decision reads: the echo of a write-back shows exactly these.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FindingState {
    pub finding_id: String,
    pub workflow: String,
    pub note: String,
    pub updated_by: String,
    pub severity: String,
    pub compliance: String,
    pub record_state: String,
}

impl FindingState {
    /// The state of the event's finding as received, for either format.
    pub fn of_event(event: &Event) -> Option<FindingState> {
        match &event.kind {
            EventKind::SecurityHub(sh) => sh.finding().map(FindingState::of),
            EventKind::SecurityHubOcsf(sh) => sh.finding().map(FindingState::of_ocsf),
            _ => None,
        }
    }

    /// The state of an OCSF finding as received: its status id, comment (no author: OCSF has
    /// none), severity and compliance status.
    pub fn of_ocsf(f: &OcsfFinding) -> FindingState {
        FindingState {
            finding_id: f.finding_info.uid.clone(),
            workflow: f.status_id().map(|s| s.to_string()).unwrap_or_default(),
            note: f.comment.clone().unwrap_or_default(),
            updated_by: String::new(),
            severity: f
                .severity_id
                .map(|s| s.to_string())
                .or_else(|| f.severity.clone())
                .unwrap_or_default(),
            compliance: f
                .compliance
                .as_ref()
                .and_then(|c| c.status.clone())
                .unwrap_or_default(),
            record_state: String::new(),
        }
    }

    /// The state of an ASFF finding as received.
    pub fn of(f: &AsffFinding) -> FindingState {
        let note = f.note.as_ref();
        FindingState {
            finding_id: f.id.clone(),
            workflow: f.workflow_status().unwrap_or_default().to_string(),
            note: note.and_then(|n| n.text.clone()).unwrap_or_default(),
            updated_by: note.and_then(|n| n.updated_by.clone()).unwrap_or_default(),
            severity: f
                .severity
                .as_ref()
                .and_then(|s| s.label.clone())
                .unwrap_or_default(),
            compliance: f.compliance_status().unwrap_or_default().to_string(),
            record_state: f.record_state.clone().unwrap_or_default(),
        }
    }

    /// The state the finding will have once `update` is applied to it.
    fn after(&self, update: &FindingUpdate) -> FindingState {
        FindingState {
            workflow: update.workflow.shown(update.schema),
            note: update.note.clone(),
            updated_by: match update.schema {
                Schema::Asff => update.updated_by.clone(),
                Schema::Ocsf => String::new(),
            },
            ..self.clone()
        }
    }
}

/// The state-store key recording that mamoru wrote `update`: the finding, the members a decision
/// reads as they will be after the update (verbatim), and a digest of the note. An update of the
/// finding that shows exactly these is mamoru's own echo; one that differs in any of them (a
/// higher severity, another status, another note, a note merely claiming to be mamoru's) is
/// not. The note's digest is not cryptographic: a text made to collide could only pass for the
/// echo when every member a decision reads is unchanged, and then deciding it again would
/// change nothing.
pub fn echo_key(update: &FindingUpdate) -> String {
    key_of(&update.decided.after(update))
}

/// The key an incoming finding would have if it were mamoru's echo ([`echo_key`]).
pub fn incoming_key(now: &FindingState) -> String {
    key_of(now)
}

fn key_of(s: &FindingState) -> String {
    let mut note = Fnv::default();
    note.write(s.note.as_bytes());
    note.write(&[0]);
    note.write(s.updated_by.as_bytes());
    format!(
        "{}wrote#{}#{}#{}#{}#{}#{:016x}",
        crate::state::prefix("securityhub"),
        s.finding_id,
        s.workflow,
        s.severity,
        s.compliance,
        s.record_state,
        note.0
    )
}

/// FNV-1a, 64 bits: stable across builds (unlike `std`'s hasher).
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// `mamoru/<version>`: the `UpdatedBy` of mamoru's notes.
pub fn updated_by() -> String {
    format!(
        "{}{}",
        crate::event::securityhub::UPDATED_BY_PREFIX,
        crate::VERSION
    )
}

/// What to write back for a Security Hub finding that was decided, or `None`: not a Security
/// Hub finding, or ignored (nothing to say, and writing would answer an echo with another
/// write).
pub fn update_for(event: &Event, report: &Report) -> Option<FindingUpdate> {
    let (schema, finding_id, product_arn, account) = match &event.kind {
        EventKind::SecurityHub(sh) => {
            let f = sh.finding()?;
            (
                Schema::Asff,
                f.id.clone(),
                f.product_arn.clone(),
                f.aws_account_id.clone(),
            )
        }
        EventKind::SecurityHubOcsf(sh) => {
            let f = sh.finding()?;
            (
                Schema::Ocsf,
                f.finding_info.uid.clone(),
                f.metadata.product.uid.clone(),
                f.cloud.account.uid.clone(),
            )
        }
        _ => return None,
    };
    let decided = FindingState::of_event(event)?;
    let plan = &report.plan;
    if plan.disposition == Disposition::Ignore
        || plan.disposition == Disposition::Error
        || (!plan.notify && plan.actions.is_empty())
    {
        return None;
    }
    let resolved = !report.outcomes.is_empty()
        && report.outcomes.iter().all(|o| {
            o.status == Status::AlreadyDone || (o.status == Status::Done && o.after.is_some())
        });
    let workflow = if resolved {
        Workflow::Resolved
    } else {
        Workflow::Notified
    };
    let approved = event.detail_type == DT_SECURITYHUB_CUSTOM_ACTION;
    Some(FindingUpdate {
        schema,
        finding_id,
        product_arn,
        account,
        workflow,
        note: note(report, workflow, approved),
        updated_by: updated_by(),
        decided,
    })
}

/// The note: what mamoru did, in one line, the same for the same decision and outcomes (no
/// time, no event id), so that writing it again changes nothing.
fn note(report: &Report, workflow: Workflow, approved: bool) -> String {
    let plan = &report.plan;
    let mut text = String::from("mamoru: ");
    if approved {
        // The custom-action event names no person (it carries no userIdentity).
        text.push_str("approved through the custom action 'mamoru: remediate'. ");
    }
    text.push_str(match workflow {
        Workflow::Resolved => "remediated",
        Workflow::Notified if plan.notify => "notified",
        Workflow::Notified => "decided",
    });
    text.push_str(&format!(" ({})", plan.severity.band.as_str()));
    if report.outcomes.is_empty() {
        text.push_str("; no action.");
    } else {
        let done: Vec<String> = report
            .outcomes
            .iter()
            .map(|o| format!("{}: {}", o.action.describe(), o.status_text()))
            .collect();
        text.push_str(&format!("; {}.", done.join("; ")));
    }
    bounded(&crate::redact::text(&text), NOTE_MAX)
}

/// `text` cut to at most `max` characters, ending with `…` when cut.
fn bounded(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Whether the finding as received (`now`) already shows `update` (its status and note):
/// writing it again would change nothing.
pub fn already_shown(now: &FindingState, update: &FindingUpdate) -> bool {
    let after = now.after(update);
    now.workflow == after.workflow && now.note == after.note && now.updated_by == after.updated_by
}

/// The port that writes back. Never panics: every error is a `Failed` outcome.
pub trait WriteBack: Send + Sync {
    fn write_back<'a>(
        &'a self,
        update: &'a FindingUpdate,
    ) -> crate::state::BoxFuture<'a, WriteBackOutcome>;
}

#[cfg(test)]
mod tests;
