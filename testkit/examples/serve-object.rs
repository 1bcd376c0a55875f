//! Serves one file on 127.0.0.1 as Cloud Storage serves an object, for
//! `bench/run.sh`: the loopback endpoint its downloads are timed against,
//! with results in LF or CRLF (the emulator writes LF only).
//!
//! `cargo run --release -p compliance-testkit --example serve-object -- results.jsonl`
//!
//! The file is hashed once at start (CRC32C and MD5, streamed), then its URL
//! is printed on stdout, one line, and each connection is answered on a
//! thread of its own until the process is killed. A `GET` (or `HEAD`) of
//! that URL's path, whatever its query, gets `200` with `Content-Length`,
//! `x-goog-hash: crc32c=<base64 of the big-endian CRC32C>,md5=<base64 of the
//! MD5>` of the whole object, the hex MD5 in quotes as `ETag` (a
//! non-composite object's), `x-goog-generation`,
//! `x-goog-stored-content-length` and `Content-Type: text/plain` (as the
//! emulator serves results). The body streams from the file in 1 MiB
//! pieces, never whole in memory.
//!
//! `Range` is ignored: the whole object comes back with `200`, which HTTP
//! allows, and `download-results` asks for a range only to resume a body
//! that broke. One request per connection (`Connection: close`). Another
//! path is `404`, another method `405`; a file whose length changed since it
//! was hashed is `500`, so that no client is sent hashes of other bytes.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use md5::{Digest as _, Md5};

const USAGE: &str = "\
Serves one file on 127.0.0.1 as Cloud Storage serves an object, with its
x-goog-hash, until killed. Prints the object's URL on stdout.

Usage:
  serve-object <file>
  serve-object (-h | --help)
";

/// The longest request head read: a client that sends more is cut off.
const MAX_HEAD: u64 = 64 * 1024;

/// How long a connection may stay silent before its thread gives it up.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The file served and what Cloud Storage would say of it.
struct Object {
    file: PathBuf,
    /// The URL's path, `/serve-object/<file name>`.
    path: String,
    len: u64,
    x_goog_hash: String,
    etag: String,
    generation: u128,
}

impl Object {
    /// Reads `file` once, hashing it as it goes.
    fn hash(file: &Path) -> io::Result<Object> {
        let mut input = File::open(file)?;
        let mut buffer = vec![0; 1 << 20];
        let (mut crc, mut md5, mut len) = (0u32, Md5::new(), 0u64);
        loop {
            let n = match input.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            crc = crc32c::crc32c_append(crc, &buffer[..n]);
            md5.update(&buffer[..n]);
            len += n as u64;
        }
        let md5: [u8; 16] = md5.finalize().into();
        let hex: String = md5.iter().map(|b| format!("{b:02x}")).collect();
        // Cloud Storage's generation is the object's write time in µs.
        let generation = input
            .metadata()?
            .modified()?
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_micros());
        let name = file.file_name().map_or_else(
            || "object".to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        Ok(Object {
            file: file.to_path_buf(),
            path: format!("/serve-object/{}", url_encode(&name)),
            len,
            x_goog_hash: format!(
                "crc32c={},md5={}",
                STANDARD.encode(crc.to_be_bytes()),
                STANDARD.encode(md5)
            ),
            etag: format!("\"{hex}\""),
            generation,
        })
    }
}

/// Percent-encodes all but the unreserved characters of RFC 3986.
fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The request line's method and path (query cut off), or `None` when the
/// client closed before a whole head.
fn read_head(stream: &TcpStream) -> io::Result<Option<(String, String)>> {
    let mut reader = BufReader::new(stream.take(MAX_HEAD));
    let mut line = Vec::new();
    if reader.read_until(b'\n', &mut line)? == 0 {
        return Ok(None);
    }
    let request = String::from_utf8_lossy(&line).into_owned();
    let mut parts = request.split_ascii_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("not an HTTP request line: {:?}", request.trim_end()),
        ));
    };
    let path = target.split(['?', '#']).next().unwrap_or(target);
    let (method, path) = (method.to_string(), path.to_string());
    // The headers matter to nothing served here; they are read to the
    // blank line that ends them, so that the client sees its request taken.
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 || !line.ends_with(b"\n") {
            return Ok(None);
        }
        if line == b"\r\n" || line == b"\n" {
            return Ok(Some((method, path)));
        }
    }
}

/// Sends a short text answer (an error).
fn plain(mut stream: &TcpStream, status: &str, extra: &str, text: &str) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n{extra}\
         Connection: close\r\n\r\n{text}",
        text.len()
    );
    stream.write_all(head.as_bytes())
}

/// Answers one request on `stream`.
fn serve(object: &Object, stream: &TcpStream) -> io::Result<()> {
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    let Some((method, path)) = read_head(stream)? else {
        return Ok(());
    };
    if path != object.path {
        return plain(stream, "404 Not Found", "", "No such object.\n");
    }
    if method != "GET" && method != "HEAD" {
        return plain(
            stream,
            "405 Method Not Allowed",
            "Allow: GET, HEAD\r\n",
            "Only GET and HEAD.\n",
        );
    }
    let mut file = File::open(&object.file)?;
    if file.metadata()?.len() != object.len {
        return plain(
            stream,
            "500 Internal Server Error",
            "",
            "The file changed since it was hashed; start serve-object again.\n",
        );
    }
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {len}\r\n\
         ETag: {etag}\r\nx-goog-generation: {generation}\r\nx-goog-metageneration: 1\r\n\
         x-goog-hash: {hash}\r\nx-goog-stored-content-length: {len}\r\n\
         x-goog-stored-content-encoding: identity\r\nConnection: close\r\n\r\n",
        len = object.len,
        etag = object.etag,
        generation = object.generation,
        hash = object.x_goog_hash,
    );
    let mut out = stream;
    out.write_all(head.as_bytes())?;
    if method == "GET" {
        send_body(&mut file, object.len, out)?;
    }
    Ok(())
}

/// Sends the first `len` bytes of `file`. `io::copy` would move them 8 KiB
/// a call (std's `sendfile` path is not taken for a socket); 1 MiB pieces
/// keep the server well ahead of any client measured against it.
fn send_body(file: &mut File, len: u64, mut out: &TcpStream) -> io::Result<()> {
    let mut buffer = vec![0; 1 << 20];
    let mut left = len;
    while left > 0 {
        let want = buffer
            .len()
            .min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = match file.read(&mut buffer[..want]) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("the file ended after {} of {len} bytes", len - left),
                ))
            }
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        out.write_all(&buffer[..n])?;
        left -= n as u64;
    }
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let file = match &args[..] {
        [flag] if flag == "-h" || flag == "--help" => {
            print!("{USAGE}");
            return;
        }
        [file] if !file.starts_with('-') => PathBuf::from(file),
        _ => {
            eprintln!("serve-object: give one file to serve\n{USAGE}");
            process::exit(2);
        }
    };
    let object = match Object::hash(&file) {
        Ok(o) => Arc::new(o),
        Err(e) => {
            eprintln!("serve-object: reading {}: {e}", file.display());
            process::exit(1);
        }
    };
    let listener = match TcpListener::bind("127.0.0.1:0").and_then(|l| Ok((l.local_addr()?, l))) {
        Ok((addr, l)) => {
            println!("http://{addr}{}", object.path);
            l
        }
        Err(e) => {
            eprintln!("serve-object: listening on 127.0.0.1: {e}");
            process::exit(1);
        }
    };
    // The reader of the URL (a shell's `read`) may be waiting on it.
    if let Err(e) = io::stdout().flush() {
        eprintln!("serve-object: printing the URL: {e}");
        process::exit(1);
    }
    for stream in listener.incoming() {
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                eprintln!("serve-object: accepting a connection: {e}");
                continue;
            }
        };
        let object = Arc::clone(&object);
        thread::spawn(move || {
            if let Err(e) = serve(&object, &stream) {
                eprintln!("serve-object: answering a request: {e}");
            }
        });
    }
}
