//! A small HTTP/1.1 server that answers whatever a test tells it to, on
//! 127.0.0.1 and a port of its own: for servers that do the wrong thing on
//! purpose (a redirect where none belongs, a `200` that is an error, a body
//! cut at a line, a `308` that lies), where the emulator, which behaves, has
//! no fault for it.
//!
//! Each request is read whole (its body by `Content-Length` or chunked),
//! recorded, and handed to the test's `answer`, which returns the bytes to
//! write, head and body, as wrong as the test likes, and what to do next.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// A request as the server read it.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// `GET`, `PUT`, ...
    pub method: String,
    /// The path and query, as sent.
    pub target: String,
    /// The headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl Request {
    /// A header's value, by its name in any case.
    pub fn header(&self, name: &str) -> Option<&str> {
        crate::http::header(&self.headers, name)
    }
}

/// What the server does after writing an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Then {
    /// Reads the connection's next request.
    KeepOpen,
    /// Closes the connection (a body with no length ends there).
    Close,
    /// Writes nothing more and keeps the connection open until the client
    /// goes away or the server is dropped.
    Hang,
}

/// The bytes to write for one request, and what then.
#[derive(Clone, Debug)]
pub struct Answer {
    /// Head and body, exactly as written.
    pub bytes: Vec<u8>,
    /// What the server does next.
    pub then: Then,
}

impl Answer {
    /// A well-formed answer: `status`, the `headers`, `Content-Length` and
    /// `body`; the connection stays open.
    pub fn new(status: u16, headers: &[(&str, &str)], body: impl AsRef<[u8]>) -> Answer {
        let body = body.as_ref();
        let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
        for (name, value) in headers {
            head += &format!("{name}: {value}\r\n");
        }
        head += &format!("Content-Length: {}\r\n\r\n", body.len());
        Answer {
            bytes: [head.as_bytes(), body].concat(),
            then: Then::KeepOpen,
        }
    }

    /// Raw bytes, then what `then` says.
    pub fn raw(bytes: impl Into<Vec<u8>>, then: Then) -> Answer {
        Answer {
            bytes: bytes.into(),
            then,
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        404 => "Not Found",
        413 => "Payload Too Large",
        416 => "Range Not Satisfiable",
        429 => "Too Many Requests",
        503 => "Service Unavailable",
        _ => "Whatever",
    }
}

type AnswerFn = dyn Fn(&Request, usize) -> Answer + Send + Sync;

/// The server; it stops when dropped.
pub struct Hostile {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
}

impl Hostile {
    /// Starts a server that answers the `n`th request (from 0, over all
    /// connections) with `answer(request, n)`. A request that says
    /// `Expect: 100-continue` gets `100 Continue` first.
    pub fn start(answer: impl Fn(&Request, usize) -> Answer + Send + Sync + 'static) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let answer: Arc<AnswerFn> = Arc::new(answer);
        let count = Arc::new(AtomicUsize::new(0));
        let (seen, stopped) = (requests.clone(), stop.clone());
        thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let (answer, count, seen, stopped) =
                    (answer.clone(), count.clone(), seen.clone(), stopped.clone());
                thread::spawn(move || serve(stream, &*answer, &count, &seen, &stopped));
            }
        });
        Hostile {
            addr,
            requests,
            stop,
        }
    }

    /// `http://127.0.0.1:PORT` and `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The origin, `http://127.0.0.1:PORT`, for `X_API_URL`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request read so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().expect("requests").clone()
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the stop.
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(
    stream: TcpStream,
    answer: &AnswerFn,
    count: &AtomicUsize,
    seen: &Mutex<Vec<Request>>,
    stop: &AtomicBool,
) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader, &mut writer) {
        let n = count.fetch_add(1, Ordering::SeqCst);
        seen.lock().expect("requests").push(request.clone());
        let reply = answer(&request, n);
        if writer.write_all(&reply.bytes).is_err() || writer.flush().is_err() {
            return;
        }
        match reply.then {
            Then::KeepOpen => {}
            Then::Close => {
                let _ = writer.shutdown(Shutdown::Both);
                return;
            }
            Then::Hang => {
                let _ = reader
                    .get_ref()
                    .set_read_timeout(Some(Duration::from_millis(100)));
                let mut byte = [0u8; 1];
                while !stop.load(Ordering::SeqCst) {
                    match reader.read(&mut byte) {
                        Ok(0) => return,
                        Ok(_) => {}
                        Err(e)
                            if e.kind() == std::io::ErrorKind::WouldBlock
                                || e.kind() == std::io::ErrorKind::TimedOut => {}
                        Err(_) => return,
                    }
                }
                return;
            }
        }
    }
}

/// Reads one request; `None` when the connection ends or is not HTTP.
fn read_request(reader: &mut BufReader<TcpStream>, writer: &mut TcpStream) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next()?.to_string(), parts.next()?.to_string());
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let mut request = Request {
        method,
        target,
        headers,
        body: Vec::new(),
    };
    if request
        .header("expect")
        .is_some_and(|e| e.eq_ignore_ascii_case("100-continue"))
    {
        writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").ok()?;
    }
    if let Some(length) = request.header("content-length") {
        let mut body = vec![0; length.parse().ok()?];
        reader.read_exact(&mut body).ok()?;
        request.body = body;
    } else if request
        .header("transfer-encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
    {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            request.body.extend_from_slice(&chunk[..size]);
        }
    }
    Some(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_what_it_is_told_and_records_the_request() {
        let server = Hostile::start(|req, n| Answer {
            then: Then::Close,
            ..Answer::new(
                200,
                &[("X-N", &n.to_string())],
                format!("{} {}", req.method, req.body.len()),
            )
        });
        let mut stream = TcpStream::connect(server.url("").trim_start_matches("http://")).unwrap();
        stream
            .write_all(
                b"PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
            )
            .unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        assert!(
            answer.starts_with("HTTP/1.1 200 OK\r\nX-N: 0\r\n"),
            "{answer}"
        );
        assert!(answer.ends_with("PUT 3"), "{answer}");
        let requests = server.requests();
        assert_eq!(
            (requests[0].target.as_str(), requests[0].body.as_slice()),
            ("/x", &b"abc"[..])
        );
    }
}
