//! The state store on DynamoDB: one table, partition key `pk` (a string), TTL on `expires`
//! (Unix seconds). Every call is one `UpdateItem` with a condition; no read-modify-write.
//! DynamoDB deletes an expired item some time after it expires, so every condition also treats
//! an item whose `expires` has passed as absent.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_types::error::display::DisplayErrorContext;

use super::{BoxFuture, Claim, Sight, Sighting, StateError, Store, Tally};

/// The partition key attribute.
pub const KEY: &str = "pk";
/// The TTL attribute (the table's `TimeToLiveSpecification.AttributeName`).
pub const EXPIRES: &str = "expires";
const RELEASED: &str = "released";
/// A finding's digest: the band last alerted, when, the updates counted since, and the subjects
/// (resource and actor) seen.
const BAND: &str = "band";
const ALERTED: &str = "alerted";
const SUPPRESSED: &str = "suppressed";
const SUBJECTS: &str = "subjects";
/// A budget: the units taken in its window.
const TAKEN: &str = "taken";
/// A windowed threshold: the distinct members seen (a string set), or the events counted.
const MEMBERS: &str = "members";
const COUNTED: &str = "counted";

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

    /// The one operation the store makes: a conditional `UpdateItem` of `key` in this table.
    fn update(
        &self,
        key: &str,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.name)
            .key(KEY, AttributeValue::S(key.to_string()))
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
                .update(key)
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

    fn sight<'a>(
        &'a self,
        key: &'a str,
        sight: &'a Sight,
    ) -> BoxFuture<'a, Result<Sighting, StateError>> {
        Box::pin(async move {
            // Alert when any reason holds: one write sets the digest and returns the old one.
            let alert = self
                .update(key)
                .update_expression(
                    "SET #b = :b, #a = :now, #n = :zero, #e = :e, #r = :f ADD #s :subjects",
                )
                .condition_expression(
                    "attribute_not_exists(#k) OR #e <= :now OR #r = :t OR #b < :b \
                     OR NOT contains(#s, :subject) OR #a <= :cut",
                )
                .expression_attribute_names("#k", KEY)
                .expression_attribute_names("#e", EXPIRES)
                .expression_attribute_names("#r", RELEASED)
                .expression_attribute_names("#b", BAND)
                .expression_attribute_names("#a", ALERTED)
                .expression_attribute_names("#n", SUPPRESSED)
                .expression_attribute_names("#s", SUBJECTS)
                .expression_attribute_values(":b", n(i64::from(sight.band)))
                .expression_attribute_values(":now", n(sight.now))
                .expression_attribute_values(":cut", n(sight.now - sight.quiet))
                .expression_attribute_values(":zero", n(0))
                .expression_attribute_values(":e", n(sight.expires))
                .expression_attribute_values(":t", AttributeValue::Bool(true))
                .expression_attribute_values(":f", AttributeValue::Bool(false))
                .expression_attribute_values(":subject", AttributeValue::S(sight.subject.clone()))
                .expression_attribute_values(
                    ":subjects",
                    AttributeValue::Ss(vec![sight.subject.clone()]),
                )
                .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
                .send()
                .await;
            match alert {
                Ok(out) => {
                    let old = out.attributes.unwrap_or_default();
                    let number = |name: &str| match old.get(name) {
                        Some(AttributeValue::N(v)) => v.parse::<i64>().ok(),
                        _ => None,
                    };
                    let live = !old.is_empty()
                        && old.get(RELEASED) != Some(&AttributeValue::Bool(true))
                        && number(EXPIRES).is_some_and(|e| e > sight.now);
                    Ok(if live {
                        Sighting::Alert {
                            suppressed: number(SUPPRESSED)
                                .and_then(|v| u64::try_from(v).ok())
                                .unwrap_or(0),
                            since: number(ALERTED),
                        }
                    } else {
                        Sighting::Alert {
                            suppressed: 0,
                            since: None,
                        }
                    })
                }
                Err(e) if condition_failed(&e) => {
                    // Quiet: count it (the digest exists, or the first write would have won).
                    let count = self
                        .update(key)
                        .update_expression("ADD #n :one")
                        .condition_expression("attribute_exists(#k)")
                        .expression_attribute_names("#k", KEY)
                        .expression_attribute_names("#n", SUPPRESSED)
                        .expression_attribute_values(":one", n(1))
                        .send()
                        .await;
                    match count {
                        Ok(_) => Ok(Sighting::Quiet),
                        // Gone since (expired and deleted): quiet all the same.
                        Err(e) if condition_failed(&e) => Ok(Sighting::Quiet),
                        Err(e) => Err(unreachable(e)),
                    }
                }
                Err(e) => Err(unreachable(e)),
            }
        })
    }

    fn take<'a>(
        &'a self,
        key: &'a str,
        limit: u64,
        expires: i64,
    ) -> BoxFuture<'a, Result<Option<u64>, StateError>> {
        Box::pin(async move {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let result = self
                .update(key)
                .update_expression("ADD #n :one SET #e = if_not_exists(#e, :e)")
                .condition_expression("attribute_not_exists(#k) OR #n < :limit")
                .expression_attribute_names("#k", KEY)
                .expression_attribute_names("#n", TAKEN)
                .expression_attribute_names("#e", EXPIRES)
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":limit", n(limit))
                .expression_attribute_values(":e", n(expires))
                .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
                .send()
                .await;
            match result {
                Ok(out) => Ok(Some(match out.attributes.unwrap_or_default().get(TAKEN) {
                    Some(AttributeValue::N(v)) => v.parse().unwrap_or(0),
                    _ => 0,
                })),
                Err(e) if condition_failed(&e) => Ok(None),
                Err(e) => Err(unreachable(e)),
            }
        })
    }

    fn tally<'a>(
        &'a self,
        key: &'a str,
        members: &'a [String],
        limit: u64,
        expires: i64,
    ) -> BoxFuture<'a, Result<Tally, StateError>> {
        Box::pin(async move {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let base = self
                .update(key)
                .expression_attribute_names("#k", KEY)
                .expression_attribute_names("#e", EXPIRES)
                .expression_attribute_values(":e", n(expires))
                .expression_attribute_values(":limit", n(limit));
            let result = if members.is_empty() {
                base.update_expression("ADD #c :one SET #e = if_not_exists(#e, :e)")
                    .condition_expression("attribute_not_exists(#k) OR #c < :limit")
                    .expression_attribute_names("#c", COUNTED)
                    .expression_attribute_values(":one", n(1))
                    .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
                    .send()
                    .await
                    .map(
                        |out| match out.attributes.unwrap_or_default().get(COUNTED) {
                            Some(AttributeValue::N(v)) => v.parse().unwrap_or(0),
                            _ => 0,
                        },
                    )
            } else {
                // The set grows only while it is below the limit; the old set says how many of
                // these members were new, so exactly one event sees the set reach the limit.
                let mut add: Vec<String> = members
                    .iter()
                    .map(|m| super::member_text(m).to_string())
                    .collect();
                add.sort();
                add.dedup();
                base.update_expression("ADD #m :m SET #e = if_not_exists(#e, :e)")
                    .condition_expression("attribute_not_exists(#k) OR size(#m) < :limit")
                    .expression_attribute_names("#m", MEMBERS)
                    .expression_attribute_values(":m", AttributeValue::Ss(add.clone()))
                    .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedOld)
                    .send()
                    .await
                    .map(|out| {
                        let old = match out.attributes.unwrap_or_default().remove(MEMBERS) {
                            Some(AttributeValue::Ss(v)) => v,
                            _ => Vec::new(),
                        };
                        let new = add.iter().filter(|m| !old.contains(m)).count();
                        (old.len() + new) as u64
                    })
            };
            match result {
                Ok(count) if count >= limit.unsigned_abs() => Ok(Tally::Crossed),
                Ok(count) => Ok(Tally::Below(count)),
                Err(e) if condition_failed(&e) => Ok(Tally::Past),
                Err(e) => Err(unreachable(e)),
            }
        })
    }

    fn release<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StateError>> {
        Box::pin(async move {
            let result = self
                .update(key)
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
