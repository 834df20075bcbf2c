//! Rendering a report as a notification: a Subject, a body a person can read followed by the
//! plan and outcomes as JSON, and message attributes for filtering.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::action::Status;
use crate::decide::{Disposition, Plan};
use crate::report::Report;
use crate::settings::Mode;

/// SNS allows 100 characters in a Subject.
pub const SUBJECT_MAX: usize = 100;

/// A rendered notification.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub subject: String,
    pub body: String,
    /// name -> (SNS data type, value)
    pub attributes: BTreeMap<String, (&'static str, String)>,
}

/// Makes text safe for an SNS Subject: ASCII only, one line, no control characters, at most
/// [`SUBJECT_MAX`] characters (cut with `...`).
pub fn sanitize_subject(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(SUBJECT_MAX));
    let mut last_space = true;
    for c in text.chars() {
        let c = if c.is_ascii_graphic() {
            c
        } else if c.is_whitespace() || c.is_control() {
            ' '
        } else {
            '?'
        };
        if c == ' ' {
            if last_space {
                continue;
            }
            last_space = true;
        } else {
            last_space = false;
        }
        out.push(c);
        if out.len() > SUBJECT_MAX + 1 {
            break;
        }
    }
    let trimmed = out.trim_end();
    if trimmed.len() <= SUBJECT_MAX {
        return trimmed.to_string();
    }
    let mut cut = trimmed[..SUBJECT_MAX - 3].trim_end().to_string();
    cut.push_str("...");
    cut
}

/// A short word for what happened to the actions, for the Subject.
fn outcome_word(report: &Report) -> Option<String> {
    let plan = &report.plan;
    if report.outcomes.iter().any(|o| o.status == Status::Failed) {
        return Some("remediation FAILED".into());
    }
    if !report.outcomes.is_empty() {
        if report.outcomes.iter().all(|o| o.status == Status::WouldDo) {
            return Some(
                if report.mode == Mode::DryRun && plan.actions.iter().any(|a| !a.shadow) {
                    "dry-run, would remediate".into()
                } else {
                    "shadow, would remediate".into()
                },
            );
        }
        if report.outcomes.iter().any(|o| o.status == Status::Done) {
            return Some("remediated".into());
        }
        if report
            .outcomes
            .iter()
            .all(|o| o.status == Status::AlreadyDone)
        {
            return Some("already remediated".into());
        }
        return Some("see outcomes".into());
    }
    if !plan.withheld.is_empty() {
        return Some("remediation withheld".into());
    }
    None
}

/// The Subject: severity, what happened, where, and the outcome. When it is too long, the
/// middle (title, resource, location) is cut so that severity and outcome always show.
pub fn subject(report: &Report) -> String {
    let plan = &report.plan;
    let head = format!("[{}] ", plan.severity.band);
    let tail = outcome_word(report)
        .map(|w| format!(", {w}"))
        .unwrap_or_default();
    let mut middle = sanitize_subject(&plan.title);
    if let Some(r) = short_resource(plan) {
        middle.push_str(": ");
        middle.push_str(&sanitize_subject(&r));
    }
    let location = format!(" ({}/{})", plan.account, plan.region);
    let room = SUBJECT_MAX.saturating_sub(head.len() + tail.len());
    if middle.len() + location.len() <= room {
        middle.push_str(&location);
    }
    let middle = sanitize_subject(&middle);
    let middle = if middle.len() > room {
        let mut cut = middle[..room.saturating_sub(3)].trim_end().to_string();
        cut.push_str("...");
        cut
    } else {
        middle
    };
    sanitize_subject(&format!("{head}{middle}{tail}"))
}

/// Renders the notification for a report.
pub fn render(report: &Report) -> Message {
    let plan = &report.plan;
    let subject = subject(report);

    let mut body = String::new();
    let _ = writeln!(
        body,
        "[{}] {} (severity {:.1})",
        plan.severity.band, plan.title, plan.severity.score
    );
    body.push('\n');
    let _ = writeln!(body, "What happened: {}", what_happened(plan));
    if let Some(p) = &plan.principal {
        let mut who = String::new();
        if let Some(arn) = p.arn.as_deref().or(p.name.as_deref()) {
            who.push_str(arn);
        }
        if let Some(kind) = &p.kind {
            let _ = write!(who, " ({kind})");
        }
        if let Some(ip) = &p.source_ip {
            let _ = write!(who, ", from {ip}");
        }
        if let Some(ua) = &p.user_agent {
            let _ = write!(who, ", user agent {ua}");
        }
        if !who.is_empty() {
            let _ = writeln!(body, "Who: {}", who.trim());
        }
    }
    let _ = write!(
        body,
        "Where: account {}, region {}",
        plan.account, plan.region
    );
    if let Some(r) = &plan.resource {
        let _ = write!(body, ", {r}");
    }
    body.push('\n');
    body.push('\n');
    let _ = writeln!(body, "What mamoru did (mode {}):", report.mode);
    if report.outcomes.is_empty() && plan.withheld.is_empty() {
        let _ = writeln!(body, "  - nothing to remediate: notification only");
    }
    for o in &report.outcomes {
        let status = match o.status {
            Status::Done => "done",
            Status::AlreadyDone => "already in the desired state",
            Status::WouldDo => "would have done it (not executed)",
            Status::Skipped => "skipped",
            Status::Failed => "FAILED",
        };
        let _ = writeln!(body, "  - {}: {status}. {}", o.action.describe(), o.message);
    }
    for w in &plan.withheld {
        let _ = writeln!(body, "  - {} withheld: {}", w.action, w.reason);
    }
    let _ = writeln!(body, "Why: {}", plan.reason);
    if !plan.runbook.is_empty() {
        body.push('\n');
        let _ = writeln!(body, "What to do next:");
        for step in &plan.runbook {
            let _ = writeln!(body, "  - {step}");
        }
    }
    body.push('\n');
    let _ = writeln!(
        body,
        "Event {} ({}, {}); rules {}; mamoru {}",
        plan.event_id,
        plan.detail_type,
        plan.source,
        plan.rule_ids.join(", "),
        report.version
    );
    body.push('\n');
    body.push_str("--- plan and outcomes (JSON) ---\n");
    body.push_str(&report.to_json_string());
    body.push('\n');

    let mut attributes = BTreeMap::new();
    attributes.insert(
        "severity".to_string(),
        ("String", plan.severity.band.as_str().to_string()),
    );
    attributes.insert(
        "event_kind".to_string(),
        ("String", plan.event_kind.clone()),
    );
    Message {
        subject,
        body,
        attributes,
    }
}

fn what_happened(plan: &Plan) -> String {
    let mut s = plan.title.clone();
    if let Some(p) = &plan.principal {
        if plan.handler == crate::decide::Handler::Cloudtrail {
            if let Some(name) = p.arn.as_deref() {
                let _ = write!(s, " by {name}");
            }
        }
    }
    let _ = write!(s, " ({})", plan.event_kind);
    if let Some(d) = &plan.description {
        let _ = write!(s, ". {d}");
    }
    if plan.disposition == Disposition::Ignore {
        s.push_str("; ignored");
    }
    s
}

fn short_resource(plan: &Plan) -> Option<String> {
    if let Some(a) = plan.actions.first() {
        return Some(match &a.action.target {
            crate::action::Target::AccessKey {
                user_name,
                access_key_id,
            } => {
                format!("{user_name} key {access_key_id}")
            }
            crate::action::Target::Trail { name } => crate::action::trail_name(name).to_string(),
            crate::action::Target::Detector { detector_id } => format!("detector {detector_id}"),
            crate::action::Target::Recorder { name } => format!("recorder {name}"),
            crate::action::Target::StoppedTrails | crate::action::Target::RegionDetectors => {
                return plan.resource.clone();
            }
        });
    }
    plan.resource.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subject_is_one_ascii_line_of_at_most_100() {
        let nasty = format!("[HIGH] a\r\nb\u{7}c\u{202e}d {}", "x".repeat(500));
        let s = sanitize_subject(&nasty);
        assert!(s.len() <= SUBJECT_MAX);
        assert!(s.is_ascii());
        assert!(!s.contains('\n') && !s.contains('\r'));
        assert!(s.ends_with("..."));
        assert!(s.starts_with("[HIGH] a b c?d "), "{s}");
    }

    #[test]
    fn short_subjects_are_kept() {
        assert_eq!(sanitize_subject("[LOW] ok"), "[LOW] ok");
        assert_eq!(sanitize_subject("  spaced   out  "), "spaced out");
    }
}
