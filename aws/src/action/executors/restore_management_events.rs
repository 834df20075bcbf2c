//! The executor of `restore_management_events`. Its definition (name, grants, binding, words) is in the core:
//! `shared/src/action/kinds/restore_management_events.rs`.

use mamoru_core::action::kinds::restore_management_events as this;

use aws_sdk_cloudtrail::types::{
    AdvancedEventSelector, AdvancedFieldSelector, EventSelector, ReadWriteType,
};
use serde_json::{Value, json};

use crate::action::exec::{Clients, Execute, failure};
use crate::action::{Action, Outcome, Status, Target, trail_name};

fn basic_selectors_json(selectors: &[EventSelector]) -> Value {
    Value::Array(
        selectors
            .iter()
            .map(|s| {
                json!({
                    "ReadWriteType": s.read_write_type().map(|r| r.as_str()),
                    "IncludeManagementEvents": s.include_management_events(),
                    "DataResources": s.data_resources().iter().map(|d| json!({
                        "Type": d.r#type(), "Values": d.values()
                    })).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

fn advanced_selectors_json(selectors: &[AdvancedEventSelector]) -> Value {
    Value::Array(
        selectors
            .iter()
            .map(|s| {
                json!({
                    "Name": s.name(),
                    "FieldSelectors": s.field_selectors().iter().map(|f| json!({
                        "Field": f.field(), "Equals": f.equals()
                    })).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}

fn logs_management(s: &AdvancedEventSelector) -> bool {
    s.field_selectors()
        .iter()
        .any(|f| f.field() == "eventCategory" && f.equals().iter().any(|e| e == "Management"))
}

impl Execute for this::Def {
    async fn execute(&self, clients: &Clients, action: &Action) -> Outcome {
        let Target::EventSelectors { trail } = &action.target else {
            return Outcome::wrong_target(action);
        };
        let trail = trail.as_str();
        let client = clients.cloudtrail.get(&action.region);
        let api = "cloudtrail:PutEventSelectors";
        let current = match client.get_event_selectors().trail_name(trail).send().await {
            Ok(c) => c,
            Err(e) => {
                return Outcome::failed(action, failure("cloudtrail:GetEventSelectors", e));
            }
        };
        let name = trail_name(trail);
        let advanced = current.advanced_event_selectors();
        if !advanced.is_empty() {
            let before = advanced_selectors_json(advanced);
            if advanced.iter().any(logs_management) {
                return Outcome::new(
                    action,
                    Status::AlreadyDone,
                    format!("trail {name} already logs management events"),
                )
                .with_state(Some(before), None);
            }
            let management = match AdvancedFieldSelector::builder()
                .field("eventCategory")
                .equals("Management")
                .build()
            {
                Ok(f) => AdvancedEventSelector::builder()
                    .name("Management events (restored by mamoru)")
                    .field_selectors(f)
                    .build(),
                Err(e) => {
                    return Outcome::new(action, Status::Failed, format!("{api}: {e}"));
                }
            };
            let Ok(management) = management else {
                return Outcome::new(action, Status::Failed, format!("{api}: bad selector"));
            };
            let mut selectors = advanced.to_vec();
            selectors.push(management);
            let after = advanced_selectors_json(&selectors);
            return match client
                .put_event_selectors()
                .trail_name(trail)
                .set_advanced_event_selectors(Some(selectors))
                .send()
                .await
            {
                Ok(_) => Outcome::new(
                    action,
                    Status::Done,
                    format!(
                        "trail {name} logs management events again; its data selectors are kept"
                    ),
                )
                .with_state(Some(before), Some(after)),
                Err(e) => {
                    Outcome::failed(action, failure(api, e)).with_state(Some(before), None)
                }
            };
        }
        let basic = current.event_selectors();
        let before = basic_selectors_json(basic);
        let full = |s: &EventSelector| {
            s.include_management_events() == Some(true)
                && s.read_write_type() == Some(&ReadWriteType::All)
        };
        if basic.iter().any(full) {
            return Outcome::new(
                action,
                Status::AlreadyDone,
                format!("trail {name} already logs all management events"),
            )
            .with_state(Some(before), None);
        }
        // Keep every data selector exactly as it is, and add one that logs all management
        // events; a trail holds 5 selectors at most, so a full list gets its first one widened.
        let mut selectors = basic.to_vec();
        let management = EventSelector::builder()
            .read_write_type(ReadWriteType::All)
            .include_management_events(true)
            .build();
        if selectors.len() < 5 {
            selectors.push(management);
        } else if let Some(first) = selectors.first_mut() {
            *first = EventSelector::builder()
                .set_data_resources(Some(first.data_resources().to_vec()))
                .set_exclude_management_event_sources(Some(
                    first.exclude_management_event_sources().to_vec(),
                ))
                .include_management_events(true)
                .read_write_type(ReadWriteType::All)
                .build();
        }
        let after = basic_selectors_json(&selectors);
        match client
            .put_event_selectors()
            .trail_name(trail)
            .set_event_selectors(Some(selectors))
            .send()
            .await
        {
            Ok(_) => Outcome::new(
                action,
                Status::Done,
                format!(
                    "trail {name} logs management events again; its data selectors are kept"
                ),
            )
            .with_state(Some(before), Some(after)),
            Err(e) => Outcome::failed(action, failure(api, e)).with_state(Some(before), None),
        }
    }
}
