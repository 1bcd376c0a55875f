//! What is wrong with a command line that does not fit its usage, in one
//! line naming the flag: docopt itself only says "Invalid arguments.".
//!
//! The usage texts here are small and regular: patterns of required flags,
//! groups of alternatives `(--a <x> | --b <y>)`, optional parts in `[...]`,
//! and an `Options:` section that says which flags take a value. That is
//! all this reads.

/// One flag of the `Options:` section.
#[derive(Debug, PartialEq, Eq)]
struct Flag {
    long: Option<String>,
    short: Option<String>,
    takes_value: bool,
}

impl Flag {
    fn name(&self) -> &str {
        self.long
            .as_deref()
            .or(self.short.as_deref())
            .unwrap_or("?")
    }
}

/// The flags of the `Options:` section: lines that start with `-`.
fn options(usage: &str) -> Vec<Flag> {
    let Some((_, section)) = usage.split_once("Options:") else {
        return Vec::new();
    };
    let mut flags = Vec::new();
    for line in section.lines() {
        let line = line.trim_start();
        if !line.starts_with('-') {
            continue;
        }
        // The flags end where two spaces start the description.
        let spec = line.split("  ").next().unwrap_or(line);
        // A value is named after the flag: `--name <name>`, `--fault SPEC`.
        let takes_value = spec
            .split([',', ' ', '='])
            .any(|w| !w.is_empty() && !w.starts_with('-'));
        let mut flag = Flag {
            long: None,
            short: None,
            takes_value,
        };
        for word in spec.split([',', ' ', '=']) {
            if let Some(long) = word.strip_prefix("--") {
                flag.long = Some(format!("--{long}"));
            } else if word.starts_with('-') && word.len() == 2 {
                flag.short = Some(word.to_string());
            }
        }
        flags.push(flag);
    }
    flags
}

/// The usage patterns: the lines of the `Usage:` section, program name
/// dropped, but those for `--help` and `--version`.
fn patterns(usage: &str) -> Vec<String> {
    let Some((_, rest)) = usage.split_once("Usage:") else {
        return Vec::new();
    };
    rest.lines()
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.trim().split_once(' ').map(|(_, p)| p.to_string()))
        .filter(|p| !p.contains("--help") && !p.contains("--version"))
        .collect()
}

/// The program's name: the first word of the first usage line.
pub(super) fn program(usage: &str) -> &str {
    usage
        .split_once("Usage:")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .unwrap_or("this program")
}

/// The `Usage:` section, for showing after an error.
pub(super) fn synopsis(usage: &str) -> String {
    let Some((_, rest)) = usage.split_once("Usage:") else {
        return String::new();
    };
    let lines: Vec<&str> = rest
        .lines()
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| !l.trim().is_empty())
        .collect();
    format!("Usage:\n{}", lines.join("\n"))
}

/// A required part of a pattern: one flag, or one of several.
#[derive(Debug, PartialEq, Eq)]
enum Need {
    Flag(String),
    OneOf(Vec<String>),
}

/// The required parts of a pattern (what is outside `[...]`).
fn needs(pattern: &str) -> Vec<Need> {
    let mut needs = Vec::new();
    let mut depth_optional = 0;
    let mut group: Option<Vec<String>> = None;
    let mut expect_alternative = false;
    let spaced = pattern
        .replace('(', " ( ")
        .replace(')', " ) ")
        .replace('[', " [ ")
        .replace(']', " ] ")
        .replace('|', " | ");
    for word in spaced.split_whitespace() {
        match word {
            "[" => depth_optional += 1,
            "]" => depth_optional -= 1,
            "(" if depth_optional == 0 => {
                group = Some(Vec::new());
                expect_alternative = true;
            }
            ")" if depth_optional == 0 => {
                if let Some(alternatives) = group.take() {
                    needs.push(Need::OneOf(alternatives));
                }
            }
            "|" => expect_alternative = true,
            flag if flag.starts_with('-') && depth_optional == 0 => match &mut group {
                Some(alternatives) if expect_alternative => {
                    alternatives.push(flag.to_string());
                    expect_alternative = false;
                }
                Some(_) => {}
                None => needs.push(Need::Flag(flag.to_string())),
            },
            _ => {}
        }
    }
    needs
}

/// The flags given on a command line, by their long names, or the first
/// thing wrong with the words themselves.
fn given(flags: &[Flag], argv: &[String]) -> Result<Vec<String>, String> {
    let mut seen = Vec::new();
    let mut words = argv.iter();
    while let Some(word) = words.next() {
        if word == "--" {
            break;
        }
        let (name, inline) = match word.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v)),
            _ => (word.as_str(), None),
        };
        let flag = if let Some(long) = name.strip_prefix("--") {
            // docopt takes an unambiguous prefix of a long flag.
            let exact = flags.iter().find(|f| f.long.as_deref() == Some(name));
            let prefixed: Vec<&Flag> = flags
                .iter()
                .filter(|f| f.long.as_deref().is_some_and(|l| l[2..].starts_with(long)))
                .collect();
            match (exact, prefixed.as_slice()) {
                (Some(flag), _) => flag,
                (None, [flag]) => *flag,
                (None, []) => return Err(format!("there is no flag {name}")),
                (None, many) => {
                    let names: Vec<&str> = many.iter().map(|f| f.name()).collect();
                    return Err(format!(
                        "{name} is short for more than one flag: {}",
                        names.join(", ")
                    ));
                }
            }
        } else if name.starts_with('-') && name.len() > 1 {
            match flags.iter().find(|f| f.short.as_deref() == Some(name)) {
                Some(flag) => flag,
                None => return Err(format!("there is no flag {name}")),
            }
        } else {
            return Err(format!(
                "{word:?} is not a flag; values follow their flag, as --name <name>"
            ));
        };
        if flag.takes_value && inline.is_none() {
            match words.next() {
                Some(value) if !value.starts_with("--") => {}
                _ => return Err(format!("{} needs a value", flag.name())),
            }
        }
        if !flag.takes_value && inline.is_some() {
            return Err(format!("{} takes no value", flag.name()));
        }
        seen.push(flag.name().to_string());
    }
    Ok(seen)
}

/// Whether a pattern lets `flag` repeat: `[--flag VALUE]...`.
fn repeatable(usage: &str, flag: &str) -> bool {
    patterns(usage).iter().any(|p| {
        p.match_indices(&format!("[{flag}")).any(|(at, _)| {
            p[at..]
                .split_once(']')
                .is_some_and(|(_, after)| after.starts_with("..."))
        })
    })
}

/// The first thing wrong with `argv` for the pattern, if anything.
fn problem(pattern: &str, seen: &[String]) -> Option<String> {
    for need in needs(pattern) {
        match need {
            Need::Flag(flag) if !seen.contains(&flag) => {
                return Some(format!("{flag} is required"))
            }
            Need::Flag(_) => {}
            Need::OneOf(alternatives) => {
                let present: Vec<&String> =
                    alternatives.iter().filter(|a| seen.contains(a)).collect();
                let listed = match alternatives.split_last() {
                    Some((last, rest)) if !rest.is_empty() => {
                        format!("{} or {last}", rest.join(", "))
                    }
                    _ => alternatives.join(""),
                };
                match present.len() {
                    0 => return Some(format!("give one of {listed}")),
                    1 => {}
                    _ => {
                        let names: Vec<&str> = present.iter().map(|s| s.as_str()).collect();
                        return Some(format!(
                            "{} cannot go together: give one of {listed}",
                            names.join(" and ")
                        ));
                    }
                }
            }
        }
    }
    None
}

/// Why `argv` does not fit `usage`, in one line naming the flag; `None`
/// when no reason is found here.
pub(super) fn diagnose(usage: &str, argv: &[String]) -> Option<String> {
    let flags = options(usage);
    let seen = match given(&flags, argv) {
        Ok(seen) => seen,
        Err(why) => return Some(why),
    };
    for flag in &flags {
        let name = flag.name();
        if seen.iter().filter(|s| *s == name).count() > 1 && !repeatable(usage, name) {
            return Some(format!("{name} is given more than once"));
        }
    }
    // The pattern that fits best: the one with the fewest needs unmet,
    // among those whose flags are all given.
    let problems: Vec<Option<String>> = patterns(usage).iter().map(|p| problem(p, &seen)).collect();
    if problems.iter().any(Option::is_none) {
        return None;
    }
    problems.into_iter().flatten().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    const USAGE: &str = "
Download things.

Usage:
  download-results (--url <download-url> | --id <id> | --name <name>) --results-file <file> [options]
  download-results (-h | --help)
  download-results (-V | --version)

Options:
  --url <download-url>  The URL.
  --id <id>             The id.
  --name <name>         The name.
  --type <type>         The type.
  --results-file <file>
                        Where.
  --wait                Wait.
  -q, --quiet           Quiet.
  -h, --help            Help.
  -V, --version         Version.
";

    fn why(args: &[&str]) -> Option<String> {
        let argv: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        diagnose(USAGE, &argv)
    }

    #[test]
    fn reads_the_options_and_patterns() {
        let flags = options(USAGE);
        assert_eq!(flags.len(), 9);
        assert!(flags[0].takes_value && !flags[5].takes_value);
        assert_eq!(flags[6].short.as_deref(), Some("-q"));
        assert_eq!(patterns(USAGE).len(), 1);
        assert_eq!(
            needs(&patterns(USAGE)[0]),
            [
                Need::OneOf(vec!["--url".into(), "--id".into(), "--name".into()]),
                Need::Flag("--results-file".into()),
            ]
        );
        assert_eq!(program(USAGE), "download-results");
        let repeating =
            "Usage:\n  emu [options] [--fault SPEC]...\n\nOptions:\n  --fault SPEC  A fault.\n";
        assert!(repeatable(repeating, "--fault"));
        assert!(!repeatable(USAGE, "--id"));
        let argv: Vec<String> = ["--fault", "a", "--fault", "b"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(diagnose(repeating, &argv), None);
    }

    #[test]
    fn names_what_is_missing_or_in_conflict() {
        assert_eq!(why(&["--id", "1"]).unwrap(), "--results-file is required");
        assert_eq!(
            why(&["--results-file", "r"]).unwrap(),
            "give one of --url, --id or --name"
        );
        assert_eq!(
            why(&["--id", "1", "--name", "n", "--results-file", "r"]).unwrap(),
            "--id and --name cannot go together: give one of --url, --id or --name"
        );
        assert_eq!(
            why(&["--id", "1", "--results-file", "r", "--bogus"]).unwrap(),
            "there is no flag --bogus"
        );
        assert_eq!(why(&["--id"]).unwrap(), "--id needs a value");
        assert_eq!(
            why(&["--id", "1", "--results-file", "r", "--wait=yes"]).unwrap(),
            "--wait takes no value"
        );
        assert_eq!(
            why(&["--id", "1", "--id", "2", "--results-file", "r"]).unwrap(),
            "--id is given more than once"
        );
        assert!(why(&["--id", "1", "stray", "--results-file", "r"])
            .unwrap()
            .contains("\"stray\" is not a flag"));
        assert_eq!(why(&["-x"]).unwrap(), "there is no flag -x");
        // Prefixes count, as docopt takes them.
        assert_eq!(
            why(&["--res", "r"]).unwrap(),
            "give one of --url, --id or --name"
        );
        assert_eq!(why(&["--id", "1", "--results-file", "r"]), None);
    }
}
