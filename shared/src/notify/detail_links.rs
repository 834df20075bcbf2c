//! Console links for the resources an alert's detail lines point at ([`Linked`]). Each link is
//! built from an identifier checked against what AWS allows for that kind of resource, and
//! percent-encoded: a name that could not be a real identifier gets no link.

use super::links::{console_host, encode, partition_of_region, region_ok};
use crate::decide::Plan;
use crate::decide::details::Linked;

fn chars_ok(s: &str, max: usize, ok: impl Fn(u8) -> bool) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(ok)
}

/// IAM user and role names: letters, digits and `+=,.@_-`, at most 64 (roles) or 128 (users).
fn iam_name_ok(s: &str, max: usize) -> bool {
    chars_ok(s, max, |b| {
        b.is_ascii_alphanumeric() || matches!(b, b'+' | b'=' | b',' | b'.' | b'@' | b'_' | b'-')
    })
}

fn bucket_ok(s: &str) -> bool {
    s.len() >= 3
        && chars_ok(s, 63, |b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-'
        })
}

fn instance_ok(s: &str) -> bool {
    s.strip_prefix("i-")
        .is_some_and(|hex| chars_ok(hex, 17, |b| b.is_ascii_hexdigit()) && hex.len() >= 8)
}

/// Cluster, database and function names: letters, digits, `-` and `_`.
fn simple_name_ok(s: &str, max: usize) -> bool {
    chars_ok(s, max, |b| {
        b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
    })
}

/// The console link for one resource, or `None` when its identifier is not one AWS allows.
pub(crate) fn link(plan: &Plan, target: &Linked) -> Option<String> {
    let partition = plan
        .refs
        .partition
        .as_deref()
        .unwrap_or_else(|| partition_of_region(&plan.region));
    let host = console_host(partition)?;
    let regional =
        |region: &str, path: String| region_ok(region).then(|| format!("https://{host}/{path}"));
    match target {
        Linked::IamUser { name } => iam_name_ok(name, 128).then(|| {
            format!(
                "https://{host}/iam/home#/users/details/{}",
                encode(name, false)
            )
        }),
        Linked::IamRole { name } => iam_name_ok(name, 64).then(|| {
            format!(
                "https://{host}/iam/home#/roles/details/{}",
                encode(name, false)
            )
        }),
        Linked::Bucket { name } => {
            bucket_ok(name).then(|| format!("https://{host}/s3/buckets/{}", encode(name, false)))
        }
        Linked::Instance { id, region } => instance_ok(id)
            .then(|| {
                regional(
                    region,
                    format!("ec2/home?region={region}#InstanceDetails:instanceId={id}"),
                )
            })
            .flatten(),
        Linked::EksCluster { name, region } => simple_name_ok(name, 100)
            .then(|| regional(region, format!("eks/home?region={region}#/clusters/{name}")))
            .flatten(),
        Linked::EcsCluster { name, region } => simple_name_ok(name, 255)
            .then(|| regional(region, format!("ecs/v2/clusters/{name}?region={region}")))
            .flatten(),
        Linked::DbInstance { id, region } => simple_name_ok(id, 63)
            .then(|| {
                regional(
                    region,
                    format!("rds/home?region={region}#database:id={id};is-cluster=false"),
                )
            })
            .flatten(),
        Linked::DbCluster { id, region } => simple_name_ok(id, 63)
            .then(|| {
                regional(
                    region,
                    format!("rds/home?region={region}#database:id={id};is-cluster=true"),
                )
            })
            .flatten(),
        Linked::Function { name, region } => simple_name_ok(name, 64)
            .then(|| {
                regional(
                    region,
                    format!("lambda/home?region={region}#/functions/{name}"),
                )
            })
            .flatten(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_aws_would_refuse_make_no_link() {
        assert!(iam_name_ok("john_doe", 128));
        assert!(!iam_name_ok("john doe", 128));
        assert!(!iam_name_ok("a/../b", 128));
        assert!(!iam_name_ok(&"r".repeat(65), 64));
        assert!(bucket_ok("amzn-s3-demo-bucket"));
        assert!(!bucket_ok("Bucket"));
        assert!(!bucket_ok("b#x"));
        assert!(instance_ok("i-0123456789abcdef0"));
        assert!(instance_ok("i-abcd1234"));
        assert!(!instance_ok("i-abc"));
        assert!(!instance_ok("i-zzzzzzzz"));
        assert!(simple_name_ok("prod-cluster", 100));
        assert!(!simple_name_ok("prod](x)", 100));
    }
}
