//! Remediation actions: a closed set. Each kind declares the API it calls and the IAM permissions
//! it needs; `infra/` must grant exactly these (checked by a test).

mod exec;

pub use exec::{Actor, Outcome, Status};

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::event::{
    DT_CLOUDTRAIL_CALL, DT_CONFIG_COMPLIANCE_CHANGE, DT_GUARDDUTY_FINDING, Event, EventKind,
};

/// The kinds of action a rule may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// `iam:UpdateAccessKey` Status=Inactive on the one long-term (AKIA) key a finding names.
    DeactivateAccessKey,
    /// `cloudtrail:StartLogging` on the trail a StopLogging call named, in its home region.
    StartLogging,
    /// `guardduty:UpdateDetector` Enable=true on the detector an UpdateDetector call disabled.
    EnableDetector,
    /// `config:StartConfigurationRecorder` on the recorder a StopConfigurationRecorder call named.
    StartConfigurationRecorder,
    /// For a NON_COMPLIANT cloudtrail-enabled result: start every trail of the account whose home
    /// region is the event's region and which is not logging.
    StartStoppedTrails,
    /// For a NON_COMPLIANT guardduty-enabled-centralized result: enable the region's detectors.
    EnableRegionDetectors,
}

impl ActionKind {
    pub const ALL: [ActionKind; 6] = [
        ActionKind::DeactivateAccessKey,
        ActionKind::StartLogging,
        ActionKind::EnableDetector,
        ActionKind::StartConfigurationRecorder,
        ActionKind::StartStoppedTrails,
        ActionKind::EnableRegionDetectors,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ActionKind::DeactivateAccessKey => "deactivate_access_key",
            ActionKind::StartLogging => "start_logging",
            ActionKind::EnableDetector => "enable_detector",
            ActionKind::StartConfigurationRecorder => "start_configuration_recorder",
            ActionKind::StartStoppedTrails => "start_stopped_trails",
            ActionKind::EnableRegionDetectors => "enable_region_detectors",
        }
    }

    /// The mutating API call, as `service:Operation`.
    pub fn api(self) -> &'static str {
        match self {
            ActionKind::DeactivateAccessKey => "iam:UpdateAccessKey",
            ActionKind::StartLogging | ActionKind::StartStoppedTrails => "cloudtrail:StartLogging",
            ActionKind::EnableDetector | ActionKind::EnableRegionDetectors => {
                "guardduty:UpdateDetector"
            }
            ActionKind::StartConfigurationRecorder => "config:StartConfigurationRecorder",
        }
    }

    /// Every IAM permission the action's calls need.
    pub fn permissions(self) -> &'static [&'static str] {
        match self {
            ActionKind::DeactivateAccessKey => &["iam:UpdateAccessKey"],
            ActionKind::StartLogging => &["cloudtrail:StartLogging"],
            ActionKind::EnableDetector => &["guardduty:UpdateDetector"],
            ActionKind::StartConfigurationRecorder => &["config:StartConfigurationRecorder"],
            ActionKind::StartStoppedTrails => &[
                "cloudtrail:DescribeTrails",
                "cloudtrail:GetTrailStatus",
                "cloudtrail:StartLogging",
            ],
            ActionKind::EnableRegionDetectors => &[
                "guardduty:ListDetectors",
                "guardduty:GetDetector",
                "guardduty:UpdateDetector",
            ],
        }
    }

    /// The detail-types whose events can supply this action's parameters.
    pub fn detail_types(self) -> &'static [&'static str] {
        match self {
            ActionKind::DeactivateAccessKey => &[DT_GUARDDUTY_FINDING],
            ActionKind::StartLogging
            | ActionKind::EnableDetector
            | ActionKind::StartConfigurationRecorder => &[DT_CLOUDTRAIL_CALL],
            ActionKind::StartStoppedTrails | ActionKind::EnableRegionDetectors => {
                &[DT_CONFIG_COMPLIANCE_CHANGE]
            }
        }
    }

    /// Builds the concrete action from the event: the exact resource, region and account it
    /// names. `Err` says which parameter the event does not supply.
    pub fn bind(self, event: &Event) -> Result<Action, String> {
        let account = event.account.clone();
        let target = match (self, &event.kind) {
            (ActionKind::DeactivateAccessKey, EventKind::GuardDutyFinding(f)) => {
                let key = f
                    .resource
                    .access_key_details
                    .as_ref()
                    .ok_or("the finding has no resource.accessKeyDetails")?;
                let access_key_id = key
                    .access_key_id
                    .clone()
                    .ok_or("the finding names no accessKeyId")?;
                if !access_key_id.starts_with("AKIA") {
                    return Err(format!(
                        "key {access_key_id} is not a long-term IAM user key (AKIA…)"
                    ));
                }
                let user_name = key
                    .user_name
                    .clone()
                    .filter(|u| !u.is_empty())
                    .ok_or("the finding names no userName")?;
                Target::AccessKey {
                    user_name,
                    access_key_id,
                }
            }
            (ActionKind::StartLogging, EventKind::CloudTrailCall(c)) => {
                let name = c
                    .request_str("name")
                    .ok_or("requestParameters.name is missing")?;
                let region = arn_region(name).unwrap_or(&c.aws_region).to_string();
                return Ok(Action {
                    kind: self,
                    account,
                    region,
                    target: Target::Trail {
                        name: name.to_string(),
                    },
                });
            }
            (ActionKind::EnableDetector, EventKind::CloudTrailCall(c)) => Target::Detector {
                detector_id: c
                    .request_str("detectorId")
                    .ok_or("requestParameters.detectorId is missing")?
                    .to_string(),
            },
            (ActionKind::StartConfigurationRecorder, EventKind::CloudTrailCall(c)) => {
                Target::Recorder {
                    name: c
                        .request_str("configurationRecorderName")
                        .ok_or("requestParameters.configurationRecorderName is missing")?
                        .to_string(),
                }
            }
            (ActionKind::StartStoppedTrails, EventKind::ConfigComplianceChange(_)) => {
                Target::StoppedTrails
            }
            (ActionKind::EnableRegionDetectors, EventKind::ConfigComplianceChange(_)) => {
                Target::RegionDetectors
            }
            _ => {
                return Err(format!(
                    "{} cannot take its parameters from a `{}` event",
                    self.name(),
                    event.detail_type
                ));
            }
        };
        let region = match &event.kind {
            EventKind::CloudTrailCall(c) => c.aws_region.clone(),
            _ => event.region.clone(),
        };
        Ok(Action {
            kind: self,
            account,
            region,
            target,
        })
    }
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ActionKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ActionKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = ActionKind::ALL.iter().map(|k| k.name()).collect();
                format!("unknown action `{s}` (known: {})", known.join(", "))
            })
    }
}

/// The resource an action acts on: exactly what the event named.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    AccessKey {
        user_name: String,
        access_key_id: String,
    },
    Trail {
        name: String,
    },
    Detector {
        detector_id: String,
    },
    Recorder {
        name: String,
    },
    StoppedTrails,
    RegionDetectors,
}

/// A planned action: the kind, plus the exact resource, region and account.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Action {
    pub kind: ActionKind,
    pub account: String,
    pub region: String,
    pub target: Target,
}

impl Action {
    /// The request parameters, with AWS API parameter names.
    pub fn params(&self) -> Map<String, Value> {
        let v = match &self.target {
            Target::AccessKey {
                user_name,
                access_key_id,
            } => json!({"UserName": user_name, "AccessKeyId": access_key_id, "Status": "Inactive"}),
            Target::Trail { name } => json!({ "Name": name }),
            Target::Detector { detector_id } => json!({"DetectorId": detector_id, "Enable": true}),
            Target::Recorder { name } => json!({ "ConfigurationRecorderName": name }),
            Target::StoppedTrails => {
                json!({"Name": "each trail seen from the region with IsLogging = false, started in its home region"})
            }
            Target::RegionDetectors => {
                json!({"DetectorId": "each detector of the region that is not enabled", "Enable": true})
            }
        };
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    /// The resource named, for people: `user/alice key AKIA…`, `trail org-trail`, …
    pub fn resource(&self) -> String {
        match &self.target {
            Target::AccessKey {
                user_name,
                access_key_id,
            } => format!("access key {access_key_id} of IAM user {user_name}"),
            Target::Trail { name } => format!("trail {}", trail_name(name)),
            Target::Detector { detector_id } => format!("GuardDuty detector {detector_id}"),
            Target::Recorder { name } => format!("configuration recorder {name}"),
            Target::StoppedTrails => format!("stopped trails in {}", self.region),
            Target::RegionDetectors => format!("GuardDuty detectors in {}", self.region),
        }
    }

    /// What the action does, in a few words.
    pub fn describe(&self) -> String {
        match self.kind {
            ActionKind::DeactivateAccessKey => format!("deactivate {}", self.resource()),
            ActionKind::StartLogging => format!("restart logging on {}", self.resource()),
            ActionKind::EnableDetector => format!("re-enable {}", self.resource()),
            ActionKind::StartConfigurationRecorder => format!("restart {}", self.resource()),
            ActionKind::StartStoppedTrails => {
                format!("restart logging on every stopped trail in {}", self.region)
            }
            ActionKind::EnableRegionDetectors => {
                format!("re-enable the GuardDuty detectors in {}", self.region)
            }
        }
    }
}

impl Serialize for Action {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Action", 5)?;
        st.serialize_field("action", self.kind.name())?;
        st.serialize_field("api", self.kind.api())?;
        st.serialize_field("account", &self.account)?;
        st.serialize_field("region", &self.region)?;
        st.serialize_field("params", &self.params())?;
        st.end()
    }
}

/// The region of an ARN (`arn:partition:service:region:account:resource`), if it has one.
pub fn arn_region(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    if parts.next()? != "arn" {
        return None;
    }
    let region = parts.nth(2)?;
    (!region.is_empty()).then_some(region)
}

/// The trail name from a name or an ARN.
pub fn trail_name(name_or_arn: &str) -> &str {
    match name_or_arn.split_once(":trail/") {
        Some((_, name)) => name,
        None => name_or_arn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arn_region_reads_the_fourth_field() {
        assert_eq!(
            arn_region("arn:aws:cloudtrail:eu-west-1:123456789012:trail/org"),
            Some("eu-west-1")
        );
        assert_eq!(arn_region("arn:aws:iam::123456789012:role/x"), None);
        assert_eq!(arn_region("org-trail"), None);
    }

    #[test]
    fn action_names_round_trip() {
        for k in ActionKind::ALL {
            assert_eq!(k.name().parse::<ActionKind>(), Ok(k));
            assert!(
                k.permissions().contains(&k.api()),
                "{k} must be allowed its own API"
            );
        }
        assert!("delete_everything".parse::<ActionKind>().is_err());
    }
}
