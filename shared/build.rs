//! Fixes mamoru's version at build time: the crate version plus the git revision
//! (`MAMORU_GIT_REV` when set, else `git rev-parse --short=12 HEAD`, else "unknown").
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=MAMORU_GIT_REV");
    let rev = std::env::var("MAMORU_GIT_REV")
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| {
            let out = Command::new("git")
                .args(["rev-parse", "--short=12", "HEAD"])
                .output()
                .ok()?;
            if !out.status.success() {
                return None;
            }
            let rev = String::from_utf8(out.stdout).ok()?.trim().to_string();
            let dirty = Command::new("git")
                .args(["status", "--porcelain", "--untracked-files=no"])
                .output()
                .ok()
                .is_some_and(|o| !o.stdout.is_empty());
            Some(if dirty { format!("{rev}-dirty") } else { rev })
        })
        .unwrap_or_else(|| "unknown".to_string());
    // Rebuild when HEAD moves.
    if let Ok(out) = Command::new("git")
        .args(["rev-parse", "--git-dir"])
        .output()
    {
        if let Ok(dir) = String::from_utf8(out.stdout) {
            let dir = dir.trim();
            if !dir.is_empty() {
                println!("cargo:rerun-if-changed={dir}/HEAD");
                println!("cargo:rerun-if-changed={dir}/refs/heads");
            }
        }
    }
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    println!("cargo:rustc-env=MAMORU_VERSION={version}+{rev}");
}
