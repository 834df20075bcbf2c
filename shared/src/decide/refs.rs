//! Identifiers an event carries that people follow up on: the GuardDuty finding, the CloudTrail
//! record, the trail and the IAM user concerned. Notifications turn them into console links;
//! machines read them from the notification document.

use serde::Serialize;

use crate::event::{Event, EventKind};

/// What the event names, by identifier. Each member is present only when the event says it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Refs {
    /// The AWS partition (`aws`, `aws-us-gov`, `aws-cn`), when the event names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    /// The GuardDuty finding id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finding_id: Option<String>,
    /// The GuardDuty detector that produced the finding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detector_id: Option<String>,
    /// The CloudTrail record's `eventID`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloudtrail_event_id: Option<String>,
    /// The region whose CloudTrail event history holds the record (`awsRegion`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloudtrail_region: Option<String>,
    /// The trail concerned, as an ARN (its region is the trail's home region).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trail_arn: Option<String>,
    /// The IAM user concerned: the user whose key a finding names, the user a call acted on, or
    /// the IAM user who made the call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iam_user: Option<String>,
}

impl Refs {
    pub fn is_empty(&self) -> bool {
        *self == Refs::default()
    }

    /// Reads the identifiers from an event.
    pub fn of(event: &Event) -> Refs {
        let mut refs = Refs::default();
        match &event.kind {
            EventKind::GuardDutyFinding(f) => {
                refs.partition = non_empty(f.partition.as_deref());
                refs.finding_id = non_empty(Some(&f.id));
                refs.detector_id = non_empty(f.detector_id());
                if let Some(k) = &f.resource.access_key_details
                    && k.user_type.as_deref() == Some("IAMUser")
                {
                    refs.iam_user = non_empty(k.user_name.as_deref());
                }
            }
            EventKind::CloudTrailCall(c) | EventKind::ConsoleSignIn(c) => {
                let id = &c.user_identity;
                refs.partition = id
                    .arn
                    .as_deref()
                    .and_then(arn_partition)
                    .map(str::to_string);
                refs.cloudtrail_event_id = non_empty(c.event_id.as_deref());
                refs.cloudtrail_region = non_empty(Some(&c.aws_region));
                let account = c.account_id().map(String::as_str).unwrap_or(&event.account);
                if c.event_source == "cloudtrail.amazonaws.com"
                    && !matches!(c.event_name.as_str(), "DeleteTrail" | "CreateTrail")
                    && let Some(name) = c.request_str("name").or(c.request_str("trailName"))
                {
                    let partition = refs.partition.as_deref().unwrap_or("aws");
                    refs.trail_arn = Some(trail_arn(name, partition, &c.aws_region, account));
                }
                let acted_on = (c.event_source == "iam.amazonaws.com")
                    .then(|| c.request_str("userName"))
                    .flatten();
                let caller = (id.identity_type.as_deref() == Some("IAMUser"))
                    .then_some(id.user_name.as_deref())
                    .flatten();
                refs.iam_user = non_empty(acted_on.or(caller));
            }
            EventKind::ConfigItemChange(c) => {
                let ci = &c.configuration_item;
                let name = ci.resource_name.as_deref().or(ci.resource_id.as_deref());
                match ci.resource_type.as_str() {
                    "AWS::CloudTrail::Trail" => {
                        refs.partition = ci
                            .arn
                            .as_deref()
                            .and_then(arn_partition)
                            .map(str::to_string);
                        refs.trail_arn =
                            ci.arn
                                .clone()
                                .filter(|a| a.starts_with("arn:"))
                                .or_else(|| {
                                    name.map(|n| trail_arn(n, "aws", &event.region, &event.account))
                                });
                    }
                    "AWS::IAM::User" => refs.iam_user = non_empty(name),
                    _ => {}
                }
            }
            EventKind::SecurityHub(sh) => {
                refs.partition = sh
                    .finding()
                    .and_then(|f| arn_partition(&f.product_arn))
                    .map(str::to_string);
            }
            EventKind::SecurityHubOcsf(sh) => {
                refs.partition = sh
                    .finding()
                    .and_then(|f| arn_partition(&f.metadata.product.uid))
                    .map(str::to_string);
            }
            EventKind::ConfigComplianceChange(_)
            | EventKind::GuardDutyService(_)
            | EventKind::Unhandled => {}
        }
        refs
    }
}

fn non_empty(s: Option<&str>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty()).map(str::to_string)
}

/// The partition of an ARN (`arn:PARTITION:…`).
pub fn arn_partition(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(3, ':');
    (parts.next()? == "arn")
        .then(|| parts.next())
        .flatten()
        .filter(|p| !p.is_empty())
}

/// A trail's ARN from a name or an ARN. A bare name is in the region the call was made in (a
/// trail can only be named without its ARN from its home region).
fn trail_arn(name_or_arn: &str, partition: &str, region: &str, account: &str) -> String {
    if name_or_arn.starts_with("arn:") {
        name_or_arn.to_string()
    } else {
        format!("arn:{partition}:cloudtrail:{region}:{account}:trail/{name_or_arn}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_is_read_from_an_arn() {
        assert_eq!(
            arn_partition("arn:aws-us-gov:iam::123456789012:user/a"),
            Some("aws-us-gov")
        );
        assert_eq!(arn_partition("arn::iam::1:user/a"), None);
        assert_eq!(arn_partition("not-an-arn"), None);
    }

    #[test]
    fn a_trail_name_becomes_an_arn_in_the_call_region() {
        assert_eq!(
            trail_arn("org", "aws", "eu-west-1", "123456789012"),
            "arn:aws:cloudtrail:eu-west-1:123456789012:trail/org"
        );
        let arn = "arn:aws:cloudtrail:us-east-2:123456789012:trail/x";
        assert_eq!(trail_arn(arn, "aws", "eu-west-1", "123456789012"), arn);
    }
}
