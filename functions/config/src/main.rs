//! mamoru-config: the Lambda function for config events. Start-up builds settings, rules and SDK
//! clients once; each invocation runs the shared pipeline.

use lambda_runtime::{LambdaEvent, service_fn};
use mamoru::function;
use serde_json::value::RawValue;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    let responder = function::init(mamoru::Handler::Config).await?;
    let responder = &responder;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Box<RawValue>>| {
        function::handle(responder, event)
    }))
    .await
}
