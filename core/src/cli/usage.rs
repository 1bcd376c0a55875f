//! What is wrong with a command line that does not fit its usage, in one
//! line naming the flag, and for one that does not exist the closest real
//! ones: docopt itself only says "Invalid arguments.".
//!
//! The usage texts here are small and regular: patterns of required flags,
//! groups of alternatives `(--a <x> | --b <y>)`, optional parts in `[...]`,
//! and an `Options:` section that says which flags take a value. That is
//! all this reads.

use std::ffi::OsString;

/// One flag of the `Options:` section.
#[derive(Debug, PartialEq, Eq)]
struct Flag {
    long: Option<String>,
    short: Option<String>,
    /// The name of its value (`<file>`, `SPEC`), if it takes one.
    value: Option<String>,
}

impl Flag {
    fn name(&self) -> &str {
        self.long
            .as_deref()
            .or(self.short.as_deref())
            .unwrap_or("?")
    }

    fn takes_value(&self) -> bool {
        self.value.is_some()
    }

    /// Whether its value is a file name (`<file>`), which may be any bytes.
    fn takes_file(&self) -> bool {
        self.value.as_deref() == Some(FILE_VALUE)
    }
}

/// The value name of the flags whose value is a file name.
const FILE_VALUE: &str = "<file>";

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
        let mut flag = Flag {
            long: None,
            short: None,
            value: None,
        };
        for word in spec.split([',', ' ', '=']) {
            if let Some(long) = word.strip_prefix("--") {
                flag.long = Some(format!("--{long}"));
            } else if word.starts_with('-') && word.len() == 2 {
                flag.short = Some(word.to_string());
            } else if !word.is_empty() {
                // A value is named after the flag: `--name <name>`, `--fault SPEC`.
                flag.value = Some(word.to_string());
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
        let flag = match resolve(flags, name) {
            Some(found) => found?,
            None => {
                return Err(format!(
                    "{word:?} is not a flag; values follow their flag, as --name <name>"
                ))
            }
        };
        if flag.takes_value() && inline.is_none() {
            match words.next() {
                Some(value) if !value.starts_with("--") => {}
                _ => return Err(format!("{} needs a value", flag.name())),
            }
        }
        if !flag.takes_value() && inline.is_some() {
            return Err(format!("{} takes no value", flag.name()));
        }
        seen.push(flag.name().to_string());
    }
    Ok(seen)
}

/// The flag that `name` (a word without its `=value`) names, exactly:
/// docopt takes no prefix of a long flag, so neither does this; `None` when
/// the word is no flag at all. A flag that does not exist is an error that
/// names it and the closest real flags ([`closest`]).
fn resolve<'a>(flags: &'a [Flag], name: &str) -> Option<Result<&'a Flag, String>> {
    if !name.starts_with('-') || name == "-" {
        return None;
    }
    let found = flags
        .iter()
        .find(|f| [f.long.as_deref(), f.short.as_deref()].contains(&Some(name)));
    Some(found.ok_or_else(|| match closest(flags, name).as_slice() {
        [] => format!("there is no flag {name}"),
        [only] => format!("there is no flag {name}; did you mean {only}?"),
        [rest @ .., last] => format!(
            "there is no flag {name}; did you mean {} or {last}?",
            rest.join(", ")
        ),
    }))
}

/// The real flags closest to `name`, a flag that does not exist, closest
/// first, at most three; none when nothing is close. A long flag is close
/// when `name` is its start (`--typ` of `--type`: docopt takes no prefix),
/// or a letter or two away from it: one added, dropped or changed, or two
/// side by side swapped (`--tpye`), case aside. A single letter (`-v`) is
/// close only to the same letter in the other case (`-V`). Dashes do not
/// count: `-type` is close to `--type`.
fn closest<'a>(flags: &'a [Flag], name: &str) -> Vec<&'a str> {
    let word = name.trim_start_matches('-').to_lowercase();
    if word.chars().count() == 1 && !name.starts_with("--") {
        return (flags.iter())
            .filter_map(|f| f.short.as_deref())
            .filter(|short| short[1..].to_lowercase() == word)
            .collect();
    }
    if word.is_empty() {
        return Vec::new();
    }
    let mut near: Vec<(usize, &str)> = Vec::new();
    for long in flags.iter().filter_map(|f| f.long.as_deref()) {
        let real = long[2..].to_lowercase();
        let distance = edits(&word, &real);
        // Two edits in a short word change too much of it.
        let close = match distance {
            0 | 1 => true,
            2 => word.chars().count().max(real.chars().count()) >= 5,
            _ => false,
        };
        if real.starts_with(&word) {
            near.push((0, long));
        } else if close {
            near.push((distance, long));
        }
    }
    near.sort_by_key(|(distance, _)| *distance);
    near.into_iter().take(3).map(|(_, flag)| flag).collect()
}

/// How many edits turn `a` into `b`: letters added, dropped or changed, and
/// two side by side swapped (the optimal string alignment distance).
fn edits(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    // Three rows of the table: two back (for a swap), the last, this one.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut last: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut row = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let change = usize::from(a[i - 1] != b[j - 1]);
            row[j] = (last[j] + 1).min(row[j - 1] + 1).min(last[j - 1] + change);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                row[j] = row[j].min(before[j - 2] + 1);
            }
        }
        before = std::mem::replace(&mut last, row);
    }
    last[b.len()]
}

/// A command line read as text, for docopt.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct TextArgv {
    /// The words, each as text: a file name that is not text as its lossy
    /// form (each byte that is not UTF-8 a U+FFFD).
    pub words: Vec<String>,
    /// The file names that are not text: the lossy form that stands for
    /// each in `words`, and its bytes.
    pub files: Vec<(String, OsString)>,
}

/// Reads a command line of any bytes as text. A word that is not text (not
/// UTF-8) may only be the value of a flag whose value is a `<file>`, as a
/// word of its own or after `=`: a file name on Linux is any bytes. It
/// stands in [`TextArgv::words`] as its lossy form, which
/// [`TextArgv::files`] maps back to its bytes. Any other word that is not
/// text is an error naming its flag, or the word, shown lossily.
pub(super) fn text_argv(usage: &str, argv: Vec<OsString>) -> Result<TextArgv, String> {
    let flags = options(usage);
    let mut read = TextArgv::default();
    // Every word and inline value that came as text, to tell a lossy form
    // apart from them.
    let mut texts: Vec<String> = Vec::new();
    let mut value_of: Option<&Flag> = None;
    // Why the word before is no flag, when it looked like a long one.
    let mut unknown: Option<String> = None;
    let mut positional = false;
    for word in argv {
        let flag = value_of.take();
        let after_unknown = unknown.take();
        let bytes = match word.into_string() {
            Ok(text) => {
                if flag.is_none() && !positional {
                    positional = text == "--";
                    value_of = needs_value(&flags, &text);
                    unknown = Some(&text)
                        .filter(|t| t.len() > 2 && t.starts_with("--") && !t.contains('='))
                        .and_then(|t| resolve(&flags, t)?.err());
                }
                if let Some((_, value)) = text.split_once('=').filter(|_| flag.is_none()) {
                    texts.push(value.to_string());
                }
                texts.push(text.clone());
                read.words.push(text);
                continue;
            }
            Err(bytes) => bytes,
        };
        let lossy = bytes.to_string_lossy().into_owned();
        if let Some(flag) = flag {
            read.words.push(file_value(flag, &lossy)?);
            read.files.push((lossy, bytes));
            continue;
        }
        // The value of a misspelt flag: the flag is what is wrong.
        if let Some(why) = after_unknown {
            return Err(why);
        }
        // `--flag=value`, whose value is not text.
        let raw = bytes.as_encoded_bytes();
        let inline = raw
            .iter()
            .position(|&b| b == b'=')
            .filter(|_| raw.starts_with(b"--") && !positional)
            .and_then(|eq| Some((std::str::from_utf8(&raw[..eq]).ok()?, &raw[eq + 1..])));
        let Some((name, value)) = inline else {
            return Err(format!("{lossy:?} is not text (not UTF-8)"));
        };
        let flag =
            resolve(&flags, name).unwrap_or_else(|| Err(format!("there is no flag {name}")))?;
        let lossy = String::from_utf8_lossy(value).into_owned();
        read.words
            .push(format!("{name}={}", file_value(flag, &lossy)?));
        read.files.push((lossy, os_string(value)));
    }
    for (i, (lossy, bytes)) in read.files.iter().enumerate() {
        let other_bytes = read.files[..i]
            .iter()
            .any(|(l, b)| l == lossy && b != bytes);
        if other_bytes || texts.contains(lossy) {
            return Err(format!(
                "{lossy:?} stands for more than one argument once the bytes that are not \
                 text (not UTF-8) are shown as U+FFFD; give one of them another name"
            ));
        }
    }
    Ok(read)
}

/// Bytes cut from a platform string at an ASCII `=`, as one again.
fn os_string(bytes: &[u8]) -> OsString {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt as _;
        std::ffi::OsStr::from_bytes(bytes).to_os_string()
    }
    #[cfg(not(unix))]
    {
        OsString::from(String::from_utf8_lossy(bytes).into_owned())
    }
}

/// The flag whose value the word after `word` is, if any: a flag that takes
/// a value and has none after `=`.
fn needs_value<'a>(flags: &'a [Flag], word: &str) -> Option<&'a Flag> {
    if word.contains('=') {
        return None;
    }
    resolve(flags, word)?.ok().filter(|f| f.takes_value())
}

/// A value that is not text, shown as `lossy`: fine for a file name (and
/// returned as the text that stands for it), an error for any other flag.
fn file_value(flag: &Flag, lossy: &str) -> Result<String, String> {
    match flag.takes_file() {
        true => Ok(lossy.to_string()),
        false => Err(format!(
            "{} {lossy:?} is not text (not UTF-8); only a file name may be other bytes",
            flag.name()
        )),
    }
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
        assert!(flags[0].takes_value() && !flags[5].takes_value());
        assert!(flags[4].takes_file() && !flags[1].takes_file());
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
        // docopt takes no prefix: it is named, with the flag it starts.
        assert_eq!(
            why(&["--id", "1", "--res", "r"]).unwrap(),
            "there is no flag --res; did you mean --results-file?"
        );
        assert_eq!(why(&["--id", "1", "--results-file", "r"]), None);
    }

    /// The flags [`closest`] finds for `name` among [`USAGE`]'s.
    fn near(name: &str) -> Vec<String> {
        let flags = options(USAGE);
        closest(&flags, name)
            .into_iter()
            .map(String::from)
            .collect()
    }

    #[test]
    fn a_flag_that_does_not_exist_comes_with_the_closest_real_ones() {
        // The start of a flag, or of several (an ambiguous one).
        assert_eq!(near("--typ"), ["--type"]);
        assert_eq!(near("--res"), ["--results-file"]);
        assert_eq!(near("--i"), ["--id"]);
        assert_eq!(near("--w"), ["--wait"]);
        assert_eq!(near("--n"), ["--name"]);
        // Two letters swapped; one dropped, added or changed; case.
        assert_eq!(near("--tpye"), ["--type"]);
        assert_eq!(near("--nmae"), ["--name"]);
        assert_eq!(near("--result-file"), ["--results-file"]);
        assert_eq!(near("--resultss-file"), ["--results-file"]);
        assert_eq!(near("--waiy"), ["--wait"]);
        assert_eq!(near("--TYPE"), ["--type"]);
        assert_eq!(near("--ids"), ["--id"]);
        // Two edits in a long word; a single dash for two.
        assert_eq!(near("--reslut-file"), ["--results-file"]);
        assert_eq!(near("-type"), ["--type"]);
        // A letter: its other case only.
        assert_eq!(near("-v"), ["-V"]);
        assert!(near("-x").is_empty());
        // Nothing close: none.
        assert!(near("--bogus").is_empty());
        assert!(near("--xyz").is_empty());
        assert!(near("--").is_empty());
        // Closest first, the start of a flag before a letter off.
        let flags = options("Options:\n  --id <id>  I.\n  --ids-file <file>  F.\n");
        assert_eq!(closest(&flags, "--ids"), ["--ids-file", "--id"]);
        let message = resolve(&flags, "--ids").unwrap().unwrap_err();
        assert_eq!(
            message,
            "there is no flag --ids; did you mean --ids-file or --id?"
        );
        assert_eq!(edits("name", "nmae"), 1);
        assert_eq!(edits("ca", "abc"), 3);
        assert_eq!(edits("", "id"), 2);
    }

    #[cfg(unix)]
    #[test]
    fn a_word_that_is_not_text_is_a_file_name_or_an_error_naming_its_flag() {
        use std::os::unix::ffi::OsStringExt as _;
        let bytes = |b: &[u8]| OsString::from_vec(b.to_vec());
        let read = |words: &[&[u8]]| text_argv(USAGE, words.iter().map(|w| bytes(w)).collect());
        let file = bytes(b"r\xe9.jsonl");
        let stands = "r\u{fffd}.jsonl".to_string();
        assert_eq!(
            read(&[b"--id", b"1", b"--results-file", b"r\xe9.jsonl"]),
            Ok(TextArgv {
                words: vec![
                    "--id".into(),
                    "1".into(),
                    "--results-file".into(),
                    stands.clone()
                ],
                files: vec![(stands.clone(), file.clone())],
            })
        );
        // After `=`.
        assert_eq!(
            read(&[b"--results-file=r\xe9.jsonl"]).unwrap().files,
            [(stands.clone(), file.clone())]
        );
        // Text is passed as it is, and a file flag's text value too.
        assert_eq!(
            read(&[b"--name", b"n", b"--results-file", b"r"]),
            Ok(TextArgv {
                words: vec![
                    "--name".into(),
                    "n".into(),
                    "--results-file".into(),
                    "r".into()
                ],
                files: Vec::new(),
            })
        );
        let refused = [
            (
                &[&b"--name"[..], b"caf\xe9"][..],
                "--name \"caf\u{fffd}\" is not text",
            ),
            (&[b"--name=caf\xe9"], "--name \"caf\u{fffd}\" is not text"),
            (&[b"--id", b"1", b"\xff"], "\"\u{fffd}\" is not text"),
            (&[b"--resu\xe9lts-file", b"r"], "is not text"),
            (&[b"--", b"r\xe9"], "\"r\u{fffd}\" is not text"),
            (&[b"--bogus=r\xe9"], "there is no flag --bogus"),
            // docopt takes no prefix: the flag is what is wrong.
            (
                &[b"--res", b"r\xe9.jsonl"],
                "there is no flag --res; did you mean --results-file?",
            ),
            (
                &[b"--res=r\xe9.jsonl"],
                "there is no flag --res; did you mean --results-file?",
            ),
            // Bytes that read as another argument's text would be two files in one.
            (
                &[
                    b"--results-file",
                    b"r\xe9.jsonl",
                    b"--name",
                    "r\u{fffd}.jsonl".as_bytes(),
                ],
                "stands for more than one argument",
            ),
            (
                &[
                    b"--results-file",
                    b"r\xe9.jsonl",
                    b"--results-file",
                    b"r\xe8.jsonl",
                ],
                "stands for more than one argument",
            ),
        ];
        for (words, why) in refused {
            let err = read(words).unwrap_err();
            assert!(err.contains(why), "{words:?}: {err}");
        }
        // The same file twice is one file.
        assert!(read(&[
            b"--results-file",
            b"r\xe9.jsonl",
            b"--results-file",
            b"r\xe9.jsonl"
        ])
        .is_ok());
    }
}
