//! The crates' layering (README, "Layout"): the pure core, `mamoru-core`, has neither the AWS
//! SDK nor the Lambda runtime anywhere in its dependency tree, so the compiler refuses any use
//! of them in it. (That it reads no file is clippy's part: `shared/clippy.toml`.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use mamoru_tests::root;

/// The lines `cargo tree` prints, one per package, for `args` and the format `format`.
fn cargo_tree(args: &[&str], format: &str) -> Vec<String> {
    let out = Command::new(env!("CARGO"))
        .args(["tree", "--offline"])
        .args(args)
        .args(["--prefix", "none", "--format", format])
        .current_dir(root())
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// The packages in a package's dependency tree (normal and build dependencies), by name.
fn tree(package: &str) -> Vec<String> {
    let mut names: Vec<String> = cargo_tree(&["-p", package, "-e", "normal,build"], "{p}")
        .iter()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// What only the side effects may depend on: the SDK, its runtime and HTTP stack, the Lambda
/// runtime and the async runtime.
fn side_effect_crate(name: &str) -> bool {
    name.starts_with("aws-sdk-")
        || name.starts_with("aws-smithy-")
        || matches!(
            name,
            "aws-config" | "aws-runtime" | "aws-sigv4" | "lambda_runtime" | "tokio" | "hyper"
        )
}

#[test]
fn the_core_depends_on_no_aws_sdk_and_no_lambda_runtime() {
    let core = tree("mamoru-core");
    let found: Vec<&String> = core.iter().filter(|n| side_effect_crate(n)).collect();
    assert!(found.is_empty(), "mamoru-core depends on {found:?}");
    assert!(core.iter().any(|n| n == "serde_json"), "{core:?}");
    // The check can fail: the crate above the core has them all.
    let above = tree("mamoru");
    for name in ["aws-sdk-iam", "aws-config", "lambda_runtime", "tokio"] {
        assert!(above.iter().any(|n| n == name), "mamoru lacks {name}");
    }
}

/// The functions' TLS is rustls with ring (`mamoru::aws::http_client`). Turning on any SDK
/// crate's `default-https-client` feature again would bring aws-lc back: megabytes of the zip
/// and a C library built in every profile (bench/README.md, "TLS with ring").
#[test]
fn the_functions_link_one_tls_crypto_library_ring() {
    for package in ["mamoru-lambda", "mamoru-cli"] {
        let names = tree(package);
        let aws_lc: Vec<&String> = names.iter().filter(|n| n.starts_with("aws-lc")).collect();
        assert!(aws_lc.is_empty(), "{package} depends on {aws_lc:?}");
        for name in ["rustls", "ring"] {
            assert!(names.iter().any(|n| n == name), "{package} lacks {name}");
        }
    }
}

/// Every crate in a package's tree with the features it is built with: `name vX.Y.Z|f1,f2`.
fn features(selection: &[&str]) -> std::collections::BTreeSet<String> {
    cargo_tree(selection, "{p}|{f}")
        .iter()
        .map(|l| {
            l.trim_end_matches(" (*)")
                .trim_end_matches(" (proc-macro)")
                .to_string()
        })
        .collect()
}

/// The focused loops (`cargo test -p mamoru-tests`, `cargo build -p mamoru-cli`) reuse what the
/// workspace build compiled only if each package's own build enables the same features of every
/// crate: one difference in a crate the SDK sits on rebuilds all fifteen SDK crates. The
/// workspace-hack crate (`hack/`) holds the union; this fails when it falls behind.
#[test]
fn each_package_builds_its_dependencies_with_the_workspace_features() {
    let workspace = features(&["--workspace"]);
    for package in ["mamoru-lambda", "mamoru-cli", "mamoru-tests"] {
        let own = features(&["-p", package]);
        let differ: Vec<&String> = own.difference(&workspace).collect();
        assert!(
            differ.is_empty(),
            "{package} alone builds these with other features than the workspace: {differ:?}"
        );
    }
    // The two libraries' own test builds may differ in small crates (proptest's features, say),
    // never in the SDK's.
    for package in ["mamoru", "mamoru-core"] {
        let own = features(&["-p", package]);
        let differ: Vec<&String> = own
            .difference(&workspace)
            .filter(|l| l.starts_with("aws-"))
            .collect();
        assert!(differ.is_empty(), "{package}: {differ:?}");
    }
}
