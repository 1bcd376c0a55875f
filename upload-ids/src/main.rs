//! The upload-ids program: `-h` prints USAGE; `--help` prints it, then the
//! manual (manual.txt). The two things it does are `check` and `upload`.

const USAGE: &str = concat!(
    r#"
Upload a file of IDs to a batch compliance job's signed upload URL, or only
check it (--check).

Usage:
  upload-ids --ids-file <file> (--url <upload-url> | --id <id> | --name <name>) [options]
  upload-ids --ids-file <file> --check [options]
  upload-ids (-h | --help)
  upload-ids (-V | --version)

Options:
  --ids-file <file>     The ID file; - for standard input.
  --url <upload-url>    The job's upload_url, as create-job printed it.
  --id <id>             The job id (1 to 19 digits).
  --name <name>         The job's name (the newest job with that name).
  --type <type>         With --name: look only among tweets or users jobs.
  --check               Only check the file and count its duplicates; send
                        nothing (no job, no token, no request).
"#,
    compliance_core::common_options!(),
    "\n",
    compliance_core::environment!(),
    compliance_core::exit_codes!(),
);

mod check;
mod upload;

use compliance_core::cli::{self, CommonFlags};
use compliance_core::ids::IdFile;
use compliance_core::Result;
use serde::Deserialize;

#[derive(Deserialize)]
struct Args {
    flag_ids_file: String,
    flag_url: Option<String>,
    flag_id: Option<String>,
    flag_name: Option<String>,
    flag_type: Option<String>,
    flag_check: bool,
}

fn main() -> std::process::ExitCode {
    cli::main(
        USAGE,
        include_str!("manual.txt"),
        env!("CARGO_PKG_VERSION"),
        |args: Args, common| match args.flag_check {
            true => check::check(&args, &common),
            false => upload::upload(&args, &common),
        },
    )
}

/// Checks the ID file as given: a path, or "-" for standard input.
fn open(common: &CommonFlags, file: &str) -> Result<IdFile> {
    match file {
        "-" => IdFile::check_stdin(common.reporter()),
        path => IdFile::check(&common.path(path), common.reporter()),
    }
}
