//! `make_image_private`: `ec2:ModifyImageAttribute` removing the `all` group from the launch
//! permissions of the AMI a ModifyImageAttribute call made public, in the call's region and
//! account. Only that permission: the accounts the AMI is shared with stay (their removal is
//! `unshare_image_accounts`, opt-in).

use serde_json::{Value, json};

use super::unshare_public_snapshot::{ec2_id_ok, only_removes};
use crate::action::{Action, ActionDef, Grant, Target, Words, required};
use crate::decide::facts::added_shares;
use crate::event::{CloudTrailCall, DT_CLOUDTRAIL_CALL, Event, EventKind};

pub struct Def;

/// The AMI a ModifyImageAttribute call names and what it shared: (region, id, public, accounts).
pub(crate) fn bind_image(
    def: &dyn ActionDef,
    event: &Event,
) -> Result<(String, String, bool, Vec<String>), String> {
    let EventKind::CloudTrailCall(c) = &event.kind else {
        return Err(def.unsupported(event));
    };
    if c.event_source != "ec2.amazonaws.com" || c.event_name != "ModifyImageAttribute" {
        return Err(format!(
            "{} acts on ModifyImageAttribute calls, not {}",
            def.name(),
            c.event_name
        ));
    }
    let id = required(c, "imageId")?;
    if !ec2_id_ok(&id, "ami") {
        return Err(format!("{id} is not an AMI ID"));
    }
    let shares = added_shares(c).ok_or("the call adds no launch permission")?;
    Ok((c.aws_region.clone(), id, shares.public, shares.accounts))
}

/// ModifyImageAttribute's parameters for an image target.
pub(crate) fn image_params(target: &Target) -> Value {
    match target {
        Target::Image {
            image_id,
            public,
            accounts,
        } => {
            let mut remove: Vec<Value> = Vec::new();
            if *public {
                remove.push(json!({"Group": "all"}));
            }
            remove.extend(accounts.iter().map(|a| json!({"UserId": a})));
            json!({"ImageId": image_id, "LaunchPermission": {"Remove": remove}})
        }
        _ => Value::Null,
    }
}

impl ActionDef for Def {
    fn name(&self) -> &'static str {
        "make_image_private"
    }
    fn summary(&self) -> &'static str {
        "Make private again the AMI a ModifyImageAttribute call made public (remove the `all` group only)"
    }
    fn api(&self) -> &'static str {
        "ec2:ModifyImageAttribute"
    }
    fn grants(&self) -> &'static [Grant] {
        const GRANTS: &[Grant] = &[Grant::on(
            &["ec2:DescribeImageAttribute", "ec2:ModifyImageAttribute"],
            &[Grant::IMAGES],
        )];
        GRANTS
    }
    fn detail_types(&self) -> &'static [&'static str] {
        &[DT_CLOUDTRAIL_CALL]
    }
    fn words(&self) -> Words {
        Words {
            done: "AMI made private",
            already: "AMI already private",
            would: "would make AMI private",
            noun: "AMI unsharing",
            withheld: "remove the AMI's public launch permission",
        }
    }
    fn bind(&self, event: &Event) -> Result<(String, Target), String> {
        let (region, image_id, public, _) = bind_image(self, event)?;
        if !public {
            return Err("the call does not make the AMI public".into());
        }
        Ok((
            region,
            Target::Image {
                image_id,
                public: true,
                accounts: Vec::new(),
            },
        ))
    }
    fn params(&self, target: &Target) -> Value {
        image_params(target)
    }
    fn describe(&self, action: &Action) -> String {
        format!(
            "remove the public (group all) launch permission of {}",
            action.resource()
        )
    }
    fn restores(&self, call: &CloudTrailCall) -> Option<bool> {
        crate::action::call_is(call, "ec2.amazonaws.com", "ModifyImageAttribute")
            .then(|| only_removes(call, "launchPermission"))
    }
}

#[cfg(feature = "aws")]
mod exec {
    use aws_sdk_ec2::types::{
        ImageAttributeName, LaunchPermission, LaunchPermissionModifications, PermissionGroup,
    };
    use aws_smithy_runtime_api::client::result::SdkError;
    use aws_smithy_types::error::metadata::ProvideErrorMetadata;
    use serde_json::{Value, json};

    use crate::action::exec::{Clients, Execute, failure, service_failure};
    use crate::action::{Action, Outcome, Status, Target};

    impl Execute for super::Def {
        async fn execute(&self, clients: &Clients, action: &Action) -> Outcome {
            unshare_image(clients, action).await
        }
    }

    /// The AMI's launch permissions: whether `all` may launch it, and the accounts.
    async fn read(
        client: &aws_sdk_ec2::Client,
        action: &Action,
        id: &str,
    ) -> Result<(bool, Vec<String>), Outcome> {
        match client
            .describe_image_attribute()
            .image_id(id)
            .attribute(ImageAttributeName::LaunchPermission)
            .send()
            .await
        {
            Ok(out) => {
                let perms = out.launch_permissions();
                let public = perms
                    .iter()
                    .any(|p| p.group() == Some(&PermissionGroup::All));
                let accounts = perms
                    .iter()
                    .filter_map(|p| p.user_id().map(str::to_string))
                    .collect();
                Ok((public, accounts))
            }
            Err(SdkError::ServiceError(ctx)) => {
                let err = ctx.into_err();
                if matches!(
                    err.code(),
                    Some("InvalidAMIID.NotFound" | "InvalidAMIID.Unavailable")
                ) {
                    Err(Outcome::not_found(action, &format!("AMI {id}")))
                } else {
                    Err(Outcome::failed(
                        action,
                        service_failure("ec2:DescribeImageAttribute", &err),
                    ))
                }
            }
            Err(other) => Err(Outcome::failed(
                action,
                failure("ec2:DescribeImageAttribute", other),
            )),
        }
    }

    fn state(public: bool, accounts: &[String]) -> Value {
        json!({"Public": public, "SharedWith": accounts})
    }

    /// Removes exactly what the target names and the AMI still grants: the `all` group, the
    /// accounts. Idempotent: nothing left to remove is "already done"; an AMI that does not
    /// exist is a failure.
    pub(crate) async fn unshare_image(clients: &Clients, action: &Action) -> Outcome {
        let Target::Image {
            image_id,
            public,
            accounts,
        } = &action.target
        else {
            return Outcome::wrong_target(action);
        };
        let client = clients.ec2.get(&action.region);
        let (was_public, shared) = match read(&client, action, image_id).await {
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
                format!("AMI {image_id} no longer grants what the call shared"),
            )
            .with_state(Some(before.clone()), Some(before));
        }
        let mut modifications = LaunchPermissionModifications::builder();
        if remove_public {
            modifications =
                modifications.remove(LaunchPermission::builder().group(PermissionGroup::All).build());
        }
        for a in &remove {
            modifications =
                modifications.remove(LaunchPermission::builder().user_id(a.as_str()).build());
        }
        if let Err(err) = client
            .modify_image_attribute()
            .image_id(image_id)
            .launch_permission(modifications.build())
            .send()
            .await
        {
            return Outcome::failed(action, failure("ec2:ModifyImageAttribute", err));
        }
        let after = match read(&client, action, image_id).await {
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
            format!("AMI {image_id}: {} removed", what.join(" and ")),
        )
        .with_state(Some(before), Some(after))
    }
}
#[cfg(feature = "aws")]
pub(crate) use exec::unshare_image;
