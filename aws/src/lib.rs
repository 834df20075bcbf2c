//! mamoru: an event-driven AWS security responder.
//!
//! ```text
//! EventBridge event -> parse (event) -> decide (rules, pure) -> act (action) -> notify -> audit
//! ```
//!
//! The crates, from the bottom:
//! - `mamoru-core` (`shared/`): events, rules and decisions, the action registry, rendering
//!   and masking. No AWS SDK, no Lambda runtime, no file reads.
//! - `mamoru` (this crate, `aws/`): everything that touches the world beside the core. The AWS
//!   side effects (each action's executor, the SNS notifier, lookups, the Security Hub and
//!   DynamoDB ports) and the reading of rule files. It re-exports the core's modules, so
//!   `mamoru::decide` is `mamoru_core::decide`.
//! - `mamoru-lambda` (`functions/lambda/`) and `mamoru-cli` (`cli/`) on top: the Lambda glue
//!   ([`function::run_from_env`]) and the command line.

pub use mamoru_core::{
    Disposition, Event, Handler, Mode, ParseError, Plan, Report, RuleSet, Settings, VERSION, audit,
    decide, event, logging, metrics, redact, report, settings,
};

pub mod action;
pub mod aws;
pub mod files;
pub mod function;
pub mod lookup;
pub mod notify;
pub mod publish;
pub mod responder;
pub mod state;
pub mod writeback;

pub use responder::{HandleError, Responder};
