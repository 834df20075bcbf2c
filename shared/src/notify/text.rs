//! The text for people, as email subscribers read it: what happened, who, where, what mamoru
//! did and how it went, what to do next, links into the console, and the version and event id.

use std::fmt::Write as _;

use super::clean::Limits;
use super::links::Links;
use crate::action::Status;
use crate::decide::{Disposition, Handler};
use crate::report::Report;

/// Aligned `label: value` lines.
fn field(out: &mut String, label: &str, value: &str) {
    let _ = writeln!(out, "  {:<12}{value}", format!("{label}:"));
}

/// A message as a sentence: it ends with one full stop.
fn sentence(s: &str) -> String {
    let s = s.trim_end_matches('.');
    format!("{s}.")
}

pub(crate) fn body(report: &Report, subject: &str, links: &Links, lim: Limits) -> String {
    let plan = &report.plan;
    let mut out = String::new();
    let _ = writeln!(out, "{subject}");
    if plan.disposition == Disposition::Ignore {
        let _ = writeln!(
            out,
            "(mamoru sends no notification for this event: {})",
            lim.line(&plan.reason)
        );
    }

    out.push_str("\nWHAT HAPPENED\n");
    let _ = writeln!(
        out,
        "  {} ({}): severity {} ({:.1}).",
        lim.line(&plan.title),
        lim.line(&plan.event_kind),
        plan.severity.band,
        plan.severity.score
    );
    if let Some(d) = &plan.description {
        let _ = writeln!(out, "  {}", lim.line(d));
    }
    if let Some(t) = &plan.time {
        field(&mut out, "When", &lim.line(t));
    }

    out.push_str("\nWHO\n");
    match &plan.principal {
        Some(p) => {
            let who = p
                .arn
                .as_deref()
                .or(p.name.as_deref())
                .unwrap_or("(not named)");
            let kind = p
                .kind
                .as_deref()
                .map(|k| format!(" ({})", lim.line(k)))
                .unwrap_or_default();
            field(&mut out, "Principal", &format!("{}{kind}", lim.line(who)));
            if let Some(role) = p
                .issuer_arn
                .as_deref()
                .filter(|r| Some(*r) != p.arn.as_deref())
            {
                field(&mut out, "Role", &lim.line(role));
            }
            if let Some(k) = &p.access_key_id {
                field(&mut out, "Access key", &lim.line(k));
            }
            if let Some(ip) = &p.source_ip {
                field(&mut out, "Source IP", &lim.line(ip));
            }
            if let Some(ua) = &p.user_agent {
                field(&mut out, "User agent", &lim.line(ua));
            }
        }
        None => out.push_str("  The event names no principal.\n"),
    }

    out.push_str("\nWHERE\n");
    field(&mut out, "Account", &lim.line(&plan.account));
    field(&mut out, "Region", &lim.line(&plan.region));
    if let Some(r) = &plan.resource {
        field(&mut out, "Resource", &lim.line(&r.label()));
    }
    if !plan.details.is_empty() {
        out.push_str("\nDETAILS\n");
        for d in plan.details.iter().take(lim.items) {
            let label = format!("{}:", d.label);
            let _ = writeln!(out, "  {label:<17}{}", lim.line(&d.value));
            if let Some(url) = d
                .link
                .as_ref()
                .and_then(|l| super::detail_links::link(plan, l))
            {
                let _ = writeln!(out, "  {:<17}{url}", "");
            }
        }
    }

    let _ = writeln!(out, "\nWHAT MAMORU DID (mode {})", report.mode);
    if report.outcomes.is_empty() && plan.withheld.is_empty() {
        out.push_str("  Nothing to remediate automatically: this is a notification only.\n");
    }
    for o in report.outcomes.iter().take(lim.items) {
        let a = &o.action;
        let _ = write!(
            out,
            "  - {} ({} in {}): {}",
            lim.line(&a.describe()),
            a.kind.api(),
            lim.line(&a.region),
            o.status_text()
        );
        match o.status {
            Status::Failed => {
                let code = o
                    .error_code
                    .as_deref()
                    .map(|c| format!(" [{}]", lim.line(c)))
                    .unwrap_or_default();
                let retry = match o.retryable {
                    Some(true) => " A retry may succeed.",
                    Some(false) => " A retry will not help: act by hand.",
                    None => "",
                };
                let _ = writeln!(out, "{code}. {}{retry}", sentence(&lim.line(&o.message)));
            }
            Status::WouldDo => out.push_str(".\n"),
            _ => {
                let _ = writeln!(out, ". {}", sentence(&lim.line(&o.message)));
            }
        }
    }
    for w in plan.withheld.iter().take(lim.items) {
        let _ = writeln!(
            out,
            "  - {}: withheld, {}.",
            lim.line(&super::phrase::withheld_phrase(&w.action)),
            lim.line(&w.reason)
        );
    }
    let skipped = report.outcomes.len().saturating_sub(lim.items)
        + plan.withheld.len().saturating_sub(lim.items);
    if skipped > 0 {
        let _ = writeln!(out, "  (and {skipped} more: see the JSON document)");
    }
    field(&mut out, "Why", &lim.line(&plan.reason));

    if !plan.runbook.is_empty() {
        out.push_str("\nWHAT TO DO NEXT\n");
        for (i, step) in plan.runbook.iter().take(lim.items).enumerate() {
            let _ = writeln!(out, "  {}. {}", i + 1, lim.line(step));
        }
    }

    let labelled = links.labelled();
    if !labelled.is_empty() {
        out.push_str("\nLINKS\n");
        for (label, url) in labelled {
            let _ = writeln!(out, "  {:<26}{url}", format!("{label}:"));
        }
    }

    let from = match plan.handler {
        Handler::Unhandled => String::new(),
        h => format!(", function mamoru-{}", h.name()),
    };
    let _ = writeln!(
        out,
        "\n--\nEvent {} ({} from {}){from}\nRules {}; mamoru {}",
        lim.line(&plan.event_id),
        lim.line(&plan.detail_type),
        lim.line(&plan.source),
        if plan.rule_ids.is_empty() {
            "none".to_string()
        } else {
            lim.line(&plan.rule_ids.join(", "))
        },
        report.version
    );
    out
}
