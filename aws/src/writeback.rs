//! Writing back to Security Hub: the updates are decided in the core
//! (`mamoru_core::writeback`); this adds the AWS port.

pub use mamoru_core::writeback::*;

pub mod hub;
