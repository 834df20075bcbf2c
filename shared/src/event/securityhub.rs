//! AWS Security Hub events: `Security Hub Findings - Imported` and `Security Hub Findings -
//! Custom Action`. Both carry findings in the AWS Security Finding Format (ASFF) in
//! `detail.findings`. Only the members mamoru decides on are typed; everything else a finding
//! carries (product fields, resource details, unknown members) is tolerated and stays readable
//! through field-path rules.
//!
//! One event can carry several findings (a custom action sends every finding the analyst
//! selected). Each is decided on its own: [`split`] turns such an event into one event per
//! finding before parsing, so that one malformed finding never hides the others.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::decide::{Band, Severity};

pub const DT_SECURITYHUB_IMPORTED: &str = "Security Hub Findings - Imported";
pub const DT_SECURITYHUB_CUSTOM_ACTION: &str = "Security Hub Findings - Custom Action";

/// The `Id` of the custom action (`AWS::SecurityHub::ActionTarget`) the stack creates. Only a
/// custom-action event of this action target promotes a finding's opt-in actions to enforce:
/// EventBridge routes nothing else to mamoru, and the ARN is checked again when deciding.
pub const ACTION_TARGET_ID: &str = "MamoruRemediate";

/// The `detail` of both event types.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct SecurityHubEvent {
    /// The custom action's name (custom-action events only).
    #[serde(default, rename = "actionName")]
    pub action_name: Option<String>,
    #[serde(default, rename = "actionDescription")]
    pub action_description: Option<String>,
    pub findings: Vec<AsffFinding>,
}

impl SecurityHubEvent {
    /// The finding this event is about, when it carries exactly one.
    pub fn finding(&self) -> Option<&AsffFinding> {
        match self.findings.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }
}

/// One finding in ASFF: the members mamoru reads.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct AsffFinding {
    pub id: String,
    pub product_arn: String,
    #[serde(default)]
    pub product_name: Option<String>,
    #[serde(default)]
    pub generator_id: Option<String>,
    pub aws_account_id: String,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub severity: Option<AsffSeverity>,
    #[serde(default)]
    pub compliance: Option<AsffCompliance>,
    #[serde(default)]
    pub workflow: Option<AsffWorkflow>,
    #[serde(default)]
    pub record_state: Option<String>,
    #[serde(default, deserialize_with = "crate::event::null_as_default")]
    pub resources: Vec<AsffResource>,
    #[serde(default)]
    pub product_fields: Value,
    #[serde(default)]
    pub remediation: Option<AsffRemediation>,
    #[serde(default)]
    pub note: Option<AsffNote>,
    #[serde(default)]
    pub sample: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct AsffSeverity {
    /// INFORMATIONAL, LOW, MEDIUM, HIGH or CRITICAL. `Normalized` is not read: published
    /// findings write it as a number or as a string.
    #[serde(default)]
    pub label: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct AsffCompliance {
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub security_control_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct AsffWorkflow {
    #[serde(default)]
    pub status: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct AsffResource {
    #[serde(default, rename = "Type")]
    pub resource_type: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct AsffRemediation {
    #[serde(default)]
    pub recommendation: Option<AsffRecommendation>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct AsffRecommendation {
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct AsffNote {
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub updated_by: Option<String>,
}

/// The prefix of the `UpdatedBy` mamoru writes with its notes (`mamoru/<version>`). Anyone
/// allowed `BatchUpdateFindings` can write it too: it tells people who wrote a note, and is never
/// how mamoru recognises its own updates ([`crate::writeback::echo_key`]).
pub const UPDATED_BY_PREFIX: &str = "mamoru/";

impl AsffFinding {
    /// The control the finding reports on: `Compliance.SecurityControlId` (the same across
    /// standards), else the standard's `ProductFields.ControlId` (findings made before
    /// consolidated control findings).
    pub fn control_id(&self) -> Option<&str> {
        self.compliance
            .as_ref()
            .and_then(|c| c.security_control_id.as_deref())
            .or_else(|| self.product_fields.get("ControlId").and_then(Value::as_str))
            .filter(|c| !c.is_empty())
    }

    /// `Compliance.Status` (PASSED, WARNING, FAILED, NOT_AVAILABLE).
    pub fn compliance_status(&self) -> Option<&str> {
        self.compliance.as_ref().and_then(|c| c.status.as_deref())
    }

    /// `Workflow.Status` (NEW, NOTIFIED, RESOLVED, SUPPRESSED).
    pub fn workflow_status(&self) -> Option<&str> {
        self.workflow.as_ref().and_then(|w| w.status.as_deref())
    }

    /// Whether the finding is ARCHIVED.
    pub fn archived(&self) -> bool {
        self.record_state.as_deref() == Some("ARCHIVED")
    }

    /// The region the finding is about: its `Region`, else its first resource's.
    pub fn home_region(&self) -> Option<&str> {
        self.region
            .as_deref()
            .filter(|r| !r.is_empty())
            .or_else(|| {
                self.resources
                    .iter()
                    .find_map(|r| r.region.as_deref().filter(|r| !r.is_empty()))
            })
    }

    /// The first resource of the given ASFF type (`AwsEc2SecurityGroup`, `AwsS3Bucket`, …).
    pub fn resource(&self, resource_type: &str) -> Option<&AsffResource> {
        self.resources
            .iter()
            .find(|r| r.resource_type.as_deref() == Some(resource_type))
    }

    /// The finding's severity from its label; Medium when it has none.
    pub fn severity(&self) -> Severity {
        let band = match self
            .severity
            .as_ref()
            .and_then(|s| s.label.as_deref())
            .unwrap_or("")
        {
            "CRITICAL" => Band::Critical,
            "HIGH" => Band::High,
            "LOW" => Band::Low,
            "INFORMATIONAL" => Band::Info,
            _ => Band::Medium,
        };
        Severity::from_band(band)
    }

    /// The remediation URL the control documents.
    pub fn remediation_url(&self) -> Option<&str> {
        self.remediation
            .as_ref()
            .and_then(|r| r.recommendation.as_ref())
            .and_then(|r| r.url.as_deref())
    }
}

/// One event per finding of a Security Hub event given as JSON text, in the event's order: the
/// same envelope and detail with `detail.findings` holding that one finding. With several
/// findings, each event's `id` is the event's `id` followed by `#` and the finding's index, so
/// that each is reported on its own. An event that is not a Security Hub event with a
/// `detail.findings` array comes back whole, to be parsed (and refused) as it is.
pub fn split(text: &str) -> Vec<String> {
    let Ok(Value::Object(mut event)) = serde_json::from_str::<Value>(text) else {
        return vec![text.to_string()];
    };
    let findings = match event
        .get_mut("detail")
        .and_then(Value::as_object_mut)
        .and_then(|d| d.get_mut("findings"))
    {
        Some(Value::Array(findings)) if findings.len() != 1 => std::mem::take(findings),
        _ => return vec![text.to_string()],
    };
    let id = event.get("id").and_then(Value::as_str).map(str::to_string);
    let several = findings.len() > 1;
    findings
        .into_iter()
        .enumerate()
        .map(|(i, finding)| {
            let mut one = event.clone();
            if let Some(Value::Object(detail)) = one.get_mut("detail") {
                detail.insert("findings".to_string(), Value::Array(vec![finding]));
            }
            if several && let Some(id) = &id {
                one.insert("id".to_string(), Value::String(format!("{id}#{i}")));
            }
            Value::Object(one).to_string()
        })
        .collect()
}

/// A Security Hub fixture (`tests/fixtures/events/aws.securityhub/NAME`), changed by `change`
/// before parsing: for the tests of the modules that decide on and write back to findings.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) fn fixture_event(
    name: &str,
    change: impl FnOnce(&mut serde_json::Value),
) -> crate::event::Event {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/events/aws.securityhub")
        .join(name);
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    change(&mut v);
    crate::event::Event::from_json(&v.to_string()).unwrap()
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

    fn finding_of(text: &str) -> AsffFinding {
        let event = Event::from_json(text).unwrap();
        let EventKind::SecurityHub(sh) = event.kind else {
            panic!("not a Security Hub event")
        };
        sh.finding().unwrap().clone()
    }

    #[test]
    fn control_id_comes_from_compliance_or_the_standards_product_fields() {
        let consolidated = finding_of(&fixture("imported-cloudtrail-2-consolidated.json"));
        assert_eq!(consolidated.control_id(), Some("CloudTrail.2"));
        // Findings made before consolidation name the control in ProductFields only.
        let fsbp = finding_of(&fixture("imported-s3-8.json"));
        assert!(
            fsbp.compliance
                .as_ref()
                .unwrap()
                .security_control_id
                .is_none()
        );
        assert_eq!(fsbp.control_id(), Some("S3.8"));
        // A product's own finding names no control.
        let gd = finding_of(&fixture("imported-guardduty-product-dga.json"));
        assert_eq!(gd.control_id(), None);
    }

    #[test]
    fn account_and_region_come_from_the_finding() {
        // The documented envelope was received in 111122223333/us-west-2; the finding is about
        // 123456789012/us-east-2.
        let event = Event::from_json(&fixture("imported-cloudtrail-2-consolidated.json")).unwrap();
        assert_eq!(event.owner_account(), "123456789012");
        assert_eq!(event.region, "us-east-2");
    }

    #[test]
    fn severity_follows_the_label() {
        let mut f = finding_of(&fixture("imported-s3-8.json"));
        for (label, band) in [
            ("CRITICAL", Band::Critical),
            ("HIGH", Band::High),
            ("MEDIUM", Band::Medium),
            ("LOW", Band::Low),
            ("INFORMATIONAL", Band::Info),
            ("nonsense", Band::Medium),
        ] {
            f.severity = Some(AsffSeverity {
                label: Some(label.to_string()),
            });
            assert_eq!(f.severity().band, band, "{label}");
        }
        f.severity = None;
        assert_eq!(f.severity().band, Band::Medium);
    }

    #[test]
    fn a_finding_without_resources_or_with_unknown_members_parses() {
        let text = fixture("imported-s3-8.json");
        let mut v: Value = serde_json::from_str(&text).unwrap();
        let f = &mut v["detail"]["findings"][0];
        f.as_object_mut().unwrap().remove("Resources");
        f["ProductFields"]["vendor/unknown"] = Value::String("x".into());
        f["SomethingNew"] = serde_json::json!({"nested": [1, 2]});
        let parsed = finding_of(&v.to_string());
        assert!(parsed.resources.is_empty());
        assert_eq!(parsed.resource("AwsS3Bucket"), None);
    }

    #[test]
    fn a_finding_without_its_id_is_a_typed_error_naming_the_field() {
        let text = fixture("imported-s3-8.json");
        let mut v: Value = serde_json::from_str(&text).unwrap();
        v["detail"]["findings"][0]
            .as_object_mut()
            .unwrap()
            .remove("AwsAccountId");
        let err = Event::from_json(&v.to_string()).unwrap_err();
        assert_eq!(
            err.field(),
            Some("detail.findings[0].AwsAccountId"),
            "{err}"
        );
    }

    #[test]
    fn split_gives_one_event_per_finding_and_keeps_a_single_one_whole() {
        let two = fixture("custom-action-two-findings.json");
        let parts = split(&two);
        assert_eq!(parts.len(), 2);
        let ids: Vec<String> = parts
            .iter()
            .map(|p| Event::from_json(p).unwrap().id)
            .collect();
        let id = Event::from_json(&two).unwrap().id;
        assert_eq!(ids, [format!("{id}#0"), format!("{id}#1")]);
        let controls: Vec<String> = parts
            .iter()
            .map(|p| finding_of(p).control_id().unwrap().to_string())
            .collect();
        assert_eq!(controls, ["EC2.13", "S3.8"]);
        // The custom action's name stays with each.
        let v: Value = serde_json::from_str(&parts[1]).unwrap();
        assert_eq!(v["detail"]["actionName"], "mamoru: remediate");

        let one = fixture("imported-s3-8.json");
        assert_eq!(split(&one), std::slice::from_ref(&one));
    }

    #[test]
    fn split_never_panics_at_zero_or_a_hundred_findings_or_on_bad_input() {
        let text = fixture("imported-s3-8.json");
        let mut v: Value = serde_json::from_str(&text).unwrap();
        let f = v["detail"]["findings"][0].clone();
        v["detail"]["findings"] = Value::Array(vec![]);
        assert!(split(&v.to_string()).is_empty());
        v["detail"]["findings"] = Value::Array(vec![f; 100]);
        let parts = split(&v.to_string());
        assert_eq!(parts.len(), 100);
        assert!(parts.iter().all(|p| Event::from_json(p).is_ok()));
        for bad in ["", "{", "[]", "null", r#"{"detail":{"findings":"x"}}"#] {
            assert_eq!(split(bad), [bad.to_string()]);
        }
    }
}
