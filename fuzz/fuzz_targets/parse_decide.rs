//! Any bytes through parse, decide and render: never a panic; a plan's subject always fits.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use mamoru::decide::{RuleSet, decide};
use mamoru::notify::render;
use mamoru::{Event, Mode, Report, Settings};

// A rule set that fails to compile fails the run: an empty one would fuzz nothing.
static RULES: LazyLock<RuleSet> =
    LazyLock::new(|| RuleSet::builtin().expect("the built-in rules compile"));

fuzz_target!(|data: &[u8]| {
    let Ok(event) = Event::from_slice(data) else {
        return;
    };
    let plan = decide(&event, None, &RULES, &Settings::default());
    // Every planned action names the event's account.
    assert!(
        plan.actions
            .iter()
            .all(|a| a.action.account == event.account)
    );
    let message = render(&Report::new(plan, Vec::new(), Mode::DryRun));
    assert!(message.subject.len() <= 100);
    assert!(message.subject.is_ascii());
    assert!(!message.subject.contains(['\n', '\r']));
});
