//! The notification document for machines (SQS, Lambda, HTTP and Firehose subscribers): a
//! versioned JSON object with stable field names. docs/notification-schema.md describes it;
//! change it only with a new schema version.

use serde_json::{Value, json};

use super::clean::Limits;
use super::links::Links;
use crate::action::Outcome;
use crate::decide::Disposition;
use crate::redact;
use crate::report::Report;

/// The document's schema name and version.
pub const NOTIFICATION_SCHEMA: &str = "mamoru.notification/1";

/// Every string in a JSON value, clipped (and masked).
fn clipped(v: &Value, lim: Limits) -> Value {
    match v {
        Value::String(s) => Value::String(lim.clip(s)),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .take(lim.items)
                .map(|i| clipped(i, lim))
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .take(lim.items)
                .map(|(k, v)| (lim.clip(k), clipped(v, lim)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn opt(s: Option<&str>, lim: Limits) -> Value {
    s.map_or(Value::Null, |s| Value::String(lim.clip(s)))
}

pub(crate) fn document(
    report: &Report,
    subject: &str,
    outcome: Option<&str>,
    links: &Links,
    lim: Limits,
) -> Value {
    let plan = &report.plan;
    let disposition = match plan.disposition {
        Disposition::Remediate => "remediate",
        Disposition::Notify => "notify",
        Disposition::Ignore => "ignore",
        Disposition::Error => "error",
    };
    let principal = plan.principal.as_ref().map_or(Value::Null, |p| {
        json!({
            "type": opt(p.kind.as_deref(), lim),
            "arn": opt(p.arn.as_deref(), lim),
            "role_arn": opt(p.issuer_arn.as_deref(), lim),
            "name": opt(p.name.as_deref(), lim),
            "access_key_id": opt(p.access_key_id.as_deref(), lim),
            "source_ip": opt(p.source_ip.as_deref(), lim),
            "user_agent": opt(p.user_agent.as_deref(), lim),
        })
    });
    let actions: Vec<Value> = plan
        .actions
        .iter()
        .take(lim.items)
        .map(|planned| {
            let a = &planned.action;
            let outcome: Option<&Outcome> = report.outcomes.iter().find(|o| o.action == *a);
            let state = |v: Option<&Value>| match v {
                Some(v) if lim.state => clipped(v, lim),
                _ => Value::Null,
            };
            json!({
                "action": a.kind.name(),
                "api": a.kind.api(),
                "account": lim.clip(&a.account),
                "region": lim.clip(&a.region),
                "params": clipped(&Value::Object(a.params()), lim),
                "rule_id": lim.clip(&planned.rule_id),
                "shadow": planned.shadow,
                "status": outcome.map_or("planned", |o| o.status.name()),
                "message": opt(outcome.map(|o| o.message.as_str()), lim),
                "error_code": opt(outcome.and_then(|o| o.error_code.as_deref()), lim),
                "retryable": outcome.and_then(|o| o.retryable),
                "before": state(outcome.and_then(|o| o.before.as_ref())),
                "after": state(outcome.and_then(|o| o.after.as_ref())),
            })
        })
        .collect();
    let withheld: Vec<Value> = plan
        .withheld
        .iter()
        .take(lim.items)
        .map(|w| {
            json!({
                "action": lim.clip(&w.action),
                "rule_id": lim.clip(&w.rule_id),
                "reason": lim.clip(&w.reason),
            })
        })
        .collect();
    let refs = &plan.refs;
    let mut doc = json!({
        "schema": NOTIFICATION_SCHEMA,
        "version": report.version,
        "mode": report.mode.to_string(),
        // Display fields: markdown-inert, so a consumer that shows them in chat or a web page
        // cannot be made to render attacker text as bold, links or mentions.
        "subject": super::clean::plain(subject, lim),
        "severity": {
            "band": plan.severity.band.as_str(),
            "score": plan.severity.score,
        },
        "disposition": disposition,
        "outcome": outcome,
        "title": super::clean::plain(&plan.title, lim),
        "description": plan
            .description
            .as_deref()
            .map_or(Value::Null, |d| Value::String(super::clean::plain(d, lim))),
        "reason": lim.clip(&plan.reason),
        "event": {
            "id": lim.clip(&plan.event_id),
            "source": lim.clip(&plan.source),
            "detail_type": lim.clip(&plan.detail_type),
            "kind": lim.clip(&plan.event_kind),
            "handler": plan.handler.name(),
            "time": opt(plan.time.as_deref(), lim),
            "account": lim.clip(&plan.account),
            "region": lim.clip(&plan.region),
        },
        "principal": principal,
        "resource": opt(plan.resource.as_ref().map(|r| r.label()).as_deref(), lim),
        "resource_ref": plan.resource.as_ref().map_or(Value::Null, |r| json!({
            "kind": r.kind,
            "type": opt(r.type_name.as_deref(), lim),
            "id": opt(r.id.as_deref(), lim),
            "name": opt(r.name.as_deref(), lim),
            "arn": opt(r.arn.as_deref(), lim),
            "owner": opt(r.owner.as_deref(), lim),
            "account": opt(r.account.as_deref(), lim),
            "region": opt(r.region.as_deref(), lim),
        })),
        "refs": {
            "partition": opt(refs.partition.as_deref(), lim),
            "finding_id": opt(refs.finding_id.as_deref(), lim),
            "detector_id": opt(refs.detector_id.as_deref(), lim),
            "cloudtrail_event_id": opt(refs.cloudtrail_event_id.as_deref(), lim),
            "cloudtrail_region": opt(refs.cloudtrail_region.as_deref(), lim),
            "trail_arn": opt(refs.trail_arn.as_deref(), lim),
            "iam_user": opt(refs.iam_user.as_deref(), lim),
        },
        "actions": actions,
        "withheld": withheld,
        "runbook": plan.runbook.iter().take(lim.items).map(|s| lim.clip(s)).collect::<Vec<_>>(),
        "links": links,
        "details": plan
            .details
            .iter()
            .take(lim.items)
            .map(|d| json!({
                "label": d.label,
                "value": super::clean::plain(&d.value, lim),
                "link": d.link.as_ref().and_then(|l| super::detail_links::link(plan, l)),
            }))
            .collect::<Vec<_>>(),
        "rule_ids": plan.rule_ids.iter().take(lim.items).map(|s| lim.clip(s)).collect::<Vec<_>>(),
        "signals": plan.signals,
    });
    redact::value(&mut doc);
    doc
}
