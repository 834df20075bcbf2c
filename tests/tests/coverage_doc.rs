//! The coverage page (`mamoru coverage`): docs/coverage.md is its current Markdown form; every
//! rule has a row whose route, cases and tests exist; the HTML form is self-contained (no script,
//! no network), its tables agree with the rules and the action registry, and text from rule
//! files is escaped.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::process::Command;

use mamoru::action::ActionKind;
use mamoru::decide::{Rule, RuleMode, RuleSet};
use mamoru::files::RuleFiles;
use mamoru_tests::{binary, root};

fn coverage(args: &[&str]) -> String {
    let out = Command::new(binary("mamoru"))
        .arg("coverage")
        .args(args)
        .arg("--root")
        .arg(root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The mode a rule's row must show, from the rule itself.
fn mode(rule: &Rule) -> &'static str {
    if rule.actions.is_empty() {
        if rule.notify {
            "notify-only"
        } else {
            "record-only"
        }
    } else if rule.mode == RuleMode::Shadow {
        "shadow"
    } else {
        "enforce"
    }
}

fn rules_and_cases() -> (RuleSet, Vec<mamoru::decide::cases::Case>) {
    RuleSet::builtin_with_cases(&[root().join("shared/rules")]).unwrap()
}

#[test]
fn docs_coverage_md_is_the_generated_page() {
    let doc = std::fs::read_to_string(root().join("docs/coverage.md")).unwrap();
    let page = coverage(&["--format", "md"]);
    if doc != page {
        let line = doc
            .lines()
            .zip(page.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(doc.lines().count().min(page.lines().count()));
        panic!(
            "docs/coverage.md is stale from line {}: regenerate it with\n  cargo run -q -p mamoru-cli -- coverage --format md > docs/coverage.md\n  committed: {:?}\n  generated: {:?}",
            line + 1,
            doc.lines().nth(line),
            page.lines().nth(line)
        );
    }
}

#[test]
fn every_rule_has_a_row_and_every_named_test_exists() {
    let doc = std::fs::read_to_string(root().join("docs/coverage.md")).unwrap();
    let (rules, cases) = rules_and_cases();
    let template = std::fs::read_to_string(root().join("infra/template.yaml")).unwrap();
    let rows: Vec<Vec<&str>> = doc
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains(" | `"))
        .map(|l| l.split(" | ").collect())
        .collect();
    for rule in rules.rules() {
        let row: Vec<&Vec<&str>> = rows
            .iter()
            .filter(|cols| cols[1] == format!("`{}`", rule.id))
            .collect();
        assert_eq!(
            row.len(),
            1,
            "docs/coverage.md: one row for rule {}",
            rule.id
        );
        let cols = row[0];
        assert_eq!(
            cols[0],
            format!("| {}", rule.description.replace('|', "\\|"))
        );
        assert_eq!(cols[2], mode(rule), "{}", rule.id);
        for a in &rule.actions {
            assert!(cols[3].contains(&format!("`{}`", a.name())), "{}", rule.id);
        }
        // Route: every EventBridge rule named exists in the template; a rule reacting to
        // events has one.
        assert_ne!(cols[4], "none", "rule {} has no route", rule.id);
        for route in cols[4].split(" + ") {
            assert!(
                template.contains(&format!("\n  {}:\n", route.trim())),
                "route {route} is not a resource of infra/template.yaml"
            );
        }
        // Tests: the cases named exist and name the rule as the column says.
        let line = cols[5];
        for quoted in line.split("case \"").skip(1) {
            let name = quoted.split('"').next().unwrap();
            assert!(
                cases
                    .iter()
                    .any(|c| c.name == name
                        && c.rules.as_ref().is_some_and(|r| r.contains(&rule.id))),
                "no case {name:?} where {} matches",
                rule.id
            );
        }
        for quoted in line.split("negative \"").skip(1) {
            let name = quoted.split('"').next().unwrap();
            assert!(
                cases
                    .iter()
                    .any(|c| c.name == name && c.not_rules.contains(&rule.id)),
                "no case {name:?} where {} must not match",
                rule.id
            );
        }
        // The integration tests named are defined, marked as proving this rule.
        let mut proven = false;
        for part in line.split('`').filter(|p| p.contains("::")) {
            let (file, test) = part.split_once("::").unwrap();
            let src = std::fs::read_to_string(root().join(format!("tests/tests/{file}.rs")))
                .unwrap_or_else(|_| panic!("no test file {file}.rs"));
            let at = src
                .find(&format!("async fn {test}("))
                .unwrap_or_else(|| panic!("no test {file}::{test}"));
            let before = &src[..at];
            let marker = before.rfind("// proves:").unwrap();
            assert!(
                before[marker..].lines().next().unwrap().contains(&rule.id)
                    && !before[marker..].contains("\nasync fn ")
                    && !before[marker..].contains("\nfn "),
                "{file}::{test} is not marked `// proves: {}`",
                rule.id
            );
            proven = true;
        }
        // A rule without actions has nothing to carry out.
        if rule.actions.is_empty() {
            assert!(!proven, "{} takes no action, yet a test proves it", rule.id);
        }
    }
}

/// A minimal HTML reader: the rows of each table (by class), each row its cells' text with the
/// tags removed and the character references decoded.
fn tables(html: &str) -> BTreeMap<String, Vec<Vec<String>>> {
    let mut out: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
    let mut table: Option<String> = None;
    let mut in_body = false;
    let mut row: Option<Vec<String>> = None;
    let mut cell: Option<String> = None;
    let mut rest = html;
    while !rest.is_empty() {
        if let Some(tag_start) = rest.strip_prefix('<') {
            let end = tag_start.find('>').expect("a tag is closed");
            let tag = &tag_start[..end];
            rest = &tag_start[end + 1..];
            let name: String = tag
                .trim_start_matches('/')
                .chars()
                .take_while(char::is_ascii_alphanumeric)
                .collect();
            let closing = tag.starts_with('/');
            match (name.as_str(), closing) {
                ("table", false) => {
                    let class = tag
                        .split("class=\"")
                        .nth(1)
                        .and_then(|c| c.split('"').next())
                        .unwrap_or("")
                        .to_string();
                    out.entry(class.clone()).or_default();
                    table = Some(class);
                }
                ("table", true) => table = None,
                ("tbody", open) => in_body = !open,
                ("tr", false) if in_body => row = Some(Vec::new()),
                ("tr", true) => {
                    if let (Some(t), Some(r)) = (&table, row.take()) {
                        out.get_mut(t).unwrap().push(r);
                    }
                }
                ("td", false) => cell = Some(String::new()),
                ("td", true) => {
                    if let (Some(r), Some(c)) = (row.as_mut(), cell.take()) {
                        r.push(c);
                    }
                }
                ("li", false) => {
                    if let Some(c) = cell.as_mut()
                        && !c.is_empty()
                    {
                        c.push('\n');
                    }
                }
                _ => {}
            }
        } else {
            let end = rest.find('<').unwrap_or(rest.len());
            if let Some(c) = cell.as_mut() {
                c.push_str(
                    &rest[..end]
                        .replace("&lt;", "<")
                        .replace("&gt;", ">")
                        .replace("&quot;", "\"")
                        .replace("&#39;", "'")
                        .replace("&amp;", "&"),
                );
            }
            rest = &rest[end..];
        }
    }
    out
}

fn assert_self_contained(html: &str) {
    // Every tag: none that loads or runs anything, no attribute that fetches or handles events.
    // (Text is escaped, so `<` only starts tags.)
    for tag in html
        .split('<')
        .skip(1)
        .map(|t| t.split('>').next().unwrap())
    {
        let lower = tag.to_ascii_lowercase();
        let name: String = lower
            .trim_start_matches('/')
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect();
        assert!(
            [
                "html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "b", "table",
                "thead", "tbody", "tr", "th", "td", "code", "ul", "li", "span"
            ]
            .contains(&name.as_str())
                || lower.starts_with("!doctype"),
            "tag <{tag}>"
        );
        for attr in lower.split_whitespace().skip(1) {
            assert!(
                !attr.starts_with("on")
                    && !attr.starts_with("src=")
                    && !attr.starts_with("href=")
                    && !attr.starts_with("action="),
                "attribute {attr} in <{tag}>"
            );
        }
    }
    let style = html
        .split("<style>")
        .nth(1)
        .and_then(|s| s.split("</style>").next())
        .unwrap();
    assert!(!style.contains("url(") && !style.contains("@import"));
    assert!(
        html.contains("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"),
        "the page forbids every fetch and script"
    );
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
}

#[test]
fn html_page_is_self_contained_and_agrees_with_the_rules() {
    let html = coverage(&["--format", "html"]);
    assert_self_contained(&html);
    let (rules, _) = rules_and_cases();
    let template = std::fs::read_to_string(root().join("infra/template.yaml")).unwrap();
    let t = tables(&html);

    let rows = &t["rules"];
    assert_eq!(rows.len(), rules.rules().len(), "one row per rule");
    for rule in rules.rules() {
        let row: Vec<&Vec<String>> = rows.iter().filter(|r| r[1] == rule.id).collect();
        assert_eq!(row.len(), 1, "one row for {}", rule.id);
        let r = row[0];
        assert_eq!(r.len(), 6);
        assert_eq!(r[0], rule.description);
        assert_eq!(r[2], mode(rule), "{}", rule.id);
        for a in &rule.actions {
            assert!(r[3].contains(a.name()), "{}: {}", rule.id, r[3]);
        }
        assert_ne!(r[4], "none", "{} has no route", rule.id);
        for route in r[4].lines() {
            assert!(
                template.contains(&format!("\n  {route}:\n")),
                "{route} is not a resource of infra/template.yaml"
            );
        }
    }

    let actions = &t["actions"];
    let names: Vec<&str> = actions.iter().map(|r| r[0].as_str()).collect();
    let want: Vec<&str> = ActionKind::ALL.iter().map(|k| k.name()).collect();
    assert_eq!(names, want, "one row per action of the registry, in order");
    for (row, kind) in actions.iter().zip(ActionKind::ALL) {
        assert_eq!(row[1], kind.api());
        assert_eq!(row[3], if kind.is_containment() { "yes" } else { "no" });
        let using: Vec<&str> = rules
            .rules()
            .iter()
            .filter(|r| r.actions.contains(kind))
            .map(|r| r.id.as_str())
            .collect();
        let shown: Vec<&str> = row[4].lines().filter(|l| *l != "none").collect();
        assert_eq!(shown, using, "{}", kind.name());
        // The tests that carry it out are those marked as proving one of its rules; without
        // any, the page says it is covered by plans only.
        let marked = using.iter().any(|id| {
            std::fs::read_dir(root().join("tests/tests"))
                .unwrap()
                .filter_map(Result::ok)
                .any(|f| {
                    std::fs::read_to_string(f.path())
                        .unwrap_or_default()
                        .lines()
                        .any(|l| {
                            l.trim()
                                .strip_prefix("// proves:")
                                .is_some_and(|ids| ids.split(',').any(|i| i.trim() == *id))
                        })
                })
        });
        assert_eq!(
            row[5] == "plan only (no moto test)",
            !marked,
            "{}: {}",
            kind.name(),
            row[5]
        );
    }

    // The summary counts the rules by mode.
    let summary = &t["summary"][0];
    let count = |m: &str| rules.rules().iter().filter(|r| mode(r) == m).count();
    assert_eq!(summary[0], rules.rules().len().to_string());
    assert_eq!(summary[1], count("enforce").to_string());
    assert_eq!(summary[2], count("shadow").to_string());
    assert_eq!(summary[3], count("notify-only").to_string());
}

#[test]
fn text_from_rule_files_is_escaped() {
    let dir = std::env::temp_dir().join(format!("mamoru-coverage-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("hostile.toml");
    let description = "<script>alert(1)</script> | <img src=x onerror=y> & \"quoted\" 'single'";
    std::fs::write(
        &file,
        format!(
            "[[rule]]\nid = \"hostile-rule\"\ndescription = {}\n[rule.match]\ndetail_type = [\"AWS API Call via CloudTrail\"]\nevent_source = [\"cloudtrail.amazonaws.com\"]\nevent_name = [\"StopLogging\"]\n[rule.response]\ntitle = \"x\"\nseverity = \"low\"\n",
            toml_string(description)
        ),
    )
    .unwrap();
    let path = file.display().to_string();

    let html = coverage(&["--format", "html", "--rules", &path]);
    assert_self_contained(&html);
    assert!(html.contains(
        "&lt;script&gt;alert(1)&lt;/script&gt; | &lt;img src=x onerror=y&gt; &amp; &quot;quoted&quot; &#39;single&#39;"
    ));
    let row = tables(&html)["rules"]
        .iter()
        .find(|r| r[1] == "hostile-rule")
        .cloned()
        .unwrap();
    assert_eq!(row[0], description, "the text survives, as text");
    assert_eq!(row[4], "CloudTrailTamperingRule");

    // In Markdown the column separator is escaped: the row keeps its six columns.
    let md = coverage(&["--format", "md", "--rules", &path]);
    let line = md.lines().find(|l| l.contains("`hostile-rule`")).unwrap();
    assert!(line.contains("</script> \\| <img"), "{line}");
    let unescaped_bars = line.replace("\\|", "").matches('|').count();
    assert_eq!(unescaped_bars, 7, "{line}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn toml_string(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}
