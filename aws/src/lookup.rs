//! Lookups: what they read and how an answer is used is in the core (`mamoru_core::lookup`);
//! this adds the AWS reads.

pub use mamoru_core::lookup::*;

pub mod aws;
