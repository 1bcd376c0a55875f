//! Transfers: the ID file up to the job's upload URL, the results down from
//! its download URL.
//!
//! Both URLs are opaque and signed: they carry their own credential, so the
//! bearer token goes along only when they are on the API's own origin (the
//! 2026 flow). Both stream; neither holds the file in memory.
//!
//! - `upload`: the simple and the resumable upload of a checked ID file.
//! - `download`: the checked download of the results, resumed with `Range`,
//!   its hashes compared (`integrity`) and written where `destination`
//!   says ([`Destination`]), a results file only whole.
//! - `storage`: the signed URL talked to, and what storage answers.

mod download;
mod integrity;
mod storage;
mod upload;

pub use crate::destination::Destination;
pub use crate::error::StorageError;
pub use download::{
    download_results, download_sources, results_url, Downloaded, ResultsDownload, Source,
};
pub use upload::{nothing_uploaded, upload_ids, upload_url_job, UploadTo, API_HOST_UPLOAD_LIMIT};
