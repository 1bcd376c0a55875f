//! The model of the service: compliance jobs and their lifecycle, the
//! results they lead to, and what they rest on: the emulator's clock, rate
//! limits, signing keys and the integrity hashes storage keeps. Nothing
//! here knows HTTP.

pub(crate) mod clock;
pub(crate) mod hashes;
pub(crate) mod jobs;
pub(crate) mod limits;
pub(crate) mod results;
pub(crate) mod signed_urls;
pub(crate) mod signing;
pub(crate) mod tokens;
