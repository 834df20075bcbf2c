//! The AWS Chatbot (Amazon Q Developer in chat applications) custom notification, which Slack
//! and Microsoft Teams channels render. Format: `version` "1.0", `source` "custom", `content`
//! (`textType` "client-markdown", `title`, `description`, `nextSteps`, `keywords`) and
//! `metadata` (`threadId`, `summary`, `eventType`, `relatedResources`, `additionalContext`).
//!
//! Values from the event go into code spans (or, in prose, lose `<`, `>` and backticks), so a
//! crafted name cannot mention a channel, make a link or break the formatting.

use std::fmt::Write as _;

use serde_json::{Value, json};

pub(crate) use super::clean::plain;
use super::clean::{Limits, cut_chars, defuse, token};
use super::links::Links;
use crate::redact;
use crate::report::Report;
use crate::settings::Mode;

/// Longest description: Slack splits longer messages.
const DESCRIPTION_MAX: usize = 3500;

/// An event-supplied value as an inline code span: inside it, `*bold*`, `[text](url)`, `@here`
/// and bare URLs are shown as they are, never acted on.
pub(crate) fn code(s: &str, lim: Limits) -> String {
    let s = defuse(&lim.line(s));
    if s.is_empty() {
        "`-`".to_string()
    } else {
        format!("`{s}`")
    }
}

/// A single-line value for the payload's metadata (ids, ARNs, account, region): chat shows
/// these as they are, but never with `<…>` or backticks.
fn field(s: &str, lim: Limits) -> String {
    defuse(&lim.line(s))
}

pub(crate) fn payload(report: &Report, subject: &str, links: &Links, lim: Limits) -> Value {
    let plan = &report.plan;
    let mut d = String::new();
    let _ = writeln!(
        d,
        "*What happened:* {} ({}), severity {} ({:.1})",
        code(&plan.title, lim),
        code(&plan.event_kind, lim),
        plan.severity.band,
        plan.severity.score
    );
    if let Some(desc) = &plan.description {
        let _ = writeln!(d, "{}", code(desc, lim));
    }
    if let Some(p) = &plan.principal {
        let who = p.arn.as_deref().or(p.name.as_deref()).unwrap_or("?");
        let _ = write!(d, "*Who:* {}", code(who, lim));
        if let Some(k) = &p.kind {
            let _ = write!(d, " ({})", code(k, lim));
        }
        if let Some(ip) = &p.source_ip {
            let _ = write!(d, " from {}", code(ip, lim));
        }
        if let Some(ua) = &p.user_agent {
            let _ = write!(d, ", user agent {}", code(ua, lim));
        }
        d.push('\n');
    }
    let _ = write!(
        d,
        "*Where:* account {}, region {}",
        code(&plan.account, lim),
        code(&plan.region, lim)
    );
    if let Some(r) = &plan.resource {
        let _ = write!(d, ", {}", code(&r.label(), lim));
    }
    d.push('\n');
    for detail in plan.details.iter().take(lim.items) {
        let _ = writeln!(d, "• {}: {}", detail.label, code(&detail.value, lim));
    }
    let _ = writeln!(d, "*What mamoru did* (mode {}):", report.mode);
    if report.outcomes.is_empty() && plan.withheld.is_empty() {
        d.push_str("• nothing to remediate automatically: notification only\n");
    }
    for o in report.outcomes.iter().take(lim.items) {
        let _ = write!(
            d,
            "• {}: *{}*",
            code(&o.action.describe(), lim),
            o.status_text()
        );
        if o.status != crate::action::Status::WouldDo {
            let _ = write!(d, " ({})", code(&o.message, lim));
        }
        d.push('\n');
    }
    for w in plan.withheld.iter().take(lim.items) {
        let _ = writeln!(
            d,
            "• {}: *withheld* ({})",
            code(&super::phrase::withheld_phrase(&w.action), lim),
            code(&w.reason, lim)
        );
    }
    let _ = write!(
        d,
        "*Event:* {} · mamoru {}",
        code(&plan.event_id, lim),
        report.version
    );

    let mut next_steps: Vec<String> = plan
        .runbook
        .iter()
        .take(lim.items)
        .map(|s| plain(s, lim))
        .collect();
    for (label, url) in links.labelled() {
        next_steps.push(format!("{label}: {url}"));
    }
    for detail in plan.details.iter().take(lim.items) {
        if let Some(url) = detail
            .link
            .as_ref()
            .and_then(|l| super::detail_links::link(plan, l))
        {
            next_steps.push(format!("{}: {url}", detail.label));
        }
    }

    let mut keywords = vec![
        plan.severity.band.as_str().to_string(),
        token(
            match plan.disposition {
                crate::decide::Disposition::Remediate => "remediate",
                crate::decide::Disposition::Notify => "notify",
                crate::decide::Disposition::Ignore => "ignore",
                crate::decide::Disposition::Error => "error",
            },
            20,
        ),
        plan.handler.name().to_string(),
    ];
    if report.mode == Mode::DryRun {
        keywords.push("dry-run".to_string());
    }

    let mut related: Vec<String> = Vec::new();
    let candidates = [
        plan.refs.trail_arn.as_deref(),
        plan.principal.as_ref().and_then(|p| p.arn.as_deref()),
        plan.principal
            .as_ref()
            .and_then(|p| p.issuer_arn.as_deref()),
    ];
    for c in candidates.into_iter().flatten() {
        let c = field(c, lim);
        if c.starts_with("arn:") && !related.contains(&c) {
            related.push(c);
        }
    }

    let thread = plan
        .refs
        .finding_id
        .as_deref()
        .unwrap_or(plan.event_id.as_str());
    let title = plain(subject, Limits::LADDER[0]);
    let mut v = json!({
        "version": "1.0",
        "source": "custom",
        "id": field(&plan.event_id, lim),
        "content": {
            "textType": "client-markdown",
            "title": title,
            "description": cut_chars(&d, DESCRIPTION_MAX),
            "nextSteps": next_steps,
            "keywords": keywords,
        },
        "metadata": {
            "threadId": token(&format!("mamoru-{}", redact::text(thread)), 128),
            "summary": title,
            "eventType": token(&plan.event_kind, 128),
            "relatedResources": related,
            "additionalContext": {
                "severity": plan.severity.band.as_str(),
                "severity_score": format!("{:.1}", plan.severity.score),
                "disposition": keywords.get(1).cloned().unwrap_or_default(),
                "account": field(&plan.account, lim),
                "region": field(&plan.region, lim),
                "event_id": field(&plan.event_id, lim),
                "mode": report.mode.to_string(),
                "mamoru_version": report.version,
            },
        },
    });
    redact::value(&mut v);
    v
}
