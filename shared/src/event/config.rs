//! AWS Config events: configuration item changes and rule compliance changes. The `detail` is the
//! object Config also publishes as its SNS `Message`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::null_as_default;

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ConfigItemChange {
    #[serde(default)]
    pub message_type: Option<String>,
    pub configuration_item: ConfigurationItem,
    #[serde(default)]
    pub configuration_item_diff: Option<ConfigurationItemDiff>,
    #[serde(default)]
    pub notification_creation_time: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ConfigurationItem {
    pub resource_type: String,
    #[serde(default)]
    pub resource_id: Option<String>,
    #[serde(default)]
    pub resource_name: Option<String>,
    #[serde(default, rename = "ARN")]
    pub arn: Option<String>,
    #[serde(default)]
    pub aws_account_id: Option<String>,
    #[serde(default)]
    pub aws_region: Option<String>,
    #[serde(default)]
    pub configuration_item_status: Option<String>,
    #[serde(default)]
    pub configuration_item_capture_time: Option<String>,
    #[serde(default)]
    pub configuration: Value,
    #[serde(default)]
    pub tags: Value,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ConfigurationItemDiff {
    #[serde(default, deserialize_with = "null_as_default")]
    pub changed_properties: BTreeMap<String, ChangedProperty>,
    #[serde(default)]
    pub change_type: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ChangedProperty {
    #[serde(default)]
    pub previous_value: Value,
    #[serde(default)]
    pub updated_value: Value,
    #[serde(default)]
    pub change_type: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ConfigComplianceChange {
    pub config_rule_name: String,
    #[serde(default, rename = "configRuleARN")]
    pub config_rule_arn: Option<String>,
    #[serde(default)]
    pub resource_type: Option<String>,
    #[serde(default)]
    pub resource_id: Option<String>,
    #[serde(default)]
    pub aws_account_id: Option<String>,
    #[serde(default)]
    pub aws_region: Option<String>,
    #[serde(default)]
    pub message_type: Option<String>,
    pub new_evaluation_result: EvaluationResult,
    #[serde(default)]
    pub old_evaluation_result: Option<EvaluationResult>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EvaluationResult {
    pub compliance_type: String,
    #[serde(default)]
    pub evaluation_result_identifier: Option<EvaluationResultIdentifier>,
    #[serde(default)]
    pub annotation: Option<String>,
    #[serde(default)]
    pub result_recorded_time: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EvaluationResultIdentifier {
    #[serde(default)]
    pub evaluation_result_qualifier: Option<EvaluationResultQualifier>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EvaluationResultQualifier {
    #[serde(default)]
    pub config_rule_name: Option<String>,
    #[serde(default)]
    pub resource_type: Option<String>,
    #[serde(default)]
    pub resource_id: Option<String>,
}

impl ConfigComplianceChange {
    pub fn new_compliance(&self) -> &str {
        &self.new_evaluation_result.compliance_type
    }

    pub fn old_compliance(&self) -> Option<&str> {
        self.old_evaluation_result
            .as_ref()
            .map(|r| r.compliance_type.as_str())
    }

    fn qualifier(&self) -> Option<&EvaluationResultQualifier> {
        self.new_evaluation_result
            .evaluation_result_identifier
            .as_ref()?
            .evaluation_result_qualifier
            .as_ref()
    }

    /// The evaluated resource's type, from the top level or the evaluation qualifier.
    pub fn evaluated_resource_type(&self) -> Option<&str> {
        self.resource_type
            .as_deref()
            .or_else(|| self.qualifier()?.resource_type.as_deref())
    }

    /// The evaluated resource's id, from the top level or the evaluation qualifier.
    pub fn evaluated_resource_id(&self) -> Option<&str> {
        self.resource_id
            .as_deref()
            .or_else(|| self.qualifier()?.resource_id.as_deref())
    }
}
