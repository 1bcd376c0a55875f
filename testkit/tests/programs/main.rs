//! The built programs, run as a user runs them, against the emulator or a
//! server that misbehaves on purpose; and the repository's own rules. One
//! test binary for all of them: one link, and their waits (timeouts,
//! backoffs, slow servers) overlap on one pool of test threads.

mod arguments;
mod broken_pipe;
mod canary;
mod csv_cells;
mod faults;
mod help;
mod lifecycle;
mod lifecycle_sh;
mod manifest;
mod readme_flow;
mod usage;
mod waits;
