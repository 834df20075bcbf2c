//! Rule files, Sigma rule files and test-case events read from disk. The core parses and
//! compiles their text and reads no file itself; this is where the paths of the settings and
//! the command line are read.

use std::path::{Path, PathBuf};

use mamoru_core::decide::RuleSet;
use mamoru_core::decide::cases::{Case, CaseReport};
use mamoru_core::decide::rules::RuleError;
use mamoru_core::decide::sigma::Unsupported;

/// A [`RuleSet`] from files: `use mamoru::files::RuleFiles` for `RuleSet::builtin_with(paths)`.
pub trait RuleFiles: Sized {
    /// The built-in playbook plus rule files (or directories of `*.toml`). A rule whose id is
    /// already defined replaces it: that is how a deployment overrides a built-in rule.
    fn builtin_with(paths: &[impl AsRef<Path>]) -> Result<Self, Vec<RuleError>>;

    /// Like [`RuleFiles::builtin_with`], also returning the test cases the files hold.
    fn builtin_with_cases(paths: &[impl AsRef<Path>]) -> Result<(Self, Vec<Case>), Vec<RuleError>>;

    /// Adds the Sigma rule files the paths name (directories searched for `*.yml`, `*.yaml`).
    /// A file that cannot be read is reported with the rules that cannot be evaluated.
    fn add_sigma_paths(&mut self, paths: &[impl AsRef<Path>]);
}

impl RuleFiles for RuleSet {
    fn builtin_with(paths: &[impl AsRef<Path>]) -> Result<RuleSet, Vec<RuleError>> {
        RuleSet::builtin_with_cases(paths).map(|(set, _)| set)
    }

    fn builtin_with_cases(
        paths: &[impl AsRef<Path>],
    ) -> Result<(RuleSet, Vec<Case>), Vec<RuleError>> {
        let mut set = RuleSet::builtin()?;
        let mut errors = Vec::new();
        let mut cases = Vec::new();
        for file in expand_paths(paths, &mut errors) {
            match std::fs::read_to_string(&file) {
                Ok(text) => match set.add_source(&file.display().to_string(), &text, true) {
                    Ok(found) => {
                        errors.extend(found.iter().filter_map(missing_event));
                        cases.extend(found);
                    }
                    Err(e) => errors.extend(e),
                },
                Err(e) => errors.push(RuleError {
                    file: file.display().to_string(),
                    line: 0,
                    message: format!("cannot read: {e}"),
                }),
            }
        }
        if errors.is_empty() {
            Ok((set, cases))
        } else {
            Err(errors)
        }
    }

    fn add_sigma_paths(&mut self, paths: &[impl AsRef<Path>]) {
        let mut problems = Vec::new();
        for file in expand_sigma_paths(paths, &mut problems) {
            let name = file.display().to_string();
            match std::fs::read_to_string(&file) {
                Ok(text) => self.add_sigma(&name, &text),
                Err(e) => problems.push(Unsupported {
                    file: name,
                    id: None,
                    reason: format!("cannot read: {e}"),
                }),
            }
        }
        for problem in problems {
            self.add_sigma_problem(problem);
        }
    }
}

/// The error for a case whose event file is not there.
fn missing_event(case: &Case) -> Option<RuleError> {
    (!case.event.is_file()).then(|| RuleError {
        file: case.file.clone(),
        line: case.line,
        message: format!(
            "case `{}`: event file {} not found",
            case.name,
            case.event.display()
        ),
    })
}

/// Rule files named by the paths: files as given, directories expanded to their `*.toml`.
pub fn expand_paths(paths: &[impl AsRef<Path>], errors: &mut Vec<RuleError>) -> Vec<PathBuf> {
    let toml = |p: &Path| p.extension().is_some_and(|x| x == "toml");
    files_in(paths, false, toml, &mut |dir, e| {
        errors.push(RuleError {
            file: dir.display().to_string(),
            line: 0,
            message: format!("cannot read directory: {e}"),
        });
    })
}

/// Sigma rule files named by the paths: files as given, directories searched (recursively) for
/// `*.yml` and `*.yaml`, in name order.
pub fn expand_sigma_paths(
    paths: &[impl AsRef<Path>],
    problems: &mut Vec<Unsupported>,
) -> Vec<PathBuf> {
    let yaml = |p: &Path| p.extension().is_some_and(|x| x == "yml" || x == "yaml");
    files_in(paths, true, yaml, &mut |dir, e| {
        problems.push(Unsupported {
            file: dir.display().to_string(),
            id: None,
            reason: format!("cannot read directory: {e}"),
        });
    })
}

/// The files the paths name: a file as given; in a directory, the entries `wanted` accepts, in
/// name order, and with `recursive` those of its subdirectories too. A directory that cannot be
/// read goes to `unreadable`.
fn files_in(
    paths: &[impl AsRef<Path>],
    recursive: bool,
    wanted: impl Fn(&Path) -> bool + Copy,
    unreadable: &mut dyn FnMut(&Path, std::io::Error),
) -> Vec<PathBuf> {
    fn walk(
        dir: &Path,
        recursive: bool,
        wanted: impl Fn(&Path) -> bool + Copy,
        out: &mut Vec<PathBuf>,
        unreadable: &mut dyn FnMut(&Path, std::io::Error),
    ) {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => return unreadable(dir, e),
        };
        let mut found: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
        found.sort();
        for p in found {
            if recursive && p.is_dir() {
                walk(&p, recursive, wanted, out, unreadable);
            } else if wanted(&p) {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    for path in paths {
        let path = path.as_ref();
        if path.is_dir() {
            walk(path, recursive, wanted, &mut files, unreadable);
        } else {
            files.push(path.to_path_buf());
        }
    }
    files
}

/// Runs every case against the rules, reading each case's event file
/// ([`mamoru_core::decide::cases::run_all`]).
pub fn run_cases(rules: &RuleSet, cases: &[Case]) -> CaseReport {
    mamoru_core::decide::cases::run_all(rules, cases, |path| {
        std::fs::read_to_string(path).map_err(|e| e.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A case whose event file is not there is an error naming the file, the line and the case;
    /// the same case with its event file loads.
    #[test]
    fn a_case_without_its_event_file_is_an_error() {
        let dir = std::env::temp_dir().join(format!("mamoru-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let rules = dir.join("r.toml");
        std::fs::write(
            &rules,
            "[[rule]]\nid = \"t\"\ndescription = \"t\"\n[rule.match]\nsource = [\"aws.s3\"]\n[rule.response]\ntitle = \"t\"\nseverity = \"low\"\n\n[[case]]\nname = \"gone\"\nevent = \"e.json\"\n[case.expect]\ndisposition = \"notify\"\n",
        )
        .unwrap();
        let errors = RuleSet::builtin_with_cases(&[&rules])
            .map(|_| ())
            .unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].file, rules.display().to_string());
        assert!(
            errors[0].message.starts_with("case `gone`: event file ")
                && errors[0].message.ends_with("e.json not found"),
            "{}",
            errors[0].message
        );
        std::fs::write(dir.join("e.json"), "{}").unwrap();
        let (_, cases) = RuleSet::builtin_with_cases(&[&rules]).unwrap();
        assert_eq!(cases.len(), 1);
        // The error is at the case's own line, as every error of a case is.
        assert_eq!(errors[0].line, cases[0].line);
        assert!(errors[0].line > 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
