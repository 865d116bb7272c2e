//! `utils.snapshot.resource`: one timestamped record of the system (the Layer 1 and Layer 2
//! views the API already serves) as canonical JSON — object keys sorted at every depth and
//! lists in the order their producers fix — so two snapshots can be diffed line by line.
//! The API layer supplies the gathering; this module fixes the record's shape.

use crate::error_code::Failure;
use crate::jobs::{Step, StepCtx, StepOutcome};
use futures::FutureExt as _;
use futures::future::BoxFuture;
use serde_json::{Map, Value};
use std::sync::Arc;

/// The record's sections, each always present (a section that could not be read holds
/// `{"error": …}`).
pub const SECTIONS: [&str; 7] = ["chains", "ibc", "ibcHealth", "jobs", "ports", "relayer", "system"];

/// The snapshot format; bump when a section changes shape.
pub const FORMAT: u32 = 2;

/// Gathers the sections, each under its name.
pub type Gather = Arc<dyn Fn() -> BoxFuture<'static, Map<String, Value>> + Send + Sync>;

/// The same value with every object's keys sorted (serde_json may preserve insertion order).
pub fn canonical(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, canonical(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(canonical).collect()),
        other => other,
    }
}

/// Wraps gathered sections into the record: format, takenAt, every section.
pub fn record(mut sections: Map<String, Value>, taken_at: jiff::Timestamp) -> Value {
    let mut out = Map::new();
    for name in SECTIONS {
        let section = sections.remove(name).unwrap_or_else(|| serde_json::json!({"error": "not gathered"}));
        out.insert(name.to_string(), section);
    }
    out.insert("format".into(), FORMAT.into());
    out.insert("takenAt".into(), taken_at.to_string().into());
    canonical(Value::Object(out))
}

pub struct SnapshotStep {
    pub gather: Gather,
}

impl Step for SnapshotStep {
    fn name(&self) -> &str {
        "snapshot"
    }

    fn run<'a>(&'a self, ctx: &'a StepCtx) -> BoxFuture<'a, Result<StepOutcome, Failure>> {
        async move {
            let taken_at = jiff::Timestamp::now();
            let sections = (self.gather)().await;
            let failed: Vec<&str> = SECTIONS
                .into_iter()
                .filter(|s| sections.get(*s).is_some_and(|v| v.get("error").is_some()))
                .collect();
            for s in &failed {
                ctx.warn(&format!("section {s} could not be read"));
            }
            ctx.set_result(record(sections, taken_at));
            Ok(StepOutcome::Done(format!("{} sections, {} unreadable", SECTIONS.len(), failed.len())))
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_record_has_every_section_and_sorted_keys() {
        let mut sections = Map::new();
        sections.insert("system".into(), json!({"b": 1, "a": {"z": 0, "y": [ {"d": 1, "c": 2} ]}}));
        let r = record(sections, "2026-01-01T00:00:00Z".parse().unwrap());
        for s in SECTIONS {
            assert!(r.get(s).is_some(), "{s} missing");
        }
        assert_eq!(r["relayer"], json!({"error": "not gathered"}));
        let text = serde_json::to_string(&r).unwrap();
        assert!(text.find("\"a\"").unwrap() < text.find("\"b\"").unwrap(), "{text}");
        assert!(text.find("\"c\"").unwrap() < text.find("\"d\"").unwrap(), "{text}");
        let keys: Vec<&String> = r.as_object().unwrap().keys().collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }
}
