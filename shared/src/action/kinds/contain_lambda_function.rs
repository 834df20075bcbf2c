//! `contain_lambda_function` (containment, opt-in): `lambda:PutFunctionConcurrency` with
//! ReservedConcurrentExecutions=0 on the function a Lambda Protection finding names. The function
//! can no longer be invoked; its code, configuration, versions and triggers stay as they are.
//! Undo: `lambda:DeleteFunctionConcurrency` (or put back the reserved concurrency it had, which
//! the outcome records as the state before).

use serde_json::{Value, json};

use crate::action::{Action, ActionDef, Grant, Target, Words};
use crate::event::{CloudTrailCall, DT_GUARDDUTY_FINDING, Event, EventKind};

pub struct Def;

const FUNCTIONS: &str = "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:*";

/// A function name Lambda accepts (the name, not an ARN or a qualified name).
fn function_name_ok(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl ActionDef for Def {
    fn name(&self) -> &'static str {
        "contain_lambda_function"
    }
    fn summary(&self) -> &'static str {
        "Set the reserved concurrency of the function a finding names to 0, so nothing can invoke it (containment, reversible)"
    }
    fn api(&self) -> &'static str {
        "lambda:PutFunctionConcurrency"
    }
    fn grants(&self) -> &'static [Grant] {
        const GRANTS: &[Grant] = &[Grant::on(
            &[
                "lambda:GetFunctionConcurrency",
                "lambda:PutFunctionConcurrency",
            ],
            &[FUNCTIONS],
        )];
        GRANTS
    }
    fn containment(&self) -> bool {
        true
    }
    fn detail_types(&self) -> &'static [&'static str] {
        &[DT_GUARDDUTY_FINDING]
    }
    fn words(&self) -> Words {
        Words {
            done: "function contained",
            already: "function already contained",
            would: "would contain function",
            noun: "function containment",
            withheld: "set the function's reserved concurrency to 0",
        }
    }
    fn bind(&self, event: &Event) -> Result<(String, Target), String> {
        let EventKind::GuardDutyFinding(f) = &event.kind else {
            return Err(self.unsupported(event));
        };
        let l = f
            .resource
            .lambda_details
            .as_ref()
            .ok_or("the finding has no resource.lambdaDetails")?;
        // The function's ARN, when given, must be of the finding's account and region: act only
        // where the resource is.
        if let Some(arn) = l.function_arn.as_deref().filter(|a| !a.is_empty()) {
            let parts: Vec<&str> = arn.splitn(7, ':').collect();
            match parts.as_slice() {
                ["arn", _, "lambda", region, account, "function", rest]
                    if *region == event.region && *account == f.account_id =>
                {
                    let name = rest.split(':').next().unwrap_or_default();
                    if let Some(n) = l.function_name.as_deref()
                        && n != name
                    {
                        return Err(format!(
                            "functionName {n} and functionArn {arn} name different functions"
                        ));
                    }
                }
                _ => {
                    return Err(format!(
                        "function {arn} is not a function of account {} in {}",
                        f.account_id, event.region
                    ));
                }
            }
        }
        let name = l
            .function_name
            .clone()
            .or_else(|| {
                l.function_arn
                    .as_deref()?
                    .split(":function:")
                    .nth(1)
                    .map(|rest| rest.split(':').next().unwrap_or(rest).to_string())
            })
            .ok_or("the finding names no Lambda function")?;
        if !function_name_ok(&name) {
            return Err(format!("{name} is not a Lambda function name"));
        }
        Ok((event.region.clone(), Target::Function { name }))
    }
    fn params(&self, target: &Target) -> Value {
        match target {
            Target::Function { name } => {
                json!({"FunctionName": name, "ReservedConcurrentExecutions": 0})
            }
            _ => Value::Null,
        }
    }
    fn describe(&self, action: &Action) -> String {
        format!(
            "set the reserved concurrency of {} to 0 (no invocations)",
            action.resource()
        )
    }
    fn restores(&self, call: &CloudTrailCall) -> Option<bool> {
        // CloudTrail names the call with its API version: PutFunctionConcurrency20171031.
        (call.event_source == "lambda.amazonaws.com"
            && call.event_name.starts_with("PutFunctionConcurrency"))
        .then(|| {
            call.request_parameters
                .get("reservedConcurrentExecutions")
                .and_then(Value::as_i64)
                == Some(0)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::function_name_ok;

    #[test]
    fn only_function_names_lambda_accepts() {
        assert!(function_name_ok("invoice-renderer_prod"));
        assert!(!function_name_ok("fn:1"));
        assert!(!function_name_ok("a/b"));
        assert!(!function_name_ok(&"f".repeat(65)));
        assert!(!function_name_ok(""));
    }
}
