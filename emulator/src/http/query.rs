//! Query strings: `key=value` pairs and their percent-decoding.

use percent_encoding::percent_decode_str;

/// Decoded `key=value` pairs of a query string (`+` is a space).
pub(crate) fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|s| {
            let (k, v) = s.split_once('=').unwrap_or((s, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// Decodes `+` as a space and `%XX` escapes as bytes (so `%2B` is a
/// plus); malformed escapes stay as they are, and bytes that are not UTF-8
/// become U+FFFD.
pub(crate) fn percent_decode(s: &str) -> String {
    percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_coding() {
        assert_eq!(percent_decode("content-type%3Bhost"), "content-type;host");
        assert_eq!(percent_decode("a+b%2"), "a b%2");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
        assert_eq!(percent_decode("%%41%2B+%e9%"), "%A+ \u{fffd}%");
        assert_eq!(
            query_pairs("type=tweets&&x=&compliance_job.fields=a%2Cb"),
            vec![
                ("type".to_string(), "tweets".to_string()),
                ("x".to_string(), String::new()),
                ("compliance_job.fields".to_string(), "a,b".to_string())
            ]
        );
    }
}
