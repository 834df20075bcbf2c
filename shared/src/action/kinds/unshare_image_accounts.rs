//! `unshare_image_accounts` (opt-in): `ec2:ModifyImageAttribute` removing, from the AMI a
//! ModifyImageAttribute call shared, the launch permissions of exactly the accounts that call
//! added and that are outside (not the AMI's own account, mamoru's hub, the organization's
//! accounts mamoru acts in, or `MAMORU_TRUSTED_ACCOUNTS`). Accounts shared before, or trusted,
//! keep their permission.

use serde_json::Value;

use super::make_image_private::{bind_image, image_params};
use super::unshare_public_snapshot::{account_id_ok, only_removes};
use crate::action::{Action, ActionDef, Grant, Target, Words};
use crate::event::{CloudTrailCall, DT_CLOUDTRAIL_CALL, Event};

pub struct Def;

impl ActionDef for Def {
    fn name(&self) -> &'static str {
        "unshare_image_accounts"
    }
    fn summary(&self) -> &'static str {
        "Take back the launch permissions a ModifyImageAttribute call gave accounts outside the organization and the trusted list (opt-in)"
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
            done: "AMI sharing removed",
            already: "AMI no longer shared",
            would: "would remove AMI sharing",
            noun: "AMI unsharing",
            withheld: "remove the AMI's sharing with outside accounts",
        }
    }
    fn bind(&self, event: &Event) -> Result<(String, Target), String> {
        let (region, image_id, _, accounts) = bind_image(self, event)?;
        let accounts: Vec<String> = accounts.into_iter().filter(|a| account_id_ok(a)).collect();
        if accounts.is_empty() {
            return Err("the call shares the AMI with no account ID".into());
        }
        Ok((
            region,
            Target::Image {
                image_id,
                public: false,
                accounts,
            },
        ))
    }
    fn scope(&self, target: Target, outside: &dyn Fn(&str) -> bool) -> Result<Target, String> {
        match target {
            Target::Image {
                image_id,
                public,
                accounts,
            } => {
                let accounts: Vec<String> = accounts.into_iter().filter(|a| outside(a)).collect();
                if accounts.is_empty() && !public {
                    return Err("every account the AMI was shared with is trusted".into());
                }
                Ok(Target::Image {
                    image_id,
                    public,
                    accounts,
                })
            }
            other => Ok(other),
        }
    }
    fn params(&self, target: &Target) -> Value {
        image_params(target)
    }
    fn describe(&self, action: &Action) -> String {
        let accounts = match &action.target {
            Target::Image { accounts, .. } => accounts.join(", "),
            _ => String::new(),
        };
        format!(
            "remove the launch permission of {accounts} from {}",
            action.resource()
        )
    }
    fn restores(&self, call: &CloudTrailCall) -> Option<bool> {
        crate::action::call_is(call, "ec2.amazonaws.com", "ModifyImageAttribute")
            .then(|| only_removes(call, "launchPermission"))
    }
}
