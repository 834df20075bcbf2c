//! The executor of `enable_domain_transfer_lock`. Its definition (name, grants, binding, words) is in the core:
//! `shared/src/action/kinds/enable_domain_transfer_lock.rs`.

use mamoru_core::action::kinds::enable_domain_transfer_lock as this;

use serde_json::json;

use crate::action::exec::{Clients, Execute, Failure, failure};
use crate::action::{Action, Outcome, Status, Target};

impl Execute for this::Def {
    async fn execute(&self, clients: &Clients, action: &Action) -> Outcome {
        let Target::Domain { name } = &action.target else {
            return Outcome::wrong_target(action);
        };
        let client = &clients.route53domains;
        let statuses: Vec<String> =
            match client.get_domain_detail().domain_name(name).send().await {
                Ok(out) => out.status_list().to_vec(),
                Err(err) => {
                    // Route 53 Domains answers InvalidInput for a domain the account does not
                    // hold: not found, never "already done".
                    let f: Failure = failure("route53domains:GetDomainDetail", err);
                    return if f.code.as_deref() == Some("InvalidInput") {
                        Outcome::not_found(action, &format!("domain {name}"))
                    } else {
                        Outcome::failed(action, f)
                    };
                }
            };
        let before = json!({"StatusList": statuses});
        if statuses.iter().any(|s| s == this::LOCKED) {
            return Outcome::new(
                action,
                Status::AlreadyDone,
                format!("domain {name} is already locked against transfers"),
            )
            .with_state(Some(before.clone()), Some(before));
        }
        match client
            .enable_domain_transfer_lock()
            .domain_name(name)
            .send()
            .await
        {
            Ok(out) => Outcome::new(
                action,
                Status::Done,
                format!(
                    "Route 53 Domains accepted the transfer lock of {name} (operation {}); it applies when the operation completes",
                    out.operation_id().unwrap_or("unknown")
                ),
            )
            .with_state(
                Some(before),
                Some(json!({"OperationId": out.operation_id()})),
            ),
            Err(err) => Outcome::failed(
                action,
                failure("route53domains:EnableDomainTransferLock", err),
            )
            .with_state(Some(before), None),
        }
    }
}
