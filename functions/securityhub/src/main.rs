//! mamoru-securityhub: the Lambda function for Security Hub events. Start-up builds settings,
//! rules and SDK clients once; each invocation runs the shared pipeline once per finding.

use mamoru::function;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    function::run(mamoru::Handler::Securityhub).await
}
