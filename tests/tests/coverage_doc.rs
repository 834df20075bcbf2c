//! docs/coverage.md lists every built-in rule with its route and its tests; this keeps it true.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mamoru::decide::RuleSet;
use mamoru_tests::root;

#[test]
fn every_rule_has_a_row_and_every_named_test_exists() {
    let doc = std::fs::read_to_string(root().join("docs/coverage.md")).unwrap();
    let (rules, cases) = RuleSet::builtin_with_cases(&[root().join("shared/rules")]).unwrap();
    for rule in rules.rules() {
        assert!(
            doc.contains(&format!("| `{}` |", rule.id)),
            "docs/coverage.md has no row for rule {}",
            rule.id
        );
    }
    let template = std::fs::read_to_string(root().join("infra/template.yaml")).unwrap();
    for line in doc
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains("| `"))
    {
        let cols: Vec<&str> = line.split(" | ").collect();
        // Route: every EventBridge rule named exists in the template.
        for route in cols[1].split(" + ") {
            assert!(
                template.contains(&format!("\n  {}:\n", route.trim())),
                "route {route} is not a resource of infra/template.yaml"
            );
        }
        // Tests: every case named exists, every moto test named is defined.
        for quoted in line
            .split("case \"")
            .skip(1)
            .chain(line.split("negative \"").skip(1))
        {
            let name = quoted.split('"').next().unwrap();
            assert!(
                cases.iter().any(|c| c.name == name),
                "no case named {name:?}"
            );
        }
        for part in line
            .split('`')
            .filter(|p| p.starts_with("moto_") && p.contains("::"))
        {
            let (file, test) = part.split_once("::").unwrap();
            let src = std::fs::read_to_string(root().join(format!("tests/tests/{file}.rs")))
                .unwrap_or_else(|_| panic!("no test file {file}.rs"));
            assert!(
                src.contains(&format!("fn {test}(")),
                "no test {file}::{test}"
            );
        }
    }
}
