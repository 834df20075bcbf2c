//! `revoke_added_ingress` (opt-in): `ec2:RevokeSecurityGroupIngress` of exactly the world-open
//! admin-port ranges an AuthorizeSecurityGroupIngress call added to the group it names (22, 3389
//! or every port, to 0.0.0.0/0, ::/0 or another range that is most of the internet), in the
//! call's account and region. A successful call adds only rules the group did not hold (EC2
//! refuses a duplicate), so revoking the same protocol, ports and range takes back what the call
//! added and nothing the group had before; the call's other ranges and the group's other rules
//! stay.

use serde_json::{Value, json};

use crate::action::{Action, ActionDef, Grant, Target, Words, call_is, required};
use crate::decide::facts::{IngressRange, added_world_open_ingress};
use crate::event::{CloudTrailCall, DT_CLOUDTRAIL_CALL, Event, EventKind};

use super::unshare_public_snapshot::ec2_id_ok;

pub struct Def;

impl ActionDef for Def {
    fn name(&self) -> &'static str {
        "revoke_added_ingress"
    }
    fn summary(&self) -> &'static str {
        "Revoke exactly the world-open admin-port ranges (22, 3389, all ports) an AuthorizeSecurityGroupIngress call added (opt-in)"
    }
    fn api(&self) -> &'static str {
        "ec2:RevokeSecurityGroupIngress"
    }
    fn grants(&self) -> &'static [Grant] {
        const GRANTS: &[Grant] = &[
            Grant::anywhere(&["ec2:DescribeSecurityGroups"]),
            Grant::on(
                &["ec2:RevokeSecurityGroupIngress"],
                &[Grant::SECURITY_GROUPS],
            ),
        ];
        GRANTS
    }
    fn detail_types(&self) -> &'static [&'static str] {
        &[DT_CLOUDTRAIL_CALL]
    }
    fn words(&self) -> Words {
        Words {
            done: "added ingress revoked",
            already: "added ingress already gone",
            would: "would revoke added ingress",
            noun: "ingress revocation",
            withheld: "revoke the world-open ingress the call added",
        }
    }
    fn bind(&self, event: &Event) -> Result<(String, Target), String> {
        let EventKind::CloudTrailCall(c) = &event.kind else {
            return Err(self.unsupported(event));
        };
        if !call_is(c, "ec2.amazonaws.com", "AuthorizeSecurityGroupIngress") {
            return Err(format!(
                "{} acts on AuthorizeSecurityGroupIngress calls, not {}",
                self.name(),
                c.event_name
            ));
        }
        // A call naming the group by name only (a default VPC's group) binds nothing: the ID is
        // what the revocation names.
        let group_id = required(c, "groupId")?;
        if !ec2_id_ok(&group_id, "sg") {
            return Err(format!("{group_id} is not a security group ID"));
        }
        let ranges =
            added_world_open_ingress(c).ok_or("the call opens no admin port to the world")?;
        Ok((c.aws_region.clone(), Target::Ingress { group_id, ranges }))
    }
    fn params(&self, target: &Target) -> Value {
        match target {
            Target::Ingress { group_id, ranges } => json!({
                "GroupId": group_id,
                "IpPermissions": ranges.iter().map(permission_params).collect::<Vec<_>>(),
            }),
            _ => Value::Null,
        }
    }
    fn describe(&self, action: &Action) -> String {
        let ranges = match &action.target {
            Target::Ingress { ranges, .. } => ranges.iter().map(show).collect::<Vec<_>>(),
            _ => Vec::new(),
        };
        format!(
            "revoke {} from {}",
            ranges.join(", "),
            action.resource()
        )
    }
    fn restores(&self, call: &CloudTrailCall) -> Option<bool> {
        call_is(call, "ec2.amazonaws.com", "RevokeSecurityGroupIngress").then_some(true)
    }
}

/// One range as RevokeSecurityGroupIngress takes it.
fn permission_params(r: &IngressRange) -> Value {
    let mut p = json!({ "IpProtocol": r.protocol });
    if let (Some(from), Some(to)) = (r.from_port, r.to_port) {
        p["FromPort"] = json!(from);
        p["ToPort"] = json!(to);
    }
    if r.is_ipv6() {
        p["Ipv6Ranges"] = json!([{ "CidrIpv6": r.cidr }]);
    } else {
        p["IpRanges"] = json!([{ "CidrIp": r.cidr }]);
    }
    p
}

/// `tcp 22 from 0.0.0.0/0`, `all traffic from ::/0`.
pub fn show(r: &IngressRange) -> String {
    let ports = match (r.protocol.as_str(), r.from_port, r.to_port) {
        ("-1", _, _) => "all traffic".to_string(),
        (p, Some(f), Some(t)) if f == t => format!("{p} {f}"),
        (p, Some(f), Some(t)) => format!("{p} {f}-{t}"),
        (p, _, _) => p.to_string(),
    };
    format!("{ports} from {}", r.cidr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_name_each_range_with_its_ports() {
        let target = Target::Ingress {
            group_id: "sg-1".into(),
            ranges: vec![
                IngressRange {
                    protocol: "tcp".into(),
                    from_port: Some(22),
                    to_port: Some(22),
                    cidr: "0.0.0.0/0".into(),
                },
                IngressRange {
                    protocol: "-1".into(),
                    from_port: None,
                    to_port: None,
                    cidr: "::/0".into(),
                },
            ],
        };
        assert_eq!(
            Def.params(&target),
            json!({"GroupId": "sg-1", "IpPermissions": [
                {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]},
                {"IpProtocol": "-1", "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}
            ]})
        );
    }
}
