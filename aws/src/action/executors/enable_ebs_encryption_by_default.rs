//! The executor of `enable_ebs_encryption_by_default`. Its definition (name, grants, binding, words) is in the core:
//! `shared/src/action/kinds/enable_ebs_encryption_by_default.rs`.

use mamoru_core::action::kinds::enable_ebs_encryption_by_default as this;

use serde_json::json;

use crate::action::exec::{Clients, Execute, failure};
use crate::action::{Action, Outcome, Status, Target};

impl Execute for this::Def {
    async fn execute(&self, clients: &Clients, action: &Action) -> Outcome {
        let Target::EbsEncryptionByDefault = &action.target else {
            return Outcome::wrong_target(action);
        };
        let client = clients.ec2.get(&action.region);
        let state = |on: Option<bool>| json!({"EbsEncryptionByDefault": on});
        let before = match client.get_ebs_encryption_by_default().send().await {
            Ok(out) => out.ebs_encryption_by_default,
            Err(err) => {
                return Outcome::failed(action, failure("ec2:GetEbsEncryptionByDefault", err));
            }
        };
        if before == Some(true) {
            return Outcome::new(
                action,
                Status::AlreadyDone,
                format!("EBS encryption by default is already on in {}", action.region),
            )
            .with_state(Some(state(before)), Some(state(before)));
        }
        match client.enable_ebs_encryption_by_default().send().await {
            Ok(out) => Outcome::new(
                action,
                Status::Done,
                format!(
                    "EBS encryption by default is on in {}: volumes created while it was off stay unencrypted",
                    action.region
                ),
            )
            .with_state(
                Some(state(before)),
                Some(state(out.ebs_encryption_by_default)),
            ),
            Err(err) => {
                Outcome::failed(action, failure("ec2:EnableEbsEncryptionByDefault", err))
            }
        }
    }
}
