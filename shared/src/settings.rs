//! Configuration, read once from the environment at start-up and validated. A bad setting fails
//! start-up with a message naming the variable.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::Serialize;

use crate::decide::rules::Glob;

pub const ENV_MODE: &str = "MAMORU_MODE";
pub const ENV_TOPIC_ARN: &str = "MAMORU_TOPIC_ARN";
pub const ENV_MIN_SEVERITY: &str = "MAMORU_MIN_REMEDIATION_SEVERITY";
pub const ENV_PROTECTED: &str = "MAMORU_PROTECTED_PRINCIPALS";
pub const ENV_SELF_ROLES: &str = "MAMORU_SELF_ROLE_ARNS";
pub const ENV_RULES_PATH: &str = "MAMORU_RULES_PATH";
pub const ENV_SIGMA_PATH: &str = "MAMORU_SIGMA_PATH";
pub const ENV_SELF_RESOURCES: &str = "MAMORU_SELF_RESOURCES";
pub const ENV_MEMBER_ROLE: &str = "MAMORU_MEMBER_ROLE_NAME";
pub const ENV_ACCOUNTS_ALLOW: &str = "MAMORU_ACCOUNTS_ALLOW";
pub const ENV_ACCOUNTS_DENY: &str = "MAMORU_ACCOUNTS_DENY";
pub const ENV_ACCOUNT_MODES: &str = "MAMORU_ACCOUNT_MODES";
pub const ENV_HUB_ACCOUNT: &str = "MAMORU_HUB_ACCOUNT";
pub const ENV_STATE_TABLE: &str = "MAMORU_STATE_TABLE";
pub const ENV_QUIET_HOURS: &str = "MAMORU_REPEAT_QUIET_HOURS";
pub const ENV_BUDGET_ACCOUNT: &str = "MAMORU_BUDGET_PER_ACCOUNT";
pub const ENV_BUDGET_PRINCIPAL: &str = "MAMORU_BUDGET_PER_PRINCIPAL";
/// Defaults of the remediation budgets: enforced actions per hour.
pub const DEFAULT_BUDGET_ACCOUNT: u64 = 20;
pub const DEFAULT_BUDGET_PRINCIPAL: u64 = 3;
/// Which of the four functions the one Lambda binary runs (`guardduty`, `cloudtrail`, `config`,
/// `securityhub`): the stack sets it on each function ([`crate::function::run_from_env`]).
pub const ENV_FUNCTION: &str = "MAMORU_FUNCTION";
/// Set by Lambda: the function's own name.
pub const ENV_FUNCTION_NAME: &str = "AWS_LAMBDA_FUNCTION_NAME";
pub const ENV_TRUSTED_ACCOUNTS: &str = "MAMORU_TRUSTED_ACCOUNTS";
/// `on`: the cloudtrail function imports its detections into Security Hub
/// ([`crate::publish`]); `off` or unset: it does not (the stack sets it from its parameter
/// `PublishFindings`, on by default, and grants the import only then).
pub const ENV_PUBLISH_FINDINGS: &str = "MAMORU_PUBLISH_FINDINGS";

/// Default for `MAMORU_MIN_REMEDIATION_SEVERITY`.
pub const DEFAULT_MIN_REMEDIATION_SEVERITY: f64 = 7.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Carry out remediation.
    Enforce,
    /// Plan and notify "would have"; mutate nothing.
    DryRun,
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "enforce" => Ok(Mode::Enforce),
            "dry-run" => Ok(Mode::DryRun),
            other => Err(format!(
                "`{other}` is not a mode: use `enforce` or `dry-run`"
            )),
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Enforce => "enforce",
            Mode::DryRun => "dry-run",
        })
    }
}

/// A setting that is missing or invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct SettingsError {
    pub variable: &'static str,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub mode: Mode,
    pub topic_arn: Option<String>,
    pub min_remediation_severity: f64,
    pub protected_principals: Vec<Glob>,
    pub self_role_arns: Vec<String>,
    /// This stack's own EventBridge rules, functions and topics (names or ARNs), set by the
    /// stack: calls on them are mamoru's `own_resource` signal.
    pub self_resources: Vec<String>,
    pub rules_paths: Vec<PathBuf>,
    /// Sigma rule files or directories read at start-up (`MAMORU_SIGMA_PATH`, comma-separated).
    pub sigma_paths: Vec<PathBuf>,
    /// The role mamoru assumes in the other accounts of the organization
    /// (`role/mamoru/<name>`); `None`: it acts in its own account only.
    pub member_role_name: Option<String>,
    /// mamoru's own (hub) account: from `MAMORU_HUB_ACCOUNT`, else the account of its roles.
    pub hub_account: Option<String>,
    /// Accounts mamoru acts in (empty: every account), and accounts it never acts in.
    pub accounts_allow: Vec<String>,
    pub accounts_deny: Vec<String>,
    /// Per-account mode overrides (`444455556666=enforce`).
    pub account_modes: Vec<(String, Mode)>,
    /// The DynamoDB table holding mamoru's memory between events (`crate::state`):
    /// `MAMORU_STATE_TABLE`, else the stack's table when the stack deployed this function
    /// ([`stack_state_table`]); `None`: no memory (every delivery is handled).
    pub state_table: Option<String>,
    /// With a state table: a finding updated at the same band, resource and actor alerts again
    /// only after this many seconds since its last alert (`MAMORU_REPEAT_QUIET_HOURS`).
    pub repeat_quiet_seconds: i64,
    /// With a state table: at most this many enforced actions per account per hour, and per
    /// principal per hour (`MAMORU_BUDGET_PER_ACCOUNT`, `MAMORU_BUDGET_PER_PRINCIPAL`).
    pub budget_per_account: u64,
    pub budget_per_principal: u64,
    /// Accounts a snapshot, an image or a role may be shared with or trust without being
    /// "outside" (`MAMORU_TRUSTED_ACCOUNTS`); see [`Settings::is_trusted_account`].
    pub trusted_accounts: Vec<String>,
    /// Whether the cloudtrail function imports its detections into Security Hub
    /// (`MAMORU_PUBLISH_FINDINGS`).
    pub publish_findings: bool,
}

impl Default for Settings {
    /// Safe defaults for local use: dry-run, no topic.
    fn default() -> Self {
        Settings {
            mode: Mode::DryRun,
            topic_arn: None,
            min_remediation_severity: DEFAULT_MIN_REMEDIATION_SEVERITY,
            protected_principals: Vec::new(),
            self_role_arns: Vec::new(),
            self_resources: Vec::new(),
            rules_paths: Vec::new(),
            sigma_paths: Vec::new(),
            member_role_name: None,
            hub_account: None,
            accounts_allow: Vec::new(),
            accounts_deny: Vec::new(),
            account_modes: Vec::new(),
            state_table: None,
            repeat_quiet_seconds: crate::state::DEFAULT_QUIET_SECONDS,
            budget_per_account: DEFAULT_BUDGET_ACCOUNT,
            budget_per_principal: DEFAULT_BUDGET_PRINCIPAL,
            trusted_accounts: Vec::new(),
            publish_findings: false,
        }
    }
}

fn err(variable: &'static str, message: impl Into<String>) -> SettingsError {
    SettingsError {
        variable,
        message: message.into(),
    }
}

/// The function a `MAMORU_FUNCTION` value names (surrounding blanks ignored), or the error that
/// says which names are valid.
pub fn function_from(value: Option<&str>) -> Result<crate::decide::Handler, SettingsError> {
    use crate::decide::Handler;
    let names = || {
        Handler::FUNCTIONS
            .map(Handler::name)
            .map(|n| format!("`{n}`"))
            .join(", ")
    };
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Err(err(
            ENV_FUNCTION,
            format!("not set: use one of {}", names()),
        )),
        Some(v) => Handler::from_name(v).ok_or_else(|| {
            err(
                ENV_FUNCTION,
                format!(
                    "`{}` is not a function: use one of {}",
                    v.escape_debug(),
                    names()
                ),
            )
        }),
    }
}

fn list(value: Option<String>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The stack's state table, for a function the stack deployed: the stack names its functions
/// `mamoru-<stack>-<function>`, lists them in `MAMORU_SELF_RESOURCES`, and names the table
/// `mamoru-<stack>-state` (infra/template.yaml; Lambda's 4 KB of environment has no room left
/// for the name). `None` for a function the list does not name (a hand-made deployment sets
/// `MAMORU_STATE_TABLE`).
pub fn stack_state_table(function_name: &str, self_resources: &[String]) -> Option<String> {
    if !self_resources.iter().any(|r| r == function_name) {
        return None;
    }
    let (stack_part, _) = function_name.rsplit_once('-')?;
    Some(format!("{stack_part}-state"))
}

/// One entry of `MAMORU_SELF_RESOURCES`, with its group expanded: `mamoru-prod-{findings|config}`
/// names `mamoru-prod-findings` and `mamoru-prod-config` (the stack writes its names so, to stay
/// within Lambda's 4 KB of environment). Still exact names, never a pattern: at most one group,
/// not nested, no empty alternative.
fn expand_group(entry: &str) -> Result<Vec<String>, String> {
    let Some(open) = entry.find('{') else {
        if entry.contains('}') {
            return Err(format!("`{entry}` has a `}}` without its `{{`"));
        }
        return Ok(vec![entry.to_string()]);
    };
    let (prefix, rest) = entry.split_at(open);
    let Some(close) = rest.find('}') else {
        return Err(format!("`{entry}` has a `{{` without its `}}`"));
    };
    let (group, suffix) = (&rest[1..close], &rest[close + 1..]);
    if group.contains('{') || suffix.contains('{') || suffix.contains('}') {
        return Err(format!(
            "`{entry}` has more than one group: write one `{{a|b}}` per entry"
        ));
    }
    group
        .split('|')
        .map(|alt| {
            if alt.trim().is_empty() {
                Err(format!("`{entry}` has an empty alternative"))
            } else {
                Ok(format!("{prefix}{}{suffix}", alt.trim()))
            }
        })
        .collect()
}

impl Settings {
    /// Settings for a Lambda function: `MAMORU_MODE` and `MAMORU_TOPIC_ARN` are required.
    pub fn from_env() -> Result<Settings, SettingsError> {
        Settings::from_lookup(|k| std::env::var(k).ok(), true)
    }

    /// Reads settings through `get`. With `strict`, mode and topic are required.
    pub fn from_lookup(
        get: impl Fn(&str) -> Option<String>,
        strict: bool,
    ) -> Result<Settings, SettingsError> {
        let present = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let mode = match present(ENV_MODE) {
            Some(v) => v.parse().map_err(|m| err(ENV_MODE, m))?,
            None if strict => return Err(err(ENV_MODE, "not set: use `enforce` or `dry-run`")),
            None => Mode::DryRun,
        };
        let topic_arn = match present(ENV_TOPIC_ARN) {
            Some(v) => {
                let v = v.trim().to_string();
                let parts: Vec<&str> = v.split(':').collect();
                if parts.len() != 6 || parts[0] != "arn" || parts[2] != "sns" || parts[5].is_empty()
                {
                    return Err(err(
                        ENV_TOPIC_ARN,
                        format!("`{v}` is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)"),
                    ));
                }
                Some(v)
            }
            None if strict => return Err(err(ENV_TOPIC_ARN, "not set: the SNS topic to notify")),
            None => None,
        };
        let min_remediation_severity = match present(ENV_MIN_SEVERITY) {
            Some(v) => {
                let n: f64 = v
                    .trim()
                    .parse()
                    .map_err(|_| err(ENV_MIN_SEVERITY, format!("`{v}` is not a number")))?;
                if !(0.0..=10.0).contains(&n) {
                    return Err(err(ENV_MIN_SEVERITY, format!("{n} is outside 0–10")));
                }
                n
            }
            None => DEFAULT_MIN_REMEDIATION_SEVERITY,
        };
        let mut protected_principals = Vec::new();
        for p in list(get(ENV_PROTECTED)) {
            protected_principals.push(protected_glob(&p).map_err(|m| err(ENV_PROTECTED, m))?);
        }
        let self_role_arns = list(get(ENV_SELF_ROLES));
        if let Some(bad) = self_role_arns.iter().find(|a| !a.starts_with("arn:")) {
            return Err(err(ENV_SELF_ROLES, format!("`{bad}` is not a role ARN")));
        }
        let mut self_resources = Vec::new();
        for entry in list(get(ENV_SELF_RESOURCES)) {
            self_resources.extend(expand_group(&entry).map_err(|m| err(ENV_SELF_RESOURCES, m))?);
        }
        if let Some(bad) = self_resources.iter().find(|r| r.contains('*')) {
            return Err(err(
                ENV_SELF_RESOURCES,
                format!("`{bad}` is a pattern: list the stack's own names or ARNs exactly"),
            ));
        }
        let account_list = |var: &'static str| -> Result<Vec<String>, SettingsError> {
            let accounts = list(get(var));
            match accounts.iter().find(|a| !is_account_id(a)) {
                Some(bad) => Err(err(var, format!("`{bad}` is not a 12-digit account ID"))),
                None => Ok(accounts),
            }
        };
        let accounts_allow = account_list(ENV_ACCOUNTS_ALLOW)?;
        let accounts_deny = account_list(ENV_ACCOUNTS_DENY)?;
        let trusted_accounts = account_list(ENV_TRUSTED_ACCOUNTS)?;
        let mut account_modes = Vec::new();
        for entry in list(get(ENV_ACCOUNT_MODES)) {
            let Some((account, mode)) = entry.split_once('=') else {
                return Err(err(
                    ENV_ACCOUNT_MODES,
                    format!("`{entry}` is not ACCOUNT=MODE (for example 444455556666=enforce)"),
                ));
            };
            let account = account.trim();
            if !is_account_id(account) {
                return Err(err(
                    ENV_ACCOUNT_MODES,
                    format!("`{account}` is not a 12-digit account ID"),
                ));
            }
            let mode: Mode = mode.parse().map_err(|m| err(ENV_ACCOUNT_MODES, m))?;
            account_modes.push((account.to_string(), mode));
        }
        let member_role_name = present(ENV_MEMBER_ROLE).map(|v| v.trim().to_string());
        if let Some(bad) = member_role_name.as_deref().filter(|n| {
            n.is_empty()
                || !n
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
        }) {
            return Err(err(
                ENV_MEMBER_ROLE,
                format!("`{bad}` is not an IAM role name"),
            ));
        }
        let hub_account = match present(ENV_HUB_ACCOUNT) {
            Some(a) if is_account_id(a.trim()) => Some(a.trim().to_string()),
            Some(a) => {
                return Err(err(
                    ENV_HUB_ACCOUNT,
                    format!("`{a}` is not a 12-digit account ID"),
                ));
            }
            None => self_role_arns
                .iter()
                .filter_map(|arn| arn.split(':').nth(4))
                .find(|a| is_account_id(a))
                .map(str::to_string),
        };
        let explicit_table = present(ENV_STATE_TABLE).map(|v| v.trim().to_string());
        if let Some(bad) = explicit_table.as_deref().filter(|n| {
            !(3..=255).contains(&n.len())
                || !n
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        }) {
            return Err(err(
                ENV_STATE_TABLE,
                format!("`{bad}` is not a DynamoDB table name"),
            ));
        }
        let state_table = explicit_table.or_else(|| {
            present(ENV_FUNCTION_NAME)
                .and_then(|name| stack_state_table(name.trim(), &self_resources))
        });
        let repeat_quiet_seconds = match present(ENV_QUIET_HOURS) {
            None => crate::state::DEFAULT_QUIET_SECONDS,
            Some(v) => match v.trim().parse::<i64>() {
                Ok(h) if (1..=24 * 30).contains(&h) => h * 3600,
                _ => {
                    return Err(err(
                        ENV_QUIET_HOURS,
                        format!("`{v}` is not a number of hours from 1 to 720"),
                    ));
                }
            },
        };
        let budget = |var: &'static str, default: u64| -> Result<u64, SettingsError> {
            match present(var) {
                None => Ok(default),
                Some(v) => match v.trim().parse::<u64>() {
                    Ok(n) if (1..=10_000).contains(&n) => Ok(n),
                    _ => Err(err(
                        var,
                        format!("`{v}` is not a number of actions per hour from 1 to 10000"),
                    )),
                },
            }
        };
        let budget_per_account = budget(ENV_BUDGET_ACCOUNT, DEFAULT_BUDGET_ACCOUNT)?;
        let budget_per_principal = budget(ENV_BUDGET_PRINCIPAL, DEFAULT_BUDGET_PRINCIPAL)?;
        let publish_findings = match present(ENV_PUBLISH_FINDINGS).as_deref().map(str::trim) {
            None | Some("off") => false,
            Some("on") => true,
            Some(v) => {
                return Err(err(
                    ENV_PUBLISH_FINDINGS,
                    format!("`{v}` is not `on` or `off`"),
                ));
            }
        };
        let rules_paths = list(get(ENV_RULES_PATH))
            .into_iter()
            .map(PathBuf::from)
            .collect();
        let sigma_paths = list(get(ENV_SIGMA_PATH))
            .into_iter()
            .map(PathBuf::from)
            .collect();
        Ok(Settings {
            sigma_paths,
            mode,
            topic_arn,
            min_remediation_severity,
            protected_principals,
            self_role_arns,
            self_resources,
            rules_paths,
            member_role_name,
            hub_account,
            accounts_allow,
            accounts_deny,
            account_modes,
            state_table,
            repeat_quiet_seconds,
            budget_per_account,
            budget_per_principal,
            trusted_accounts,
            publish_findings,
        })
    }

    /// Whether sharing with, or trusting, `account` keeps a resource of `owner` inside: the
    /// owner itself, mamoru's hub account, the organization's accounts mamoru acts in
    /// (`MAMORU_ACCOUNTS_ALLOW`) and `MAMORU_TRUSTED_ACCOUNTS`. Every other account is outside.
    /// Decided from settings only, never from a name or description in the event.
    pub fn is_trusted_account(&self, account: &str, owner: &str) -> bool {
        account == owner
            || self.hub_account.as_deref() == Some(account)
            || self.accounts_allow.iter().any(|a| a == account)
            || self.trusted_accounts.iter().any(|a| a == account)
    }

    /// Whether a principal's ARN is protected. IAM names are unique whatever their case, and
    /// GuardDuty findings carry no IAM path, so the ARN is compared without its path and
    /// without regard to case (the globs were checked to have no path at start-up).
    pub fn is_protected(&self, arn: &str) -> bool {
        if self.protected_principals.is_empty() {
            return false;
        }
        let key = principal_key(arn);
        self.protected_principals.iter().any(|g| g.matches(&key))
    }

    /// Why mamoru does not act in `account`, if it does not: it is denied, or not allowed.
    pub fn out_of_scope(&self, account: &str) -> Option<String> {
        if self.accounts_deny.iter().any(|a| a == account) {
            return Some(format!(
                "account {account} is out of scope (MAMORU_ACCOUNTS_DENY): not acted on"
            ));
        }
        if !self.accounts_allow.is_empty() && !self.accounts_allow.iter().any(|a| a == account) {
            return Some(format!(
                "account {account} is out of scope (not in MAMORU_ACCOUNTS_ALLOW): not acted on"
            ));
        }
        None
    }

    /// The mode mamoru acts in, in `account`: its override, else the deployment's mode.
    pub fn mode_for(&self, account: &str) -> Mode {
        self.account_modes
            .iter()
            .find(|(a, _)| a == account)
            .map_or(self.mode, |(_, m)| *m)
    }

    /// Adds a role ARN to the set of mamoru's own roles (loop prevention).
    pub fn add_self_role(&mut self, arn: String) {
        if self.hub_account.is_none() {
            self.hub_account = arn
                .split(':')
                .nth(4)
                .filter(|a| is_account_id(a))
                .map(str::to_string);
        }
        if !self.self_role_arns.contains(&arn) {
            self.self_role_arns.push(arn);
        }
    }
}

fn is_account_id(a: &str) -> bool {
    a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit())
}

/// Checks and compiles a `MAMORU_PROTECTED_PRINCIPALS` entry: an ARN glob of an IAM user,
/// role or root (`*` allowed anywhere), or `*`. A glob with an IAM path is refused: GuardDuty
/// findings name users and roles without their path, so such a glob would never protect in a
/// finding. Matching ignores paths and case (see [`Settings::is_protected`]).
pub fn protected_glob(p: &str) -> Result<Glob, String> {
    if p == "*" {
        return Ok(Glob::new("*"));
    }
    let example = "for example arn:aws:iam::*:role/BreakGlass*";
    let parts: Vec<&str> = p.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" || !(parts[2] == "iam" || parts[2] == "sts") {
        return Err(format!(
            "`{p}` is not an ARN glob of an IAM user or role ({example})"
        ));
    }
    let resource = parts[5];
    let named = resource
        .strip_prefix("user/")
        .or_else(|| resource.strip_prefix("role/"));
    if let Some(name) = named
        && name.contains('/')
    {
        return Err(format!(
            "`{p}` names an IAM path: GuardDuty findings carry no path, so it would never protect \
             there. Write the glob on the name alone ({example}); paths are ignored when matching"
        ));
    }
    Ok(Glob::new(&p.to_ascii_lowercase()))
}

/// A principal's ARN as protected-principal globs see it: lower case, and an IAM user's or
/// role's path left out (`arn:aws:iam::1:role/ops/Admin` is `arn:aws:iam::1:role/admin`).
pub fn principal_key(arn: &str) -> String {
    let lower = arn.to_ascii_lowercase();
    let parts: Vec<&str> = lower.splitn(6, ':').collect();
    if parts.len() == 6 && parts[2] == "iam" {
        for kind in ["user/", "role/"] {
            if let Some(rest) = parts[5].strip_prefix(kind)
                && let Some(name) = rest.rsplit('/').next()
            {
                return format!("{}:{}{}", parts[..5].join(":"), kind, name);
            }
        }
    }
    lower
}

/// The IAM role ARN behind an STS caller ARN: `arn:aws:sts::A:assumed-role/R/session` becomes
/// `arn:aws:iam::A:role/R`. Other ARNs are returned unchanged. (CloudTrail's sessionIssuer keeps
/// the role's path; the STS ARN does not, so matching also compares role names, see
/// [`same_role`].)
pub fn role_arn_from_caller(caller: &str) -> String {
    let parts: Vec<&str> = caller.splitn(6, ':').collect();
    if parts.len() == 6
        && parts[2] == "sts"
        && let Some(rest) = parts[5].strip_prefix("assumed-role/")
        && let Some(role) = rest.split('/').next()
    {
        return format!("arn:{}:iam::{}:role/{role}", parts[1], parts[4]);
    }
    caller.to_string()
}

/// True when two IAM role ARNs name the same role. Role names are unique in an account whatever
/// their path, so `role/service-role/x` and `role/x` of one account are the same role.
pub fn same_role(a: &str, b: &str) -> bool {
    // (partition, account, role name): a role in another partition (aws-us-gov, aws-cn) or
    // account is another role, whatever its name.
    fn key(arn: &str) -> Option<(&str, &str, &str)> {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        if parts.len() != 6 || parts[0] != "arn" || parts[2] != "iam" {
            return None;
        }
        let rest = parts[5].strip_prefix("role/")?;
        Some((parts[1], parts[4], rest.rsplit('/').next()?))
    }
    a == b || matches!((key(a), key(b)), (Some(x), Some(y)) if x == y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_function_is_named_by_mamoru_function() {
        for h in crate::decide::Handler::FUNCTIONS {
            assert_eq!(function_from(Some(h.name())).unwrap(), h);
            assert_eq!(function_from(Some(&format!(" {} ", h.name()))).unwrap(), h);
        }
        for bad in [
            None,
            Some(""),
            Some("  "),
            Some("unhandled"),
            Some("GuardDuty"),
            Some("iam"),
        ] {
            let e = function_from(bad).unwrap_err();
            assert_eq!(e.variable, "MAMORU_FUNCTION", "{bad:?}");
            assert!(
                e.to_string()
                    .contains("`guardduty`, `cloudtrail`, `config`, `securityhub`"),
                "{e}"
            );
        }
        assert!(
            function_from(Some("iam"))
                .unwrap_err()
                .to_string()
                .contains("`iam` is not a function")
        );
    }
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:mamoru-alerts";

    #[test]
    fn strict_settings_need_mode_and_topic() {
        let e = Settings::from_lookup(lookup(&[(ENV_TOPIC_ARN, TOPIC)]), true).unwrap_err();
        assert_eq!(e.variable, ENV_MODE);
        let e = Settings::from_lookup(lookup(&[(ENV_MODE, "enforce")]), true).unwrap_err();
        assert_eq!(e.variable, ENV_TOPIC_ARN);
        let s = Settings::from_lookup(
            lookup(&[(ENV_MODE, "enforce"), (ENV_TOPIC_ARN, TOPIC)]),
            true,
        )
        .unwrap();
        assert_eq!(s.mode, Mode::Enforce);
        assert_eq!(s.min_remediation_severity, 7.0);
    }

    #[test]
    fn invalid_values_name_the_variable() {
        let base = [(ENV_MODE, "enforce"), (ENV_TOPIC_ARN, TOPIC)];
        let cases: [(&str, &str); 14] = [
            (ENV_BUDGET_ACCOUNT, "0"),
            (ENV_BUDGET_PRINCIPAL, "three"),
            (ENV_QUIET_HOURS, "0"),
            (ENV_QUIET_HOURS, "a day"),
            (ENV_STATE_TABLE, "mamoru state"),
            (ENV_STATE_TABLE, "ab"),
            (ENV_TRUSTED_ACCOUNTS, "44445555666"),
            (ENV_TRUSTED_ACCOUNTS, "444455556666,partner"),
            (ENV_MODE, "yolo"),
            (ENV_TOPIC_ARN, "not-an-arn"),
            (ENV_MIN_SEVERITY, "high"),
            (ENV_MIN_SEVERITY, "11"),
            (ENV_PROTECTED, "alice"),
            (ENV_SELF_ROLES, "role/x"),
        ];
        for (var, value) in cases {
            let mut pairs: Vec<(&str, &str)> =
                base.iter().filter(|(k, _)| *k != var).copied().collect();
            pairs.push((var, value));
            let e = Settings::from_lookup(lookup(&pairs), true).unwrap_err();
            assert_eq!(e.variable, var, "{value}: {e}");
        }
    }

    #[test]
    fn the_state_table_is_optional_and_trimmed() {
        let s = Settings::from_lookup(lookup(&[]), false).unwrap();
        assert_eq!(s.state_table, None);
        let s = Settings::from_lookup(lookup(&[(ENV_STATE_TABLE, " mamoru-State_1.x ")]), false)
            .unwrap();
        assert_eq!(s.state_table.as_deref(), Some("mamoru-State_1.x"));
    }

    #[test]
    fn a_function_the_stack_lists_finds_the_stacks_table_from_its_own_name() {
        let own = "mamoru-prod-eu-rule,mamoru-prod-eu-guardduty,mamoru-prod-eu-cloudtrail";
        let s = Settings::from_lookup(
            lookup(&[
                (ENV_SELF_RESOURCES, own),
                (ENV_FUNCTION_NAME, "mamoru-prod-eu-guardduty"),
            ]),
            false,
        )
        .unwrap();
        assert_eq!(s.state_table.as_deref(), Some("mamoru-prod-eu-state"));
        // A function the list does not name (a hand-made deployment, a test) has no table...
        let s = Settings::from_lookup(
            lookup(&[
                (ENV_SELF_RESOURCES, own),
                (ENV_FUNCTION_NAME, "my-responder"),
            ]),
            false,
        )
        .unwrap();
        assert_eq!(s.state_table, None);
        let s = Settings::from_lookup(
            lookup(&[(ENV_FUNCTION_NAME, "mamoru-prod-eu-guardduty")]),
            false,
        )
        .unwrap();
        assert_eq!(s.state_table, None);
        // ...unless it names one; the variable wins.
        let s = Settings::from_lookup(
            lookup(&[
                (ENV_SELF_RESOURCES, own),
                (ENV_FUNCTION_NAME, "mamoru-prod-eu-guardduty"),
                (ENV_STATE_TABLE, "shared-state"),
            ]),
            false,
        )
        .unwrap();
        assert_eq!(s.state_table.as_deref(), Some("shared-state"));
    }

    #[test]
    fn self_resources_groups_expand_to_exact_names() {
        let base = [(ENV_MODE, "enforce"), (ENV_TOPIC_ARN, TOPIC)];
        let with = |value: &str| {
            let mut pairs = base.to_vec();
            pairs.push((ENV_SELF_RESOURCES, value));
            Settings::from_lookup(lookup(&pairs), true)
        };
        let s = with("mamoru-p-{findings|sechub-action}, mamoru-p-securityhub,arn:aws:sns:us-east-1:123456789012:t").unwrap();
        assert_eq!(
            s.self_resources,
            [
                "mamoru-p-findings",
                "mamoru-p-sechub-action",
                "mamoru-p-securityhub",
                "arn:aws:sns:us-east-1:123456789012:t"
            ]
        );
        assert_eq!(with("a{b}c").unwrap().self_resources, ["abc"]);
        // A function named in a group finds the stack's state table from its own name.
        let s = Settings::from_lookup(
            lookup(&[
                (ENV_SELF_RESOURCES, "mamoru-p-{findings|securityhub}"),
                (ENV_FUNCTION_NAME, "mamoru-p-securityhub"),
            ]),
            false,
        )
        .unwrap();
        assert_eq!(s.state_table.as_deref(), Some("mamoru-p-state"));
        for bad in ["a{b", "a}b", "a{b|}", "a{b}{c}", "a{b{c}}", "a{*}"] {
            let e = with(bad).unwrap_err();
            assert_eq!(e.variable, ENV_SELF_RESOURCES, "{bad}: {e}");
        }
    }

    #[test]
    fn trusted_accounts_are_the_owner_the_hub_the_allowed_and_the_listed() {
        let s = Settings::from_lookup(
            lookup(&[
                (ENV_TRUSTED_ACCOUNTS, " 444455556666 , 111122223333"),
                (ENV_HUB_ACCOUNT, "210987654321"),
                (ENV_ACCOUNTS_ALLOW, "777788889999"),
            ]),
            false,
        )
        .unwrap();
        assert_eq!(s.trusted_accounts, ["444455556666", "111122223333"]);
        let owner = "123456789012";
        for inside in [
            owner,
            "444455556666",
            "111122223333",
            "210987654321",
            "777788889999",
        ] {
            assert!(s.is_trusted_account(inside, owner), "{inside}");
        }
        assert!(!s.is_trusted_account("999999999999", owner));
        // Nothing is trusted by default but the owner itself.
        let none = Settings::default();
        assert!(none.is_trusted_account(owner, owner));
        assert!(!none.is_trusted_account("444455556666", owner));
    }

    #[test]
    fn lists_are_trimmed_and_globs_match() {
        let s = Settings::from_lookup(
            lookup(&[(
                ENV_PROTECTED,
                " arn:aws:iam::*:role/BreakGlass* , arn:aws:iam::123456789012:user/ci ",
            )]),
            false,
        )
        .unwrap();
        assert!(s.is_protected("arn:aws:iam::123456789012:role/BreakGlassAdmin"));
        assert!(s.is_protected("arn:aws:iam::123456789012:user/ci"));
        assert!(!s.is_protected("arn:aws:iam::123456789012:user/cia"));
        assert_eq!(s.mode, Mode::DryRun, "lenient settings default to dry-run");
    }

    #[test]
    fn protected_principals_ignore_case_and_path_and_refuse_path_globs() {
        let s = Settings::from_lookup(
            lookup(&[(
                ENV_PROTECTED,
                "arn:aws:iam::*:role/BreakGlass*, arn:aws:iam::123456789012:user/ci-bot",
            )]),
            false,
        )
        .unwrap();
        // IAM names are unique regardless of case: `breakglassadmin` is the same role.
        assert!(s.is_protected("arn:aws:iam::123456789012:role/breakglassadmin"));
        assert!(s.is_protected("arn:aws:iam::123456789012:user/CI-Bot"));
        // CloudTrail names the path, GuardDuty does not: both are the same principal.
        assert!(s.is_protected("arn:aws:iam::123456789012:role/ops/BreakGlassAdmin"));
        assert!(s.is_protected("arn:aws:iam::123456789012:user/automation/ci-bot"));
        assert!(!s.is_protected("arn:aws:iam::123456789012:user/ci-bot-2"));
        assert!(!s.is_protected("arn:aws:iam::123456789012:role/Admin"));
        let e = Settings::from_lookup(
            lookup(&[(ENV_PROTECTED, "arn:aws:iam::*:user/automation/*")]),
            false,
        )
        .unwrap_err();
        assert_eq!(e.variable, ENV_PROTECTED);
        assert!(e.message.contains("IAM path"), "{e}");
    }

    #[test]
    fn a_role_in_another_partition_is_another_role() {
        assert!(!same_role(
            "arn:aws:iam::123456789012:role/mamoru-fn",
            "arn:aws-us-gov:iam::123456789012:role/mamoru-fn"
        ));
        assert!(same_role(
            "arn:aws-us-gov:iam::123456789012:role/x/mamoru-fn",
            "arn:aws-us-gov:iam::123456789012:role/mamoru-fn"
        ));
    }

    #[test]
    fn roles_match_whatever_their_path() {
        assert!(same_role(
            "arn:aws:iam::123456789012:role/service-role/mamoru-fn",
            "arn:aws:iam::123456789012:role/mamoru-fn"
        ));
        assert!(!same_role(
            "arn:aws:iam::123456789012:role/mamoru-fn",
            "arn:aws:iam::210987654321:role/mamoru-fn"
        ));
        assert!(!same_role(
            "arn:aws:iam::123456789012:role/mamoru-fn",
            "arn:aws:iam::123456789012:role/mamoru-fn2"
        ));
    }

    #[test]
    fn caller_arn_maps_to_role_arn() {
        assert_eq!(
            role_arn_from_caller("arn:aws:sts::123456789012:assumed-role/mamoru-fn/mamoru-fn"),
            "arn:aws:iam::123456789012:role/mamoru-fn"
        );
        assert_eq!(
            role_arn_from_caller("arn:aws:iam::123456789012:user/moto"),
            "arn:aws:iam::123456789012:user/moto"
        );
    }
}
