//! The library's modules import each other without a circle: a module's `crate::` paths (and
//! the items `lib.rs` re-exports, followed to the module that defines them) form a graph with
//! no cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module name → source, for `src/*.rs` (the binary's directory aside).
fn modules() -> BTreeMap<String, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    std::fs::read_dir(&dir)
        .expect("src")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .map(|p| {
            let name = p
                .file_stem()
                .and_then(|s| s.to_str())
                .expect("a file name")
                .to_owned();
            let text = std::fs::read_to_string(&p).expect("source");
            (name, without_comments(&text))
        })
        .collect()
}

/// The source without `//` comments (doc comments link to modules without importing them).
fn without_comments(text: &str) -> String {
    text.lines()
        .map(|l| l.split_once("//").map_or(l, |(code, _)| code))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The identifiers right after each `crate::`, in `crate::{a, b::c}` groups too.
fn crate_paths(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (i, _) in text.match_indices("crate::") {
        let rest = &text[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = group.split('}').next().unwrap_or("");
            for part in inner.split(',') {
                let head = part.trim().split("::").next().unwrap_or("").trim();
                if !head.is_empty() {
                    found.insert(head.to_owned());
                }
            }
        } else {
            let head: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            found.insert(head);
        }
    }
    found
}

/// Item → module, for `pub use module::{Item, ...}` in `lib.rs`.
fn reexports(lib: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for statement in lib.split(';') {
        let Some(rest) = statement.trim().strip_prefix("pub use ") else {
            continue;
        };
        let Some((module, items)) = rest.split_once("::") else {
            continue;
        };
        let items = items.trim().trim_start_matches('{').trim_end_matches('}');
        for item in items.split(',') {
            let item = item.trim();
            if !item.is_empty() {
                map.insert(item.to_owned(), module.trim().to_owned());
            }
        }
    }
    map
}

#[test]
fn the_modules_import_each_other_without_a_circle() {
    let modules = modules();
    let lib = modules.get("lib").expect("lib.rs").clone();
    let items = reexports(&lib);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, text) in modules.iter().filter(|(n, _)| *n != "lib") {
        let targets = crate_paths(text)
            .into_iter()
            .filter_map(|head| {
                if modules.contains_key(&head) {
                    Some(head)
                } else {
                    items.get(&head).cloned()
                }
            })
            .filter(|m| m != name && m != "lib")
            .collect();
        edges.insert(name.clone(), targets);
    }
    assert!(
        edges
            .get("simulator")
            .is_some_and(|e| e.contains("control")),
        "the graph is read: the simulator uses the control API"
    );
    // Depth-first search for a back edge.
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| n == node) {
            let mut cycle = path[start..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, edges, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        if let Some(cycle) = visit(node, &edges, &mut Vec::new(), &mut done) {
            panic!("an import circle: {}", cycle.join(" -> "));
        }
    }
}
