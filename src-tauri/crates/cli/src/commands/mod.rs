//! One module per command. Each takes the shared [`crate::context::Context`], prints its
//! result, and returns a [`crate::failure::Failure`] when the process must exit non-zero.

pub mod bulk;
pub mod connect;
pub mod daemon;
pub mod demo;
pub mod import;
pub mod inventory;
pub mod jobs;
pub mod status;
pub mod sync;
