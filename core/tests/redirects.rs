//! A redirect never carries the bearer token, even from the API's own origin
//! to another host.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::thread;

use compliance_core::auth::Token;
use compliance_core::results::Format;
use compliance_core::transfer::{download_results, Destination};
use compliance_core::{Client, Config};

/// Serves one request with `answer`, and sends the request's head lines back.
fn serve_once(answer: String) -> (String, mpsc::Receiver<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut head = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
                break;
            }
            head.push(line.trim().to_ascii_lowercase());
        }
        let _ = (&stream).write_all(answer.as_bytes());
        let _ = tx.send(head);
    });
    (base, rx)
}

#[test]
fn a_redirect_from_the_api_origin_drops_the_token() {
    let body = "{\"id\":\"1\",\"action\":\"delete\",\"reason\":\"deleted\"}\n";
    let (elsewhere, elsewhere_saw) = serve_once(format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ));
    let (api, api_saw) = serve_once(format!(
        "HTTP/1.1 302 Found\r\nLocation: {elsewhere}/results\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    ));
    let config = Config::new(&api, Token::new("canary-redirect".into()), "test").expect("config");
    let client = Client::new(config).expect("client");
    let url = format!("{api}/2/compliance/jobs/1/download?token=t");
    // To a file, not standard output: `cargo test` shows nothing of it.
    let dir = tempfile::tempdir().expect("temp folder");
    let results = dir.path().join("results.jsonl");
    let done = download_results(
        &client,
        &url,
        &Destination::File(results.clone()),
        Format::Jsonl,
    )
    .expect("download");
    assert_eq!(done.summary.events, 1);
    assert_eq!(std::fs::read_to_string(&results).expect("results"), body);
    let to_api = api_saw.recv().expect("the API was asked");
    assert!(
        to_api
            .iter()
            .any(|h| h == "authorization: bearer canary-redirect"),
        "{to_api:?}"
    );
    let to_elsewhere = elsewhere_saw.recv().expect("the other host was asked");
    assert!(
        to_elsewhere.iter().all(|h| !h.starts_with("authorization")),
        "{to_elsewhere:?}"
    );
}
