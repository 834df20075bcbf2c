//! A fault-injecting HTTP proxy on 127.0.0.1, in front of moto. For a configurable share of
//! requests it answers with a throttling error, a 500 or a 503, resets the connection, or delays
//! the answer; the rest are forwarded. Every request is counted by what happened to it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What the proxy did with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    Forwarded,
    Throttled,
    Status500,
    Status503,
    Reset,
    Slow,
    /// 403 AccessDenied, as IAM answers a caller it does not allow (an unassumable role).
    Denied,
}

/// The share of requests that get each fault; the rest are forwarded.
#[derive(Debug, Clone, Copy)]
pub struct FaultMix {
    pub throttle: f64,
    pub status_500: f64,
    pub status_503: f64,
    pub reset: f64,
    pub slow: f64,
    /// How long a slow response waits before it is forwarded.
    pub slow_delay: Duration,
    /// Share answered 403 AccessDenied.
    pub denied: f64,
    /// Seed of the deterministic fault sequence.
    pub seed: u64,
    /// Only requests whose operation contains this are faulted (all when `None`).
    pub only_operation: Option<&'static str>,
}

impl FaultMix {
    pub fn none() -> FaultMix {
        FaultMix {
            throttle: 0.0,
            status_500: 0.0,
            status_503: 0.0,
            reset: 0.0,
            slow: 0.0,
            slow_delay: Duration::ZERO,
            denied: 0.0,
            seed: 1,
            only_operation: None,
        }
    }

    /// `share` of requests fail, spread evenly over the five kinds of fault.
    pub fn even(share: f64, slow_delay: Duration, seed: u64) -> FaultMix {
        let each = share / 5.0;
        FaultMix {
            throttle: each,
            status_500: each,
            status_503: each,
            reset: each,
            slow: each,
            slow_delay,
            denied: 0.0,
            seed,
            only_operation: None,
        }
    }

    fn pick(&self, r: f64) -> Fault {
        let mut edge = 0.0;
        for (share, fault) in [
            (self.throttle, Fault::Throttled),
            (self.status_500, Fault::Status500),
            (self.status_503, Fault::Status503),
            (self.reset, Fault::Reset),
            (self.slow, Fault::Slow),
            (self.denied, Fault::Denied),
        ] {
            edge += share;
            if r < edge {
                return fault;
            }
        }
        Fault::Forwarded
    }
}

/// One request as the proxy saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub at: Instant,
    pub fault: Fault,
    /// `X-Amz-Target` or the query `Action`, when the request names its operation.
    pub operation: String,
    /// The signing name of the request's SigV4 credential scope (`iam`, `ec2`, `guardduty`…).
    pub service: String,
    /// The HTTP method and path (with query), which name the operation of REST protocols.
    pub method: String,
    pub path: String,
}

struct Shared {
    mix: Mutex<FaultMix>,
    rng: Mutex<u64>,
    seen: Mutex<Vec<Seen>>,
    stop: AtomicBool,
}

pub struct FaultProxy {
    port: u16,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

fn next_random(state: &mut u64) -> f64 {
    // xorshift64*: deterministic for a seed, good enough to spread faults.
    let mut x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
}

impl FaultProxy {
    /// Starts the proxy in front of `upstream_port` on 127.0.0.1.
    pub fn start(upstream_port: u16, mix: FaultMix) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let shared = Arc::new(Shared {
            rng: Mutex::new(mix.seed.max(1)),
            mix: Mutex::new(mix),
            seen: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
        });
        let sh = Arc::clone(&shared);
        let thread = std::thread::spawn(move || {
            while !sh.stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let sh = Arc::clone(&sh);
                        std::thread::spawn(move || serve(client, upstream_port, &sh));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        FaultProxy {
            port,
            shared,
            thread: Some(thread),
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn set_mix(&self, mix: FaultMix) {
        *self.shared.mix.lock().unwrap() = mix;
    }

    /// Every request seen so far, in order of arrival.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    /// How many requests got `fault`.
    pub fn count(&self, fault: Fault) -> usize {
        self.seen().iter().filter(|s| s.fault == fault).count()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Reads one HTTP/1.1 request: (head lines, body). `None` at end of stream.
pub(crate) fn read_request<R: Read>(reader: &mut BufReader<R>) -> Option<(Vec<String>, Vec<u8>)> {
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        if line.is_empty() {
            break;
        }
        head.push(line);
    }
    let len = head
        .iter()
        .find_map(|h| {
            let (k, v) = h.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some((head, body))
}

fn header<'a>(head: &'a [String], name: &str) -> Option<&'a str> {
    head.iter().find_map(|h| {
        let (k, v) = h.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn operation(head: &[String], body: &[u8]) -> String {
    if let Some(t) = header(head, "x-amz-target") {
        return t.to_string();
    }
    let body = String::from_utf8_lossy(body);
    if let Some(a) = body.split('&').find_map(|kv| kv.strip_prefix("Action=")) {
        return a.to_string();
    }
    head.first().cloned().unwrap_or_default()
}

/// The service of the SigV4 credential scope:
/// `Authorization: AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/<service>/aws4_request, …`.
fn signing_service(head: &[String]) -> String {
    header(head, "authorization")
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split(',').next())
        .and_then(|scope| scope.split('/').nth(3))
        .unwrap_or_default()
        .to_string()
}

/// A throttling error in the request's own protocol, as AWS would send it.
fn throttling(head: &[String]) -> Vec<u8> {
    let ct = header(head, "content-type").unwrap_or("");
    let (ctype, extra, body) = if ct.starts_with("application/x-www-form-urlencoded") {
        (
            "text/xml",
            String::new(),
            "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>".to_string(),
        )
    } else {
        (
            "application/x-amz-json-1.1",
            "x-amzn-ErrorType: ThrottlingException\r\n".to_string(),
            r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.to_string(),
        )
    };
    format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: {ctype}\r\n{extra}x-amzn-RequestId: 00000000-0000-0000-0000-000000000000\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// STS's answer to an AssumeRole it does not allow (query protocol, XML).
fn access_denied() -> Vec<u8> {
    let body = "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User is not authorized to perform: sts:AssumeRole</Message></Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>";
    format!(
        "HTTP/1.1 403 Forbidden\r\nContent-Type: text/xml\r\nx-amzn-RequestId: 00000000-0000-0000-0000-000000000000\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn status(code: u16, reason: &str) -> Vec<u8> {
    let body = format!("{code} {reason}");
    format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Sends one request to moto on `upstream_port` with `Connection: close`, and reads its whole
/// answer.
pub(crate) fn forward(head: &[String], body: &[u8], upstream_port: u16) -> Option<Vec<u8>> {
    let mut up = TcpStream::connect(("127.0.0.1", upstream_port)).ok()?;
    up.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
    let mut req = Vec::new();
    for (i, h) in head.iter().enumerate() {
        let is_conn = h
            .split_once(':')
            .is_some_and(|(k, _)| k.eq_ignore_ascii_case("connection"));
        if i > 0 && is_conn {
            continue;
        }
        req.extend_from_slice(h.as_bytes());
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"Connection: close\r\n\r\n");
    req.extend_from_slice(body);
    up.write_all(&req).ok()?;
    let mut resp = Vec::new();
    up.read_to_end(&mut resp).ok()?;
    Some(resp)
}

/// moto (5.2.5) answers GetBucketVersioning with the root element `GetBucketVersioningResponse`;
/// S3 answers with `VersioningConfiguration` (S3 API reference, GetBucketVersioning), and the AWS
/// SDK for Rust refuses any other root. Only that element's name is changed, and Content-Length
/// with it: the status and MFA Delete in the body are moto's.
fn fix_moto_xml_roots(resp: Vec<u8>) -> Vec<u8> {
    const WRONG: &str = "GetBucketVersioningResponse";
    const RIGHT: &str = "VersioningConfiguration";
    let Some(split) = resp.windows(4).position(|w| w == b"\r\n\r\n") else {
        return resp;
    };
    let (head, body) = resp.split_at(split + 4);
    let Ok(text) = std::str::from_utf8(body) else {
        return resp;
    };
    if !text.contains(&format!("<{WRONG}")) {
        return resp;
    }
    let fixed = text
        .replace(&format!("<{WRONG}"), &format!("<{RIGHT}"))
        .replace(&format!("</{WRONG}>"), &format!("</{RIGHT}>"));
    let head = String::from_utf8_lossy(head);
    let mut out = String::new();
    for line in head.split("\r\n") {
        if line.is_empty() {
            continue;
        }
        if line
            .split_once(':')
            .is_some_and(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        {
            out.push_str(&format!("Content-Length: {}\r\n", fixed.len()));
        } else {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(fixed.as_bytes());
    bytes
}

fn serve(client: TcpStream, upstream_port: u16, sh: &Shared) {
    let _ = client.set_nonblocking(false);
    let Ok(read_half) = client.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut client = client;
    // One request per connection: every answer closes it, so the SDK opens a new one.
    let Some((head, body)) = read_request(&mut reader) else {
        return;
    };
    let op = operation(&head, &body);
    let service = signing_service(&head);
    let mut request_line = head
        .first()
        .map(|l| l.split_whitespace())
        .into_iter()
        .flatten();
    let method = request_line.next().unwrap_or_default().to_string();
    let path = request_line.next().unwrap_or_default().to_string();
    let (fault, mix) = {
        let mix = *sh.mix.lock().unwrap();
        let targeted = mix.only_operation.is_none_or(|o| op.contains(o));
        let fault = if targeted {
            let r = next_random(&mut sh.rng.lock().unwrap());
            mix.pick(r)
        } else {
            Fault::Forwarded
        };
        (fault, mix)
    };
    sh.seen.lock().unwrap().push(Seen {
        at: Instant::now(),
        fault,
        operation: op,
        service,
        method,
        path,
    });
    let answer = match fault {
        Fault::Forwarded => forward(&head, &body, upstream_port).map(fix_moto_xml_roots),
        Fault::Throttled => Some(throttling(&head)),
        Fault::Denied => Some(access_denied()),
        Fault::Status500 => Some(status(500, "Internal Server Error")),
        Fault::Status503 => Some(status(503, "Service Unavailable")),
        Fault::Reset => {
            // SO_LINGER 0 then close: the peer sees a connection reset, not a clean close.
            let _ = socket2::SockRef::from(&client).set_linger(Some(Duration::ZERO));
            return;
        }
        Fault::Slow => {
            std::thread::sleep(mix.slow_delay);
            forward(&head, &body, upstream_port)
        }
    };
    if let Some(bytes) = answer {
        let _ = client.write_all(&bytes);
    }
    let _ = client.shutdown(Shutdown::Write);
}
