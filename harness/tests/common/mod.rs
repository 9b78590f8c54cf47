//! The harness tests' data: the full real data when present, else the embedded subset (see
//! `testsupport/data.rs`).
#![allow(dead_code)]

#[path = "../../../testsupport/data.rs"]
mod data;
#[allow(unused_imports)]
pub use data::{full_data, full_data_dir};

pub fn data_dir() -> std::path::PathBuf {
    data::data_path()
}

/// The swapnas binary, offline: no test reaches the network (a test that fetches from its own
/// local server removes `SWAPNAS_OFFLINE` from its command). Set per command, never on this
/// process: tests run in parallel threads.
pub fn swapnas() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_swapnas"));
    c.env("SWAPNAS_OFFLINE", "1");
    c
}

/// Serves `files` (path → body; a missing path is a 404) on 127.0.0.1 for a bounded number of
/// requests, and returns the base URL.
pub fn serve(files: std::collections::HashMap<String, Vec<u8>>) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let files = std::sync::Arc::new(files);
    std::thread::spawn(move || {
        // Each connection on its own thread: clients fetching at once are served at once.
        for stream in listener.incoming().take(64) {
            let Ok(mut stream) = stream else { continue };
            let files = files.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                if reader.read_line(&mut request).is_err() {
                    return;
                }
                let mut line = String::new();
                while reader.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
                    line.clear();
                }
                let path = request.split_whitespace().nth(1).unwrap_or("/").trim_start_matches('/').to_string();
                let _ = match files.get(&path) {
                    Some(body) => {
                        let _ = write!(stream, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
                        stream.write_all(body)
                    }
                    None => write!(stream, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
                };
            });
        }
    });
    format!("http://{addr}")
}
