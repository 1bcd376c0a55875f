//! The workspace manifest stays quiet for a user who installs one program:
//! `cargo install --path PROGRAM` (without `--locked`) resolves that program
//! alone and warns of every `[profile.*.package.NAME]` it does not build
//! (rust-lang/cargo#8328). So the profiles are set once for the whole
//! workspace, as the comment above `[profile.dev]` in Cargo.toml says, and
//! no profile names a package.

use compliance_testkit::in_repo;

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

#[test]
fn no_profile_names_a_package() {
    let workspace = std::fs::read_to_string(in_repo("Cargo.toml")).unwrap();
    assert!(
        workspace.contains("\n[profile."),
        "the profiles moved: read them where they are"
    );
    let named = overridden_packages(&workspace);
    assert!(
        named.is_empty(),
        "Cargo.toml overrides a profile for {named:?}: `cargo install --path PROGRAM` \
         warns of each one that PROGRAM does not build; set it in [profile.*] for all"
    );
}

#[test]
fn the_parsing_here_sees_an_override() {
    let manifest = "[profile.dev.package.\"*\"]\nopt-level = 2\n\n\
                    [profile.dev.package.compliance-emulator]\nopt-level = 2\n\n\
                    [profile.release.package.\"compliance-core\"]\ndebug = 1\n";
    assert_eq!(
        overridden_packages(manifest),
        ["compliance-emulator", "compliance-core"]
    );
    assert!(overridden_packages("[profile.dev]\nopt-level = 2\n").is_empty());
}
