//! An HTTP endpoint on 127.0.0.1 that records every request it receives (path and body), for SNS
//! HTTP/HTTPS subscriptions in moto, or in place of an API moto does not serve. Stops when
//! dropped.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tiny_http::{Response, Server};

pub struct HttpSink {
    server: Arc<Server>,
    port: u16,
    received: Arc<Mutex<Vec<(String, String)>>>,
    thread: Option<JoinHandle<()>>,
}

impl HttpSink {
    pub fn start() -> HttpSink {
        HttpSink::answering("")
    }

    /// An endpoint that answers every request 200 with `body` (JSON when it is not empty): a
    /// stand-in for an API moto does not serve, to check the request the SDK really sends.
    pub fn answering(body: &str) -> HttpSink {
        let body = body.to_string();
        let server = Arc::new(Server::http("127.0.0.1:0").expect("bind 127.0.0.1"));
        let port = server.server_addr().to_ip().expect("an IP listener").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let (srv, rec, answer) = (Arc::clone(&server), Arc::clone(&received), body);
        let thread = std::thread::spawn(move || {
            for mut request in srv.incoming_requests() {
                let mut body = String::new();
                let _ = request.as_reader().read_to_string(&mut body);
                rec.lock().unwrap().push((request.url().to_string(), body));
                let _ = if answer.is_empty() {
                    request.respond(Response::empty(200))
                } else {
                    let json = tiny_http::Header::from_bytes("Content-Type", "application/json")
                        .expect("a valid header");
                    request.respond(Response::from_string(answer.clone()).with_header(json))
                };
            }
        });
        HttpSink {
            server,
            port,
            received,
            thread: Some(thread),
        }
    }

    /// The URL of `path` on this endpoint (plain HTTP).
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The bodies POSTed to `path` so far, waiting up to `wait` for at least `at_least`.
    pub fn bodies(&self, path: &str, at_least: usize, wait: Duration) -> Vec<String> {
        let deadline = Instant::now() + wait;
        loop {
            let bodies: Vec<String> = self
                .received
                .lock()
                .unwrap()
                .iter()
                .filter(|(p, _)| p == path)
                .map(|(_, b)| b.clone())
                .collect();
            if bodies.len() >= at_least || Instant::now() >= deadline {
                return bodies;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for HttpSink {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
