//! The executor of `contain_lambda_function`. Its definition (name, grants, binding, words) is in the core:
//! `shared/src/action/kinds/contain_lambda_function.rs`.

use mamoru_core::action::kinds::contain_lambda_function as this;

use aws_sdk_lambda::operation::get_function_concurrency::GetFunctionConcurrencyError;
use aws_sdk_lambda::operation::put_function_concurrency::PutFunctionConcurrencyError;
use aws_smithy_runtime_api::client::result::SdkError;
use serde_json::json;

use crate::action::exec::{Clients, Execute, failure, service_failure};
use crate::action::{Action, Outcome, Status, Target};

impl Execute for this::Def {
    async fn execute(&self, clients: &Clients, action: &Action) -> Outcome {
        let Target::Function { name } = &action.target else {
            return Outcome::wrong_target(action);
        };
        let client = clients.lambda.get(&action.region);
        let before = match client
            .get_function_concurrency()
            .function_name(name)
            .send()
            .await
        {
            Ok(out) => out.reserved_concurrent_executions,
            Err(SdkError::ServiceError(ctx)) => match ctx.into_err() {
                GetFunctionConcurrencyError::ResourceNotFoundException(_) => {
                    return Outcome::not_found(action, &format!("Lambda function {name}"));
                }
                other => {
                    return Outcome::failed(
                        action,
                        service_failure("lambda:GetFunctionConcurrency", &other),
                    );
                }
            },
            Err(other) => {
                return Outcome::failed(
                    action,
                    failure("lambda:GetFunctionConcurrency", other),
                );
            }
        };
        let state = |v: Option<i32>| json!({"ReservedConcurrentExecutions": v});
        if before == Some(0) {
            return Outcome::new(
                action,
                Status::AlreadyDone,
                format!("Lambda function {name} already has a reserved concurrency of 0"),
            )
            .with_state(Some(state(before)), Some(state(before)));
        }
        match client
            .put_function_concurrency()
            .function_name(name)
            .reserved_concurrent_executions(0)
            .send()
            .await
        {
            Ok(out) => Outcome::new(
                action,
                Status::Done,
                format!(
                    "Lambda function {name} has a reserved concurrency of 0: nothing can invoke it (undo: DeleteFunctionConcurrency)"
                ),
            )
            .with_state(
                Some(state(before)),
                Some(state(out.reserved_concurrent_executions)),
            ),
            Err(SdkError::ServiceError(ctx)) => match ctx.into_err() {
                PutFunctionConcurrencyError::ResourceNotFoundException(_) => {
                    Outcome::not_found(action, &format!("Lambda function {name}"))
                }
                other => Outcome::failed(
                    action,
                    service_failure("lambda:PutFunctionConcurrency", &other),
                ),
            },
            Err(other) => Outcome::failed(action, failure("lambda:PutFunctionConcurrency", other)),
        }
    }
}
