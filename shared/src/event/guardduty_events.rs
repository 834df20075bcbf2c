//! GuardDuty's events other than findings, as EventBridge delivers them in `detail`:
//!
//! * `GuardDuty Malware Protection Object Scan Result`: the result of a Malware Protection for
//!   S3 scan of one object (GuardDuty User Guide, *Monitoring S3 object scans with Amazon
//!   EventBridge*).
//! * `GuardDuty Runtime Protection Unhealthy`: a Runtime Monitoring agent stopped reporting
//!   (GuardDuty User Guide, *Runtime coverage and troubleshooting*, "Sample notification
//!   schema").
//!
//! `GuardDuty Malware Protection Post Scan Action Failed` is not modelled: no published sample
//! of it was found.

use serde::{Deserialize, Serialize};

use super::null_as_default;

pub const DT_MALWARE_OBJECT_SCAN_RESULT: &str = "GuardDuty Malware Protection Object Scan Result";
pub const DT_RUNTIME_PROTECTION_UNHEALTHY: &str = "GuardDuty Runtime Protection Unhealthy";

/// One of GuardDuty's service events.
#[derive(Debug, Clone, PartialEq)]
pub enum ServiceEvent {
    ObjectScanResult(ObjectScanResult),
    RuntimeProtectionHealth(RuntimeProtectionHealth),
}

impl ServiceEvent {
    /// A short name: `malware-scan:THREATS_FOUND`, `runtime-health:UNHEALTHY`.
    pub fn kind_name(&self) -> String {
        match self {
            ServiceEvent::ObjectScanResult(s) => {
                format!("malware-scan:{}", s.scan_result_details.scan_result_status)
            }
            ServiceEvent::RuntimeProtectionHealth(h) => format!(
                "runtime-health:{}",
                h.current_status.as_deref().unwrap_or("unknown")
            ),
        }
    }

    /// The account the event is about, when the detail names one.
    pub fn account(&self) -> Option<&String> {
        match self {
            ServiceEvent::ObjectScanResult(_) => None,
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

    #[test]
    fn the_guardduty_function_handles_scan_results_and_runtime_health_from_guardduty_only() {
        use crate::decide::{Disposition, Handler, RuleSet, decide};
        let rules = RuleSet::builtin().unwrap();
        let settings = crate::Settings::default();
        let health = include_str!(
            "../../../tests/fixtures/events/aws.guardduty/runtime-protection-unhealthy-eks.json"
        );
        for text in [THREATS, health] {
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
}
