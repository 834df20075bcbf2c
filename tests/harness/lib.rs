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
pub mod tls_front;

use std::path::{Path, PathBuf};

pub use http_sink::HttpSink;
pub use moto::Moto;
pub use runtime_api::{FunctionProcess, Invocation, RuntimeApi};
pub use tls_front::{TestCert, TlsFront};

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
    if let Err(why) = fresh(&path) {
        panic!(
            "{} is stale: {why}. Rebuild it (cargo build -p {}), or the test would run old code",
            path.display(),
            if name == "mamoru" { "mamoru-cli" } else { name }
        );
    }
    path
}

/// Whether a built binary is the tree's: it carries the version stamp of the commit checked out
/// (the build embeds `<version>+<git rev>` from `MAMORU_GIT_REV` or `git rev-parse`, see
/// shared/build.rs), and no source it is built from changed after it was written (cargo would
/// have rebuilt it). Checked once per binary and test process.
pub fn fresh(path: &Path) -> Result<(), String> {
    use std::collections::BTreeMap;
    use std::sync::{Mutex, OnceLock};
    static SEEN: OnceLock<Mutex<BTreeMap<PathBuf, Result<(), String>>>> = OnceLock::new();
    let seen = SEEN.get_or_init(|| Mutex::new(BTreeMap::new()));
    if let Some(r) = seen.lock().unwrap().get(path) {
        return r.clone();
    }
    let result = check_fresh(path);
    seen.lock()
        .unwrap()
        .insert(path.to_path_buf(), result.clone());
    result
}

fn check_fresh(path: &Path) -> Result<(), String> {
    // The stamp: the commit the binary was built at.
    let rev = std::env::var("MAMORU_GIT_REV")
        .ok()
        .filter(|r| !r.is_empty())
        .or_else(|| {
            let out = std::process::Command::new("git")
                .args(["rev-parse", "--short=12", "HEAD"])
                .current_dir(root())
                .output()
                .ok()?;
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        });
    if let Some(rev) = rev {
        let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
        let stamp = format!("+{rev}");
        if !bytes.windows(stamp.len()).any(|w| w == stamp.as_bytes()) {
            return Err(format!(
                "it does not carry the version stamp {stamp:?} of HEAD"
            ));
        }
    }
    // The sources: nothing it is built from is newer than it.
    let built = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .map_err(|e| e.to_string())?;
    let r = root();
    let mut newest: Option<(std::time::SystemTime, PathBuf)> = None;
    let mut consider = |p: &Path| {
        if let Ok(t) = std::fs::metadata(p).and_then(|m| m.modified())
            && newest.as_ref().is_none_or(|(n, _)| t > *n)
        {
            newest = Some((t, p.to_path_buf()));
        }
    };
    fn walk(dir: &Path, f: &mut dyn FnMut(&Path)) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, f);
            } else if p.extension().is_some_and(|x| x == "rs" || x == "toml") {
                f(&p);
            }
        }
    }
    for dir in [
        "shared/src",
        "shared/rules",
        "cli/src",
        "functions",
        "rules",
        "hack",
    ] {
        walk(&r.join(dir), &mut consider);
    }
    for file in [
        "Cargo.lock",
        "Cargo.toml",
        "shared/Cargo.toml",
        "shared/build.rs",
    ] {
        consider(&r.join(file));
    }
    match newest {
        Some((t, p)) if t > built => Err(format!("{} changed after it was built", p.display())),
        _ => Ok(()),
    }
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
