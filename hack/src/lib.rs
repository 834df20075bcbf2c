//! Empty on purpose: see Cargo.toml. This crate exists only for its dependencies' features.
