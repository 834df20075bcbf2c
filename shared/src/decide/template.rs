//! Rule titles and runbooks with placeholders: `Production bucket deleted:
//! {detail.requestParameters.bucketName}`, `{principal} stopped {resource}`.
//!
//! A template is parsed when its rule is compiled, so an unknown placeholder is an error with
//! the rule's file and line, never a literal `{bucket}` in an alert. Values come from the typed
//! model (the named placeholders) or from the event by path; they are masked for secrets, made one
//! line and bounded like every other value from an event. A value the event does not have
//! renders as `(no NAME)`, never as an empty string.

use serde_json::Value;

use super::rules::Subject;
use super::severity::Severity;
use crate::event::{
    DT_CLOUDTRAIL_CALL, DT_CONFIG_COMPLIANCE_CHANGE, DT_CONFIG_ITEM_CHANGE, DT_CONSOLE_SIGN_IN,
    DT_GUARDDUTY_FINDING, EventKind,
};

/// Characters kept of one placeholder's value.
const VALUE_MAX: usize = 120;

/// The named placeholders, with what each names.
pub const NAMED: [(&str, &str); 9] = [
    ("finding_type", "a GuardDuty finding's type"),
    ("event_name", "a CloudTrail call's eventName"),
    ("event_source", "a CloudTrail call's eventSource"),
    ("config_rule", "a Config compliance change's rule name"),
    ("resource", "the resource the event is about"),
    ("principal", "who acted: the principal's ARN, else its name"),
    ("account", "the account the event happened in"),
    ("region", "the region the event happened in"),
    ("severity", "the alert's severity band"),
];

/// Top-level envelope fields a path placeholder may start with (besides `detail.`).
const ENVELOPE: [&str; 6] = ["id", "source", "detail-type", "account", "region", "time"];

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Named(&'static str),
    Path(Vec<String>),
}

/// A parsed title or runbook.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
}

/// The list of valid placeholders, for error messages.
pub fn valid_placeholders() -> String {
    let mut names: Vec<String> = NAMED.iter().map(|(n, _)| format!("{{{n}}}")).collect();
    names.push("{detail.<path>}".to_string());
    names.extend(ENVELOPE.iter().map(|e| format!("{{{e}}}")));
    names.join(", ")
}

impl Template {
    /// Parses `text`. `{{` and `}}` stand for literal braces.
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut chars = text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '{' if chars.peek().is_some_and(|(_, n)| *n == '{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek().is_some_and(|(_, n)| *n == '}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let rest = &text[i + 1..];
                    let Some(end) = rest.find('}') else {
                        return Err(format!(
                            "`{{` at character {i} is never closed (write `{{{{` for a literal brace)"
                        ));
                    };
                    let name = &rest[..end];
                    let part = placeholder(name).ok_or_else(|| {
                        format!(
                            "unknown placeholder `{{{name}}}` (valid: {})",
                            valid_placeholders()
                        )
                    })?;
                    if !literal.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut literal)));
                    }
                    parts.push(part);
                    for _ in 0..=end {
                        chars.next();
                    }
                }
                '}' => {
                    return Err(format!(
                        "`}}` at character {i} closes nothing (write `}}}}` for a literal brace)"
                    ));
                }
                c => literal.push(c),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Ok(Template { parts })
    }

    /// The event paths the template reads (`detail.requestParameters.bucketName` as segments).
    pub fn paths(&self) -> impl Iterator<Item = &[String]> {
        self.parts.iter().filter_map(|p| match p {
            Part::Path(path) => Some(path.as_slice()),
            _ => None,
        })
    }

    /// Fills the placeholders from the event.
    pub fn render(
        &self,
        subject: &Subject<'_>,
        resource: Option<&str>,
        severity: Severity,
    ) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Named(name) => {
                    let value = named(name, subject, resource, severity);
                    push_value(&mut out, value.as_deref(), name);
                }
                Part::Path(path) => {
                    let value = subject.field(path).and_then(|v| shown(path, v));
                    push_value(&mut out, value.as_deref(), &path.join("."));
                }
            }
        }
        out
    }
}

fn placeholder(name: &str) -> Option<Part> {
    if let Some((n, _)) = NAMED.iter().find(|(n, _)| *n == name) {
        return Some(Part::Named(n));
    }
    let path: Vec<String> = name.split('.').map(str::to_string).collect();
    let valid_segments = path.iter().all(|s| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '@' | '$'))
    });
    if !valid_segments {
        return None;
    }
    match path.first().map(String::as_str) {
        Some("detail") if path.len() > 1 => Some(Part::Path(path)),
        Some(first) if ENVELOPE.contains(&first) && path.len() == 1 => Some(Part::Path(path)),
        _ => None,
    }
}

fn named(
    name: &str,
    subject: &Subject<'_>,
    resource: Option<&str>,
    severity: Severity,
) -> Option<String> {
    let e = subject.event;
    match name {
        "finding_type" => match &e.kind {
            EventKind::GuardDutyFinding(f) => Some(f.finding_type.clone()),
            _ => None,
        },
        "event_name" => e.cloudtrail().map(|c| c.event_name.clone()),
        "event_source" => e.cloudtrail().map(|c| c.event_source.clone()),
        "config_rule" => match &e.kind {
            EventKind::ConfigComplianceChange(c) => Some(c.config_rule_name.clone()),
            _ => None,
        },
        "resource" => resource.map(str::to_string),
        "principal" => subject
            .principal
            .as_ref()
            .and_then(|p| p.arn.clone().or_else(|| p.name.clone())),
        "account" => Some(e.account.clone()),
        "region" => Some(e.region.clone()),
        "severity" => Some(severity.band.as_str().to_string()),
        _ => None,
    }
    .filter(|v| !v.is_empty())
}

/// A path's value as text. A member whose name says it holds a secret (`password`,
/// `sessionToken`, `secretAccessKey`, …), or anything under one, is masked whole, whatever its
/// shape: the transfer password TransferDomainToAnotherAwsAccount answers with looks like any
/// other word. An object or an array has its secret members masked, as the JSON document does.
fn shown(path: &[String], v: Value) -> Option<String> {
    match v {
        Value::Null => None,
        _ if path.iter().any(|s| crate::redact::is_secret_name(s)) => {
            Some(crate::redact::MASK.to_string())
        }
        Value::String(s) => Some(s),
        mut other => {
            crate::redact::value(&mut other);
            Some(other.to_string())
        }
    }
}

/// A value from the event: secrets masked, one line, bounded; `(no NAME)` when missing.
fn push_value(out: &mut String, value: Option<&str>, name: &str) {
    let Some(v) = value else {
        out.push_str("(no ");
        out.push_str(name);
        out.push(')');
        return;
    };
    let masked = crate::redact::text(v);
    let mut n = 0;
    let mut last_space = false;
    for c in masked.chars() {
        if n == VALUE_MAX {
            out.push_str("...");
            return;
        }
        let c = if c.is_control() || c.is_whitespace() {
            ' '
        } else {
            c
        };
        if c == ' ' && last_space {
            continue;
        }
        last_space = c == ' ';
        out.push(c);
        n += 1;
    }
}

/// The members the `detail` of each detail-type can have, from the typed models and the
/// published samples (tests/fixtures): a path placeholder under another member can never be
/// present. `None`: any member (an unknown detail-type).
pub fn detail_members(detail_type: &str) -> Option<&'static [&'static str]> {
    const CLOUDTRAIL: &[&str] = &[
        "eventVersion",
        "userIdentity",
        "eventTime",
        "eventSource",
        "eventName",
        "awsRegion",
        "sourceIPAddress",
        "userAgent",
        "requestParameters",
        "responseElements",
        "additionalEventData",
        "requestID",
        "eventID",
        "readOnly",
        "resources",
        "eventType",
        "apiVersion",
        "managementEvent",
        "recipientAccountId",
        "eventCategory",
        "tlsDetails",
        "sessionCredentialFromConsole",
        "errorCode",
        "errorMessage",
        "vpcEndpointId",
        "vpcEndpointAccountId",
        "sharedEventID",
        "serviceEventDetails",
        "insightDetails",
        "edgeDeviceDetails",
    ];
    match detail_type {
        DT_CLOUDTRAIL_CALL | DT_CONSOLE_SIGN_IN => Some(CLOUDTRAIL),
        DT_GUARDDUTY_FINDING => Some(&[
            "schemaVersion",
            "findingTypeVersion",
            "accountId",
            "region",
            "partition",
            "id",
            "arn",
            "type",
            "resource",
            "service",
            "severity",
            "createdAt",
            "updatedAt",
            "title",
            "description",
        ]),
        crate::event::DT_MALWARE_OBJECT_SCAN_RESULT => Some(&[
            "schemaVersion",
            "scanStatus",
            "resourceType",
            "s3ObjectDetails",
            "scanResultDetails",
        ]),
        // The members the EventBridge schema names (no published sample shows more).
        crate::event::DT_MALWARE_POST_SCAN_ACTION_FAILED => Some(&[
            "schemaVersion",
            "eventTime",
            "s3ObjectDetails",
            "postScanActions",
        ]),
        crate::event::DT_RUNTIME_PROTECTION_UNHEALTHY => Some(&[
            "schemaVersion",
            "resourceAccountId",
            "currentStatus",
            "previousStatus",
            "resourceDetails",
            "issue",
        ]),
        DT_CONFIG_ITEM_CHANGE => Some(&[
            "configurationItemDiff",
            "notificationCreationTime",
            "messageType",
            "recordVersion",
            "configurationItem",
            "configurationItemSummary",
            "s3DeliverySummary",
        ]),
        DT_CONFIG_COMPLIANCE_CHANGE => Some(&[
            "resourceId",
            "awsRegion",
            "awsAccountId",
            "configRuleName",
            "recordVersion",
            "configRuleARN",
            "messageType",
            "newEvaluationResult",
            "oldEvaluationResult",
            "notificationCreationTime",
            "resourceType",
        ]),
        _ => None,
    }
}

/// Warnings for a rule's templates: path placeholders that can never be present in the events
/// the rule matches (by its detail-types).
pub fn path_warnings(template: &Template, detail_types: &[String], what: &str) -> Vec<String> {
    let mut out = Vec::new();
    for path in template.paths() {
        if path.first().map(String::as_str) != Some("detail") {
            continue;
        }
        let Some(member) = path.get(1) else { continue };
        let never: Vec<&str> = detail_types
            .iter()
            .filter(|dt| detail_members(dt).is_some_and(|m| !m.contains(&member.as_str())))
            .map(String::as_str)
            .collect();
        if !never.is_empty() && never.len() == detail_types.len() {
            out.push(format!(
                "{what} placeholder `{{{}}}` can never be present: `{}` events have no detail.{member}",
                path.join("."),
                never.join("`, `")
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_placeholders_are_refused_with_the_valid_ones() {
        let e = Template::parse("Production bucket deleted: {bucket}").unwrap_err();
        assert!(e.contains("unknown placeholder `{bucket}`"), "{e}");
        assert!(
            e.contains("{detail.<path>}") && e.contains("{resource}"),
            "{e}"
        );
        assert!(Template::parse("open {detail.requestParameters").is_err());
        assert!(Template::parse("stray } brace").is_err());
        assert!(Template::parse("{detail.}").is_err());
        assert!(Template::parse("{detail}").is_err());
    }

    #[test]
    fn secret_members_are_masked_whatever_their_shape() {
        // GIVEN a call whose response carries a password that looks like any word, beside an
        // operation id
        let mut v: Value = serde_json::from_str(include_str!(
            "../../../tests/fixtures/events/aws.route53domains/ct-transfer-domain-to-another-aws-account.json"
        ))
        .unwrap();
        v["detail"]["responseElements"] =
            serde_json::json!({"operationId": "op-1", "password": "tulip", "Password": "tulip"});
        let event = crate::Event::from_json(&v.to_string()).unwrap();
        let subject = Subject::new(&event);
        let render = |text: &str| {
            Template::parse(text)
                .unwrap()
                .render(&subject, None, Severity::default())
        };
        // WHEN templates name the password, its parent object, or a member beside it
        // THEN the password is masked whole and the rest is shown
        assert_eq!(
            render("{detail.responseElements.password}/{detail.responseElements.Password}"),
            format!("{MASK}/{MASK}", MASK = crate::redact::MASK)
        );
        let whole = render("{detail.responseElements}");
        assert!(
            !whole.contains("tulip") && whole.contains("op-1"),
            "{whole}"
        );
        assert_eq!(render("{detail.responseElements.operationId}"), "op-1");
        assert_eq!(
            render("{detail.requestParameters.domainName.name}"),
            "example.com"
        );
        // AND a secret member the event does not have is missing, not masked
        assert_eq!(
            render("{detail.requestParameters.password}"),
            "(no detail.requestParameters.password)"
        );
    }

    #[test]
    fn literal_braces_and_paths_parse() {
        let t = Template::parse("{{x}} {detail.requestParameters.bucketName} {account}").unwrap();
        assert_eq!(
            t.paths().next().unwrap(),
            ["detail", "requestParameters", "bucketName"]
        );
        assert_eq!(t.parts[0], Part::Text("{x} ".into()));
    }

    #[test]
    fn a_path_no_event_of_the_detail_type_has_is_warned() {
        let t = Template::parse("{detail.requestParameters.bucketName}").unwrap();
        let finding = vec![DT_GUARDDUTY_FINDING.to_string()];
        let call = vec![DT_CLOUDTRAIL_CALL.to_string()];
        assert_eq!(path_warnings(&t, &finding, "title").len(), 1);
        assert!(path_warnings(&t, &call, "title").is_empty());
    }
}
