//! The executor of `cancel_domain_transfer`. Its definition (name, grants, binding, words) is in the core:
//! `shared/src/action/kinds/cancel_domain_transfer.rs`.

use mamoru_core::action::kinds::cancel_domain_transfer as this;

use serde_json::json;

use crate::action::exec::{Clients, Execute, failure};
use crate::action::{Action, Outcome, Status, Target};

impl Execute for this::Def {
    async fn execute(&self, clients: &Clients, action: &Action) -> Outcome {
        let Target::Domain { name } = &action.target else {
            return Outcome::wrong_target(action);
        };
        match clients
            .route53domains
            .cancel_domain_transfer_to_another_aws_account()
            .domain_name(name)
            .send()
            .await
        {
            Ok(out) => Outcome::new(
                action,
                Status::Done,
                format!(
                    "the transfer of {name} to another account is cancelled (operation {})",
                    out.operation_id().unwrap_or("unknown")
                ),
            )
            .with_state(None, Some(json!({"OperationId": out.operation_id()}))),
            Err(err) => Outcome::failed(
                action,
                failure(
                    "route53domains:CancelDomainTransferToAnotherAwsAccount",
                    err,
                ),
            ),
        }
    }
}
