//! Files for the tests of every fast path against the reference: edge cases
//! written out, and a generator of files that mix long runs of normal lines
//! (the fast paths' ground) with every kind of line that is not.

use proptest::prelude::*;

/// `n` normal lines of IDs of 1 to 19 digits, so that line ends fall on
/// every byte of a block, each ended by `eol`.
pub(crate) fn normal_lines(n: usize, seed: u64, eol: &str) -> Vec<u8> {
    let mut next = crate::xorshift::xorshift(seed);
    let mut out = Vec::new();
    for _ in 0..n {
        let seed = next();
        let digits = 1 + (seed % 19) as u32;
        let id = seed % 10u64.pow(digits);
        out.extend(format!("{id:0width$}{eol}", width = digits as usize).bytes());
    }
    out
}

/// The cases issue 9 names, and the like: every kind of line alone and in
/// company, with and without a final newline.
pub(crate) fn edge_case_files() -> Vec<Vec<u8>> {
    let mut files: Vec<Vec<u8>> = [
        &b""[..],
        b"7",
        b"7\n",
        b"7 ",
        b" 7",
        b"7\t",
        b"\t7",
        b"7\r",
        b"7\r\n",
        b"\r\n",
        b"\r",
        b"\n",
        b"\n\n",
        b"7\n\n8",
        b"7\n\n8\n",
        b"\n7",
        b"\n7\n",
        b"7 \n8",
        b"7 \n8\n",
        b"7\r\n8",
        b"7\r8\n",
        b"7\r\r\n",
        b"\r7\n",
        b"7\n\r\n8\n",
        b"\xEF\xBB\xBF7\n",
        b"\xEF\xBB\xBF\n7\n",
        b"\xEF\xBB\xBF",
        b"7\n\xEF\xBB\xBF8\n",
        b"\xEF\xBB7\n",
        b"1234567890123456789\n",
        b"12345678901234567890\n",
        b"1234567890123456789",
        b"12345678901234567890",
        b" 1234567890123456789 \r\n",
        b"1 2\n",
        b"-7\n",
        b"+7\n",
        b"7\x0c\n",
        b"7\x00\n",
        b"\xff\n",
        b"1000000 ",
        b"1000000 \n",
    ]
    .iter()
    .map(|f| f.to_vec())
    .collect();
    // Long lines that are still an ID or blank, and long ones that are not.
    let mut long = b" ".repeat(200);
    long.extend(b"42\t\t\n");
    files.push(long.clone());
    files.push(b" ".repeat(300));
    files.push([b" ".repeat(150), b"\r\n".to_vec()].concat());
    files.push(b"9".repeat(300));
    files.push(
        [
            b"1\n".to_vec(),
            "é".repeat(100).into_bytes(),
            b"\n".to_vec(),
        ]
        .concat(),
    );
    // Lines of every length, at every offset around the 64-byte block.
    for len in [1, 18, 19, 20, 21, 63, 64, 65] {
        for offset in 0..66 {
            let mut file = b"1\n".repeat(offset / 2);
            if offset % 2 == 1 {
                file.insert(0, b'\n');
            }
            file.extend(b"7".repeat(len));
            file.push(b'\n');
            file.extend(normal_lines(10, offset as u64 + 1, "\n"));
            files.push(file);
        }
    }
    // Normal runs broken by each of the above, and a run that ends without `\n`.
    let base = normal_lines(200, 7, "\n");
    for i in 0..files.len().min(60) {
        let mut file = base.clone();
        file.extend(&files[i]);
        file.extend(&base);
        files.push(file);
    }
    let mut tail = base.clone();
    tail.extend(b"1000000 ");
    files.push(tail);
    let mut crlf = normal_lines(300, 3, "\r\n");
    crlf.extend(b"\r\n");
    crlf.extend(normal_lines(300, 4, "\r\n"));
    files.push(crlf);
    files
}

/// One piece of a generated file: a run of normal lines, or one odd line.
fn piece() -> impl Strategy<Value = Vec<u8>> {
    let odd = prop_oneof![
        "[ \t]{0,3}[0-9]{1,19}[ \t]{0,3}\r?\n",
        "[ \t]{0,4}\r?\n",
        "[0-9]{18,22}\r?\n",
        "[0-9]{1,5}\r[0-9]{0,5}\r?\n",
        "[0-9]{1,5}\r\r\n",
        "\u{feff}[0-9]{1,5}\n",
        " {60,130}[0-9]{1,19}[ \t]{0,70}\n",
        "[0-9a-z,\\-]{1,8}\n",
        "[0-9]{1,19}",
    ]
    .prop_map(String::into_bytes);
    prop_oneof![
        4 => (1usize..150, any::<u64>()).prop_map(|(n, seed)| normal_lines(n, seed, "\n")),
        1 => (1usize..100, any::<u64>()).prop_map(|(n, seed)| normal_lines(n, seed, "\r\n")),
        3 => odd,
        1 => Just(b"\xff\x00\n".to_vec()),
    ]
}

/// Files of long normal runs and odd lines, with or without a byte order
/// mark, with or without a final newline.
pub(crate) fn id_files() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<bool>(),
        prop::collection::vec(piece(), 0..12),
        any::<bool>(),
    )
        .prop_map(|(bom, pieces, cut_last_newline)| {
            let mut file = if bom {
                b"\xEF\xBB\xBF".to_vec()
            } else {
                Vec::new()
            };
            for p in pieces {
                file.extend(p);
            }
            if cut_last_newline && file.ends_with(b"\n") {
                file.pop();
            }
            file
        })
}
