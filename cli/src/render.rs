//! `mamoru render`: the notification an event would produce, as each kind of subscriber
//! receives it. Events are decided like `replay` does without `--execute`: dry-run, with the
//! built-in rules (plus `--rules` and `MAMORU_RULES_PATH`, `--sigma` and `MAMORU_SIGMA_PATH`),
//! and no AWS access.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use mamoru::notify::{Message, render};
use mamoru::{Disposition, HandleError, Mode, Report, Responder};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The subject, the message attributes and the text email subscribers read.
    Text,
    /// The `mamoru.notification/1` document: what SQS, Lambda, HTTP and Firehose subscribers
    /// receive.
    Json,
    /// The AWS Chatbot custom notification HTTPS subscribers (Slack, Teams) receive.
    Chatbot,
    /// The message as published with MessageStructure=json: one version per protocol.
    Sns,
    /// Text, JSON document and Chatbot payload, one after the other.
    All,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// What to print.
    #[arg(long, value_enum, default_value = "all")]
    format: Format,
    /// Extra rule files or directories, added to the built-in playbook.
    #[arg(long = "rules", value_name = "PATH")]
    rules: Vec<PathBuf>,
    /// Sigma rule files or directories (`*.yml`, `*.yaml`), added to MAMORU_SIGMA_PATH's.
    #[arg(long = "sigma", value_name = "PATH")]
    sigma: Vec<PathBuf>,
    /// EventBridge event files (JSON).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

fn print(format: Format, file: &str, message: &Message) {
    match format {
        Format::Text => print!("{}", message.text_preview()),
        Format::Json => println!("{}", pretty(&message.document)),
        Format::Chatbot => println!("{}", pretty(&message.chatbot)),
        Format::Sns => println!("{}", message.sns_message()),
        Format::All => {
            println!("==> {file}");
            print!("{}", message.text_preview());
            println!("\n--- JSON document (default: sqs, lambda, http, firehose) ---");
            println!("{}", pretty(&message.document));
            println!("\n--- AWS Chatbot custom notification (https) ---");
            println!("{}", pretty(&message.chatbot));
            println!();
        }
    }
}

pub async fn run(args: RenderArgs) -> anyhow::Result<ExitCode> {
    let mut settings = crate::lenient_settings()?;
    let rules = crate::load_rules(&args.rules, &args.sigma, &settings)?;
    settings.mode = Mode::DryRun;
    let responder = Responder::new(None, settings, rules, None, None);

    let mut ok = true;
    for file in &args.files {
        let name = file.display().to_string();
        let text = match std::fs::read(file) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => {
                ok = false;
                eprintln!("{name}: cannot read: {e}");
                continue;
            }
        };
        let report: Report = match responder.handle_json(&text).await {
            Ok(report) => report,
            Err(HandleError::Parse(e)) => {
                ok = false;
                eprintln!("{name}: not a valid event: {e}");
                continue;
            }
            Err(e) => match e.report() {
                Some(report) => report.clone(),
                None => {
                    ok = false;
                    eprintln!("{name}: {e}");
                    continue;
                }
            },
        };
        if report.plan.disposition == Disposition::Ignore || !report.plan.notify {
            eprintln!(
                "{name}: mamoru sends no notification for this event ({}); shown anyway",
                mamoru::redact::text(&report.plan.reason)
            );
        }
        print(args.format, &name, &render(&report));
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
