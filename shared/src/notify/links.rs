//! Links into the AWS console for what a notification is about: the GuardDuty finding, the
//! trail, the IAM user, and the CloudTrail record in event history.
//!
//! The console host depends on the partition: `console.aws.amazon.com` (aws),
//! `console.amazonaws-us-gov.com` (aws-us-gov), `console.amazonaws.cn` (aws-cn). For partitions
//! whose console is not public (the ISO partitions) no link is made rather than a wrong one.

use serde::Serialize;

use crate::decide::Plan;

/// The console links of one notification. Stable names: they are part of the notification
/// document (`links`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Links {
    /// The GuardDuty finding, in the finding's region.
    pub guardduty_finding: Option<String>,
    /// The trail's details page, in its home region.
    pub trail: Option<String>,
    /// The IAM user's details page (IAM is global).
    pub iam_user: Option<String>,
    /// CloudTrail event history, looked up by the record's event id in the region of the call.
    pub cloudtrail_event: Option<String>,
}

impl Links {
    /// The links, labelled for people, in a fixed order.
    pub fn labelled(&self) -> Vec<(&'static str, &str)> {
        [
            ("GuardDuty finding", &self.guardduty_finding),
            ("Trail", &self.trail),
            ("IAM user", &self.iam_user),
            ("CloudTrail event history", &self.cloudtrail_event),
        ]
        .into_iter()
        .filter_map(|(label, url)| url.as_deref().map(|u| (label, u)))
        .collect()
    }
}

/// The console host for a partition, if it has a public one.
pub fn console_host(partition: &str) -> Option<&'static str> {
    match partition {
        "aws" => Some("console.aws.amazon.com"),
        "aws-us-gov" => Some("console.amazonaws-us-gov.com"),
        "aws-cn" => Some("console.amazonaws.cn"),
        _ => None,
    }
}

/// The partition a region belongs to.
pub fn partition_of_region(region: &str) -> &'static str {
    if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-iso") || region.starts_with("eu-isoe-") {
        "aws-iso"
    } else {
        "aws"
    }
}

/// Percent-encodes a value for a URL query or fragment, keeping only unreserved characters
/// and, when `keep_arn` is set, the `:` and `/` an ARN is made of.
pub(crate) fn encode(value: &str, keep_arn: bool) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || (keep_arn && matches!(b, b':' | b'/'));
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A region name as the console takes it; anything else makes no link.
pub(crate) fn region_ok(region: &str) -> bool {
    !region.is_empty()
        && region.len() <= 32
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Longest identifier put in a link: real ones are far shorter (an ARN of a trail is about 100
/// characters), so anything longer is not linked.
const ID_MAX: usize = 512;

/// The console links for a plan.
pub fn links(plan: &Plan) -> Links {
    let refs = &plan.refs;
    let id = |v: &Option<String>| v.clone().filter(|s| !s.is_empty() && s.len() <= ID_MAX);
    let partition = refs
        .partition
        .as_deref()
        .unwrap_or_else(|| partition_of_region(&plan.region));
    let Some(host) = console_host(partition) else {
        return Links::default();
    };
    let regional = |region: &str, path_and_fragment: String| -> Option<String> {
        region_ok(region).then(|| format!("https://{host}/{path_and_fragment}"))
    };

    let guardduty_finding = id(&refs.finding_id).and_then(|id| {
        let r = &plan.region;
        regional(
            r,
            format!(
                "guardduty/home?region={r}#/findings?search=id%3D{}",
                encode(&id, false)
            ),
        )
    });
    let trail = id(&refs.trail_arn).and_then(|arn| {
        let r = crate::action::arn_region(&arn).unwrap_or(&plan.region);
        regional(
            r,
            format!("cloudtrail/home?region={r}#/trails/{}", encode(&arn, true)),
        )
    });
    let iam_user = id(&refs.iam_user).map(|name| {
        format!(
            "https://{host}/iam/home#/users/details/{}",
            encode(&name, false)
        )
    });
    let cloudtrail_event = id(&refs.cloudtrail_event_id).and_then(|id| {
        let r = refs.cloudtrail_region.as_deref().unwrap_or(&plan.region);
        regional(
            r,
            format!(
                "cloudtrail/home?region={r}#/events?EventId={}",
                encode(&id, false)
            ),
        )
    });
    Links {
        guardduty_finding,
        trail,
        iam_user,
        cloudtrail_event,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_and_hosts() {
        assert_eq!(partition_of_region("eu-west-1"), "aws");
        assert_eq!(partition_of_region("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition_of_region("cn-north-1"), "aws-cn");
        assert_eq!(console_host("aws-iso"), None);
        assert_eq!(
            console_host(partition_of_region("cn-northwest-1")),
            Some("console.amazonaws.cn")
        );
    }

    #[test]
    fn values_are_encoded_and_arns_stay_readable() {
        assert_eq!(encode("a b&c#d", false), "a%20b%26c%23d");
        assert_eq!(
            encode("arn:aws:cloudtrail:eu-west-1:123456789012:trail/org", true),
            "arn:aws:cloudtrail:eu-west-1:123456789012:trail/org"
        );
        assert_eq!(encode("user+name@x", false), "user%2Bname%40x");
    }

    #[test]
    fn odd_regions_make_no_link() {
        assert!(region_ok("ap-southeast-2"));
        assert!(!region_ok("eu-west-1#/evil"));
        assert!(!region_ok(""));
    }
}
