//! The emulator's integration tests, one binary (one link, and one pool of
//! test threads for all): the API and its schema, the `api` flavour, the
//! storage origin, HTTP itself, the faults, and the binary.

mod common;

mod api;
mod api_flavour;
mod binary;
mod faults;
mod http;
mod storage;
