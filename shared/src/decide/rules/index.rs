//! The rules an event can match, found without holding every rule against it.
//!
//! Each rule is filed under one list of values its matcher requires exactly (compared as
//! [`super::eval::in_list`] and the Sigma check compare them): the Sigma ids it attaches to,
//! else its eventSources, else its detail-types, else its sources. An event is held only
//! against the rules filed under its own values and the rules that require none of these.
//! The index only leaves out rules whose first checks would fail; every rule it returns is
//! still matched in full.

use std::collections::HashMap;

use super::Rule;
use crate::event::Event;

#[derive(Debug, Clone, Default)]
pub(super) struct RuleIndex {
    by_sigma: HashMap<String, Vec<usize>>,
    by_event_source: HashMap<String, Vec<usize>>,
    by_detail_type: HashMap<String, Vec<usize>>,
    by_source: HashMap<String, Vec<usize>>,
    /// Rules that require none of the values above: held against every event.
    every: Vec<usize>,
}

impl RuleIndex {
    pub(super) fn of(rules: &[Rule]) -> RuleIndex {
        let mut index = RuleIndex::default();
        for (i, rule) in rules.iter().enumerate() {
            let m = &rule.matcher;
            let (map, values) = if !m.sigma.is_empty() {
                (&mut index.by_sigma, &m.sigma)
            } else if !m.event_source.is_empty() {
                (&mut index.by_event_source, &m.event_source)
            } else if !m.detail_type.is_empty() {
                (&mut index.by_detail_type, &m.detail_type)
            } else if !m.source.is_empty() {
                (&mut index.by_source, &m.source)
            } else {
                index.every.push(i);
                continue;
            };
            for value in values {
                let filed = map.entry(value.clone()).or_default();
                if filed.last() != Some(&i) {
                    filed.push(i);
                }
            }
        }
        index
    }

    /// The positions of the rules `event` can match, in the set's order, given the ids of the
    /// Sigma rules it matched.
    pub(super) fn candidates(&self, event: &Event, sigma: &[String]) -> Vec<usize> {
        let mut out = self.every.clone();
        let mut add = |map: &HashMap<String, Vec<usize>>, key: &str| {
            if let Some(filed) = map.get(key) {
                out.extend_from_slice(filed);
            }
        };
        add(&self.by_detail_type, &event.detail_type);
        add(&self.by_source, &event.source);
        if let Some(call) = event.cloudtrail() {
            add(&self.by_event_source, &call.event_source);
        }
        for id in sigma {
            add(&self.by_sigma, id);
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}
