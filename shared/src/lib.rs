//! mamoru: an event-driven AWS security responder.
//!
//! ```text
//! EventBridge event -> parse (event) -> decide (rules, pure) -> act (action) -> notify -> audit
//! ```
//!
//! This crate is the pure core: events, rules and decisions, the action registry (what each
//! action is, not how it runs), rendering and masking. It depends on neither the AWS SDK nor
//! the Lambda runtime (its `Cargo.toml` has neither), and it reads no file: `clippy.toml` in
//! this directory forbids `std::fs` in it, and the test command runs clippy with `-D warnings`.
//! Rule files are read, and actions run, by the `mamoru` crate above it (`aws/`).

// The tests read their fixtures from disk; the library never does (clippy.toml).
#![cfg_attr(test, allow(clippy::disallowed_methods, clippy::disallowed_types))]

pub mod action;
pub mod audit;
pub mod decide;
pub mod event;
pub mod logging;
pub mod lookup;
pub mod metrics;
pub mod notify;
pub mod publish;
pub mod redact;
pub mod report;
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
pub use settings::{Mode, Settings};
