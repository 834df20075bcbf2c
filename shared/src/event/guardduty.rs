//! GuardDuty finding, schema 2.0, as EventBridge delivers it in `detail` (camelCase).
//!
//! Only the members mamoru reads are modelled; everything else is tolerated and ignored.

use serde::{Deserialize, Serialize};

use super::null_as_default;

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    #[serde(default)]
    pub schema_version: Option<String>,
    pub account_id: String,
    pub region: String,
    #[serde(default)]
    pub partition: Option<String>,
    pub id: String,
    #[serde(default)]
    pub arn: Option<String>,
    #[serde(rename = "type")]
    pub finding_type: String,
    pub severity: f64,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub created_at: Option<String>,
    #[serde(default)]
    pub updated_at: Option<String>,
    pub resource: Resource,
    #[serde(default, deserialize_with = "null_as_default")]
    pub service: Service,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    pub resource_type: String,
    #[serde(default)]
    pub access_key_details: Option<AccessKeyDetails>,
    #[serde(default)]
    pub instance_details: Option<InstanceDetails>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub s3_bucket_details: Vec<S3BucketDetails>,
    #[serde(default)]
    pub container_details: Option<ContainerDetails>,
    #[serde(default)]
    pub eks_cluster_details: Option<EksClusterDetails>,
    #[serde(default)]
    pub rds_db_instance_details: Option<RdsDbInstanceDetails>,
    #[serde(default)]
    pub rds_db_user_details: Option<RdsDbUserDetails>,
    #[serde(default)]
    pub lambda_details: Option<LambdaDetails>,
}

/// The container a Runtime Monitoring finding is about (the API's `Container`).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ContainerDetails {
    #[serde(default)]
    pub container_runtime: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub image: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EksClusterDetails {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub arn: Option<String>,
}

/// The database an RDS Protection finding is about.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RdsDbInstanceDetails {
    #[serde(default)]
    pub db_instance_identifier: Option<String>,
    #[serde(default)]
    pub db_cluster_identifier: Option<String>,
    #[serde(default)]
    pub engine: Option<String>,
    #[serde(default)]
    pub engine_version: Option<String>,
    #[serde(default)]
    pub db_instance_arn: Option<String>,
}

/// The database user of an RDS Protection finding's login.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RdsDbUserDetails {
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub application: Option<String>,
    #[serde(default)]
    pub database: Option<String>,
    #[serde(default)]
    pub auth_method: Option<String>,
}

/// The function a Lambda Protection finding is about.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LambdaDetails {
    #[serde(default)]
    pub function_name: Option<String>,
    #[serde(default)]
    pub function_arn: Option<String>,
    #[serde(default)]
    pub function_version: Option<String>,
    #[serde(default)]
    pub revision_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AccessKeyDetails {
    #[serde(default)]
    pub access_key_id: Option<String>,
    #[serde(default)]
    pub principal_id: Option<String>,
    #[serde(default)]
    pub user_type: Option<String>,
    #[serde(default)]
    pub user_name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InstanceDetails {
    #[serde(default)]
    pub instance_id: Option<String>,
    #[serde(default)]
    pub instance_type: Option<String>,
    #[serde(default)]
    pub instance_state: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct S3BucketDetails {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub arn: Option<String>,
    /// The objects of a Malware Protection for S3 finding.
    #[serde(default, deserialize_with = "null_as_default")]
    pub s3_object_details: Vec<S3ObjectDetail>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct S3ObjectDetail {
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub version_id: Option<String>,
    #[serde(default)]
    pub e_tag: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    #[serde(default)]
    pub detector_id: Option<String>,
    #[serde(default)]
    pub archived: bool,
    #[serde(default)]
    pub count: Option<u64>,
    #[serde(default)]
    pub resource_role: Option<String>,
    #[serde(default)]
    pub event_first_seen: Option<String>,
    #[serde(default)]
    pub event_last_seen: Option<String>,
    #[serde(default)]
    pub action: Option<Action>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub additional_info: AdditionalInfo,
    /// `Correlation` for attack sequences, `RuntimeMonitoring`, …
    #[serde(default)]
    pub feature_name: Option<String>,
    /// Extended Threat Detection: the attack sequence.
    #[serde(default)]
    pub detection: Option<super::sequence::Detection>,
    /// Runtime Monitoring: the process.
    #[serde(default)]
    pub runtime_details: Option<RuntimeDetails>,
    /// Malware Protection: the threats found.
    #[serde(default)]
    pub malware_scan_details: Option<MalwareScanDetails>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeDetails {
    #[serde(default)]
    pub process: Option<ProcessDetails>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ProcessDetails {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub executable_path: Option<String>,
    #[serde(default)]
    pub executable_sha256: Option<String>,
    #[serde(default)]
    pub user: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MalwareScanDetails {
    #[serde(default, deserialize_with = "null_as_default")]
    pub threats: Vec<Threat>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Threat {
    #[serde(default)]
    pub name: Option<String>,
}

/// What the finding saw happen: only the caller's address and user agent are modelled (rules
/// that need more read `detail.service.action…` by field path).
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Action {
    #[serde(default)]
    pub action_type: Option<String>,
    #[serde(default)]
    pub aws_api_call_action: Option<ApiCallAction>,
    #[serde(default)]
    pub network_connection_action: Option<NetworkConnectionAction>,
    #[serde(default)]
    pub rds_login_attempt_action: Option<NetworkConnectionAction>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ApiCallAction {
    #[serde(default)]
    pub api: Option<String>,
    #[serde(default)]
    pub user_agent: Option<String>,
    #[serde(default)]
    pub remote_ip_details: Option<RemoteIpDetails>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NetworkConnectionAction {
    #[serde(default)]
    pub remote_ip_details: Option<RemoteIpDetails>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RemoteIpDetails {
    #[serde(default)]
    pub ip_address_v4: Option<String>,
}

impl Action {
    /// The remote caller's IPv4 address: the API call's, else the network connection's.
    pub fn remote_ip(&self) -> Option<&str> {
        let call = self.aws_api_call_action.as_ref();
        call.and_then(|c| c.remote_ip_details.as_ref())
            .or_else(|| {
                self.network_connection_action
                    .as_ref()
                    .or(self.rds_login_attempt_action.as_ref())
                    .and_then(|n| n.remote_ip_details.as_ref())
            })
            .and_then(|r| r.ip_address_v4.as_deref())
    }

    /// The API caller's user agent.
    pub fn user_agent(&self) -> Option<&str> {
        self.aws_api_call_action.as_ref()?.user_agent.as_deref()
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AdditionalInfo {
    /// GuardDuty sets this on findings made by "Generate sample findings".
    #[serde(default, deserialize_with = "lenient_bool")]
    pub sample: bool,
}

/// `sample` is a JSON boolean in findings, but some exports carry it as the string "true".
fn lenient_bool<'de, D: serde::Deserializer<'de>>(de: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum B {
        Bool(bool),
        Text(String),
        Null(()),
    }
    Ok(match B::deserialize(de)? {
        B::Bool(b) => b,
        B::Text(s) => s.eq_ignore_ascii_case("true"),
        B::Null(()) => false,
    })
}

impl Finding {
    /// True for findings made by GuardDuty's "Generate sample findings": GuardDuty marks them
    /// with `service.additionalInfo.sample`. Names such as `GeneratedFindingUserName` are not
    /// proof: anyone who can create a user or role chooses its name, and a real finding about
    /// such a principal must not become a sample.
    pub fn is_sample(&self) -> bool {
        self.service.additional_info.sample
    }

    /// The principal's type (`IAMUser`, `AssumedRole`, `Root`, …) when the finding names one.
    pub fn user_type(&self) -> Option<&str> {
        self.resource
            .access_key_details
            .as_ref()
            .and_then(|k| k.user_type.as_deref())
    }

    /// The attack sequence of an Extended Threat Detection finding.
    pub fn sequence(&self) -> Option<&super::sequence::Sequence> {
        self.service.detection.as_ref()?.sequence.as_ref()
    }

    /// The detector id, from `service.detectorId` or else from the finding ARN.
    pub fn detector_id(&self) -> Option<&str> {
        if let Some(id) = self.service.detector_id.as_deref() {
            return Some(id);
        }
        let arn = self.arn.as_deref()?;
        let rest = arn.split(":detector/").nth(1)?;
        rest.split('/').next()
    }
}
