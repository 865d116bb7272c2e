//! The layers of `src/` point one way. Reads every product source file, collects which
//! top-level modules each top-level module names (`crate::<module>`), and checks that no
//! module reaches a layer above its own and that no two modules reach each other, directly
//! or around a circle. README's "Architecture" section draws the same layers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top to bottom; a module may name modules of its own layer (without a circle) or below.
const LAYERS: [(&str, &[&str]); 5] = [
    ("entry points", &["cli", "ctl", "bench"]),
    ("HTTP", &["api"]),
    ("composition", &["app", "config"]),
    ("domain", &["reconcile", "experiments", "system"]),
    ("infrastructure", &["cache", "chain", "k8s", "jobs", "metrics", "telemetry", "error_code"]),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, modules)| modules.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable src dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `crate::name` and every name inside `crate::{a, b::c}`.
fn named_modules(source: &str) -> BTreeSet<String> {
    let ident =
        |s: &str| s.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect::<String>();
    let mut out = BTreeSet::new();
    for (i, _) in source.match_indices("crate::") {
        let rest = &source[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            out.extend(group.split(',').map(|part| ident(part.trim())).filter(|m| !m.is_empty()));
        } else {
            out.insert(ident(rest));
        }
    }
    out
}

fn import_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let relative = file.strip_prefix(&src).unwrap();
        let top = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if top == "lib" || top == "main" {
            continue;
        }
        let source = std::fs::read_to_string(&file).unwrap();
        let edges = graph.entry(top.clone()).or_default();
        edges.extend(named_modules(&source).into_iter().filter(|m| *m != top));
    }
    graph
}

#[test]
fn every_top_level_module_has_a_layer() {
    let unplaced: Vec<String> = import_graph().into_keys().filter(|m| layer_of(m).is_none()).collect();
    assert!(unplaced.is_empty(), "modules without a layer (add them to LAYERS and README): {unplaced:?}");
}

#[test]
fn no_module_reaches_a_layer_above_its_own() {
    let mut upward = Vec::new();
    for (module, targets) in import_graph() {
        let Some(own) = layer_of(&module) else { continue };
        for target in targets.iter().filter(|t| layer_of(t).is_some_and(|l| l < own)) {
            upward.push(format!(
                "{module} ({}) -> {target} ({})",
                LAYERS[own].0,
                LAYERS[layer_of(target).unwrap()].0
            ));
        }
    }
    assert!(upward.is_empty(), "imports against the layers: {upward:#?}");
}

#[test]
fn no_import_circle_spans_two_top_level_modules() {
    let graph = import_graph();
    // A module is in a circle iff it can reach itself; report each circle's members once.
    let reaches = |from: &str| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_string()];
        while let Some(m) = stack.pop() {
            for next in graph.get(&m).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    stack.push(next.clone());
                }
            }
        }
        seen
    };
    let circular: Vec<&String> = graph.keys().filter(|m| reaches(m).contains(*m)).collect();
    assert!(circular.is_empty(), "modules in an import circle: {circular:?}");
}

#[test]
fn the_graph_reader_sees_grouped_and_plain_imports() {
    let found = named_modules("use crate::{api, chain::rpc};\nlet x = crate::jobs::JobStore::new();");
    assert_eq!(found, ["api", "chain", "jobs"].map(String::from).into_iter().collect());
}
