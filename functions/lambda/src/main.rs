//! mamoru-lambda: the binary of all four Lambda functions (guardduty, cloudtrail, config,
//! securityhub). The stack sets `MAMORU_FUNCTION` on each function to say which one it is.
//! Start-up builds settings, rules and SDK clients once; each invocation runs the shared
//! pipeline.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    mamoru::function::run_from_env().await
}
