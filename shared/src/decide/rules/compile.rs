//! Compiling a rule: the format's definitions checked and turned into a [`Rule`] (globs, field
//! paths, CIDRs, templates, actions and thresholds validated, every error named).

use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::Value;

use super::format::*;
use super::*;

/// `30s`, `10m`, `2h`, `1d` in seconds: from 1 minute to 1 day.
pub(super) fn parse_window(text: &str) -> Result<i64, String> {
    let bad = || format!("bad threshold window `{text}`: write a number and s, m, h or d (`10m`)");
    let unit = text.chars().last().ok_or_else(bad)?;
    let n: i64 = text[..text.len() - unit.len_utf8()]
        .parse()
        .map_err(|_| bad())?;
    let secs = match unit {
        's' => Some(n),
        'm' => n.checked_mul(60),
        'h' => n.checked_mul(3600),
        'd' => n.checked_mul(86_400),
        _ => return Err(bad()),
    };
    match secs {
        Some(secs) if (60..=86_400).contains(&secs) => Ok(secs),
        _ => Err(format!(
            "threshold window `{text}` is outside 1 minute to 1 day"
        )),
    }
}

/// A path a threshold counts by or counts the distinct values of. Those values are kept in the
/// state table and named in the alert, so never a member whose name says it holds a secret
/// (`password`, `sessionToken`, …): masking it would count every value as one.
fn counted_path(path: &str) -> Result<Vec<String>, String> {
    let p = compile_path(path)?;
    match p.iter().find(|s| crate::redact::is_secret_name(s)) {
        Some(secret) => Err(format!(
            "`{path}` names the secret member `{secret}`: its values would be kept in the state table and shown in the alert"
        )),
        None => Ok(p),
    }
}

pub(super) fn compile_threshold(t: ThresholdDef, errors: &mut Vec<String>) -> Option<Threshold> {
    let max = crate::state::MAX_THRESHOLD_COUNT;
    if !(2..=max).contains(&t.count) {
        errors.push(format!("threshold count {} is outside 2–{max}", t.count));
    }
    let window = parse_window(&t.window).map_err(|e| errors.push(e)).ok()?;
    let distinct = match t.distinct.as_deref().map(counted_path) {
        None => None,
        Some(Ok(p)) => Some(p),
        Some(Err(e)) => {
            errors.push(format!("threshold distinct: {e}"));
            return None;
        }
    };
    let by = match t.by.as_deref() {
        None | Some("principal") => By::Principal,
        Some("account") => By::Account,
        Some(path) => match counted_path(path) {
            Ok(p) => By::Field(p),
            Err(e) => {
                errors.push(format!(
                    "threshold by: `principal`, `account` or a field path: {e}"
                ));
                return None;
            }
        },
    };
    Some(Threshold {
        count: t.count,
        distinct,
        window,
        by,
    })
}

pub(super) fn toml_to_json(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => {
            serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number)
        }
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        ),
    }
}

pub(super) const ENVELOPE_FIELDS: [&str; 7] = [
    "id",
    "source",
    "detail-type",
    "account",
    "region",
    "time",
    "resources",
];

pub(super) fn compile_path(path: &str) -> Result<Vec<String>, String> {
    let parts: Vec<String> = path.split('.').map(str::to_string).collect();
    if parts.iter().any(String::is_empty) {
        return Err(format!("bad field path `{path}`: empty segment"));
    }
    match parts.first().map(String::as_str) {
        Some("detail") => Ok(parts),
        Some(first) if ENVELOPE_FIELDS.contains(&first) => Ok(parts),
        _ => Err(format!(
            "bad field path `{path}`: it must start with `detail.` or name an envelope field ({})",
            ENVELOPE_FIELDS.join(", ")
        )),
    }
}

pub(super) fn check_glob(pattern: &str, what: &str, errors: &mut Vec<String>) -> Glob {
    if pattern.is_empty() {
        errors.push(format!("bad pattern in {what}: empty pattern"));
    } else if pattern.contains("**") {
        errors.push(format!(
            "bad pattern `{pattern}` in {what}: `**` is not supported, `*` already matches any characters"
        ));
    }
    Glob::new(pattern)
}

pub(super) fn compile_fields(defs: Vec<FieldDef>, errors: &mut Vec<String>) -> Vec<FieldCond> {
    let mut field = Vec::new();
    for f in defs {
        let path = match compile_path(&f.path) {
            Ok(p) => p,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let mut ops = Vec::new();
        if let Some(v) = &f.equals {
            ops.push(FieldOp::Equals(toml_to_json(v)));
        }
        if let Some(vs) = &f.one_of {
            ops.push(FieldOp::OneOf(vs.iter().map(toml_to_json).collect()));
        }
        if let Some(p) = f.prefix {
            ops.push(FieldOp::Prefix(p));
        }
        if let Some(g) = f.glob {
            ops.push(FieldOp::Glob(check_glob(
                &g,
                &format!("field `{}`", f.path),
                errors,
            )));
        }
        if let Some(c) = f.cidr {
            match c.parse::<IpNet>() {
                Ok(net) => ops.push(FieldOp::Cidr(net)),
                Err(_) => errors.push(format!("bad CIDR `{c}` in field `{}`", f.path)),
            }
        }
        if let Some(e) = f.exists {
            ops.push(FieldOp::Exists(e));
        }
        if ops.len() != 1 {
            errors.push(format!(
                "field `{}` needs exactly one of equals, one_of, prefix, glob, cidr, exists (found {})",
                f.path,
                ops.len()
            ));
            continue;
        }
        field.extend(ops.into_iter().map(|op| FieldCond {
            path: path.clone(),
            op,
        }));
    }
    field
}

pub(super) fn compile(def: RuleDef, origin: &str) -> Result<Rule, Vec<String>> {
    let mut errors = Vec::new();
    let id_ok = !def.id.is_empty()
        && def
            .id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !id_ok {
        errors.push(format!(
            "bad rule id `{}`: use letters, digits, `-` and `_`",
            def.id
        ));
    }
    let m = def.matcher;
    let field = compile_fields(m.field, &mut errors);
    let any_field = compile_fields(m.any_field, &mut errors);
    let mut signal = Vec::new();
    for s in &m.signal {
        match Signal::parse(s) {
            Some(sig) => signal.push(sig),
            None => errors.push(format!(
                "unknown signal `{s}` (known: {})",
                Signal::ALL.map(Signal::name).join(", ")
            )),
        }
    }
    let (severity_min, severity_max) = match &m.severity {
        Some(r) => (r.min, r.max),
        None => (None, None),
    };
    for v in [severity_min, severity_max].into_iter().flatten() {
        if !(0.0..=10.0).contains(&v) {
            errors.push(format!("severity bound {v} is outside 0–10"));
        }
    }
    let finding_type = m
        .finding_type
        .iter()
        .map(|g| check_glob(g, "finding_type", &mut errors))
        .collect();
    let principal_arn = m
        .principal_arn
        .iter()
        .map(|g| check_glob(g, "principal_arn", &mut errors))
        .collect();
    let sigma = m
        .sigma
        .iter()
        .map(|id| {
            id.strip_prefix(crate::decide::sigma::ID_PREFIX)
                .unwrap_or(id)
                .to_string()
        })
        .collect();
    let threshold = m.threshold.and_then(|t| compile_threshold(t, &mut errors));
    let read_only = m.read_only;
    if threshold.is_some() && m.event_name.is_empty() {
        errors.push(
            "a threshold rule names its calls (match.event_name): it counts those calls"
                .to_string(),
        );
    }
    let mut field = field;
    if read_only {
        // Only what CloudTrail records as read-only (the route the stack makes for them).
        field.push(FieldCond {
            path: vec!["detail".to_string(), "readOnly".to_string()],
            op: FieldOp::Equals(Value::Bool(true)),
        });
    }
    let matcher = Matcher {
        sigma,
        source: m.source,
        detail_type: m.detail_type,
        finding_type,
        event_source: m.event_source,
        event_name: m
            .event_name
            .iter()
            .map(|g| check_glob(g, "event_name", &mut errors))
            .collect(),
        severity_min,
        severity_max,
        principal_type: m.principal_type,
        principal_arn,
        account: m.account,
        region: m.region,
        call: m.call,
        signal,
        field,
        any_field,
    };

    let r = def.response;
    let severity = match r.severity {
        None => SeveritySpec::FromEvent,
        Some(SeverityDef::Score(s)) if (0.0..=10.0).contains(&s) => {
            SeveritySpec::Fixed(Severity::from_score(s))
        }
        Some(SeverityDef::Score(s)) => {
            errors.push(format!("severity {s} is outside 0–10"));
            SeveritySpec::FromEvent
        }
        Some(SeverityDef::Band(b)) => match b.parse::<Band>() {
            Ok(band) => SeveritySpec::Fixed(Severity::from_band(band)),
            Err(e) => {
                errors.push(e);
                SeveritySpec::FromEvent
            }
        },
    };
    let severity_floor = match r.severity_floor.as_deref().map(str::parse::<Band>) {
        None => None,
        Some(Ok(b)) => Some(b),
        Some(Err(e)) => {
            errors.push(e);
            None
        }
    };
    let mut actions = Vec::new();
    for a in &r.actions {
        match a.action.parse::<ActionKind>() {
            Ok(kind) => {
                // The event must be able to supply the action's parameters: the rule has to be
                // limited to detail-types the action can read them from.
                let supported = kind.detail_types();
                if matcher.detail_type.is_empty() {
                    errors.push(format!(
                        "action `{kind}` takes its parameters from {} events: restrict match.detail_type to those",
                        supported.join(" or ")
                    ));
                } else if let Some(dt) = matcher
                    .detail_type
                    .iter()
                    .find(|d| !supported.contains(&d.as_str()))
                {
                    errors.push(format!(
                        "action `{kind}` cannot take its parameters from `{dt}` events (it needs {})",
                        supported.join(" or ")
                    ));
                }
                actions.push(kind);
            }
            Err(e) => errors.push(e),
        }
    }
    let mut warnings = Vec::new();
    let mut template =
        |text: &Option<String>, what: &str| -> Option<crate::decide::template::Template> {
            let text = text.as_ref()?;
            match crate::decide::template::Template::parse(text) {
                Ok(t) => {
                    warnings.extend(crate::decide::template::path_warnings(
                        &t,
                        &matcher.detail_type,
                        what,
                    ));
                    Some(t)
                }
                Err(e) => {
                    errors.push(format!("{what}: {e}"));
                    None
                }
            }
        };
    let title_template = template(&r.title, "title");
    let runbook_template = template(&r.runbook, "runbook");
    let ex = def.exceptions;
    let mut source_ips = Vec::new();
    for ip in &ex.source_ips {
        let parsed = ip
            .parse::<IpNet>()
            .or_else(|_| ip.parse::<IpAddr>().map(IpNet::from));
        match parsed {
            Ok(net) => source_ips.push(net),
            Err(_) => errors.push(format!("bad IP or CIDR `{ip}` in exceptions.source_ips")),
        }
    }
    let exceptions = Exceptions {
        principals: ex
            .principals
            .iter()
            .map(|g| check_glob(g, "exceptions.principals", &mut errors))
            .collect(),
        accounts: ex.accounts,
        source_ips,
        resource_tags: ex.resource_tags,
    };
    if !errors.is_empty() {
        return Err(errors
            .into_iter()
            .map(|e| format!("rule `{}`: {e}", def.id))
            .collect());
    }
    Ok(Rule {
        id: def.id,
        description: def.description,
        mode: def.mode,
        title: r.title,
        severity,
        severity_floor,
        notify: r.notify,
        actions,
        runbook: r.runbook,
        budget: r.budget,
        origin: origin.to_string(),
        title_template,
        runbook_template,
        warnings,
        sigma_route: None,
        read_only,
        threshold,
        matcher,
        exceptions,
    })
}

/// `{` and `}` written so that a template shows them as they are.
pub(super) fn literal(text: &str) -> String {
    text.replace('{', "{{").replace('}', "}}")
}

impl Rule {
    /// The rule a Sigma rule stands for: `sigma:<id>` on CloudTrail-delivered events that match
    /// it, notifying with its level (Medium without one), its title, and its description and
    /// false positives as the runbook. It takes no action: a response rule attaches actions
    /// with `match.sigma`.
    pub fn from_sigma(s: &crate::decide::sigma::SigmaRule) -> Rule {
        let mut runbook = format!("Sigma rule {} ({}).", s.rule_id(), s.file);
        if let Some(d) = &s.description {
            runbook.push(' ');
            runbook.push_str(d.trim());
        }
        if s.falsepositives.is_empty() {
            runbook.push_str(" Known false positives: none listed.");
        } else {
            runbook.push_str(&format!(
                " Known false positives: {}.",
                s.falsepositives.join("; ")
            ));
        }
        let title_template = crate::decide::template::Template::parse(&literal(&s.title)).ok();
        let runbook_template = crate::decide::template::Template::parse(&literal(&runbook)).ok();
        Rule {
            id: s.rule_id(),
            description: s.title.clone(),
            mode: RuleMode::Enforce,
            title: Some(s.title.clone()),
            severity: s.level.map_or(SeveritySpec::FromEvent, |b| {
                SeveritySpec::Fixed(Severity::from_band(b))
            }),
            severity_floor: None,
            notify: true,
            actions: Vec::new(),
            runbook: Some(runbook),
            budget: true,
            origin: s.file.clone(),
            title_template,
            runbook_template,
            warnings: Vec::new(),
            sigma_route: Some(s.route.clone()),
            read_only: false,
            threshold: None,
            matcher: Matcher {
                detail_type: vec![
                    crate::event::DT_CLOUDTRAIL_CALL.to_string(),
                    crate::event::DT_CONSOLE_SIGN_IN.to_string(),
                ],
                sigma: vec![s.id.clone()],
                ..Matcher::default()
            },
            exceptions: Exceptions::default(),
        }
    }
}
