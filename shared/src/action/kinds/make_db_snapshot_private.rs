//! `make_db_snapshot_private`: `rds:ModifyDBSnapshotAttribute` removing the value `all` from the
//! `restore` attribute of the manual RDS DB snapshot a ModifyDBSnapshotAttribute call made
//! public, in the call's region and account. Only that value: the accounts the snapshot is shared
//! with stay (their removal is `unshare_db_snapshot_accounts`, opt-in).
//!
//! The helpers here serve the four RDS snapshot actions: DB snapshots and DB cluster snapshots
//! (Aurora, Multi-AZ clusters), public and outside accounts. They differ only in the API, the
//! identifier's parameter name and the ARN the grants are scoped to.

use serde_json::{Value, json};

use crate::action::{Action, ActionDef, Target, Words, required};
use crate::decide::facts::added_shares;
use crate::event::{CloudTrailCall, DT_CLOUDTRAIL_CALL, Event, EventKind};

pub struct Def;

/// Which RDS snapshot API a call or an action is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Kind {
    /// DB cluster snapshot (`ModifyDBClusterSnapshotAttribute`) rather than DB snapshot.
    pub(crate) cluster: bool,
}

impl Kind {
    pub(crate) const INSTANCE: Kind = Kind { cluster: false };
    pub(crate) const CLUSTER: Kind = Kind { cluster: true };

    /// The CloudTrail event name and the API operation: `ModifyDBSnapshotAttribute`.
    pub(crate) fn operation(self) -> &'static str {
        if self.cluster {
            "ModifyDBClusterSnapshotAttribute"
        } else {
            "ModifyDBSnapshotAttribute"
        }
    }

    /// The identifier's name in the CloudTrail record's `requestParameters`.
    fn request_field(self) -> &'static str {
        if self.cluster {
            "dBClusterSnapshotIdentifier"
        } else {
            "dBSnapshotIdentifier"
        }
    }

    /// The identifier's name in the API: `DBSnapshotIdentifier`.
    fn api_field(self) -> &'static str {
        if self.cluster {
            "DBClusterSnapshotIdentifier"
        } else {
            "DBSnapshotIdentifier"
        }
    }

    /// For people: `RDS DB snapshot`.
    pub(crate) fn noun(self) -> &'static str {
        if self.cluster {
            "RDS DB cluster snapshot"
        } else {
            "RDS DB snapshot"
        }
    }
}

/// A manual DB snapshot or DB cluster snapshot identifier as RDS allows it: 1 to 255 letters,
/// digits and hyphens, starting with a letter. Automated snapshots (`rds:…`) cannot be shared,
/// and an ARN would name a resource the call's own parameters do not.
pub(crate) fn db_snapshot_id_ok(id: &str) -> bool {
    id.len() <= 255
        && id.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// The snapshot a ModifyDB[Cluster]SnapshotAttribute call names and what it shared through the
/// `restore` attribute: (region, identifier, public, accounts).
pub(crate) fn bind_db_snapshot(
    def: &dyn ActionDef,
    kind: Kind,
    event: &Event,
) -> Result<(String, String, bool, Vec<String>), String> {
    let EventKind::CloudTrailCall(c) = &event.kind else {
        return Err(def.unsupported(event));
    };
    if c.event_source != "rds.amazonaws.com" || c.event_name != kind.operation() {
        return Err(format!(
            "{} acts on {} calls, not {}",
            def.name(),
            kind.operation(),
            c.event_name
        ));
    }
    let id = required(c, kind.request_field())?;
    if !db_snapshot_id_ok(&id) {
        return Err(format!(
            "requestParameters.{} is not a manual snapshot identifier",
            kind.request_field()
        ));
    }
    let shares = added_shares(c).ok_or("the call adds no value to the restore attribute")?;
    Ok((c.aws_region.clone(), id, shares.public, shares.accounts))
}

/// The public form of the binding: the snapshot, with `all` only.
pub(crate) fn bind_public(
    def: &dyn ActionDef,
    kind: Kind,
    event: &Event,
) -> Result<(String, Target), String> {
    let (region, identifier, public, _) = bind_db_snapshot(def, kind, event)?;
    if !public {
        return Err(format!("the call does not make the {} public", kind.noun()));
    }
    Ok((
        region,
        Target::DbSnapshot {
            cluster: kind.cluster,
            identifier,
            public: true,
            accounts: Vec::new(),
        },
    ))
}

/// The outside-accounts form of the binding: the snapshot, with the account IDs the call added
/// (narrowed to the outside ones by [`scope_accounts`]).
pub(crate) fn bind_accounts(
    def: &dyn ActionDef,
    kind: Kind,
    event: &Event,
) -> Result<(String, Target), String> {
    let (region, identifier, _, accounts) = bind_db_snapshot(def, kind, event)?;
    let accounts: Vec<String> = accounts
        .into_iter()
        .filter(|a| super::unshare_public_snapshot::account_id_ok(a))
        .collect();
    if accounts.is_empty() {
        return Err(format!(
            "the call shares the {} with no account ID",
            kind.noun()
        ));
    }
    Ok((
        region,
        Target::DbSnapshot {
            cluster: kind.cluster,
            identifier,
            public: false,
            accounts,
        },
    ))
}

/// Keeps only the accounts that are outside; `Err` when every one is trusted.
pub(crate) fn scope_accounts(
    target: Target,
    outside: &dyn Fn(&str) -> bool,
) -> Result<Target, String> {
    match target {
        Target::DbSnapshot {
            cluster,
            identifier,
            public,
            accounts,
        } => {
            let accounts: Vec<String> = accounts.into_iter().filter(|a| outside(a)).collect();
            if accounts.is_empty() && !public {
                return Err("every account the snapshot was shared with is trusted".into());
            }
            Ok(Target::DbSnapshot {
                cluster,
                identifier,
                public,
                accounts,
            })
        }
        other => Ok(other),
    }
}

/// The request parameters: the `restore` values to remove.
pub(crate) fn db_snapshot_params(target: &Target) -> Value {
    match target {
        Target::DbSnapshot {
            cluster,
            identifier,
            public,
            accounts,
        } => {
            let kind = Kind { cluster: *cluster };
            let mut remove: Vec<&str> = Vec::new();
            if *public {
                remove.push("all");
            }
            remove.extend(accounts.iter().map(String::as_str));
            let mut p = json!({"AttributeName": "restore", "ValuesToRemove": remove});
            p[kind.api_field()] = json!(identifier);
            p
        }
        _ => Value::Null,
    }
}

/// Whether a ModifyDB[Cluster]SnapshotAttribute record only takes values away from `restore`:
/// the call these actions make. `None` for other APIs.
pub(crate) fn restores_db_snapshot(kind: Kind, call: &CloudTrailCall) -> Option<bool> {
    if !crate::action::call_is(call, "rds.amazonaws.com", kind.operation()) {
        return None;
    }
    let p = &call.request_parameters;
    let nonempty = |k: &str| {
        p.get(k)
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
    };
    Some(
        p.get("attributeName").and_then(Value::as_str) == Some("restore")
            && !nonempty("valuesToAdd")
            && nonempty("valuesToRemove"),
    )
}

/// The resource, for people: `RDS DB snapshot exfiltration`.
pub fn db_snapshot_resource(cluster: bool, identifier: &str) -> String {
    format!("{} {identifier}", Kind { cluster }.noun())
}

impl ActionDef for Def {
    fn name(&self) -> &'static str {
        "make_db_snapshot_private"
    }
    fn summary(&self) -> &'static str {
        "Make private again the RDS DB snapshot a ModifyDBSnapshotAttribute call made public (remove the `all` value of `restore` only)"
    }
    fn api(&self) -> &'static str {
        "rds:ModifyDBSnapshotAttribute"
    }
    fn grants(&self) -> &'static [crate::action::Grant] {
        GRANTS_INSTANCE
    }
    fn detail_types(&self) -> &'static [&'static str] {
        &[DT_CLOUDTRAIL_CALL]
    }
    fn words(&self) -> Words {
        Words {
            done: "DB snapshot made private",
            already: "DB snapshot already private",
            would: "would make DB snapshot private",
            noun: "DB snapshot unsharing",
            withheld: "remove the DB snapshot's public restore permission",
        }
    }
    fn bind(&self, event: &Event) -> Result<(String, Target), String> {
        bind_public(self, Kind::INSTANCE, event)
    }
    fn params(&self, target: &Target) -> Value {
        db_snapshot_params(target)
    }
    fn describe(&self, action: &Action) -> String {
        format!(
            "remove the public (all) restore permission of {}",
            action.resource()
        )
    }
    fn restores(&self, call: &CloudTrailCall) -> Option<bool> {
        restores_db_snapshot(Kind::INSTANCE, call)
    }
}

/// The grants of the DB snapshot actions: read and change the attributes of the account's DB
/// snapshots in the region.
pub(crate) const GRANTS_INSTANCE: &[crate::action::Grant] = &[crate::action::Grant::on(
    &[
        "rds:DescribeDBSnapshotAttributes",
        "rds:ModifyDBSnapshotAttribute",
    ],
    &[crate::action::Grant::DB_SNAPSHOTS],
)];

/// The same for DB cluster snapshots.
pub(crate) const GRANTS_CLUSTER: &[crate::action::Grant] = &[crate::action::Grant::on(
    &[
        "rds:DescribeDBClusterSnapshotAttributes",
        "rds:ModifyDBClusterSnapshotAttribute",
    ],
    &[crate::action::Grant::DB_CLUSTER_SNAPSHOTS],
)];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn db_snapshot_identifiers_are_manual_names() {
        assert!(db_snapshot_id_ok("exfiltration"));
        assert!(db_snapshot_id_ok("my-db-snapshot-1"));
        assert!(!db_snapshot_id_ok(""));
        assert!(!db_snapshot_id_ok("1abc"));
        assert!(!db_snapshot_id_ok("rds:orders-2024-08-01"));
        assert!(!db_snapshot_id_ok(
            "arn:aws:rds:us-east-1:123456789012:snapshot:x"
        ));
        assert!(!db_snapshot_id_ok(&"a".repeat(256)));
    }
}
