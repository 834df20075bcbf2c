//! mamoru-guardduty: the Lambda function for guardduty events. Start-up builds settings, rules and SDK
//! clients once; each invocation runs the shared pipeline.

use mamoru::function;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    function::run(mamoru::Handler::Guardduty).await
}
