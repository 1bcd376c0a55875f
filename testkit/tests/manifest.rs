//! The workspace manifest stays quiet for a user who installs one program:
//! `cargo install --path PROGRAM` (without `--locked`) resolves that program
//! alone and warns of every `[profile.*.package.NAME]` it does not build
//! (rust-lang/cargo#8328). So a package named there must be a dependency of
//! every program the README installs: the five stages and the emulator.

use std::path::Path;

const PROGRAMS: [&str; 6] = [
    "create-job",
    "list-jobs",
    "list-job",
    "upload-ids",
    "download-results",
    "emulator",
];

/// The package names of the profile overrides in `manifest`, `*` left out.
fn overridden_packages(manifest: &str) -> Vec<String> {
    manifest
        .lines()
        .filter_map(|line| line.trim().strip_prefix("[profile."))
        .filter_map(|rest| rest.split_once(".package.").map(|(_, name)| name))
        .map(|name| name.trim_end_matches(']').trim_matches('"').to_string())
        .filter(|name| name != "*")
        .collect()
}

/// Whether `manifest`'s `[dependencies]` table names `package`.
fn depends_on(manifest: &str, package: &str) -> bool {
    let Some((_, rest)) = manifest.split_once("[dependencies]") else {
        return false;
    };
    let table = rest.split("\n[").next().unwrap_or("");
    table.lines().any(|line| {
        let name = line.split(['=', '.']).next().unwrap_or("").trim();
        name == package
    })
}

#[test]
fn every_package_a_profile_names_is_built_by_every_program() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let workspace = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let named = overridden_packages(&workspace);
    for program in PROGRAMS {
        let manifest = std::fs::read_to_string(root.join(program).join("Cargo.toml")).unwrap();
        for package in &named {
            assert!(
                depends_on(&manifest, package),
                "[profile.*.package.{package}] in Cargo.toml: {program} does not \
                 depend on it, so `cargo install --path {program}` would warn"
            );
        }
    }
}

#[test]
fn the_parsing_here_sees_an_override_and_a_dependency() {
    let manifest = "[profile.dev.package.\"*\"]\nopt-level = 2\n\n\
                    [profile.dev.package.compliance-emulator]\nopt-level = 2\n";
    assert_eq!(overridden_packages(manifest), ["compliance-emulator"]);
    let stage = "[dependencies]\ncompliance-core.workspace = true\n\n[dev-dependencies]\nx = 1\n";
    assert!(depends_on(stage, "compliance-core"));
    assert!(!depends_on(stage, "x"));
}
