//! GuardDuty's events other than findings, as EventBridge delivers them in `detail`:
//!
//! * `GuardDuty Malware Protection Object Scan Result`: the result of a Malware Protection for
//!   S3 scan of one object (GuardDuty User Guide, *Monitoring S3 object scans with Amazon
//!   EventBridge*).
//! * `GuardDuty Runtime Protection Unhealthy`: a Runtime Monitoring agent stopped reporting
//!   (GuardDuty User Guide, *Runtime coverage and troubleshooting*, "Sample notification
//!   schema").
//!
//! * `GuardDuty Malware Protection Post Scan Action Failed`: GuardDuty could not act on an
//!   object it scanned (the post-scan tag: the GuardDuty User Guide's *Troubleshooting S3 object
//!   post-scan tag failures* names `ACCESS_DENIED` and `MAX_TAG_LIMIT_EXCEEDED`). No published
//!   sample of this event was found: the EventBridge schema (the AWS CDK event-pattern reference
//!   `GuardDutyMalwareProtectionPostScanActionFailed`) names only the detail members
//!   `schemaVersion`, `eventTime`, `s3ObjectDetails` and `postScanActions`. So every member is
//!   optional, `s3ObjectDetails` is read with the members the scan-result event shows, and
//!   `postScanActions` (whose entries no published source shows) is not read at all: nothing in
//!   this event but its detail-type takes part in a decision.

use serde::{Deserialize, Serialize};

use super::null_as_default;

pub const DT_MALWARE_OBJECT_SCAN_RESULT: &str = "GuardDuty Malware Protection Object Scan Result";
pub const DT_RUNTIME_PROTECTION_UNHEALTHY: &str = "GuardDuty Runtime Protection Unhealthy";
pub const DT_MALWARE_POST_SCAN_ACTION_FAILED: &str =
    "GuardDuty Malware Protection Post Scan Action Failed";

/// One of GuardDuty's service events.
#[derive(Debug, Clone, PartialEq)]
pub enum ServiceEvent {
    ObjectScanResult(ObjectScanResult),
    RuntimeProtectionHealth(RuntimeProtectionHealth),
    PostScanActionFailed(PostScanActionFailed),
}

impl ServiceEvent {
    /// A short name: `malware-scan:THREATS_FOUND`, `runtime-health:UNHEALTHY`,
    /// `malware-post-scan-action-failed`.
    pub fn kind_name(&self) -> String {
        match self {
            ServiceEvent::ObjectScanResult(s) => {
                format!("malware-scan:{}", s.scan_result_details.scan_result_status)
            }
            ServiceEvent::RuntimeProtectionHealth(h) => format!(
                "runtime-health:{}",
                h.current_status.as_deref().unwrap_or("unknown")
            ),
            ServiceEvent::PostScanActionFailed(_) => "malware-post-scan-action-failed".to_string(),
        }
    }

    /// The account the event is about, when the detail names one.
    pub fn account(&self) -> Option<&String> {
        match self {
            ServiceEvent::ObjectScanResult(_) | ServiceEvent::PostScanActionFailed(_) => None,
            ServiceEvent::RuntimeProtectionHealth(h) => h.resource_account_id.as_ref(),
        }
    }
}

/// The result of a Malware Protection for S3 scan of one object.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ObjectScanResult {
    #[serde(default)]
    pub schema_version: Option<String>,
    /// `COMPLETED`, `SKIPPED` or `FAILED`.
    #[serde(default)]
    pub scan_status: Option<String>,
    #[serde(default)]
    pub resource_type: Option<String>,
    pub s3_object_details: ScannedObject,
    pub scan_result_details: ScanResultDetails,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ScannedObject {
    pub bucket_name: String,
    pub object_key: String,
    #[serde(default)]
    pub e_tag: Option<String>,
    #[serde(default)]
    pub version_id: Option<String>,
    #[serde(default)]
    pub s3_throttled: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ScanResultDetails {
    /// `NO_THREATS_FOUND`, `THREATS_FOUND`, `UNSUPPORTED`, `ACCESS_DENIED` or `FAILED`.
    pub scan_result_status: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub threats: Vec<ScanThreat>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ScanThreat {
    #[serde(default)]
    pub name: Option<String>,
}

/// A Runtime Monitoring coverage change.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeProtectionHealth {
    #[serde(default)]
    pub schema_version: Option<String>,
    #[serde(default)]
    pub resource_account_id: Option<String>,
    #[serde(default)]
    pub current_status: Option<String>,
    #[serde(default)]
    pub previous_status: Option<String>,
    #[serde(default)]
    pub resource_details: Option<CoveredResource>,
    #[serde(default)]
    pub issue: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CoveredResource {
    /// `EKS`, `ECS` or `EC2`.
    #[serde(default)]
    pub resource_type: Option<String>,
    #[serde(default)]
    pub eks_cluster_details: Option<CoveredEksCluster>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CoveredEksCluster {
    #[serde(default)]
    pub cluster_name: Option<String>,
    #[serde(default)]
    pub addon_version: Option<String>,
}

/// GuardDuty could not complete an action on an object it scanned (the post-scan tag). Every
/// member is optional and none is checked beyond its type: the event's shape is known only by
/// its members' names (see the module's documentation).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PostScanActionFailed {
    #[serde(default)]
    pub schema_version: Option<String>,
    /// Read with the members of the scan-result event's `s3ObjectDetails`, all optional.
    #[serde(default)]
    pub s3_object_details: Option<PostScanObject>,
}

/// The object of a failed post-scan action, as far as the event names it.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PostScanObject {
    #[serde(default)]
    pub bucket_name: Option<String>,
    #[serde(default)]
    pub object_key: Option<String>,
    #[serde(default)]
    pub version_id: Option<String>,
}

impl PostScanActionFailed {
    /// The bucket, when the event names one (an empty name is none).
    pub fn bucket(&self) -> Option<&str> {
        self.s3_object_details
            .as_ref()
            .and_then(|o| o.bucket_name.as_deref())
            .filter(|s| !s.trim().is_empty())
    }

    /// The object key, when the event names one.
    pub fn key(&self) -> Option<&str> {
        self.s3_object_details
            .as_ref()
            .and_then(|o| o.object_key.as_deref())
            .filter(|s| !s.trim().is_empty())
    }

    /// The object version, when the event names one.
    pub fn version(&self) -> Option<&str> {
        self.s3_object_details
            .as_ref()
            .and_then(|o| o.version_id.as_deref())
            .filter(|s| !s.trim().is_empty())
    }
}

impl ObjectScanResult {
    /// The threat names found, in the event's order, without empty ones.
    pub fn threat_names(&self) -> Vec<&str> {
        self.scan_result_details
            .threats
            .iter()
            .filter_map(|t| t.name.as_deref())
            .filter(|n| !n.is_empty())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::event::{Event, EventKind, ServiceEvent};

    const THREATS: &str = include_str!(
        "../../../tests/fixtures/events/aws.guardduty/malware-s3-object-scan-threats-found.json"
    );
    const POST_SCAN: &str = include_str!(
        "../../../tests/fixtures/events/aws.guardduty/malware-s3-post-scan-action-failed.json"
    );

    #[test]
    fn the_guardduty_function_handles_scan_results_and_runtime_health_from_guardduty_only() {
        use crate::decide::{Disposition, Handler, RuleSet, decide};
        let rules = RuleSet::builtin().unwrap();
        let settings = crate::Settings::default();
        let health = include_str!(
            "../../../tests/fixtures/events/aws.guardduty/runtime-protection-unhealthy-eks.json"
        );
        for text in [THREATS, health, POST_SCAN] {
            let event = Event::from_json(text).unwrap();
            let plan = decide(&event, Some(Handler::Guardduty), &rules, &settings);
            assert_eq!(plan.disposition, Disposition::Notify, "{}", plan.reason);
            let plan = decide(&event, Some(Handler::Cloudtrail), &rules, &settings);
            assert_eq!(plan.disposition, Disposition::Ignore, "{}", plan.reason);
            // The same event from another source is refused.
            let forged = text.replace(
                "\"source\": \"aws.guardduty\"",
                "\"source\": \"custom.app\"",
            );
            assert_ne!(forged, text);
            let plan = decide(&Event::from_json(&forged).unwrap(), None, &rules, &settings);
            assert_eq!(plan.disposition, Disposition::Ignore, "{}", plan.reason);
            assert!(plan.reason.contains("refused"), "{}", plan.reason);
        }
    }

    #[test]
    fn a_scan_result_is_read_and_a_bad_one_names_its_field() {
        let event = Event::from_json(THREATS).unwrap();
        let EventKind::GuardDutyService(s) = &event.kind else {
            panic!("not a GuardDuty service event")
        };
        let ServiceEvent::ObjectScanResult(r) = s.as_ref() else {
            panic!("not a scan result")
        };
        assert_eq!(r.scan_result_details.scan_result_status, "THREATS_FOUND");
        assert_eq!(r.threat_names(), ["foobar"]);
        assert_eq!(
            r.s3_object_details.version_id.as_deref(),
            Some("NpeIP.i5R7OBO0bChPbGTmSsym5UohWS")
        );

        let mut v: serde_json::Value = serde_json::from_str(THREATS).unwrap();
        v["detail"]["s3ObjectDetails"]
            .as_object_mut()
            .unwrap()
            .remove("bucketName");
        let err = Event::from_json(&v.to_string()).unwrap_err();
        assert_eq!(
            err.field(),
            Some("detail.s3ObjectDetails.bucketName"),
            "{err}"
        );
        v["detail"]["s3ObjectDetails"]["bucketName"] = "b".into();
        v["detail"]["scanResultDetails"]["threats"] = serde_json::json!("foobar");
        let err = Event::from_json(&v.to_string()).unwrap_err();
        assert_eq!(
            err.field(),
            Some("detail.scanResultDetails.threats"),
            "{err}"
        );
    }

    /// The post-scan failure's decision rests on its detail-type alone: whatever its detail
    /// holds (members missing, unknown ones, any `postScanActions`), the same rule, severity
    /// and no action; the bucket and key are named only when the event names them.
    #[test]
    fn a_post_scan_action_failure_is_medium_whatever_its_detail_holds() {
        use crate::decide::details::details_of;
        use crate::decide::{Band, Disposition, Handler, RuleSet, decide};
        let rules = RuleSet::builtin().unwrap();
        let settings = crate::Settings::default();
        let base: serde_json::Value = serde_json::from_str(POST_SCAN).unwrap();
        let with_detail = |detail: serde_json::Value| {
            let mut v = base.clone();
            v["detail"] = detail;
            v.to_string()
        };
        let variants = [
            (POST_SCAN.to_string(), true),
            (with_detail(serde_json::json!({})), false),
            (
                with_detail(serde_json::json!({
                    "schemaVersion": "9.9",
                    "eventTime": 1,
                    "postScanActions": [{"anything": ["at", "all"]}, "x", null],
                    "s3ObjectDetails": {"somethingElse": true},
                    "unknownMember": {"deep": [1, 2]}
                })),
                false,
            ),
        ];
        for (text, names_object) in variants {
            let event = Event::from_json(&text).unwrap();
            let plan = decide(&event, Some(Handler::Guardduty), &rules, &settings);
            assert_eq!(plan.disposition, Disposition::Notify, "{}", plan.reason);
            assert_eq!(plan.severity.band, Band::Medium, "{text}");
            assert_eq!(
                plan.rule_ids,
                ["guardduty-malware-s3-post-scan-action-failed"],
                "{text}"
            );
            assert!(plan.actions.is_empty(), "{:?}", plan.actions);
            let labels: Vec<&str> = details_of(&event).iter().map(|d| d.label).collect();
            if names_object {
                assert_eq!(labels, ["S3 bucket", "Object key", "Version"]);
                assert_eq!(
                    plan.resource.as_ref().map(|r| r.label()).as_deref(),
                    Some("S3 object amzn-s3-demo-bucket/dl/sample.pdf")
                );
            } else {
                assert!(labels.is_empty(), "{labels:?}");
                assert_eq!(plan.resource, None);
            }
        }

        // A member of the wrong type is a typed error naming it, not a guess.
        let mut v = base.clone();
        v["detail"]["s3ObjectDetails"]["bucketName"] = serde_json::json!(["b"]);
        let err = Event::from_json(&v.to_string()).unwrap_err();
        assert_eq!(
            err.field(),
            Some("detail.s3ObjectDetails.bucketName"),
            "{err}"
        );
    }
}
