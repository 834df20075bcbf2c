//! mamoru: an event-driven AWS security responder.
//!
//! ```text
//! EventBridge event -> parse (event) -> decide (rules, pure) -> act (action) -> notify -> audit
//! ```
//!
//! The three Lambda functions and the CLI share everything here; their `main.rs` only wire
//! settings, clients and the handler.

pub mod action;
pub mod audit;
pub mod aws;
pub mod decide;
pub mod event;
pub mod function;
pub mod logging;
pub mod notify;
pub mod redact;
pub mod report;
pub mod responder;
pub mod settings;

/// mamoru's version: crate version and git revision, fixed at build time.
pub const VERSION: &str = env!("MAMORU_VERSION");

pub use decide::{Disposition, Handler, Plan, RuleSet, decide};
pub use event::{Event, ParseError};
pub use report::Report;
pub use responder::{HandleError, Responder};
pub use settings::{Mode, Settings};
