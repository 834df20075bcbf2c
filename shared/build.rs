//! Fixes mamoru's version at build time: the crate version plus the git revision
//! (`MAMORU_GIT_REV` when set, else `git rev-parse --short=12 HEAD`, else "unknown").
// At build time, not at run time: the deployment's rule files are compiled into the core
// (clippy.toml forbids reading files in the library itself).
#![allow(clippy::disallowed_methods)]
use std::process::Command;

fn main() {
    deployment_rules();

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
        && let Ok(dir) = String::from_utf8(out.stdout)
    {
        let dir = dir.trim();
        if !dir.is_empty() {
            println!("cargo:rerun-if-changed={dir}/HEAD");
            println!("cargo:rerun-if-changed={dir}/refs/heads");
        }
    }
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    println!("cargo:rustc-env=MAMORU_VERSION={version}+{rev}");
}

/// Writes `$OUT_DIR/deployment_rules.rs`: the rule files of the deployment (every `*.toml` in
/// `MAMORU_RULES_DIR`, by default `rules/` at the workspace root, and every Sigma rule in its
/// `sigma/` folder), compiled into the binaries so that a deployment's rules ship with its
/// functions.
fn deployment_rules() {
    use std::path::PathBuf;
    println!("cargo:rerun-if-env-changed=MAMORU_RULES_DIR");
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let dir = std::env::var_os("MAMORU_RULES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../rules"));
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut out = String::from(
        "/// Deployment rule files: (name, text).\npub const DEPLOYMENT_RULES: &[(&str, &str)] = &[\n",
    );
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        out.push_str(&format!(
            "    ({:?}, include_str!({:?})),\n",
            format!("rules/{name}"),
            f.display().to_string()
        ));
    }
    out.push_str("];\n");
    // Sigma rules: every `*.yml` / `*.yaml` in `sigma/` below the rules directory.
    let sigma_dir = dir.join("sigma");
    println!("cargo:rerun-if-changed={}", sigma_dir.display());
    let mut sigma: Vec<PathBuf> = std::fs::read_dir(&sigma_dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
                .collect()
        })
        .unwrap_or_default();
    sigma.sort();
    out.push_str(
        "/// Deployment Sigma rule files: (name, text).\npub const DEPLOYMENT_SIGMA: &[(&str, &str)] = &[\n",
    );
    for f in &sigma {
        println!("cargo:rerun-if-changed={}", f.display());
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        out.push_str(&format!(
            "    ({:?}, include_str!({:?})),\n",
            format!("rules/sigma/{name}"),
            f.display().to_string()
        ));
    }
    out.push_str("];\n");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default());
    if let Err(e) = std::fs::write(out_dir.join("deployment_rules.rs"), out) {
        println!("cargo:warning=cannot write deployment_rules.rs: {e}");
    }
}
