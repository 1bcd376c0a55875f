//! Transfers: the ID file up to the job's upload URL, the results down from
//! its download URL.
//!
//! Both URLs are opaque and signed: they carry their own credential, so the
//! bearer token goes along only when they are on the API's own origin (the
//! 2026 flow). Both stream; neither holds the file in memory.
//!
//! - [`upload`]: the simple and the resumable upload of a checked ID file.
//! - [`download`]: the checked, atomic download of the results.
//! - [`storage`]: the signed URL talked to, and what storage answers.

mod download;
mod storage;
mod upload;

pub use download::{download_results, Destination};
pub use storage::StorageError;
pub use upload::{is_resumable_url, upload_ids, UploadTo, API_HOST_UPLOAD_LIMIT, RESUMABLE_CHUNK};
