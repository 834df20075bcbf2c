//! The executor of `make_db_snapshot_private`. Its definition (name, grants, binding, words) is in the core:
//! `shared/src/action/kinds/make_db_snapshot_private.rs`.

use mamoru_core::action::kinds::make_db_snapshot_private as this;

use serde_json::{Value, json};

use crate::action::exec::{Clients, Execute, Failure, failure};
use crate::action::{Action, Outcome, Status, Target};

impl Execute for this::Def {
    async fn execute(&self, clients: &Clients, action: &Action) -> Outcome {
        unshare_db_snapshot(clients, action).await
    }
}

/// The error codes for a snapshot that does not exist: RDS's (API reference:
/// `DBSnapshotNotFound`, `DBClusterSnapshotNotFoundFault`) and the emulator's spelling of the
/// first (`DBSnapshotNotFoundFault`).
const NOT_FOUND: &[&str] = &[
    "DBSnapshotNotFound",
    "DBSnapshotNotFoundFault",
    "DBClusterSnapshotNotFoundFault",
];

/// The `restore` values of the snapshot: whether `all` is one, and the accounts.
async fn read(
    client: &aws_sdk_rds::Client,
    action: &Action,
    cluster: bool,
    id: &str,
) -> Result<(bool, Vec<String>), Outcome> {
    let api = if cluster {
        "rds:DescribeDBClusterSnapshotAttributes"
    } else {
        "rds:DescribeDBSnapshotAttributes"
    };
    // `failure` keeps the service's error code: a missing snapshot is "not found".
    let classify = |f: Failure| {
        if f.code.as_deref().is_some_and(|c| NOT_FOUND.contains(&c)) {
            Outcome::not_found(action, &this::db_snapshot_resource(cluster, id))
        } else {
            Outcome::failed(action, f)
        }
    };
    let values: Vec<String> = if cluster {
        match client
            .describe_db_cluster_snapshot_attributes()
            .db_cluster_snapshot_identifier(id)
            .send()
            .await
        {
            Ok(out) => out
                .db_cluster_snapshot_attributes_result()
                .map(|r| r.db_cluster_snapshot_attributes())
                .unwrap_or_default()
                .iter()
                .filter(|a| a.attribute_name() == Some("restore"))
                .flat_map(|a| a.attribute_values().iter().cloned())
                .collect(),
            Err(err) => return Err(classify(failure(api, err))),
        }
    } else {
        match client
            .describe_db_snapshot_attributes()
            .db_snapshot_identifier(id)
            .send()
            .await
        {
            Ok(out) => out
                .db_snapshot_attributes_result()
                .map(|r| r.db_snapshot_attributes())
                .unwrap_or_default()
                .iter()
                .filter(|a| a.attribute_name() == Some("restore"))
                .flat_map(|a| a.attribute_values().iter().cloned())
                .collect(),
            Err(err) => return Err(classify(failure(api, err))),
        }
    };
    let public = values.iter().any(|v| v == "all");
    let accounts = values.into_iter().filter(|v| v != "all").collect();
    Ok((public, accounts))
}

fn state(public: bool, accounts: &[String]) -> Value {
    json!({"Public": public, "SharedWith": accounts})
}

/// Removes exactly what the target names and the snapshot still grants: `all`, the
/// accounts. Idempotent: nothing left to remove is "already done"; a snapshot that does not
/// exist is a failure.
pub(crate) async fn unshare_db_snapshot(clients: &Clients, action: &Action) -> Outcome {
    let Target::DbSnapshot {
        cluster,
        identifier,
        public,
        accounts,
    } = &action.target
    else {
        return Outcome::wrong_target(action);
    };
    let cluster = *cluster;
    let noun = this::db_snapshot_resource(cluster, identifier);
    let client = clients.rds.get(&action.region);
    let (was_public, shared) = match read(&client, action, cluster, identifier).await {
        Ok(s) => s,
        Err(outcome) => return outcome,
    };
    let before = state(was_public, &shared);
    let remove_public = *public && was_public;
    let remove: Vec<&String> = accounts.iter().filter(|a| shared.contains(a)).collect();
    if !remove_public && remove.is_empty() {
        return Outcome::new(
            action,
            Status::AlreadyDone,
            format!("{noun} no longer grants what the call shared"),
        )
        .with_state(Some(before.clone()), Some(before));
    }
    let mut values: Vec<String> = Vec::new();
    if remove_public {
        values.push("all".into());
    }
    values.extend(remove.iter().map(|a| a.to_string()));
    let sent = if cluster {
        client
            .modify_db_cluster_snapshot_attribute()
            .db_cluster_snapshot_identifier(identifier)
            .attribute_name("restore")
            .set_values_to_remove(Some(values))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| failure("rds:ModifyDBClusterSnapshotAttribute", e))
    } else {
        client
            .modify_db_snapshot_attribute()
            .db_snapshot_identifier(identifier)
            .attribute_name("restore")
            .set_values_to_remove(Some(values))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| failure("rds:ModifyDBSnapshotAttribute", e))
    };
    if let Err(f) = sent {
        return Outcome::failed(action, f);
    }
    let after = match read(&client, action, cluster, identifier).await {
        Ok((p, a)) => state(p, &a),
        Err(outcome) => return outcome,
    };
    let mut what = Vec::new();
    if remove_public {
        what.push("public access".to_string());
    }
    if !remove.is_empty() {
        let list: Vec<&str> = remove.iter().map(|a| a.as_str()).collect();
        what.push(format!("sharing with {}", list.join(", ")));
    }
    Outcome::new(
        action,
        Status::Done,
        format!("{noun}: {} removed", what.join(" and ")),
    )
    .with_state(Some(before), Some(after))
}
