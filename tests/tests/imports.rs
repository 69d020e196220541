//! Dependencies flow one way (issue 14): no import cycles between sibling modules, at any level
//! of any crate's source tree.
//!
//! For every directory of a crate (the crate root included) the nodes are its direct children
//! (files and sub-directories) and there is an edge A → B when code anywhere under A names
//! anything under B (`crate::b::…`, `super::b::…`, grouped `crate::{…}` paths). A module's own
//! `mod.rs` items (its parent's namespace) and test code (`#[cfg(test)]` tails, `tests.rs`,
//! `*_tests.rs`) are left out: a child using its parent's types is not a cycle between siblings.
//! `state.rs` (the `AppState` every handler receives, which owns the clients and caches) is the
//! composition root of the shared crate, as `lib.rs`/`main.rs` are of the others.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Source roots checked, and the modules each treats as its composition root.
const CRATES: &[(&str, &[&str])] = &[
    ("shared/src", &["state"]),
    ("infra/devstack/src", &[]),
    ("infra/sandboxes/src", &[]),
    ("infra/admin/src", &[]),
    ("infra/bench/src", &[]),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `a/b.rs` → `["a", "b"]`, `a/mod.rs` → `["a"]`; `lib.rs` and `main.rs` → `[]`.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if let Some(last) = parts.pop() {
        let stem = last.trim_end_matches(".rs").to_owned();
        if !matches!(stem.as_str(), "mod" | "lib" | "main") {
            parts.push(stem);
        }
    }
    parts
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without comments and without test code: a `#[cfg(test)] mod name;`
/// declaration is skipped, and an inline `#[cfg(test)]` item (the `mod tests { … }` tail the
/// house style puts last) ends the production code.
fn production_code(text: &str) -> String {
    let mut out = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if line.trim() == "#[cfg(test)]" {
            let declaration = lines.peek().is_some_and(|next| {
                let next = next.trim();
                next.starts_with("mod ") && next.ends_with(';')
            });
            if declaration {
                lines.next();
                continue;
            }
            break;
        }
        out.push(line.split("//").next().unwrap_or_default());
    }
    out.join("\n")
}

/// Every path the code names from `crate::` or `super::`, as absolute module-path segments.
fn named_paths(code: &str, here: &[String]) -> Vec<Vec<String>> {
    // The module `super` refers to (`here` of a `mod.rs` is already its directory's path).
    let base: Vec<String> = here[..here.len().saturating_sub(1)].to_vec();
    let mut out = Vec::new();
    let text = code;
    for (start, anchor) in [("crate::", None), ("super::", Some(base.clone()))] {
        let mut from = 0;
        while let Some(i) = text[from..].find(start) {
            let at = from + i;
            from = at + start.len();
            // `foo_super::` is not `super::`.
            if at > 0 {
                let prev = text[..at].chars().last().unwrap_or(' ');
                if prev.is_alphanumeric() || prev == '_' {
                    continue;
                }
            }
            let mut prefix = anchor.clone().unwrap_or_default();
            let mut rest = &text[from..];
            while let Some(r) = rest.strip_prefix("super::") {
                prefix.pop();
                rest = r;
            }
            for path in expand(rest) {
                let mut full = prefix.clone();
                full.extend(path);
                out.push(full);
            }
        }
    }
    out
}

/// `a::b::C` → `[[a, b, C]]`; `{a::b, c}` → `[[a, b], [c]]` (one level of braces).
fn expand(rest: &str) -> Vec<Vec<String>> {
    let segs = |s: &str| -> Vec<String> {
        s.split("::")
            .map(|p| {
                p.chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect::<String>()
            })
            .take_while(|p| !p.is_empty())
            .collect()
    };
    if let Some(inner) = rest.strip_prefix('{') {
        let inner = inner.split('}').next().unwrap_or_default();
        inner
            .split(',')
            .map(|p| segs(p.trim()))
            .filter(|p| !p.is_empty())
            .collect()
    } else {
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or(rest.len());
        vec![segs(&rest[..end])]
    }
}

/// Sibling cycles of one crate, each as `dir: a -> b -> … -> a`.
fn cycles(src: &Path, roots: &[&str]) -> Vec<String> {
    let mut all = Vec::new();
    files(src, &mut all);
    let modules: BTreeSet<Vec<String>> = all
        .iter()
        .map(|f| module_path(f.strip_prefix(src).unwrap_or(f)))
        .collect();
    // Module-to-module edges (the longest known module each named path falls in).
    let mut edges: BTreeSet<(Vec<String>, Vec<String>)> = BTreeSet::new();
    for file in &all {
        let rel = file.strip_prefix(src).unwrap_or(file);
        let name = rel.file_name().unwrap_or_default().to_string_lossy();
        if name == "tests.rs" || name.ends_with("_tests.rs") {
            continue;
        }
        let here = module_path(rel);
        let code = production_code(&std::fs::read_to_string(file).unwrap_or_default());
        for path in named_paths(&code, &here) {
            let target = (0..=path.len())
                .rev()
                .map(|n| path[..n].to_vec())
                .find(|p| modules.contains(p))
                .unwrap_or_default();
            edges.insert((here.clone(), target));
        }
    }
    let mut problems = Vec::new();
    for dir in &modules {
        // Children of `dir` and the edges between them.
        let child = |m: &Vec<String>| -> Option<String> {
            (m.len() > dir.len() && m[..dir.len()] == dir[..]).then(|| m[dir.len()].clone())
        };
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, to) in &edges {
            let (Some(a), Some(b)) = (child(from), child(to)) else {
                continue;
            };
            if a == b
                || (dir.is_empty() && (roots.contains(&a.as_str()) || roots.contains(&b.as_str())))
            {
                continue;
            }
            graph.entry(a).or_default().insert(b);
        }
        for cycle in strongly_connected(&graph) {
            problems.push(format!(
                "{}{}: {}",
                src.strip_prefix(root()).unwrap_or(src).display(),
                if dir.is_empty() {
                    String::new()
                } else {
                    format!("/{}", dir.join("/"))
                },
                cycle.join(" <-> ")
            ));
        }
    }
    problems
}

/// Tarjan's strongly connected components with more than one node.
fn strongly_connected(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Walk<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        out: Vec<Vec<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, v: &'a str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            for w in self.graph.get(v).into_iter().flatten() {
                if !self.index.contains_key(w.as_str()) {
                    self.visit(w);
                    let lw = self.low[w.as_str()];
                    let lv = self.low[v];
                    self.low.insert(v, lv.min(lw));
                } else if self.stack.contains(&w.as_str()) {
                    let iw = self.index[w.as_str()];
                    let lv = self.low[v];
                    self.low.insert(v, lv.min(iw));
                }
            }
            if self.low[v] == self.index[v] {
                let mut comp = Vec::new();
                while let Some(w) = self.stack.pop() {
                    comp.push(w.to_owned());
                    if w == v {
                        break;
                    }
                }
                if comp.len() > 1 {
                    comp.sort();
                    self.out.push(comp);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !walk.index.contains_key(v.as_str()) {
            walk.visit(v);
        }
    }
    walk.out
}

#[test]
fn no_module_imports_a_sibling_that_imports_it_back() {
    let mut problems = Vec::new();
    for (src, roots) in CRATES {
        problems.extend(cycles(&root().join(src), roots));
    }
    assert!(
        problems.is_empty(),
        "import cycles (make dependencies flow one way; docs/architecture.md):\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn the_check_sees_a_cycle_through_grouped_and_super_paths() {
    let dir = std::env::temp_dir().join(format!("mostrador-imports-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("orders")).unwrap();
    std::fs::write(dir.join("lib.rs"), "pub mod orders;\npub mod ship;\n").unwrap();
    std::fs::write(
        dir.join("orders/mod.rs"),
        "pub mod store;\npub mod routes;\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("orders/store.rs"),
        "#[cfg(test)]\nmod fake;\nuse super::routes::render;\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("orders/routes.rs"),
        "use crate::{ship, orders::store::get};\n// crate::nothing in a comment\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("ship.rs"),
        "fn f() { crate::orders::routes::x(); }\n#[cfg(test)]\nmod t { use crate::orders; }\n",
    )
    .unwrap();
    let found = cycles(&dir, &[]);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found[0].ends_with(": orders <-> ship"), "{found:?}");
    assert!(found[1].ends_with("/orders: routes <-> store"), "{found:?}");
}
