//! Test harness: moto server on loopback, a Lambda Runtime API emulator, an HTTP sink for SNS
//! HTTP(S) subscriptions, the built binaries, fixture helpers and notification rendering helpers.
//! Every server listens on 127.0.0.1 on a free port and stops when dropped.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod faults;
pub mod grants;
pub mod http_sink;
pub mod moto;
pub mod render;
pub mod runtime_api;
pub mod scenario;

use std::path::{Path, PathBuf};

pub use http_sink::HttpSink;
pub use moto::Moto;
pub use runtime_api::{FunctionProcess, Invocation, RuntimeApi};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// The fixture events directory.
pub fn fixtures() -> PathBuf {
    root().join("tests/fixtures/events")
}

/// A fixture event, by path under tests/fixtures/events.
pub fn fixture(rel: &str) -> String {
    let path = fixtures().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every fixture event file, relative to tests/fixtures/events, sorted.
pub fn all_fixtures() -> Vec<String> {
    fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, base, out);
            } else if path.extension().is_some_and(|e| e == "json") {
                out.push(path.strip_prefix(base).unwrap().display().to_string());
            }
        }
    }
    let base = fixtures();
    let mut out = Vec::new();
    walk(&base, &base, &mut out);
    out.sort();
    out
}

/// Where the built binaries are: `MAMORU_BIN_DIR`, else the target directory these tests run
/// from (target/debug).
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("MAMORU_BIN_DIR") {
        return PathBuf::from(dir);
    }
    // target/debug/deps/<test-binary>
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

/// Where the Lambda function binaries are: `MAMORU_FUNCTION_BIN_DIR` (the test command points it
/// at the release build, the functions as they ship), else [`bin_dir`].
pub fn function_bin_dir() -> PathBuf {
    match std::env::var_os("MAMORU_FUNCTION_BIN_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => bin_dir(),
    }
}

/// Path of a built binary; fails with a clear message if it was not built. The functions
/// (`mamoru-…`) come from [`function_bin_dir`], the CLI (`mamoru`) from [`bin_dir`].
pub fn binary(name: &str) -> PathBuf {
    let dir = if name.starts_with("mamoru-") {
        function_bin_dir()
    } else {
        bin_dir()
    };
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build the binaries first (cargo build --bins), or set MAMORU_BIN_DIR",
        path.display()
    );
    path
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
