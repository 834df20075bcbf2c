//! A CloudTrail record, as EventBridge delivers it in `detail` for "AWS API Call via CloudTrail"
//! and "AWS Console Sign In via CloudTrail".

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::null_as_default;

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CloudTrailCall {
    #[serde(default)]
    pub event_version: Option<String>,
    pub user_identity: UserIdentity,
    #[serde(default)]
    pub event_time: Option<String>,
    pub event_source: String,
    pub event_name: String,
    pub aws_region: String,
    #[serde(default, rename = "sourceIPAddress")]
    pub source_ip_address: Option<String>,
    #[serde(default)]
    pub user_agent: Option<String>,
    #[serde(default)]
    pub error_code: Option<String>,
    #[serde(default)]
    pub error_message: Option<String>,
    #[serde(default)]
    pub request_parameters: Value,
    #[serde(default)]
    pub response_elements: Value,
    #[serde(default)]
    pub additional_event_data: Value,
    #[serde(default, rename = "requestID")]
    pub request_id: Option<String>,
    #[serde(default, rename = "eventID")]
    pub event_id: Option<String>,
    #[serde(default)]
    pub event_type: Option<String>,
    #[serde(default)]
    pub recipient_account_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity {
    #[serde(default, rename = "type")]
    pub identity_type: Option<String>,
    #[serde(default)]
    pub principal_id: Option<String>,
    #[serde(default)]
    pub arn: Option<String>,
    #[serde(default)]
    pub account_id: Option<String>,
    #[serde(default)]
    pub access_key_id: Option<String>,
    #[serde(default)]
    pub user_name: Option<String>,
    #[serde(default)]
    pub invoked_by: Option<String>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub session_context: SessionContext,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SessionContext {
    /// Absent or `{}` for principals that are not role sessions.
    #[serde(default, deserialize_with = "null_as_default")]
    pub session_issuer: SessionIssuer,
    #[serde(default)]
    pub attributes: Option<SessionAttributes>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SessionIssuer {
    #[serde(default, rename = "type")]
    pub issuer_type: Option<String>,
    #[serde(default)]
    pub principal_id: Option<String>,
    #[serde(default)]
    pub arn: Option<String>,
    #[serde(default)]
    pub account_id: Option<String>,
    #[serde(default)]
    pub user_name: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SessionAttributes {
    #[serde(default)]
    pub mfa_authenticated: Option<String>,
    #[serde(default)]
    pub creation_date: Option<String>,
}

impl CloudTrailCall {
    /// The service short name: `cloudtrail` for `cloudtrail.amazonaws.com`.
    pub fn service(&self) -> &str {
        self.event_source
            .strip_suffix(".amazonaws.com")
            .unwrap_or(&self.event_source)
    }

    /// True when the call succeeded (CloudTrail sets `errorCode` on failed calls).
    pub fn succeeded(&self) -> bool {
        self.error_code.as_deref().is_none_or(str::is_empty)
    }

    /// The account the call was recorded in.
    pub fn account_id(&self) -> Option<&String> {
        self.recipient_account_id
            .as_ref()
            .or(self.user_identity.account_id.as_ref())
    }

    /// A request parameter as a string, if present.
    pub fn request_str(&self, name: &str) -> Option<&str> {
        self.request_parameters
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }

    /// A request parameter as a boolean, if present.
    pub fn request_bool(&self, name: &str) -> Option<bool> {
        self.request_parameters.get(name).and_then(Value::as_bool)
    }

    /// The ARN that best names the caller: the role behind a session, else the identity ARN.
    pub fn principal_arn(&self) -> Option<&str> {
        self.user_identity
            .session_context
            .session_issuer
            .arn
            .as_deref()
            .or(self.user_identity.arn.as_deref())
    }
}
