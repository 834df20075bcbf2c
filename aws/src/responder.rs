//! The pipeline every function runs: parse, decide, act, notify, audit.
//!
//! A `Responder` is built once per container (settings, rules, SDK clients) and handles many
//! events.

use std::sync::Arc;
use std::time::Instant;

use crate::action::port::{Publish, Remediate};
use crate::action::{Hold, Outcome, Status};
use crate::decide::{Disposition, Handler, Planned, RuleSet, decide, decide_crossed};
use crate::event::{Event, ParseError};
use crate::lookup::Lookup;
use crate::notify::{NotifyError, render};
use crate::publish::{Import, PublishOutcome, PublishStatus};
use crate::report::Report;
use crate::settings::{Mode, Settings};
use crate::state::{Claim, EVENT_MEMORY_SECONDS, Sight, Sighting, Store, Tally};
use crate::writeback::{WriteBack, WriteBackOutcome, WriteStatus};

/// Why handling an event failed. Every variant makes the function return an error, so Lambda
/// retries the event and, once retries are exhausted, sends it to the dead-letter queue.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// The event is not a valid event of its detail-type. Retrying will not help; the error
    /// sends it to the DLQ instead of dropping it.
    #[error("bad event: {0}")]
    Parse(#[from] ParseError),
    /// At least one action failed. The notification went out and says so.
    #[error("{failed} of {total} remediation actions failed: {first}")]
    ActionsFailed {
        failed: usize,
        total: usize,
        first: String,
        report: Box<Report>,
    },
    /// The notification could not be published.
    #[error("{0}")]
    Notify(#[source] NotifyError, Box<Report>),
}

impl HandleError {
    /// Whether a retry may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            HandleError::Parse(_) => false,
            HandleError::ActionsFailed { report, .. } => {
                report.failed().any(|o| o.retryable.unwrap_or(true))
            }
            HandleError::Notify(..) => true,
        }
    }

    /// The report, when the event got as far as a plan.
    pub fn report(&self) -> Option<&Report> {
        match self {
            HandleError::Parse(_) => None,
            HandleError::ActionsFailed { report, .. } | HandleError::Notify(_, report) => {
                Some(report)
            }
        }
    }
}

/// Whether a planned action runs, decided in one place: a shadow rule never executes; otherwise
/// the mode of the account that owns the resource decides.
pub fn hold(planned: &Planned, settings: &Settings) -> Option<Hold> {
    if planned.shadow {
        Some(Hold::Shadow)
    } else if settings.mode_for(&planned.action.account) == Mode::DryRun {
        Some(if settings.mode == Mode::DryRun {
            Hold::DryRun
        } else {
            Hold::AccountDryRun
        })
    } else {
        None
    }
}

pub struct Responder {
    handler: Option<Handler>,
    settings: Settings,
    rules: RuleSet,
    actor: Option<Arc<dyn Remediate>>,
    notifier: Option<Arc<dyn Publish>>,
    state: Option<Arc<dyn Store>>,
    write_back: Option<Arc<dyn WriteBack>>,
    publisher: Option<Arc<dyn Import>>,
    lookup: Option<Arc<dyn Lookup>>,
}

/// What the state store says of an event before it is handled.
enum Memo {
    /// No store, nothing to remember (an ignored event), or the store is unreachable: the
    /// event is handled (fail open: never silence).
    Unrecorded,
    /// This is the first delivery; the key is held until the event is handled.
    Claimed(String),
    /// The event was already handled (EventBridge delivered it again).
    Redelivered,
}

/// What the digest of a finding says of this update.
enum Digest {
    /// Not a finding, no store, or the store is unreachable: alert as usual.
    None,
    /// Alert; `suppressed` updates were counted since the last alert at `since`.
    Alert {
        key: String,
        suppressed: u64,
        since: Option<i64>,
    },
    /// Counted, not alerted, not acted on again.
    Quiet,
}

/// Why the budget withheld an action.
enum OverBudget {
    /// The budget of `scope` is spent for the hour: the message says so.
    Exhausted { scope: String, message: String },
    /// The budget could not be checked: withheld (fail closed).
    Unchecked(String),
}

/// How long what mamoru wrote back to a finding is remembered: an update showing exactly that
/// state within this is its own echo (Security Hub sends it within minutes; a re-import that
/// changes nothing mamoru decides on is taken for it too).
const ECHO_MEMORY_SECONDS: i64 = EVENT_MEMORY_SECONDS;

/// How long a finding's digest is kept after its last update.
const DIGEST_MEMORY_SECONDS: i64 = 30 * 24 * 3600;

impl Responder {
    /// `handler`: the function this responder serves (`None` routes by detail-type).
    /// `actor`/`notifier`: the side effects (the AWS ones, or in-memory ones in tests); `None`
    /// to plan only (local replay without AWS).
    pub fn new(
        handler: Option<Handler>,
        settings: Settings,
        rules: RuleSet,
        actor: Option<Arc<dyn Remediate>>,
        notifier: Option<Arc<dyn Publish>>,
    ) -> Responder {
        Responder {
            handler,
            settings,
            rules,
            actor,
            notifier,
            state: None,
            write_back: None,
            publisher: None,
            lookup: None,
        }
    }

    /// Gives the responder a lookup of what used a deleted log destination
    /// ([`crate::lookup`]): a KMS key or log group that a trail or flow log uses makes the alert
    /// High.
    pub fn with_lookup(mut self, lookup: Arc<dyn Lookup>) -> Responder {
        self.lookup = Some(lookup);
        self
    }

    /// Looks up whether a trail or flow log used the log destination the call removed, and
    /// says so in the plan ([`crate::lookup::apply`]). Never fails the event: a failed lookup
    /// keeps the decided severity and the reason says why.
    async fn check_destination(&self, event: &Event, plan: &mut crate::decide::Plan) {
        let Some(port) = &self.lookup else {
            return;
        };
        if plan.disposition == Disposition::Ignore || (!plan.notify && plan.actions.is_empty()) {
            return;
        }
        let Some(dest) = crate::lookup::Destination::of(event) else {
            return;
        };
        let found = if dest.alias().is_some() {
            None
        } else {
            Some(port.look_up(&plan.event_id, &dest).await)
        };
        let check = match &found {
            Some(Ok(f)) => crate::lookup::Check::of(&dest, Ok(f)),
            Some(Err(e)) => {
                tracing::warn!(
                    event_id = %plan.event_id,
                    error_code = %e.code,
                    error = %e.message,
                    "log destination lookup failed: the alert keeps its severity"
                );
                crate::lookup::Check::of(&dest, Err(e))
            }
            None => crate::lookup::Check::of(&dest, Ok(&crate::lookup::Found::default())),
        };
        crate::lookup::apply(plan, &dest, &check);
    }

    /// Gives the responder a Security Hub import ([`crate::publish`]): each detection of a
    /// CloudTrail call it notifies or acts on is imported as a finding.
    pub fn with_publisher(mut self, publisher: Arc<dyn Import>) -> Responder {
        self.publisher = Some(publisher);
        self
    }

    /// Imports the event's detection into Security Hub ([`crate::publish`]). Never fails the
    /// event: a failure is in the outcome, which the audit line records. Nothing is imported in
    /// dry-run.
    async fn publish(&self, event: &Event, report: &Report) -> Option<PublishOutcome> {
        let port = self.publisher.as_ref()?;
        let detection = match crate::publish::detection_for(event, report, port.home()) {
            Ok(Some(d)) => d,
            Ok(None) => return None,
            Err(reason) => {
                return Some(PublishOutcome::new(None, PublishStatus::Skipped, reason));
            }
        };
        if self.settings.mode == Mode::DryRun {
            return Some(PublishOutcome::new(
                Some(detection.id),
                PublishStatus::WouldImport,
                "dry-run: would import the detection into Security Hub",
            ));
        }
        let outcome = port.import(&detection).await;
        if outcome.status == PublishStatus::Failed {
            tracing::warn!(
                event_id = %report.plan.event_id,
                error_code = outcome.error_code.as_deref().unwrap_or(""),
                error = %outcome.message,
                "Security Hub import failed: the event is still handled"
            );
        }
        Some(outcome)
    }

    /// Gives the responder a Security Hub write-back ([`crate::writeback`]): each decided
    /// finding gets its workflow status and a note of what mamoru did.
    pub fn with_write_back(mut self, write_back: Arc<dyn WriteBack>) -> Responder {
        self.write_back = Some(write_back);
        self
    }

    /// Gives the responder a memory between events ([`crate::state`]): a redelivered event is
    /// handled once.
    pub fn with_state(mut self, state: Arc<dyn Store>) -> Responder {
        self.state = Some(state);
        self
    }

    /// Takes one enforced action from the hour's budgets of the account it acts in and of the
    /// principal the event names ([`crate::state::Store::take`]). Without a state store there
    /// is no budget.
    async fn budget(
        &self,
        plan: &crate::decide::Plan,
        planned: &Planned,
    ) -> Result<(), OverBudget> {
        let Some(store) = &self.state else {
            return Ok(());
        };
        if planned.unbudgeted {
            return Ok(());
        }
        let now = chrono::Utc::now().timestamp();
        let hour = now.div_euclid(3600);
        let until = (hour + 1) * 3600;
        let until_text = chrono::DateTime::from_timestamp(until, 0)
            .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_default();
        let account = planned.action.account.clone();
        let mut scopes = vec![(
            format!("in {account}"),
            account,
            self.settings.budget_per_account,
        )];
        // A role's sessions share the role's budget: a session name is the caller's to choose.
        if let Some(arn) = plan
            .principal
            .as_ref()
            .and_then(|p| p.issuer_arn.clone().or_else(|| p.arn.clone()))
        {
            scopes.push((
                format!("for {arn}"),
                arn,
                self.settings.budget_per_principal,
            ));
        }
        for (label, scope, limit) in scopes {
            let key = crate::state::budget_key(plan.handler.name(), &scope, hour);
            match store.take(&key, limit, until + 3600).await {
                Ok(Some(_)) => {}
                Ok(None) => {
                    return Err(OverBudget::Exhausted {
                        scope: key,
                        message: format!(
                            "remediation budget exhausted {label}: {limit} actions in the last hour; further actions withheld until {until_text}"
                        ),
                    });
                }
                Err(e) => {
                    tracing::error!(event_id = %plan.event_id, error = %e, "remediation withheld: its budget could not be checked");
                    return Err(OverBudget::Unchecked(format!(
                        "withheld: the remediation budget could not be checked ({e})"
                    )));
                }
            }
        }
        Ok(())
    }

    /// Counts the event towards the thresholds of the rules it matched
    /// ([`crate::state::Store::tally`]): the rules whose threshold it reaches, and among them
    /// those taken as reached because the table could not be reached. Without a state
    /// store nothing is counted and no threshold is reached. When the table is unreachable the
    /// rule is taken as reached (fail open: an alert too many, never silence); any action it
    /// asks for then meets a budget that cannot be checked, and is withheld.
    async fn count(&self, plan: &crate::decide::Plan) -> (Vec<String>, Vec<String>) {
        let Some(store) = &self.state else {
            return (Vec::new(), Vec::new());
        };
        let mut crossed = Vec::new();
        let mut unchecked = Vec::new();
        for p in &plan.thresholds {
            let at = p.at.unwrap_or_else(|| chrono::Utc::now().timestamp());
            let window = at.div_euclid(p.window.max(1));
            let key = crate::state::threshold_key(plan.handler.name(), &p.rule_id, window, &p.by);
            // Kept a window past the later of its end and now: an event delivered late (or
            // replayed) still finds its window's count.
            let now = chrono::Utc::now().timestamp();
            let expires = ((window + 1) * p.window).max(now) + p.window;
            match store.tally(&key, &p.members, p.count, expires).await {
                Ok(Tally::Crossed) => crossed.push(p.rule_id.clone()),
                Ok(Tally::Below(n)) => tracing::debug!(
                    event_id = %plan.event_id,
                    rule = %p.rule_id,
                    count = n,
                    threshold = p.count,
                    "counted towards a threshold"
                ),
                Ok(Tally::Past) => {}
                Err(e) => {
                    tracing::warn!(
                        event_id = %plan.event_id,
                        rule = %p.rule_id,
                        error = %e,
                        "state table unreachable: the threshold rule is taken as reached"
                    );
                    crossed.push(p.rule_id.clone());
                    unchecked.push(p.rule_id.clone());
                }
            }
        }
        (crossed, unchecked)
    }

    /// Records this update of a finding in its digest ([`crate::state::Store::sight`]).
    async fn digest(&self, plan: &crate::decide::Plan) -> Digest {
        let (Some(store), Some(finding)) = (&self.state, plan.refs.finding_id.as_deref()) else {
            return Digest::None;
        };
        if plan.disposition == Disposition::Ignore || (!plan.notify && plan.actions.is_empty()) {
            return Digest::None;
        }
        let key = crate::state::finding_key(plan.handler.name(), finding);
        // What the update names: its resource, its actor and what it would act on. A new one
        // alerts (attacker-chosen text can only make more alerts here, never fewer).
        let mut subject = vec![
            plan.resource
                .as_ref()
                .map(crate::decide::Resource::label)
                .unwrap_or_default(),
            plan.principal
                .as_ref()
                .and_then(|p| p.arn.clone())
                .unwrap_or_default(),
        ];
        subject.extend(plan.actions.iter().map(|a| a.action.describe()));
        let now = chrono::Utc::now().timestamp();
        let sight = Sight {
            band: plan.severity.band as u8,
            subject: subject.join("\n"),
            now,
            quiet: self.settings.repeat_quiet_seconds,
            expires: now + DIGEST_MEMORY_SECONDS,
        };
        match store.sight(&key, &sight).await {
            Ok(Sighting::Alert { suppressed, since }) => Digest::Alert {
                key,
                suppressed,
                since,
            },
            Ok(Sighting::Quiet) => Digest::Quiet,
            Err(e) => {
                tracing::warn!(
                    event_id = %plan.event_id,
                    error = %e,
                    "state table unreachable: the finding update alerts without its digest"
                );
                Digest::None
            }
        }
    }

    /// One CRITICAL alert per exhausted budget and hour: the first event the budget withholds
    /// an action of sends it (its claim is the budget's key with `#alerted`).
    async fn budget_alerts(&self, report: &Report, exhausted: &[(String, String)]) {
        let (Some(store), Some(notifier)) = (&self.state, &self.notifier) else {
            return;
        };
        let now = chrono::Utc::now().timestamp();
        for (scope, message) in exhausted {
            let key = format!("{scope}#alerted");
            match store.claim(&key, now, now + 2 * 3600).await {
                Ok(Claim::First) => {}
                Ok(Claim::Held) => continue,
                Err(e) => tracing::warn!(error = %e, "budget alert sent without its claim"),
            }
            let mut alert = report.clone();
            alert.plan.severity =
                crate::decide::Severity::from_score(alert.plan.severity.score.max(9.0));
            alert.plan.title = message.clone();
            alert.plan.reason = format!(
                "{message}. This event's actions were withheld; so are the next ones until then. {}",
                alert.plan.reason
            );
            if let Err(e) = notifier.publish(&render(&alert)).await {
                tracing::error!(event_id = %report.plan.event_id, error = %e, "budget alert failed");
            }
        }
    }

    /// Claims the event's ID in the state store. An event that neither notifies nor acts is
    /// not recorded (it costs no write).
    async fn remember(&self, plan: &crate::decide::Plan) -> Memo {
        let Some(store) = &self.state else {
            return Memo::Unrecorded;
        };
        if plan.disposition == Disposition::Ignore || (!plan.notify && plan.actions.is_empty()) {
            return Memo::Unrecorded;
        }
        let key = crate::state::event_key(plan.handler.name(), &plan.event_id);
        let now = chrono::Utc::now().timestamp();
        match store.claim(&key, now, now + EVENT_MEMORY_SECONDS).await {
            Ok(Claim::First) => Memo::Claimed(key),
            Ok(Claim::Held) => Memo::Redelivered,
            Err(e) => {
                tracing::warn!(
                    event_id = %plan.event_id,
                    error = %e,
                    "state table unreachable: the event is handled without its memory (a redelivery would alert again)"
                );
                Memo::Unrecorded
            }
        }
    }

    /// The report of an event that is neither acted on nor notified (the reason says why), as
    /// audited.
    fn nothing_done(&self, mut plan: crate::decide::Plan, started: Instant) -> Report {
        plan.actions.clear();
        plan.notify = false;
        let report = Report::new(plan, Vec::new(), self.settings.mode);
        crate::audit::record_with_metrics(
            &report,
            crate::metrics::Context::new(&self.rules, &self.settings),
            None,
            false,
            started.elapsed(),
        );
        report
    }

    /// Whether the event is the `Findings - Imported` event Security Hub sends for mamoru's own
    /// write-back: the finding shows exactly the state mamoru recorded writing
    /// ([`crate::writeback::echo_key`]). Asked of the state store with a claim that is released
    /// at once when nothing was recorded; without a store, or when it cannot be reached, the
    /// update is decided (its write-back then finds the finding already showing it, and sends
    /// nothing: the loop stops there).
    async fn echo(&self, event: &Event, plan: &crate::decide::Plan) -> Option<String> {
        let store = self.state.as_ref()?;
        if plan.disposition == Disposition::Ignore
            || (event.detail_type != crate::event::DT_SECURITYHUB_IMPORTED
                && event.detail_type != crate::event::DT_SECURITYHUB_V2)
        {
            return None;
        }
        let now = crate::writeback::FindingState::of_event(event)?;
        let key = crate::writeback::incoming_key(&now);
        let now = chrono::Utc::now().timestamp();
        match store.claim(&key, now, now + 60).await {
            Ok(Claim::Held) => Some(
                "the update is mamoru's own write-back coming back (the finding shows exactly the state mamoru recorded writing): nothing new to decide"
                    .to_string(),
            ),
            Ok(Claim::First) => {
                if let Err(e) = store.release(&key).await {
                    tracing::warn!(event_id = %plan.event_id, error = %e, "could not release the write-back probe");
                }
                None
            }
            Err(e) => {
                tracing::warn!(event_id = %plan.event_id, error = %e, "state table unreachable: the update is decided, even if it is mamoru's own write-back");
                None
            }
        }
    }

    /// Writes back to Security Hub what was done about the event's finding
    /// ([`crate::writeback`]). Never fails the event: a failure is in the outcome, which the
    /// audit line records. Nothing is written in dry-run, nor when the notification failed (the
    /// retry writes it), nor when the finding already shows the same status and note.
    async fn write_back(
        &self,
        event: &Event,
        report: &Report,
        notify_failed: bool,
    ) -> Option<WriteBackOutcome> {
        let port = self.write_back.as_ref()?;
        let update = crate::writeback::update_for(event, report)?;
        let status = update.workflow.as_str();
        if self.settings.mode == Mode::DryRun {
            return Some(WriteBackOutcome::new(
                update,
                WriteStatus::WouldWrite,
                format!("dry-run: would set the workflow to {status} and write the note"),
            ));
        }
        if notify_failed {
            return Some(WriteBackOutcome::new(
                update,
                WriteStatus::Skipped,
                "not written: the notification failed (the retry writes it)",
            ));
        }
        if let Some(now) = crate::writeback::FindingState::of_event(event)
            && crate::writeback::already_shown(&now, &update)
        {
            return Some(WriteBackOutcome::new(
                update,
                WriteStatus::Unchanged,
                format!("the finding already shows {status} and this note: nothing sent"),
            ));
        }
        // Recorded before writing: Security Hub's answering event can arrive before this
        // returns. Released again when the write fails.
        let recorded = match &self.state {
            Some(store) => {
                let key = crate::writeback::echo_key(&update);
                let now = chrono::Utc::now().timestamp();
                match store.claim(&key, now, now + ECHO_MEMORY_SECONDS).await {
                    Ok(_) => Some((store, key)),
                    Err(e) => {
                        tracing::warn!(event_id = %report.plan.event_id, error = %e, "state table unreachable: the write-back's echo will be decided again");
                        None
                    }
                }
            }
            None => None,
        };
        let outcome = port.write_back(&update).await;
        if outcome.status == WriteStatus::Failed
            && let Some((store, key)) = &recorded
            && let Err(e) = store.release(key).await
        {
            tracing::warn!(event_id = %report.plan.event_id, error = %e, "could not release the record of a failed write-back");
        }
        if outcome.status == WriteStatus::Failed {
            tracing::warn!(
                event_id = %report.plan.event_id,
                error_code = outcome.error_code.as_deref().unwrap_or(""),
                error = %outcome.message,
                "Security Hub write-back failed: the event is still handled"
            );
        }
        Some(outcome)
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// Handles one event given as JSON text.
    pub async fn handle_json(&self, text: &str) -> Result<Report, HandleError> {
        let started = Instant::now();
        let event = match Event::from_json(text) {
            Ok(e) => e,
            Err(err) => {
                tracing::error!(
                    error = %crate::redact::text(&err.to_string()),
                    field = err.field().unwrap_or(""),
                    bytes = text.len(),
                    "event rejected: it will be retried and then kept in the dead-letter queue"
                );
                crate::audit::record_rejected(self.handler);
                return Err(err.into());
            }
        };
        self.handle_event(&event, started).await
    }

    /// Handles one parsed event.
    pub async fn handle_event(
        &self,
        event: &Event,
        started: Instant,
    ) -> Result<Report, HandleError> {
        let mut plan = decide(event, self.handler, &self.rules, &self.settings);
        if let Some(reason) = self.echo(event, &plan).await {
            tracing::info!(event_id = %plan.event_id, "{reason}");
            plan.disposition = Disposition::Ignore;
            plan.reason = reason;
            return Ok(self.nothing_done(plan, started));
        }
        if !plan.thresholds.is_empty() {
            let (crossed, unchecked) = self.count(&plan).await;
            if !crossed.is_empty() {
                plan = decide_crossed(event, self.handler, &self.rules, &self.settings, &crossed);
            }
            if !unchecked.is_empty() {
                plan.reason = format!(
                    "{}; the state table could not be reached, so the threshold of {} was not counted and is taken as reached (an alert too many rather than none)",
                    plan.reason,
                    unchecked.join(", ")
                );
            }
        }
        let memo = self.remember(&plan).await;
        if let Memo::Redelivered = memo {
            tracing::info!(
                event_id = %plan.event_id,
                handler = plan.handler.name(),
                "redelivered event: already handled, no second notification or action"
            );
            plan.reason = format!(
                "redelivery of event {}, already handled: no second notification or action",
                plan.event_id
            );
            plan.actions.clear();
            plan.notify = false;
            return Ok(Report::new(plan, Vec::new(), self.settings.mode));
        }
        let digest = self.digest(&plan).await;
        match &digest {
            Digest::Quiet => {
                tracing::info!(
                    event_id = %plan.event_id,
                    finding_id = plan.refs.finding_id.as_deref().unwrap_or(""),
                    "finding update at the same severity band, resource and actor: counted, no alert, no repeated action"
                );
                plan.reason = format!(
                    "update of a finding already alerted at this severity band, resource and actor: counted for the next alert, not alerted, nothing done again. {}",
                    plan.reason
                );
                return Ok(self.nothing_done(plan, started));
            }
            Digest::Alert {
                suppressed,
                since: Some(since),
                ..
            } if *suppressed > 0 => {
                let since = chrono::DateTime::from_timestamp(*since, 0)
                    .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                    .unwrap_or_default();
                let times = if *suppressed == 1 { "time" } else { "times" };
                plan.reason = format!(
                    "Seen {suppressed} more {times} since {since} without an alert. {}",
                    plan.reason
                );
            }
            _ => {}
        }
        self.check_destination(event, &mut plan).await;
        let mut outcomes = Vec::with_capacity(plan.actions.len());
        let mut exhausted: Vec<(String, String)> = Vec::new();
        for planned in &plan.actions {
            let outcome = match hold(planned, &self.settings) {
                Some(h) => Outcome::held(
                    &planned.action,
                    h,
                    match h {
                        Hold::Shadow => format!(
                            "shadow rule {}: would {}",
                            planned.rule_id,
                            planned.action.describe()
                        ),
                        Hold::DryRun => format!("dry-run: would {}", planned.action.describe()),
                        Hold::AccountDryRun => format!(
                            "dry-run in account {}: would {}",
                            planned.action.account,
                            planned.action.describe()
                        ),
                    },
                ),
                None => match &self.actor {
                    Some(actor) => match self.budget(&plan, planned).await {
                        Ok(()) => actor.remediate(&plan.event_id, &planned.action).await,
                        Err(OverBudget::Exhausted { scope, message }) => {
                            tracing::warn!(event_id = %plan.event_id, action = planned.action.kind.name(), "{message}");
                            exhausted.push((scope, message.clone()));
                            Outcome::new(&planned.action, Status::Skipped, message)
                        }
                        Err(OverBudget::Unchecked(message)) => {
                            Outcome::new(&planned.action, Status::Skipped, message)
                        }
                    },
                    None => Outcome::new(
                        &planned.action,
                        Status::Skipped,
                        "no AWS access in this run: planned only",
                    ),
                },
            };
            if outcome.status == Status::Failed {
                tracing::error!(
                    event_id = %plan.event_id,
                    action = outcome.action.kind.name(),
                    api = outcome.action.kind.api(),
                    region = %outcome.action.region,
                    error_code = outcome.error_code.as_deref().unwrap_or(""),
                    retryable = outcome.retryable.unwrap_or(true),
                    error = %outcome.message,
                    "remediation failed"
                );
            }
            outcomes.push(outcome);
        }
        let mut report = Report::new(plan, outcomes, self.settings.mode);

        let mut notify_error = None;
        let mut message_id = None;
        if report.plan.notify
            && report.plan.disposition != Disposition::Ignore
            && let Some(notifier) = &self.notifier
        {
            let message = render(&report);
            match notifier.publish(&message).await {
                Ok(id) => message_id = Some(id),
                Err(e) => {
                    tracing::error!(event_id = %report.plan.event_id, error = %e, "notification failed");
                    notify_error = Some(e);
                }
            }
        }
        self.budget_alerts(&report, &exhausted).await;
        report.write_back = self
            .write_back(event, &report, notify_error.is_some())
            .await;
        report.published = self.publish(event, &report).await;
        crate::audit::record_with_metrics(
            &report,
            crate::metrics::Context::new(&self.rules, &self.settings),
            message_id.as_deref(),
            notify_error.is_some(),
            started.elapsed(),
        );

        if let Memo::Claimed(key) = &memo
            && (notify_error.is_some() || report.failed().next().is_some())
            && let Some(store) = &self.state
        {
            // Lambda retries a failed event: the retry must be handled, not dropped.
            if let Err(e) = store.release(key).await {
                tracing::warn!(event_id = %report.plan.event_id, error = %e, "could not release the event's claim: a retry will be taken for a redelivery");
            }
        }
        if let Digest::Alert { key, .. } = &digest
            && (notify_error.is_some() || report.failed().next().is_some())
            && let Some(store) = &self.state
        {
            // Not done: the next update of the finding alerts and acts again.
            if let Err(e) = store.release(key).await {
                tracing::warn!(event_id = %report.plan.event_id, error = %e, "could not release the finding's digest: its next update may be counted instead of acted on");
            }
        }
        if let Some(e) = notify_error {
            return Err(HandleError::Notify(e, Box::new(report)));
        }
        let failed: Vec<&Outcome> = report.failed().collect();
        if let Some(first) = failed.first() {
            return Err(HandleError::ActionsFailed {
                failed: failed.len(),
                total: report.outcomes.len(),
                first: first.message.clone(),
                report: Box::new(report.clone()),
            });
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::action::port::Recording;
    use crate::state::Memory;
    use serde_json::Value;

    const STOP_LOGGING: &str =
        include_str!("../../tests/fixtures/events/aws.cloudtrail/ct-stop-logging.json");
    const KEY_FINDING: &str = include_str!(
        "../../tests/fixtures/events/constructed/finding-iamuser-key-malicious-ip-high.json"
    );

    fn changed(text: &str, f: impl FnOnce(&mut Value)) -> String {
        let mut v: Value = serde_json::from_str(text).unwrap();
        f(&mut v);
        v.to_string()
    }

    #[tokio::test]
    async fn a_rule_outside_the_budgets_acts_past_them_and_the_others_do_not() {
        // GIVEN budgets of one action per hour, per account and per principal
        let rec = Arc::new(Recording::default());
        let settings = Settings {
            mode: Mode::Enforce,
            budget_per_account: 1,
            budget_per_principal: 1,
            ..Settings::default()
        };
        let r = Responder::new(
            None,
            settings,
            RuleSet::builtin().unwrap(),
            Some(rec.clone()),
            Some(rec.clone()),
        )
        .with_state(Arc::new(Memory::new()));

        // WHEN one principal stops the trail three times (cloudtrail-stop-logging says
        // `budget = false`: restarting a trail is always safe)
        for n in 0..3 {
            let e = changed(STOP_LOGGING, |v| {
                v["id"] = format!("stop-{n}").into();
                v["detail"]["eventID"] = format!("stop-{n}").into();
            });
            let report = r.handle_json(&e).await.unwrap();
            // THEN each restart runs
            assert_eq!(report.outcomes.len(), 1, "{n}");
            assert_eq!(report.outcomes[0].status, Status::Done, "{n}: {report:?}");
        }
        assert_eq!(rec.actions().len(), 3);

        // WHEN two keys are found compromised (the key rule counts against the budgets)
        let mut statuses = Vec::new();
        for (n, key) in ["AKIAIOSFODNN7EXAMPLE", "AKIAI44QH8DHBEXAMPLE"]
            .iter()
            .enumerate()
        {
            let e = changed(KEY_FINDING, |v| {
                v["id"] = format!("finding-event-{n}").into();
                v["detail"]["id"] = format!("finding-{n}").into();
                v["detail"]["resource"]["accessKeyDetails"]["accessKeyId"] = (*key).into();
            });
            let report = r.handle_json(&e).await.unwrap();
            statuses.push((
                report.outcomes[0].status,
                report.outcomes[0].message.clone(),
            ));
        }
        // THEN the first deactivation runs and the second is withheld by the budget
        assert_eq!(statuses[0].0, Status::Done, "{statuses:?}");
        assert_eq!(statuses[1].0, Status::Skipped, "{statuses:?}");
        assert!(
            statuses[1].1.starts_with("remediation budget exhausted"),
            "{statuses:?}"
        );
        assert_eq!(rec.actions().len(), 4);
    }

    /// A lookup in memory: answers every lookup with `answer` and records what it was asked.
    struct FakeLookup {
        answer: Result<crate::lookup::Found, crate::lookup::Failure>,
        asked: std::sync::Mutex<Vec<crate::lookup::Destination>>,
    }

    impl Lookup for FakeLookup {
        fn look_up<'a>(
            &'a self,
            _event_id: &'a str,
            dest: &'a crate::lookup::Destination,
        ) -> crate::state::BoxFuture<'a, Result<crate::lookup::Found, crate::lookup::Failure>>
        {
            self.asked.lock().unwrap().push(dest.clone());
            let answer = self.answer.clone();
            Box::pin(async move { answer })
        }
    }

    const SCHEDULE: &str =
        include_str!("../../tests/fixtures/events/aws.kms/ct-schedule-key-deletion.json");
    const DELETE_GROUP: &str =
        include_str!("../../tests/fixtures/events/aws.logs/ct-delete-log-group.json");

    async fn with_lookup(
        answer: Result<crate::lookup::Found, crate::lookup::Failure>,
        event: &str,
    ) -> (
        Report,
        Vec<crate::notify::Message>,
        Vec<crate::lookup::Destination>,
    ) {
        let rec = Arc::new(Recording::default());
        let lookup = Arc::new(FakeLookup {
            answer,
            asked: Default::default(),
        });
        let r = Responder::new(
            Some(crate::decide::Handler::Cloudtrail),
            Settings::default(),
            RuleSet::builtin().unwrap(),
            Some(rec.clone()),
            Some(rec.clone()),
        )
        .with_lookup(lookup.clone());
        let report = r.handle_json(event).await.unwrap();
        let asked = lookup.asked.lock().unwrap().clone();
        (report, rec.messages(), asked)
    }

    #[tokio::test]
    async fn a_key_a_trail_uses_makes_the_alert_high_and_names_the_trail() {
        // GIVEN a lookup that finds the trail encrypting with the key the fixture names
        let trail = "arn:aws:cloudtrail:us-east-1:123456789012:trail/org-trail";
        let found = crate::lookup::Found {
            trails: vec![crate::lookup::Trail {
                arn: trail.into(),
                kms_key_id: Some("arn:aws:kms:us-west-2:123456789012:key/1".into()),
                log_group_arn: None,
                s3_bucket: None,
            }],
            flow_logs: vec![],
        };
        // WHEN the key is scheduled for deletion
        let (report, messages, asked) = with_lookup(Ok(found), SCHEDULE).await;
        // THEN it was looked up in the call's account and region, the alert is High and
        // names the trail
        assert_eq!(asked.len(), 1);
        assert_eq!(asked[0].account(), "123456789012");
        assert_eq!(asked[0].region(), "us-west-2");
        assert_eq!(report.plan.severity.band, crate::decide::Band::High);
        assert_eq!(messages.len(), 1);
        assert!(
            messages[0].subject.contains("HIGH"),
            "{}",
            messages[0].subject
        );
        assert!(messages[0].body.contains(trail), "{}", messages[0].body);
    }

    #[tokio::test]
    async fn a_failed_lookup_keeps_medium_says_why_and_still_notifies() {
        // GIVEN a lookup that is denied
        let failure = crate::lookup::Failure {
            code: "AccessDeniedException".into(),
            message: "User is not authorized to perform: cloudtrail:DescribeTrails".into(),
        };
        // WHEN a log group is deleted
        let (report, messages, asked) = with_lookup(Err(failure), DELETE_GROUP).await;
        // THEN the event is handled, Medium, and the notification says the check failed
        assert_eq!(asked.len(), 1);
        assert_eq!(report.plan.severity.band, crate::decide::Band::Medium);
        assert_eq!(messages.len(), 1);
        assert!(
            messages[0].subject.contains("MEDIUM"),
            "{}",
            messages[0].subject
        );
        assert!(
            messages[0]
                .body
                .contains("could not check whether a trail uses the log group")
                && messages[0].body.contains("AccessDeniedException"),
            "{}",
            messages[0].body
        );
    }

    #[tokio::test]
    async fn an_unused_group_stays_medium_and_a_failed_call_is_not_looked_up() {
        let (report, messages, asked) =
            with_lookup(Ok(crate::lookup::Found::default()), DELETE_GROUP).await;
        assert_eq!(asked.len(), 1);
        assert_eq!(report.plan.severity.band, crate::decide::Band::Medium);
        assert!(
            messages[0]
                .body
                .contains("no trail or flow log in us-east-1"),
            "{}",
            messages[0].body
        );
        // A call that failed removed nothing: no lookup.
        let missing =
            include_str!("../../tests/fixtures/events/aws.logs/ct-delete-log-group-missing.json");
        let (_, _, asked) = with_lookup(Ok(crate::lookup::Found::default()), missing).await;
        assert!(asked.is_empty());
    }
}
