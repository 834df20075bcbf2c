//! Publishing to Security Hub: the findings are built in the core (`mamoru_core::publish`);
//! this adds the AWS port.

pub use mamoru_core::publish::*;

pub mod hub;
