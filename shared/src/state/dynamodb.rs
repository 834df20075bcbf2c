//! The state store on DynamoDB: one table, partition key `pk` (a string), TTL on `expires`
//! (Unix seconds). Every call is one `UpdateItem` with a condition; no read-modify-write.
//! DynamoDB deletes an expired item some time after it expires, so every condition also treats
//! an item whose `expires` has passed as absent.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_types::error::display::DisplayErrorContext;

use super::{BoxFuture, Claim, StateError, Store};

/// The partition key attribute.
pub const KEY: &str = "pk";
/// The TTL attribute (the table's `TimeToLiveSpecification.AttributeName`).
pub const EXPIRES: &str = "expires";
const RELEASED: &str = "released";

/// A state table, its client built once per container.
#[derive(Clone, Debug)]
pub struct Table {
    client: Client,
    name: String,
}

impl Table {
    pub fn new(sdk: &aws_config::SdkConfig, name: impl Into<String>) -> Table {
        Table {
            client: Client::new(sdk),
            name: name.into(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn unreachable<E, R>(e: aws_sdk_dynamodb::error::SdkError<E, R>) -> StateError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    StateError(crate::redact::text(&DisplayErrorContext(&e).to_string()))
}

type UpdateResult = aws_sdk_dynamodb::error::SdkError<
    UpdateItemError,
    aws_smithy_runtime_api::client::orchestrator::HttpResponse,
>;

/// The condition did not hold: an answer, not a failure.
fn condition_failed(e: &UpdateResult) -> bool {
    matches!(
        e.as_service_error(),
        Some(UpdateItemError::ConditionalCheckFailedException(_))
    )
}

impl Store for Table {
    fn claim<'a>(
        &'a self,
        key: &'a str,
        now: i64,
        expires: i64,
    ) -> BoxFuture<'a, Result<Claim, StateError>> {
        Box::pin(async move {
            let result = self
                .client
                .update_item()
                .table_name(&self.name)
                .key(KEY, AttributeValue::S(key.to_string()))
                .update_expression("SET #e = :e, #r = :f")
                .condition_expression("attribute_not_exists(#k) OR #e <= :now OR #r = :t")
                .expression_attribute_names("#k", KEY)
                .expression_attribute_names("#e", EXPIRES)
                .expression_attribute_names("#r", RELEASED)
                .expression_attribute_values(":e", n(expires))
                .expression_attribute_values(":now", n(now))
                .expression_attribute_values(":t", AttributeValue::Bool(true))
                .expression_attribute_values(":f", AttributeValue::Bool(false))
                .send()
                .await;
            match result {
                Ok(_) => Ok(Claim::First),
                Err(e) if condition_failed(&e) => Ok(Claim::Held),
                Err(e) => Err(unreachable(e)),
            }
        })
    }

    fn release<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StateError>> {
        Box::pin(async move {
            let result = self
                .client
                .update_item()
                .table_name(&self.name)
                .key(KEY, AttributeValue::S(key.to_string()))
                .update_expression("SET #r = :t")
                .condition_expression("attribute_exists(#k)")
                .expression_attribute_names("#k", KEY)
                .expression_attribute_names("#r", RELEASED)
                .expression_attribute_values(":t", AttributeValue::Bool(true))
                .send()
                .await;
            match result {
                Ok(_) => Ok(()),
                // Nothing to release (the claim was never recorded).
                Err(e) if condition_failed(&e) => Ok(()),
                Err(e) => Err(unreachable(e)),
            }
        })
    }
}
