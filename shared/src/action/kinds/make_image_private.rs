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
