//! The phrases every notification uses for what happened, in one place: an action's outcome
//! (`restarted`, `would restart (dry-run)`, `restart FAILED`), a withheld action, and the
//! outcome summary of the Subject and the document. The renderers (text, document, Chatbot) and
//! the Subject read them from here; nothing here reads a renderer.

use crate::action::{ActionKind, Outcome, Status};
use crate::decide::{Band, Disposition, Plan};
use crate::report::Report;

fn words(kind: ActionKind) -> crate::action::Words {
    kind.words()
}

/// A withheld action, for people: `deactivate_access_key` reads "deactivate the access key".
pub fn withheld_phrase(action: &str) -> String {
    match action.parse::<ActionKind>() {
        Ok(kind) => kind.words().withheld.to_string(),
        Err(_) => action.to_string(),
    }
}

/// Whether an outcome comes from a rule in shadow mode (from the plan: a renderer may be given
/// any report, not only the responder's).
fn is_shadow(plan: &Plan, o: &Outcome) -> bool {
    plan.actions
        .iter()
        .find(|p| p.action == o.action)
        .is_some_and(|p| p.shadow)
}

/// What happened to one action, in a few words: `restarted`, `would restart (dry-run)`,
/// `restart FAILED`, …
pub fn outcome_phrase(o: &Outcome) -> String {
    let w = words(o.action.kind);
    match o.status {
        Status::Done => w.done.to_string(),
        Status::AlreadyDone => w.already.to_string(),
        Status::WouldDo => match o.held {
            Some(hold) => format!("{} ({})", w.would, hold.word()),
            None => w.would.to_string(),
        },
        Status::Skipped => format!("{} skipped", w.noun),
        Status::Failed => format!("{} FAILED", w.noun),
    }
}

/// Longest outcome shown at the end of a Subject.
pub(super) const OUTCOME_MAX: usize = 45;

/// The outcome for the Subject and the document: what happened to the actions, or why there
/// were none. `None` when there is nothing to say (informational notices).
pub fn outcome(report: &Report) -> Option<String> {
    let plan = &report.plan;
    if !report.outcomes.is_empty() {
        // What really happened leads: shadow "would have" outcomes are named in the Subject
        // only when nothing else ran (the body always lists them).
        let enforced: Vec<&Outcome> = report
            .outcomes
            .iter()
            .filter(|o| !is_shadow(plan, o))
            .collect();
        let shown: Vec<&Outcome> = if enforced.is_empty() {
            report.outcomes.iter().collect()
        } else {
            enforced
        };
        // Failures first: they are what a reader must not miss.
        let mut ordered: Vec<&Outcome> = shown
            .iter()
            .copied()
            .filter(|o| o.status == Status::Failed)
            .collect();
        ordered.extend(shown.iter().copied().filter(|o| o.status != Status::Failed));
        let mut phrases: Vec<String> = Vec::new();
        for o in ordered {
            let p = outcome_phrase(o);
            if !phrases.contains(&p) {
                phrases.push(p);
            }
        }
        let joined = phrases.join("; ");
        if joined.len() <= OUTCOME_MAX {
            return Some(joined);
        }
        let first = phrases.first().cloned().unwrap_or_default();
        return Some(format!("{first} +{} more", phrases.len().saturating_sub(1)));
    }
    if !plan.withheld.is_empty() {
        return Some("remediation withheld".to_string());
    }
    match plan.disposition {
        Disposition::Ignore | Disposition::Error => Some("ignored".to_string()),
        _ if plan.severity.band == Band::Info => None,
        _ => Some("no action taken".to_string()),
    }
}
