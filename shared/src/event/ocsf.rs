//! The new AWS Security Hub's events: `Findings Imported V2`, whose `detail.findings` holds
//! findings in the Open Cybersecurity Schema Framework (OCSF), one per event as the Security Hub
//! User Guide says (the securityhub function still splits an event that carries several, as for
//! ASFF). Only the members mamoru decides on are typed; the rest (analytics, related events,
//! vendor attributes, unknown members) is tolerated and stays readable through field-path rules.
//!
//! A finding is identified, for `BatchUpdateFindingsV2`, by its `cloud.account.uid`,
//! `finding_info.uid` and `metadata.product.uid` (the API's `OcsfFindingIdentifier`): all three
//! are required, and a finding without one of them is a typed error naming the member.

use serde::{Deserialize, Serialize};

use crate::decide::{Band, Severity};

pub const DT_SECURITYHUB_V2: &str = "Findings Imported V2";

/// The `detail` of a `Findings Imported V2` event.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct OcsfEvent {
    pub findings: Vec<OcsfFinding>,
}

impl OcsfEvent {
    /// The finding this event is about, when it carries exactly one.
    pub fn finding(&self) -> Option<&OcsfFinding> {
        match self.findings.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }
}

/// One OCSF finding: the members mamoru reads.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct OcsfFinding {
    /// 2003 Compliance Finding, 2004 Detection Finding, 2002 Vulnerability Finding, …
    pub class_uid: i64,
    #[serde(default)]
    pub class_name: Option<String>,
    pub finding_info: OcsfFindingInfo,
    pub metadata: OcsfMetadata,
    pub cloud: OcsfCloud,
    /// Informational, Low, Medium, High, Critical, Fatal (the label of `severity_id`).
    #[serde(default)]
    pub severity: Option<String>,
    /// 0 Unknown, 1 Informational, 2 Low, 3 Medium, 4 High, 5 Critical, 6 Fatal, 99 Other.
    #[serde(default)]
    pub severity_id: Option<i64>,
    /// New, In Progress, Suppressed, Resolved, Archived, …
    #[serde(default)]
    pub status: Option<String>,
    /// 1 New, 2 In Progress, 3 Suppressed, 4 Resolved, 5 Archived, 6 Deleted, 99 Other.
    #[serde(default)]
    pub status_id: Option<i64>,
    /// The finding's comment: what `BatchUpdateFindingsV2` wrote last.
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub compliance: Option<OcsfCompliance>,
    #[serde(default)]
    pub remediation: Option<OcsfRemediation>,
    #[serde(default, deserialize_with = "crate::event::null_as_default")]
    pub resources: Vec<OcsfResource>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct OcsfFindingInfo {
    pub uid: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub desc: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct OcsfMetadata {
    #[serde(default)]
    pub uid: Option<String>,
    pub product: OcsfProduct,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct OcsfProduct {
    /// `arn:<partition>:securityhub:<region>::productv2/<company>/<product>`.
    pub uid: String,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct OcsfCloud {
    pub account: OcsfAccount,
    #[serde(default)]
    pub region: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct OcsfAccount {
    pub uid: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct OcsfCompliance {
    /// The Security Hub control (`GuardDuty.1`), on control findings.
    #[serde(default)]
    pub control: Option<String>,
    /// Pass, Warning, Fail.
    #[serde(default)]
    pub status: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct OcsfRemediation {
    #[serde(default)]
    pub desc: Option<String>,
    #[serde(default, deserialize_with = "crate::event::null_as_default")]
    pub references: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct OcsfResource {
    #[serde(default, rename = "type")]
    pub resource_type: Option<String>,
    #[serde(default)]
    pub uid: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
}

/// OCSF `status_id`s.
pub const STATUS_SUPPRESSED: i64 = 3;
pub const STATUS_RESOLVED: i64 = 4;
pub const STATUS_ARCHIVED: i64 = 5;
pub const STATUS_DELETED: i64 = 6;
/// What mamoru writes: In Progress (notified: people are on it), or Resolved.
pub const STATUS_IN_PROGRESS: i64 = 2;

impl OcsfFinding {
    /// The finding's status: its `status_id`, else the id of its `status` label.
    pub fn status_id(&self) -> Option<i64> {
        self.status_id.or_else(|| {
            let id = match self.status.as_deref()? {
                "New" => 1,
                "In Progress" => 2,
                "Suppressed" => STATUS_SUPPRESSED,
                "Resolved" => STATUS_RESOLVED,
                "Archived" => STATUS_ARCHIVED,
                "Deleted" => STATUS_DELETED,
                _ => return None,
            };
            Some(id)
        })
    }

    /// Why the finding is not to be decided (suppressed, resolved, archived or deleted), if so.
    pub fn closed(&self) -> Option<&'static str> {
        match self.status_id()? {
            STATUS_SUPPRESSED => Some("Suppressed"),
            STATUS_RESOLVED => Some("Resolved"),
            STATUS_ARCHIVED => Some("Archived"),
            STATUS_DELETED => Some("Deleted"),
            _ => None,
        }
    }

    /// The region the finding is about: `cloud.region`, else its first resource's.
    pub fn home_region(&self) -> Option<&str> {
        self.cloud
            .region
            .as_deref()
            .filter(|r| !r.is_empty())
            .or_else(|| {
                self.resources
                    .iter()
                    .find_map(|r| r.region.as_deref().filter(|r| !r.is_empty()))
            })
    }

    /// The finding's severity: `severity_id`, else its label; Medium when it has neither.
    pub fn severity(&self) -> Severity {
        let band = match self.severity_id {
            Some(1) => Some(Band::Info),
            Some(2) => Some(Band::Low),
            Some(3) => Some(Band::Medium),
            Some(4) => Some(Band::High),
            Some(5 | 6) => Some(Band::Critical),
            _ => None,
        }
        .or(match self.severity.as_deref() {
            Some("Informational") => Some(Band::Info),
            Some("Low") => Some(Band::Low),
            Some("High") => Some(Band::High),
            Some("Critical" | "Fatal") => Some(Band::Critical),
            _ => None,
        })
        .unwrap_or(Band::Medium);
        Severity::from_band(band)
    }

    /// The first reference of the finding's remediation.
    pub fn remediation_url(&self) -> Option<&str> {
        self.remediation
            .as_ref()
            .and_then(|r| r.references.first())
            .map(String::as_str)
    }

    /// The control of a control finding (`GuardDuty.1`).
    pub fn control(&self) -> Option<&str> {
        self.compliance
            .as_ref()
            .and_then(|c| c.control.as_deref())
            .filter(|c| !c.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, EventKind};

    fn fixture(name: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/events/aws.securityhub")
            .join(name);
        std::fs::read_to_string(path).unwrap()
    }

    fn finding_of(text: &str) -> OcsfFinding {
        let event = Event::from_json(text).unwrap();
        let EventKind::SecurityHubOcsf(sh) = event.kind else {
            panic!("not a Findings Imported V2 event")
        };
        sh.finding().unwrap().clone()
    }

    #[test]
    fn the_published_exposure_finding_parses_with_its_account_region_and_severity() {
        let text = fixture("v2-exposure-lambda.json");
        let event = Event::from_json(&text).unwrap();
        // The envelope was received in 111122223333/us-west-2; the finding is about
        // 123456789012/us-east-1.
        assert_eq!(event.owner_account(), "123456789012");
        assert_eq!(event.region, "us-east-1");
        let f = finding_of(&text);
        assert_eq!(f.class_uid, 2004);
        assert_eq!(f.severity().band, Band::Critical);
        assert_eq!(f.status_id(), Some(1));
        assert_eq!(f.closed(), None);
        assert_eq!(
            f.metadata.product.uid,
            "arn:aws:securityhub:us-east-1::productv2/aws/securityhub-risk"
        );
    }

    #[test]
    fn severity_and_status_come_from_their_ids_else_their_labels() {
        let mut f = finding_of(&fixture("v2-exposure-lambda.json"));
        f.severity_id = None;
        f.severity = Some("Low".into());
        assert_eq!(f.severity().band, Band::Low);
        f.severity = Some("nonsense".into());
        assert_eq!(f.severity().band, Band::Medium);
        f.severity_id = Some(4);
        assert_eq!(f.severity().band, Band::High);
        f.status_id = None;
        for (label, closed) in [
            ("Suppressed", Some("Suppressed")),
            ("Resolved", Some("Resolved")),
            ("Archived", Some("Archived")),
            ("New", None),
            ("In Progress", None),
            ("Something new", None),
        ] {
            f.status = Some(label.into());
            assert_eq!(f.closed(), closed, "{label}");
        }
    }

    #[test]
    fn a_finding_without_an_identifier_member_is_a_typed_error_naming_it() {
        let text = fixture("v2-exposure-lambda.json");
        for (path, field) in [
            (
                &["finding_info", "uid"][..],
                "detail.findings[0].finding_info.uid",
            ),
            (
                &["metadata", "product", "uid"][..],
                "detail.findings[0].metadata.product.uid",
            ),
            (
                &["cloud", "account", "uid"][..],
                "detail.findings[0].cloud.account.uid",
            ),
            (&["class_uid"][..], "detail.findings[0].class_uid"),
        ] {
            let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
            let mut at = &mut v["detail"]["findings"][0];
            for p in &path[..path.len() - 1] {
                at = &mut at[*p];
            }
            at.as_object_mut().unwrap().remove(path[path.len() - 1]);
            let err = Event::from_json(&v.to_string()).unwrap_err();
            assert_eq!(err.field(), Some(field), "{err}");
        }
        // A wrong type is named too.
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["detail"]["findings"][0]["severity_id"] = serde_json::json!("high");
        let err = Event::from_json(&v.to_string()).unwrap_err();
        assert_eq!(err.field(), Some("detail.findings[0].severity_id"), "{err}");
    }

    #[test]
    fn unknown_members_and_missing_optional_ones_are_tolerated() {
        let text = fixture("v2-exposure-lambda.json");
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let f = v["detail"]["findings"][0].as_object_mut().unwrap();
        for optional in [
            "resources",
            "severity",
            "severity_id",
            "status",
            "status_id",
        ] {
            f.remove(optional);
        }
        f.insert(
            "something_new".into(),
            serde_json::json!({"nested": [1, 2]}),
        );
        let parsed = finding_of(&v.to_string());
        assert!(parsed.resources.is_empty());
        assert_eq!(parsed.severity().band, Band::Medium);
        assert_eq!(parsed.closed(), None);
    }
}
