//! An HTTPS front for moto on 127.0.0.1: it ends TLS with a certificate made for the test (for
//! the IP address 127.0.0.1, signed by itself) and forwards each request to moto in plain HTTP.
//! The functions reach AWS over HTTPS only; this is how a test sends their calls through the
//! same TLS client (rustls with ring, `mamoru::aws::http_client`) that production uses.
//!
//! A client trusts the certificate only when it is told to: the functions load their roots with
//! rustls-native-certs, which reads `SSL_CERT_FILE` when it is set ([`TlsFront::cert_file`]).

use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

use crate::faults::{forward, read_request};

/// A certificate made for the test: its PEM (what a client trusts) and the server's config.
pub struct TestCert {
    pub pem: String,
    config: Arc<ServerConfig>,
}

impl TestCert {
    /// A new self-signed certificate for 127.0.0.1, with its own key.
    pub fn new() -> TestCert {
        let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()])
            .expect("a self-signed certificate");
        let der: CertificateDer<'static> = made.cert.der().clone();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.signing_key.serialize_der()));
        let config =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("TLS 1.2 and 1.3")
                .with_no_client_auth()
                .with_single_cert(vec![der], key)
                .expect("the certificate and its key");
        TestCert {
            pem: made.cert.pem(),
            config: Arc::new(config),
        }
    }

    /// Writes the certificate's PEM into `dir` and returns the file's path.
    pub fn write(&self, dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, &self.pem).expect("write the certificate");
        path
    }
}

impl Default for TestCert {
    fn default() -> Self {
        TestCert::new()
    }
}

#[derive(Default)]
struct Counts {
    /// Requests forwarded to moto.
    requests: AtomicUsize,
    stop: AtomicBool,
}

pub struct TlsFront {
    port: u16,
    counts: Arc<Counts>,
    thread: Option<JoinHandle<()>>,
}

impl TlsFront {
    /// Starts the front on 127.0.0.1 with `cert`, before moto on `upstream_port`.
    pub fn start(upstream_port: u16, cert: &TestCert) -> TlsFront {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let counts = Arc::new(Counts::default());
        let shared = Arc::clone(&counts);
        let config = Arc::clone(&cert.config);
        let thread = std::thread::spawn(move || {
            while !shared.stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let shared = Arc::clone(&shared);
                        let config = Arc::clone(&config);
                        std::thread::spawn(move || serve(client, config, upstream_port, &shared));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        TlsFront {
            port,
            counts,
            thread: Some(thread),
        }
    }

    /// `https://127.0.0.1:<port>`: what `AWS_ENDPOINT_URL` is set to.
    pub fn endpoint(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// Requests that came through TLS and were forwarded to moto.
    pub fn requests(&self) -> usize {
        self.counts.requests.load(Ordering::SeqCst)
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.counts.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(client: TcpStream, config: Arc<ServerConfig>, upstream_port: u16, counts: &Counts) {
    let _ = client.set_nonblocking(false);
    let _ = client.set_read_timeout(Some(Duration::from_secs(30)));
    let Ok(conn) = ServerConnection::new(config) else {
        return;
    };
    let mut reader = BufReader::new(StreamOwned::new(conn, client));
    // One request per connection: moto's `Connection: close` reaches the client, which opens a
    // new connection for its next call. A client that refuses the certificate ends the
    // handshake, and nothing is read.
    let Some((head, body)) = read_request(&mut reader) else {
        return;
    };
    let Some(resp) = forward(&head, &body, upstream_port) else {
        return;
    };
    counts.requests.fetch_add(1, Ordering::SeqCst);
    let tls = reader.get_mut();
    if tls.write_all(&resp).and_then(|()| tls.flush()).is_ok() {
        tls.conn.send_close_notify();
        let _ = tls.flush();
    }
}
