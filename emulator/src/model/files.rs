//! Where the emulator keeps its files: completed uploads, results, and
//! files being written, which are renamed into place when whole.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The layout of the data directory.
#[derive(Debug)]
pub(crate) struct Files {
    /// Completed uploads, one file per job id.
    uploads: PathBuf,
    /// Results files, one per job id.
    results: PathBuf,
    /// Files being written: uploads in flight, resumable sessions, results
    /// being generated. Renamed into place when whole.
    tmp: PathBuf,
    tmp_counter: AtomicU64,
}

impl Files {
    /// Creates the layout under `root`.
    pub(crate) fn create(root: &Path) -> io::Result<Files> {
        let files = Files {
            uploads: root.join("uploads"),
            results: root.join("results"),
            tmp: root.join("tmp"),
            tmp_counter: AtomicU64::new(0),
        };
        for d in [&files.uploads, &files.results, &files.tmp] {
            fs::create_dir_all(d)?;
        }
        Ok(files)
    }

    /// The stored upload of a job.
    pub(crate) fn upload(&self, id: &str) -> PathBuf {
        self.uploads.join(format!("{id}.txt"))
    }

    /// The results file of a job.
    pub(crate) fn results(&self, id: &str) -> PathBuf {
        self.results.join(format!("{id}.jsonl"))
    }

    /// A fresh path in the temp area, tagged for debugging.
    pub(crate) fn tmp_path(&self, tag: &str) -> PathBuf {
        let n = self.tmp_counter.fetch_add(1, Ordering::SeqCst);
        self.tmp.join(format!("{tag}-{n}"))
    }
}

/// A new directory path under the system temp dir, unique per process and
/// call.
pub(crate) fn unique_temp_dir() -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!(
        "compliance-emulator-{}-{n}-{nanos:x}",
        std::process::id()
    ))
}
