//! The audit log: exactly one structured JSON line per event, at info level, on the same
//! destination as every other log line (stdout, which Lambda sends to CloudWatch Logs).
//!
//! It records the event id, the rule ids, the plan, the outcomes (with the state an action read
//! before and after acting), the notification id and the duration. Events carry no secrets that
//! mamoru keeps: the plan holds identifiers only, and every string is passed through
//! [`crate::redact`] before it is written.
//!
//! Beside it go the event's metrics, in CloudWatch's Embedded Metric Format
//! ([`crate::metrics`]).

use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::report::Report;

/// Where audit lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Sink {
    Stdout = 0,
    Stderr = 1,
    Off = 2,
}

static SINK: AtomicU8 = AtomicU8::new(Sink::Stdout as u8);

/// Chooses where audit lines go (the CLI keeps stdout for its own output).
pub fn set_sink(sink: Sink) {
    SINK.store(sink as u8, Ordering::Relaxed);
}

/// The audit record for one event.
pub fn line(report: &Report, notification_id: Option<&str>, duration: Duration) -> Value {
    let plan = &report.plan;
    let mut v = json!({
        "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "level": "INFO",
        "target": "mamoru::audit",
        "message": "event handled",
        "event_id": plan.event_id,
        "handler": plan.handler,
        "disposition": plan.disposition,
        "severity": plan.severity.band,
        "rule_ids": plan.rule_ids,
        "mode": report.mode,
        "version": report.version,
        "plan": plan,
        "outcomes": report.outcomes,
        "notification_id": notification_id,
        "duration_ms": (duration.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0,
    });
    if let Some(w) = &report.write_back {
        v["write_back"] = json!(w);
    }
    if let Some(p) = &report.published {
        v["published"] = json!(p);
    }
    crate::redact::value(&mut v);
    v
}

/// Writes the audit line for one event.
pub fn record(report: &Report, notification_id: Option<&str>, duration: Duration) {
    write(&[line(report, notification_id, duration)]);
}

/// Writes the audit line for one event and, beside it, its metrics (Embedded Metric Format
/// lines, [`crate::metrics`]): one write, no API call. `publish_failed`: the notification was
/// due and could not be published.
pub fn record_with_metrics(
    report: &Report,
    ctx: crate::metrics::Context<'_>,
    notification_id: Option<&str>,
    publish_failed: bool,
    duration: Duration,
) {
    if SINK.load(Ordering::Relaxed) == Sink::Off as u8 {
        return;
    }
    let publish = match (notification_id, publish_failed) {
        (Some(_), _) => crate::metrics::Publish::Published,
        (None, true) => crate::metrics::Publish::Failed,
        (None, false) => crate::metrics::Publish::NotAttempted,
    };
    let mut lines = vec![line(report, notification_id, duration)];
    lines.extend(crate::metrics::lines(
        report,
        ctx,
        publish,
        chrono::Utc::now(),
    ));
    write(&lines);
}

/// Writes the metrics line of an event that could not be parsed (the error itself is logged
/// apart).
pub fn record_rejected(handler: Option<crate::decide::Handler>) {
    write(&[crate::metrics::rejected(handler, chrono::Utc::now())]);
}

fn write(lines: &[Value]) {
    let sink = SINK.load(Ordering::Relaxed);
    if sink == Sink::Off as u8 {
        return;
    }
    let mut text = String::new();
    for l in lines {
        text.push_str(&l.to_string());
        text.push('\n');
    }
    // A failed write to stdout has nowhere better to be reported; the event is still handled.
    let _ = if sink == Sink::Stderr as u8 {
        std::io::stderr().lock().write_all(text.as_bytes())
    } else {
        std::io::stdout().lock().write_all(text.as_bytes())
    };
}
