//! State across events: the store's contract and the in-memory store are in the core
//! (`mamoru_core::state`); this adds the DynamoDB table.

pub use mamoru_core::state::*;

pub mod dynamodb;
