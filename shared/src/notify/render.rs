//! Rendering a report as a notification: a Subject, a text for people (email), a versioned JSON
//! document for machines (SQS, Lambda, HTTP, Firehose), an AWS Chatbot custom notification
//! (HTTPS: Slack and Microsoft Teams channels), and message attributes for subscription filter
//! policies.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::clean::{Limits, cut_chars, is_invisible_format};
use super::links::{Links, links};
use super::phrase::OUTCOME_MAX;
pub use super::phrase::{outcome, outcome_phrase};
use crate::action::trail_name;
use crate::decide::resource::Kind;
use crate::decide::{Disposition, Plan};
use crate::redact;
use crate::report::Report;

/// SNS allows 100 characters in a Subject.
pub const SUBJECT_MAX: usize = 100;

/// The largest message SNS accepts: 256 KiB, counting every protocol's version (with
/// MessageStructure=json), the subject and the message attributes.
pub const SNS_MAX_BYTES: usize = 256 * 1024;

/// What a rendered message may weigh, leaving room for the request's own overhead.
pub const MESSAGE_BUDGET: usize = SNS_MAX_BYTES - 4 * 1024;

/// The versions of a message, by SNS protocol; a protocol the message does not name gets
/// `default`, as SNS delivers it.
///
/// - `default`: the document, for machines: SQS, Lambda, HTTP, Firehose, `email-json` and any
///   protocol to come. One copy serves them all (it used to be there twice, for `sqs` and
///   `lambda`, with the text as `default`).
/// - `email`: the text for people.
/// - `sms`: the subject alone: a phone gets one line. The text is longer than the 1,600 bytes
///   SNS sends by SMS for one publish (in parts of 140 bytes).
/// - `https`: the AWS Chatbot custom notification.
pub const PROTOCOLS: [&str; 4] = ["default", "email", "sms", "https"];

/// A rendered notification.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// At most [`SUBJECT_MAX`] ASCII characters on one line.
    pub subject: String,
    /// The text for people: what email subscribers read.
    pub body: String,
    /// The `mamoru.notification/1` document for machines: the `default` version (SQS, Lambda,
    /// HTTP, Firehose subscribers).
    pub document: Value,
    /// The AWS Chatbot custom notification (HTTPS subscribers: Slack, Microsoft Teams).
    pub chatbot: Value,
    /// name -> (SNS data type, value), for subscription filter policies.
    pub attributes: BTreeMap<String, (&'static str, String)>,
    /// [`Message::sns_message`], serialized once: the size check and the publish share it.
    sns: std::sync::OnceLock<String>,
}

impl Message {
    /// The message to publish with `MessageStructure=json`: one version per protocol.
    pub fn sns_message(&self) -> &str {
        self.sns.get_or_init(|| {
            json!({
                "default": self.document.to_string(),
                "email": self.body,
                "sms": self.subject,
                "https": self.chatbot.to_string(),
            })
            .to_string()
        })
    }

    /// The subject, the attributes and the text, as `mamoru render --format text` shows them.
    pub fn text_preview(&self) -> String {
        let attributes: Vec<String> = self
            .attributes
            .iter()
            .map(|(name, (data_type, value))| {
                if *data_type == "String" {
                    format!("{name}={value}")
                } else {
                    format!("{name}={value} ({data_type})")
                }
            })
            .collect();
        format!(
            "Subject: {}\nAttributes: {}\n\n{}",
            self.subject,
            attributes.join(" "),
            self.body
        )
    }

    /// What the published message weighs, as SNS counts it: message, subject and attributes.
    pub fn size(&self) -> usize {
        self.sns_message().len()
            + self.subject.len()
            + self
                .attributes
                .iter()
                .map(|(k, (t, v))| k.len() + t.len() + v.len())
                .sum::<usize>()
    }
}

/// Makes text safe for an SNS Subject: ASCII only, one line, no control characters, at most
/// [`SUBJECT_MAX`] characters (cut with `...`). Characters that are not ASCII become `?`, so a
/// disguised name (a right-to-left override, a homoglyph) shows that it is one.
pub fn sanitize_subject(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(SUBJECT_MAX + 2));
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
    cut_ascii(trimmed, SUBJECT_MAX)
}

/// Cuts text to at most `max` bytes, marking the cut with `...` (for Subject parts, which are
/// ASCII: bytes are characters).
fn cut_ascii(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut keep = max.saturating_sub(3);
    while !s.is_char_boundary(keep) {
        keep -= 1;
    }
    let mut cut = s.get(..keep).unwrap_or_default().trim_end().to_string();
    if max >= 3 {
        cut.push_str("...");
    }
    cut
}

/// The resource named in the Subject: the action's target, else what the event names.
fn subject_resource(plan: &Plan) -> Option<String> {
    if let Some(r) = plan.actions.first().and_then(|a| a.action.short_resource()) {
        return Some(r);
    }
    if let Some(arn) = &plan.refs.trail_arn {
        return Some(trail_name(arn).to_string());
    }
    if let Some(p) = &plan.principal
        && plan.handler == crate::decide::Handler::Guardduty
        && let (Some(name), Some(key)) = (&p.name, &p.access_key_id)
    {
        return Some(format!("{name} {key}"));
    }
    let resource = plan.resource.as_ref()?;
    match resource.kind {
        // A trail by its name (the location says where it lives).
        Kind::Trail => resource.name.clone().or_else(|| resource.id.clone()),
        // An account-wide resource is named by the location; the console by the title.
        Kind::Account | Kind::Console => None,
        _ => Some(resource.label()),
    }
}

/// Where the Subject says it happened: the action's account and region (a trail's home
/// region), else the event's.
fn subject_location(plan: &Plan) -> (&str, &str) {
    match plan.actions.first() {
        Some(a) => (a.action.account.as_str(), a.action.region.as_str()),
        None => (plan.account.as_str(), plan.region.as_str()),
    }
}

/// The Subject: `[SEVERITY] what happened: resource (account/region), outcome`. When it is
/// too long the middle gives way, least useful first: the resource (shown whole or not at
/// all), then the region, then the account, and at last the title is cut. Severity and outcome
/// always show. Always at most 100 ASCII characters on one line.
pub fn subject(report: &Report) -> String {
    let plan = &report.plan;
    let head = format!("[{}] ", plan.severity.band);
    let tail = outcome(report)
        .map(|w| sanitize_subject(&redact::text(&w)))
        .filter(|w| !w.is_empty())
        .map(|w| format!(", {}", cut_ascii(&w, OUTCOME_MAX)))
        .unwrap_or_default();
    let title = match sanitize_subject(&redact::text(&plan.title)) {
        t if t.is_empty() => sanitize_subject(&redact::text(&plan.event_kind)),
        t => t,
    };
    let title = if title.is_empty() {
        "Security event".to_string()
    } else {
        title
    };
    let resource = subject_resource(plan)
        .map(|r| sanitize_subject(&redact::text(&r)))
        .filter(|r| !r.is_empty());
    let (account, region) = subject_location(plan);
    let part = |s: &str| cut_ascii(&sanitize_subject(&redact::text(s)), 20);
    let (account, region) = (part(account), part(region));
    // The location, from most to least complete.
    let mut locations: Vec<String> = Vec::new();
    for loc in [
        match (account.is_empty(), region.is_empty()) {
            (false, false) => format!("{account}/{region}"),
            (false, true) => account.clone(),
            (true, _) => region.clone(),
        },
        account,
        String::new(),
    ] {
        let loc = if loc.is_empty() {
            loc
        } else {
            format!(" ({loc})")
        };
        if !locations.contains(&loc) {
            locations.push(loc);
        }
    }

    let avail = SUBJECT_MAX.saturating_sub(head.len() + tail.len());
    for location in &locations {
        let room = avail.saturating_sub(location.len());
        if title.len() <= room {
            let what = match &resource {
                Some(r) if title.len() + 2 + r.len() <= room => format!("{title}: {r}"),
                _ => title,
            };
            // By construction it fits; the cut only guards the invariant.
            return cut_ascii(&format!("{head}{what}{location}{tail}"), SUBJECT_MAX);
        }
    }
    cut_ascii(
        &format!("{head}{}{tail}", cut_ascii(&title, avail)),
        SUBJECT_MAX,
    )
}

/// The message attributes subscribers filter on.
pub fn attributes(plan: &Plan) -> BTreeMap<String, (&'static str, String)> {
    // SNS refuses empty attribute values, and values count against the message size.
    let clean = |s: &str| -> String {
        let s: String = s
            .chars()
            .filter(|c| !c.is_control() && !is_invisible_format(*c))
            .collect();
        cut_chars(s.trim(), 256)
    };
    let disposition = match plan.disposition {
        Disposition::Remediate => "remediate",
        Disposition::Notify => "notify",
        Disposition::Ignore => "ignore",
        Disposition::Error => "error",
    };
    let mut attributes = BTreeMap::new();
    let entries: [(&str, &'static str, String); 6] = [
        (
            "severity",
            "String",
            plan.severity.band.as_str().to_string(),
        ),
        (
            "severity_score",
            "Number",
            format!("{:.1}", plan.severity.score),
        ),
        ("event_kind", "String", clean(&plan.event_kind)),
        ("disposition", "String", disposition.to_string()),
        ("account", "String", clean(&plan.account)),
        ("region", "String", clean(&plan.region)),
    ];
    for (name, data_type, value) in entries {
        if !value.is_empty() {
            attributes.insert(name.to_string(), (data_type, value));
        }
    }
    attributes
}

fn build(report: &Report, subject: &str, links: &Links, lim: Limits) -> Message {
    let outcome = outcome(report);
    Message {
        subject: subject.to_string(),
        body: super::text::body(report, subject, links, lim),
        document: super::document::document(report, subject, outcome.as_deref(), links, lim),
        chatbot: super::chatbot::payload(report, subject, links, lim),
        attributes: attributes(&report.plan),
        sns: std::sync::OnceLock::new(),
    }
}

/// Renders the notification for a report. Every event-supplied value is masked for secrets
/// and bounded; if the whole message would exceed SNS's limit, values are cut shorter until it
/// fits.
pub fn render(report: &Report) -> Message {
    let subject = subject(report);
    let links = links(&report.plan);
    let (tightest, generous) = match Limits::LADDER.split_last() {
        Some((last, rest)) => (*last, rest),
        None => (Limits::LADDER[0], &[][..]),
    };
    for lim in generous {
        let message = build(report, &subject, &links, *lim);
        if message.size() <= MESSAGE_BUDGET {
            return message;
        }
    }
    build(report, &subject, &links, tightest)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

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

    /// The notification of a Security Hub fixture changed by `change`, decided by the built-in
    /// rules (nothing executed).
    fn securityhub_message(name: &str, change: impl FnOnce(&mut serde_json::Value)) -> Message {
        use crate::decide::{Handler, RuleSet, decide};
        let event = crate::event::securityhub::fixture_event(name, change);
        let rules = RuleSet::builtin().unwrap();
        let settings = crate::settings::Settings::default();
        let plan = decide(&event, Some(Handler::Securityhub), &rules, &settings);
        render(&Report::new(
            plan,
            Vec::new(),
            crate::settings::Mode::DryRun,
        ))
    }

    #[test]
    fn a_whole_account_is_named_by_the_location_whichever_service_names_it() {
        // Security Hub names the account `AwsAccount AWS::::Account:…` (Config:
        // `AWS::::Account …`): the Subject says the account once, as the location.
        // (Made a control that only notifies: Config.1 starts the region's recorders.)
        let m = securityhub_message("imported-config-1.json", |v| {
            v["detail"]["findings"][0]["Title"] = "Account.1 short".into();
            v["detail"]["findings"][0]["ProductFields"]["ControlId"] = "Account.1".into();
        });
        assert_eq!(
            m.subject,
            "[INFO] Security Hub control failed: Account.1 short (111122223333/us-east-1)"
        );
        assert!(
            m.body
                .contains("Resource:   AwsAccount AWS::::Account:111122223333\n"),
            "{}",
            m.body
        );
        assert_eq!(m.document["resource_ref"]["kind"], "account");
        assert_eq!(m.document["resource_ref"]["account"], "111122223333");
    }

    #[test]
    fn a_type_the_event_names_is_never_read_as_a_trail() {
        // A finding's producer chooses its resource types: one called `trail`, with an id that
        // has a space, is that type and id, not a trail called `audit logs`.
        let m = securityhub_message("imported-config-1.json", |v| {
            let f = &mut v["detail"]["findings"][0];
            f["Title"] = "Account.1 short".into();
            f["ProductFields"]["ControlId"] = "Account.1".into();
            f["Resources"][0]["Type"] = "trail".into();
            f["Resources"][0]["Id"] = "audit logs".into();
        });
        assert_eq!(
            m.subject,
            "[INFO] Security Hub control failed: Account.1 short: trail audit logs \
             (111122223333/us-east-1)"
        );
        assert!(
            m.body.contains("Resource:   trail audit logs\n"),
            "{}",
            m.body
        );
        assert_eq!(m.document["resource"], "trail audit logs");
        assert_eq!(m.document["resource_ref"]["kind"], "other");
        assert_eq!(m.document["resource_ref"]["type"], "trail");
        assert_eq!(m.document["resource_ref"]["id"], "audit logs");
    }

    #[test]
    fn cut_ascii_never_exceeds_its_limit() {
        for max in 0..8 {
            assert!(cut_ascii("abcdefghij", max).len() <= max, "max {max}");
        }
        assert_eq!(cut_ascii("abcdefghij", 6), "abc...");
        assert!(cut_ascii("ééééé", 6).len() <= 6);
    }
}
