//! The layers of `src/` point one way. Reads every product source file, collects which
//! top-level modules each top-level module names (`crate::<module>`), and checks that no
//! module reaches a layer above its own and that no two modules reach each other, directly
//! or around a circle. docs/design.md draws the same layers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top to bottom; a module may name modules of its own layer (without a circle) or below.
const LAYERS: [(&str, &[&str]); 5] = [
    ("entry points", &["cli", "ctl", "bench"]),
    ("HTTP", &["api"]),
    ("composition", &["app", "config"]),
    ("domain", &["reconcile", "utils", "system"]),
    (
        "infrastructure",
        &["cache", "chain", "k8s", "jobs", "metrics", "telemetry", "error_code", "sync", "chart"],
    ),
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
    assert!(
        unplaced.is_empty(),
        "modules without a layer (add them to LAYERS and docs/design.md): {unplaced:?}"
    );
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

/// Product files (the `testbed`-only `bench` module is a harness, not the product).
fn product_files() -> Vec<std::path::PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    files
}

/// The module path of a source file: `src/reconcile/connect.rs` and `src/reconcile/connect/mod.rs`
/// are `reconcile::connect`; `src/lib.rs` is the crate root.
fn module_of(file: &Path) -> Vec<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut parts: Vec<String> = file
        .strip_prefix(&src)
        .unwrap()
        .components()
        .map(|c| c.as_os_str().to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        parts.pop();
    }
    parts
}

/// The source without comments and without an inline `#[cfg(test)] mod tests { … }` (whose
/// `super::` means the file itself, not its parent).
fn code_of(source: &str) -> String {
    let cut = source.find("#[cfg(test)]\nmod tests {").unwrap_or(source.len());
    source[..cut]
        .lines()
        .map(|line| match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Expands the path tree that starts at `text` (after a `crate::`, `super::` or `self::`):
/// `a::b::{c, d::{e, f}}` gives `a::b::c`, `a::b::d::e` and `a::b::d::f`.
fn use_paths(text: &str) -> Vec<Vec<String>> {
    fn tree(chars: &[char], i: &mut usize) -> Vec<Vec<String>> {
        let mut prefix = Vec::new();
        loop {
            while *i < chars.len() && chars[*i].is_whitespace() {
                *i += 1;
            }
            if *i < chars.len() && chars[*i] == '{' {
                *i += 1;
                let mut out = Vec::new();
                loop {
                    for mut path in tree(chars, i) {
                        let mut full = prefix.clone();
                        full.append(&mut path);
                        out.push(full);
                    }
                    while *i < chars.len() && chars[*i].is_whitespace() {
                        *i += 1;
                    }
                    match chars.get(*i) {
                        Some(',') => *i += 1,
                        Some('}') => {
                            *i += 1;
                            return out;
                        }
                        _ => return out,
                    }
                }
            }
            let start = *i;
            while *i < chars.len() && (chars[*i].is_ascii_alphanumeric() || chars[*i] == '_') {
                *i += 1;
            }
            let ident: String = chars[start..*i].iter().collect();
            if ident.is_empty() {
                return vec![prefix];
            }
            prefix.push(ident);
            if chars.get(*i) == Some(&':') && chars.get(*i + 1) == Some(&':') {
                *i += 2;
            } else {
                return vec![prefix];
            }
        }
    }
    let chars: Vec<char> = text.chars().take(2000).collect();
    tree(&chars, &mut 0)
}

/// Which product files each product file names through `crate::`, `super::` or `self::`
/// paths (a path names the deepest file whose module is a prefix of it).
fn file_graph() -> BTreeMap<String, BTreeSet<String>> {
    let files = product_files();
    let modules: BTreeMap<Vec<String>, String> = files
        .iter()
        .map(|f| (module_of(f), f.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap().display().to_string()))
        .collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let own = module_of(file);
        let name = modules[&own].clone();
        let code = code_of(&std::fs::read_to_string(file).unwrap());
        let edges = graph.entry(name.clone()).or_default();
        for (anchor, base) in [
            ("crate::", Vec::new()),
            ("super::", own[..own.len().saturating_sub(1)].to_vec()),
            ("self::", own.clone()),
        ] {
            for (i, _) in code.match_indices(anchor) {
                let before = code[..i].chars().next_back();
                if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
                    continue; // `super::super::`, `foo_crate::`: part of a longer path
                }
                let mut rest = &code[i + anchor.len()..];
                let mut base = base.clone();
                while let Some(r) = rest.strip_prefix("super::") {
                    base.pop();
                    rest = r;
                }
                for path in use_paths(rest) {
                    let full: Vec<String> = base.iter().cloned().chain(path).collect();
                    let target = (0..=full.len()).rev().find_map(|n| modules.get(&full[..n]));
                    if let Some(target) = target.filter(|t| **t != name) {
                        edges.insert(target.clone());
                    }
                }
            }
        }
    }
    graph
}

#[test]
fn no_import_circle_joins_two_files() {
    let graph = file_graph();
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
    let mut circles: Vec<Vec<String>> = Vec::new();
    for file in graph.keys() {
        let from_here = reaches(file);
        if !from_here.contains(file) || circles.iter().any(|c| c.contains(file)) {
            continue;
        }
        // Its circle: every file it reaches that reaches it back.
        let circle: Vec<String> =
            from_here.into_iter().filter(|other| reaches(other).contains(file)).collect();
        circles.push(circle);
    }
    assert!(circles.is_empty(), "files in an import circle: {circles:#?}");
}

#[test]
fn the_file_graph_reader_expands_nested_groups_and_relative_paths() {
    let paths = use_paths("a::{b, c::{d, e}, f}; more");
    let expected: Vec<Vec<String>> =
        [vec!["a", "b"], vec!["a", "c", "d"], vec!["a", "c", "e"], vec!["a", "f"]]
            .into_iter()
            .map(|p| p.into_iter().map(String::from).collect())
            .collect();
    assert_eq!(paths, expected);
    assert_eq!(use_paths("jobs::JobStore::new()"), vec![vec!["jobs", "JobStore", "new"]]);
}

#[test]
fn no_source_file_cites_documents_outside_the_repository() {
    let mut citing = Vec::new();
    for file in product_files() {
        let source = std::fs::read_to_string(&file).unwrap();
        for (n, line) in source.lines().enumerate() {
            if line.contains(concat!("SPEC ", "§")) || line.contains(concat!("shared", "/")) {
                citing.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(citing.is_empty(), "comments citing files outside the repository: {citing:#?}");
}

/// Files longer than this mix concerns; split them by concern instead of raising it.
const MAX_FILE_LINES: usize = 500;

#[test]
fn no_source_file_is_over_500_lines() {
    let long: Vec<String> = product_files()
        .into_iter()
        .filter_map(|file| {
            let lines = std::fs::read_to_string(&file).unwrap().lines().count();
            (lines > MAX_FILE_LINES).then(|| format!("{} ({lines} lines)", file.display()))
        })
        .collect();
    assert!(long.is_empty(), "files over {MAX_FILE_LINES} lines: {long:#?}");
}

#[test]
fn the_error_code_vocabulary_knows_no_http() {
    let source =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/error_code.rs")).unwrap();
    let code = code_of(&source);
    for http in ["axum", "http::", "StatusCode", "hyper", "reqwest"] {
        assert!(!code.contains(http), "src/error_code.rs names {http}: the status mapping belongs in api/");
    }
}

/// What `api/` may name from `reconcile`: the admission function and the types of its request
/// and answer.
const RECONCILE_API: [&str; 1] = ["reconcile::admission"];

#[test]
fn the_api_reaches_reconcile_only_through_its_admission_api() {
    let mut reaching = Vec::new();
    for (file, targets) in file_graph() {
        if !file.starts_with("src/api/") {
            continue;
        }
        for target in targets.iter().filter(|t| t.starts_with("src/reconcile/")) {
            let module = target.trim_start_matches("src/").trim_end_matches(".rs").replace('/', "::");
            if !RECONCILE_API.contains(&module.as_str()) {
                reaching.push(format!("{file} -> {target}"));
            }
        }
    }
    assert!(reaching.is_empty(), "api/ reaching into reconcile internals: {reaching:#?}");
}

#[test]
fn the_chain_layer_knows_endpoints_not_pods() {
    let mut reaching: Vec<String> = file_graph()
        .into_iter()
        .filter(|(file, _)| file.starts_with("src/chain/"))
        .flat_map(|(file, targets)| {
            targets.into_iter().filter(|t| t.starts_with("src/cache/")).map(move |t| format!("{file} -> {t}"))
        })
        .collect();
    for file in product_files().into_iter().filter(|f| f.to_string_lossy().contains("/src/chain/")) {
        if code_of(&std::fs::read_to_string(&file).unwrap()).contains("k8s_openapi") {
            reaching.push(format!("{} names k8s_openapi", file.display()));
        }
    }
    assert!(reaching.is_empty(), "the chain layer reaching Kubernetes objects: {reaching:#?}");
}
