//! A Lambda Runtime API emulator on 127.0.0.1, and a wrapper running a function binary against
//! it. It serves what a custom runtime uses: `GET /next`, `POST /{id}/response`,
//! `POST /{id}/error` and `POST /init/error`.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tiny_http::{Header, Method, Response, Server};

const PREFIX: &str = "/2018-06-01/runtime";

/// What the function answered for one invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Invocation {
    /// POST /{id}/response
    Response(Value),
    /// POST /{id}/error (errorType, errorMessage)
    Error(Value),
}

impl Invocation {
    pub fn response(&self) -> &Value {
        match self {
            Invocation::Response(v) => v,
            Invocation::Error(e) => panic!("expected a response, got an error: {e}"),
        }
    }

    pub fn error(&self) -> &Value {
        match self {
            Invocation::Error(v) => v,
            Invocation::Response(v) => panic!("expected an error, got a response: {v}"),
        }
    }
}

#[derive(Default)]
struct State {
    pending: Mutex<VecDeque<(String, String)>>,
    pending_cv: Condvar,
    results: Mutex<HashMap<String, Invocation>>,
    results_cv: Condvar,
    init_error: Mutex<Option<Value>>,
    next_calls: AtomicU64,
    shutdown: AtomicBool,
}

pub struct RuntimeApi {
    server: Arc<Server>,
    state: Arc<State>,
    port: u16,
    thread: Option<JoinHandle<()>>,
    counter: AtomicU64,
}

impl RuntimeApi {
    pub fn start() -> RuntimeApi {
        let server = Arc::new(Server::http("127.0.0.1:0").expect("bind 127.0.0.1"));
        let port = server.server_addr().to_ip().expect("an IP listener").port();
        let state = Arc::new(State::default());
        let (srv, st) = (Arc::clone(&server), Arc::clone(&state));
        let thread = std::thread::spawn(move || {
            for request in srv.incoming_requests() {
                let st = Arc::clone(&st);
                // /next blocks until an event is queued: one thread per request.
                std::thread::spawn(move || serve(&st, request));
            }
        });
        RuntimeApi {
            server,
            state,
            port,
            thread: Some(thread),
            counter: AtomicU64::new(0),
        }
    }

    /// `host:port`, as `AWS_LAMBDA_RUNTIME_API` wants it (no scheme).
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Queues an event and waits for the function's answer.
    pub fn invoke(&self, payload: &str) -> Invocation {
        self.invoke_timeout(payload, Duration::from_secs(60))
    }

    pub fn invoke_timeout(&self, payload: &str, timeout: Duration) -> Invocation {
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        let id = format!("00000000-0000-4000-8000-{n:012}");
        {
            let mut q = self.state.pending.lock().unwrap();
            q.push_back((id.clone(), payload.to_string()));
            self.state.pending_cv.notify_all();
        }
        let deadline = Instant::now() + timeout;
        let mut results = self.state.results.lock().unwrap();
        loop {
            if let Some(r) = results.remove(&id) {
                return r;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "no answer for invocation {id} within {timeout:?}"
            );
            results = self.state.results_cv.wait_timeout(results, left).unwrap().0;
        }
    }

    /// The error posted to /init/error, if any.
    pub fn init_error(&self) -> Option<Value> {
        self.state.init_error.lock().unwrap().clone()
    }

    /// How many times the function asked for its next event.
    pub fn next_calls(&self) -> u64 {
        self.state.next_calls.load(Ordering::SeqCst)
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.state.shutdown.store(true, Ordering::SeqCst);
        self.state.pending_cv.notify_all();
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).unwrap()
}

fn serve(st: &State, mut request: tiny_http::Request) {
    let url = request.url().to_string();
    let method = request.method().clone();
    let mut body = String::new();
    let _ = request.as_reader().read_to_string(&mut body);
    let Some(path) = url.strip_prefix(PREFIX) else {
        let _ = request.respond(Response::from_string("not found").with_status_code(404));
        return;
    };
    let accepted = || Response::from_string(r#"{"status":"OK"}"#).with_status_code(202);
    match (method, path) {
        (Method::Get, "/invocation/next") => {
            st.next_calls.fetch_add(1, Ordering::SeqCst);
            let mut q = st.pending.lock().unwrap();
            let (id, payload) = loop {
                if st.shutdown.load(Ordering::SeqCst) {
                    drop(q);
                    let _ =
                        request.respond(Response::from_string("shutdown").with_status_code(500));
                    return;
                }
                if let Some(item) = q.pop_front() {
                    break item;
                }
                q = st
                    .pending_cv
                    .wait_timeout(q, Duration::from_millis(200))
                    .unwrap()
                    .0;
            };
            drop(q);
            let deadline = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_millis()
                + 30_000;
            let response = Response::from_string(payload)
                .with_header(header("Content-Type", "application/json"))
                .with_header(header("Lambda-Runtime-Aws-Request-Id", &id))
                .with_header(header("Lambda-Runtime-Deadline-Ms", &deadline.to_string()))
                .with_header(header(
                    "Lambda-Runtime-Invoked-Function-Arn",
                    "arn:aws:lambda:us-east-1:123456789012:function:mamoru-test",
                ))
                .with_header(header(
                    "Lambda-Runtime-Trace-Id",
                    "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
                ));
            let _ = request.respond(response);
        }
        (Method::Post, "/init/error") => {
            *st.init_error.lock().unwrap() =
                Some(serde_json::from_str(&body).unwrap_or(Value::String(body)));
            let _ = request.respond(accepted());
        }
        (Method::Post, p) => {
            let parts: Vec<&str> = p.trim_start_matches("/invocation/").split('/').collect();
            let result = match parts.as_slice() {
                [id, "response"] => Some((
                    id.to_string(),
                    Invocation::Response(
                        serde_json::from_str(&body).unwrap_or(Value::String(body)),
                    ),
                )),
                [id, "error"] => Some((
                    id.to_string(),
                    Invocation::Error(serde_json::from_str(&body).unwrap_or(Value::String(body))),
                )),
                _ => None,
            };
            match result {
                Some((id, r)) => {
                    st.results.lock().unwrap().insert(id, r);
                    st.results_cv.notify_all();
                    let _ = request.respond(accepted());
                }
                None => {
                    let _ =
                        request.respond(Response::from_string("not found").with_status_code(404));
                }
            }
        }
        _ => {
            let _ = request.respond(Response::from_string("not found").with_status_code(404));
        }
    }
}

/// A function binary running against the emulator. Its stdout and stderr are collected; the
/// process is killed on drop.
pub struct FunctionProcess {
    child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
    readers: Vec<JoinHandle<()>>,
}

fn collect(pipe: impl Read + Send + 'static, into: Arc<Mutex<Vec<String>>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            match line {
                Ok(l) => into.lock().unwrap().push(l),
                Err(_) => break,
            }
        }
    })
}

impl FunctionProcess {
    /// Starts the function `function` (`mamoru-guardduty`, `mamoru-cloudtrail`, `mamoru-config`
    /// or `mamoru-securityhub`) as the stack deploys it: the one Lambda binary,
    /// `mamoru-lambda`, with `MAMORU_FUNCTION` naming the function, the Lambda environment
    /// pointing at `api`, and `env` (which may replace `MAMORU_FUNCTION`).
    pub fn start_function(
        function: &str,
        api: &RuntimeApi,
        env: &[(String, String)],
    ) -> FunctionProcess {
        let name = function
            .strip_prefix("mamoru-")
            .unwrap_or_else(|| panic!("{function} is not a mamoru function"));
        let mut all = vec![("MAMORU_FUNCTION".to_string(), name.to_string())];
        all.extend(env.iter().cloned());
        FunctionProcess::start_as(&crate::binary("mamoru-lambda"), function, api, &all)
    }

    /// Starts `binary` with the Lambda environment pointing at `api`, plus `env`.
    pub fn start(binary: &Path, api: &RuntimeApi, env: &[(String, String)]) -> FunctionProcess {
        let name = binary.file_name().unwrap().to_string_lossy().to_string();
        FunctionProcess::start_as(binary, &name, api, env)
    }

    /// [`FunctionProcess::start`], the function named `function_name` in Lambda's environment.
    fn start_as(
        binary: &Path,
        function_name: &str,
        api: &RuntimeApi,
        env: &[(String, String)],
    ) -> FunctionProcess {
        let mut cmd = Command::new(binary);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", api.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", function_name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_LEVEL", "INFO")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", binary.display()));
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let readers = vec![
            collect(child.stdout.take().unwrap(), Arc::clone(&stdout)),
            collect(child.stderr.take().unwrap(), Arc::clone(&stderr)),
        ];
        FunctionProcess {
            child,
            stdout,
            stderr,
            readers,
        }
    }

    /// Lines written to stdout so far (the function's logs).
    pub fn stdout(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    pub fn stderr(&self) -> Vec<String> {
        self.stderr.lock().unwrap().clone()
    }

    /// stdout lines that are JSON objects.
    pub fn json_logs(&self) -> Vec<Value> {
        self.stdout()
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(Value::is_object)
            .collect()
    }

    /// The first JSON log line `wanted` accepts, waiting up to `timeout` for it: a line the
    /// process wrote is read from its pipe by another thread, so it may not be there yet when
    /// the invocation that follows it has already been answered.
    pub fn wait_log(&self, wanted: impl Fn(&Value) -> bool, timeout: Duration) -> Option<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self.json_logs().into_iter().find(|l| wanted(l)) {
                return Some(line);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The audit lines (one per handled event).
    pub fn audit_lines(&self) -> Vec<Value> {
        self.json_logs()
            .into_iter()
            .filter(|v| v["target"] == "mamoru::audit")
            .collect()
    }

    /// Waits for the process to exit (for start-up failures). Returns its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                for r in self.readers.drain(..) {
                    let _ = r.join();
                }
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Stops the process, waits for it and for the threads reading its pipes, and returns every
    /// line it wrote: (stdout, stderr). Output read before this may still be missing its last
    /// lines; output returned by this is complete.
    pub fn finish(&mut self) -> (Vec<String>, Vec<String>) {
        // Every invocation was answered, so every line about it was written: what the readers
        // have not read yet is still in the pipes, and joining them reads it.
        let _ = self.child.kill();
        let _ = self.child.wait();
        for r in self.readers.drain(..) {
            r.join().expect("a pipe reader thread panicked");
        }
        (self.stdout(), self.stderr())
    }
}

impl Drop for FunctionProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
