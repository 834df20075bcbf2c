//! Publishing mamoru's own detections to Security Hub (`BatchImportFindings`): each CloudTrail
//! call the cloudtrail function notifies or acts on (the tamper calls of the playbook and the
//! other calls it watches) becomes an ASFF finding of the `default` product of the account the
//! function runs in, so that Security Hub shows them beside every other finding.
//!
//! What to import is decided here, purely, from the event and its report ([`detection_for`]);
//! the call is made by a [`Import`] port (the AWS one, `mamoru::publish::hub::Importer`, in the
//! `mamoru` crate). A failed import is in the audit line and never fails the event; dry-run imports
//! nothing.
//!
//! - **A stable finding ID per event**: `mamoru/<partition>/<account>/<region>/cloudtrail/<eventID>`
//!   (CloudTrail's `eventID`, which it generates, not the caller): a redelivery, or the same
//!   event handled again, updates the one finding instead of adding another.
//! - **Account and region**: `BatchImportFindings` with the default product takes only findings
//!   whose `AwsAccountId` is the calling account. A call in the function's own account is
//!   imported with that account and the call's region; a call in another account of the
//!   organization is not imported (the outcome says why: its own account would have to import it).
//! - **Nothing secret, no attacker markup**: the title and description are mamoru's own words
//!   with the values masked ([`crate::redact`]) and bounded to Security Hub's limits.
//!
//! mamoru recognises these findings when they come back to the securityhub function
//! ([`is_own_finding`]): by the product (`product/<account>/default` of the stack's own account),
//! the account that owns the finding, and the generator mamoru writes. Only a principal of the
//! stack's own account can import under that product (Security Hub requires the calling account
//! to be the finding's and the product's), so no other account can make a finding pass for
//! mamoru's; inside the account, anyone allowed `BatchImportFindings` could, and the most such a
//! finding could do is be ignored by mamoru, which acts on no finding of the default product.

use serde::Serialize;

use crate::decide::resource::Kind;
use crate::decide::{Band, Disposition, Handler};
use crate::event::{AsffFinding, Event};
use crate::report::Report;

/// The IAM action the import needs.
pub const API: &str = "securityhub:BatchImportFindings";

/// The import's grant: the `default` product of the stack's own account and region (the
/// product resource of `BatchImportFindings` in the Service Authorization Reference). Not an
/// action's grant: the cloudtrail function imports its detections when the stack parameter
/// `PublishFindings` is on ([`PARAMETER_CONDITION`]); `mamoru permissions --grants` lists it
/// (`by: publish_findings`) and the infra tests compare the template with it both ways.
pub const GRANT: crate::action::Grant = crate::action::Grant {
    actions: &[API],
    resources: &[
        "arn:${AWS::Partition}:securityhub:${AWS::Region}:${AWS::AccountId}:product/${AWS::AccountId}/default",
    ],
    condition: crate::action::Condition::None,
};

/// The template condition under which the grant exists (the stack parameter `PublishFindings`
/// set to `on`, its default).
pub const PARAMETER_CONDITION: &str = "PublishFindingsOn";

/// The function that publishes.
pub const PUBLISHER: Handler = Handler::Cloudtrail;

/// The prefix of the `GeneratorId` of mamoru's findings (`mamoru/<rule id>`).
pub const GENERATOR_PREFIX: &str = "mamoru/";

/// Security Hub's limits on `Title` and `Description`, in characters.
pub const TITLE_MAX: usize = 256;
pub const DESCRIPTION_MAX: usize = 1024;

/// The ASFF schema version.
pub const SCHEMA_VERSION: &str = "2018-10-08";

/// Where the import is made: the account and region the function runs in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Home {
    pub partition: String,
    pub account: String,
    pub region: String,
}

impl Home {
    /// The ARN of the `default` product of this account and region.
    pub fn product_arn(&self) -> String {
        format!(
            "arn:{}:securityhub:{}:{}:product/{}/default",
            self.partition, self.region, self.account, self.account
        )
    }
}

/// One resource of a finding: ASFF `Type` and `Id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FindingResource {
    #[serde(rename = "type")]
    pub resource_type: String,
    pub id: String,
}

/// The finding mamoru imports for one detection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Detection {
    pub id: String,
    pub product_arn: String,
    pub generator_id: String,
    pub aws_account_id: String,
    pub region: String,
    /// INFORMATIONAL, LOW, MEDIUM, HIGH or CRITICAL: mamoru's band.
    pub severity: String,
    pub title: String,
    pub description: String,
    pub types: Vec<String>,
    pub resources: Vec<FindingResource>,
    /// When the call was made (CloudTrail's `eventTime`), RFC 3339: the same on every
    /// redelivery.
    pub first_observed_at: String,
}

/// What became of an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PublishStatus {
    /// Security Hub accepted the finding.
    Imported,
    /// Dry-run: the finding would have been imported.
    WouldImport,
    /// Not attempted (the message says why).
    Skipped,
    /// The call failed, or Security Hub did not take the finding.
    Failed,
}

/// The import's result, as audited.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublishOutcome {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finding_id: Option<String>,
    pub status: PublishStatus,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retryable: Option<bool>,
}

impl PublishOutcome {
    pub fn new(
        finding_id: Option<String>,
        status: PublishStatus,
        message: impl Into<String>,
    ) -> PublishOutcome {
        PublishOutcome {
            finding_id,
            status,
            message: message.into(),
            error_code: None,
            retryable: None,
        }
    }
}

/// ASFF's severity label of a band.
pub fn label(band: Band) -> &'static str {
    match band {
        Band::Info => "INFORMATIONAL",
        Band::Low => "LOW",
        Band::Medium => "MEDIUM",
        Band::High => "HIGH",
        Band::Critical => "CRITICAL",
    }
}

/// The finding to import for an event the cloudtrail function decided: `Ok(None)` when there
/// is nothing to publish (not a CloudTrail-delivered call, or ignored, or neither notified nor
/// acted on); `Err` with the reason when it cannot be published from `home` (a call in another
/// account).
pub fn detection_for(
    event: &Event,
    report: &Report,
    home: &Home,
) -> Result<Option<Detection>, String> {
    let plan = &report.plan;
    let Some(call) = event.cloudtrail() else {
        return Ok(None);
    };
    if plan.disposition == Disposition::Ignore
        || plan.disposition == Disposition::Error
        || (!plan.notify && plan.actions.is_empty())
    {
        return Ok(None);
    }
    let account = event.owner_account();
    if account != home.account {
        return Err(format!(
            "not imported: the call was made in account {account}, and BatchImportFindings with the default product takes only findings of the calling account ({})",
            home.account
        ));
    }
    let region = if plan.region.is_empty() {
        home.region.clone()
    } else {
        plan.region.clone()
    };
    let event_id = plan
        .refs
        .cloudtrail_event_id
        .clone()
        .unwrap_or_else(|| plan.event_id.clone());
    let id = bounded(
        &format!(
            "mamoru/{}/{account}/{region}/cloudtrail/{}",
            home.partition,
            clean_id(&event_id)
        ),
        512,
    );
    let rule = plan
        .rule_ids
        .first()
        .map(String::as_str)
        .unwrap_or("mamoru");
    let mut resources = Vec::new();
    if let Some(trail) = &plan.refs.trail_arn {
        resources.push(FindingResource {
            resource_type: "AwsCloudTrailTrail".into(),
            id: bounded(&crate::redact::text(trail), 512),
        });
    }
    if let Some(r) = &plan.resource
        && !(r.kind == Kind::Trail && plan.refs.trail_arn.is_some())
        && r.kind != Kind::Account
        && let Some(id) = r
            .arn
            .as_deref()
            .or(r.id.as_deref())
            .or(r.name.as_deref())
            .filter(|i| !i.is_empty())
    {
        resources.push(FindingResource {
            resource_type: asff_type(r.kind).into(),
            id: bounded(&crate::redact::text(id), 512),
        });
    }
    resources.push(FindingResource {
        resource_type: "AwsAccount".into(),
        id: format!("AWS::::Account:{account}"),
    });
    let mut description = format!(
        "{} called {}:{} in {account}/{region}. {}",
        plan.principal
            .as_ref()
            .and_then(|p| p.arn.as_deref())
            .unwrap_or("A principal"),
        call.service(),
        call.event_name,
        plan.reason
    );
    if !report.outcomes.is_empty() {
        let done: Vec<String> = report
            .outcomes
            .iter()
            .map(|o| format!("{}: {}", o.action.describe(), o.status_text()))
            .collect();
        description.push_str(&format!(" mamoru: {}.", done.join("; ")));
    }
    Ok(Some(Detection {
        id,
        product_arn: home.product_arn(),
        generator_id: format!("{GENERATOR_PREFIX}{rule}"),
        aws_account_id: account.to_string(),
        region,
        severity: label(plan.severity.band).to_string(),
        title: bounded(
            &crate::redact::text(&format!("mamoru: {}", plan.title)),
            TITLE_MAX,
        ),
        description: bounded(&crate::redact::text(&description), DESCRIPTION_MAX),
        types: vec![FINDING_TYPE.to_string()],
        resources,
        first_observed_at: call
            .event_time
            .clone()
            .or_else(|| plan.time.clone())
            .unwrap_or_default(),
    }))
}

/// The ASFF resource type of a kind of resource (`Other` for a kind ASFF has no type for).
fn asff_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Trail => "AwsCloudTrailTrail",
        Kind::IamUser => "AwsIamUser",
        Kind::IamRole => "AwsIamRole",
        Kind::IamGroup => "AwsIamGroup",
        Kind::AccessKey => "AwsIamAccessKey",
        Kind::SecurityGroup => "AwsEc2SecurityGroup",
        Kind::S3Bucket => "AwsS3Bucket",
        Kind::S3Object => "AwsS3Object",
        Kind::SnsTopic => "AwsSnsTopic",
        Kind::LambdaFunction => "AwsLambdaFunction",
        Kind::Ec2Instance => "AwsEc2Instance",
        Kind::EksCluster => "AwsEksCluster",
        _ => "Other",
    }
}

/// The ASFF type of every detection: a watched call made by a principal (`Unusual
/// Behaviors/User`). The playbook's CloudTrail rules watch tampering, data shared out and
/// persistence alike; the title says which.
pub const FINDING_TYPE: &str = "Unusual Behaviors/User";

/// An identifier kept to the characters Security Hub's finding IDs use in practice.
fn clean_id(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.:".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `text` cut to at most `max` characters, ending with `…` when cut.
fn bounded(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Whether a Security Hub finding is one mamoru published: the `default` product of `hub`
/// (the stack's own account), owned by `hub`, with mamoru's generator. Not attacker text
/// alone: the product and the owning account can only be the stack's own when a principal of
/// the stack's account imported it.
pub fn is_own_finding(f: &AsffFinding, hub: &str) -> bool {
    let parts: Vec<&str> = f.product_arn.split(':').collect();
    let product_ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "securityhub"
        && parts[4] == hub
        && parts[5] == format!("product/{hub}/default");
    product_ok
        && f.aws_account_id == hub
        && f.generator_id
            .as_deref()
            .is_some_and(|g| g.starts_with(GENERATOR_PREFIX))
}

/// The port that imports. Never panics: every error is a `Failed` outcome.
pub trait Import: Send + Sync {
    /// Where it imports.
    fn home(&self) -> &Home;
    fn import<'a>(
        &'a self,
        detection: &'a Detection,
    ) -> crate::state::BoxFuture<'a, PublishOutcome>;
}

#[cfg(test)]
mod tests;
