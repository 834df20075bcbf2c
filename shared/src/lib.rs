//! mamoru: an event-driven AWS security responder.
//!
//! ```text
//! EventBridge event -> parse (event) -> decide (rules, pure) -> act (action) -> notify -> audit
//! ```
//!
//! The three Lambda functions and the CLI share everything here; their `main.rs` only wire
//! settings, clients and the handler.
//!
//! Feature `aws` (default) adds what talks to AWS: the SDK clients that act and notify, the
//! pipeline and the Lambda glue. Without it the crate is the pure core (events, rules and
//! decisions, rendering, masking), which the fuzz targets build quickly.

pub mod action;
pub mod audit;
#[cfg(feature = "aws")]
pub mod aws;
pub mod decide;
pub mod event;
#[cfg(feature = "aws")]
pub mod function;
pub mod logging;
pub mod lookup;
pub mod metrics;
pub mod notify;
pub mod publish;
pub mod redact;
pub mod report;
#[cfg(feature = "aws")]
pub mod responder;
pub mod settings;
pub mod state;
pub mod writeback;

/// The global allocator of every binary built with the crate: the functions as they ship, the
/// CLI, the tests and the benchmarks (`--features mimalloc` when built without the default
/// features). An event's parse and decision allocate many small strings and maps; glibc's
/// allocator spent about a quarter of their instructions (bench/README.md, "Sigma rules").
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mamoru's version: crate version and git revision, fixed at build time.
pub const VERSION: &str = env!("MAMORU_VERSION");

pub use decide::{Disposition, Handler, Plan, RuleSet, decide};
pub use event::{Event, ParseError};
pub use report::Report;
#[cfg(feature = "aws")]
pub use responder::{HandleError, Responder};
pub use settings::{Mode, Settings};
