//! Checks the shape of the core that ARCHITECTURE.md promises: modules in layers, each depending only
//! on its own layer or those below; no import circles between modules; and no module reached through
//! a folder's `mod.rs` re-exports, a grouped `use crate::{...}` or `super::` (so the dependency graph
//! is what the code says). A module depends on another when it names it (`crate::a::b`) or calls a
//! method that the other defines on `Write` or `Store` (operations and read methods live beside their
//! entities, so most dependencies in the core are such calls).

use std::collections::{BTreeMap, BTreeSet};

/// The layer of each top-level module, lowest first.
fn layer(module: &str) -> usize {
    match module.split("::").next().unwrap_or("") {
        "error" | "time" | "validate" | "permission" | "session" => 1,
        "store" => 2,
        "organisation" => 3,
        "reception" => 4,
        "clinical" => 5,
        "replica" | "accounts" => 6,
        "views" | "onboarding" | "handover" | "import" | "export" | "ledger" | "closing" | "drill" => 7,
        // Example inputs for tests and the generator may use anything.
        "example" => 8,
        other => panic!("module {other:?} has no layer: add it to architecture.rs and ARCHITECTURE.md"),
    }
}

struct Module {
    /// Declares submodules and nothing else (a folder's `mod.rs` or `lib.rs`).
    declarations_only: bool,
    /// `crate::a::b::...` paths the module's non-test code names.
    paths: Vec<Vec<String>>,
    /// Methods it defines on `Write` or `Store`.
    methods: Vec<String>,
    /// Method calls (`.name(`) in its non-test code.
    calls: Vec<String>,
    /// Every function it defines, anywhere (to tell a `Write` method from a same-named trait method).
    functions: Vec<String>,
    /// Ways of naming other modules that hide which module is meant.
    hidden: Vec<String>,
}

fn modules() -> BTreeMap<String, Module> {
    let root = manifest_dir().join("src");
    let mut found = BTreeMap::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let relative = path.strip_prefix(&root).unwrap().with_extension("");
            let mut parts: Vec<String> =
                relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
                parts.pop();
            }
            let name = parts.join("::");
            if name == "architecture" {
                continue;
            }
            found.insert(name, parse(&std::fs::read_to_string(&path).unwrap()));
        }
    }
    found
}

fn parse(text: &str) -> Module {
    let text = text.replace("\r\n", "\n");
    // Unit tests sit at the end of a file, after `#[cfg(test)] mod tests`.
    let code = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    let lines: Vec<&str> = code.lines().map(|l| l.split("//").next().unwrap_or("")).collect();
    let declarations_only = lines.iter().map(|l| l.trim()).filter(|l| !l.is_empty()).all(|l| {
        l.starts_with("pub mod ")
            || l.starts_with("mod ")
            || l.starts_with("pub(crate) mod ")
            || l.starts_with("pub use ")
            || l.starts_with("#[cfg(test)]")
    });
    let mut paths = Vec::new();
    for line in &lines {
        let mut rest = *line;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == ':'))
                .unwrap_or(rest.len());
            let path: Vec<String> = rest[..end].split("::").filter(|s| !s.is_empty()).map(str::to_string).collect();
            if !path.is_empty() {
                paths.push(path);
            }
        }
    }
    // Methods defined in `impl Write<...> {` and `impl Store {` blocks (which end at a `}` in column 0).
    let mut methods = Vec::new();
    let mut inside = false;
    for line in &lines {
        if line.starts_with("impl Write") || line.starts_with("impl<'t> Write") || line.starts_with("impl Store") {
            inside = true;
        } else if inside && line.starts_with('}') {
            inside = false;
        } else if inside {
            let t = line.trim_start();
            if let Some(rest) = t.strip_prefix("pub fn ").or(t.strip_prefix("pub(crate) fn ")).or(t.strip_prefix("fn "))
            {
                let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                methods.push(name);
            }
        }
    }
    let mut functions = Vec::new();
    for line in &lines {
        let t = line.trim_start();
        for prefix in ["pub fn ", "pub(crate) fn ", "fn "] {
            if let Some(rest) = t.strip_prefix(prefix) {
                functions.push(rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect());
            }
        }
    }
    // Calls on a `Write` or `Store` as the core names them: `self.`, `w.`, `store.`.
    let mut calls = Vec::new();
    for line in &lines {
        let pieces: Vec<&str> = line.split('.').collect();
        for pair in pieces.windows(2) {
            let receiver: String = pair[0]
                .chars()
                .rev()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<String>()
                .chars()
                .rev()
                .collect();
            let name: String = pair[1].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if ["self", "w", "store"].contains(&receiver.as_str())
                && !name.is_empty()
                && pair[1][name.len()..].starts_with('(')
            {
                calls.push(name);
            }
        }
    }
    let mut hidden = Vec::new();
    for line in &lines {
        if line.contains("crate::{") {
            hidden.push(format!("a grouped import: {}", line.trim()));
        }
        if line.contains("super::") {
            hidden.push(format!("super::, not a module path: {}", line.trim()));
        }
    }
    Module { declarations_only, paths, methods, calls, functions, hidden }
}

/// The longest prefix of `path` that is a module.
fn resolve(path: &[String], modules: &BTreeMap<String, Module>) -> Option<String> {
    (1..=path.len()).rev().map(|n| path[..n].join("::")).find(|m| modules.contains_key(m))
}

type Graph = BTreeMap<String, BTreeSet<String>>;

/// The modules, who uses whom, and the references that break the naming rule.
fn edges() -> (BTreeMap<String, Module>, Graph, Vec<String>) {
    let modules = modules();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut problems = Vec::new();
    // A method name counts only when it is defined once in the whole core: `now`, say, is both a
    // `Write` method and the `Clock` trait's, so a call to it says nothing about which is meant.
    let mut everywhere: BTreeMap<&str, usize> = BTreeMap::new();
    for module in modules.values() {
        for f in &module.functions {
            *everywhere.entry(f.as_str()).or_default() += 1;
        }
    }
    let mut defined: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, module) in &modules {
        for m in &module.methods {
            if everywhere.get(m.as_str()) == Some(&1) {
                defined.entry(m.as_str()).or_default().push(name.as_str());
            }
        }
    }
    for (name, module) in &modules {
        if name.is_empty() {
            continue;
        }
        problems.extend(module.hidden.iter().map(|h| format!("{name} uses {h}")));
        for call in &module.calls {
            for target in defined.get(call.as_str()).into_iter().flatten() {
                if *target != name {
                    graph.entry(name.clone()).or_default().insert(target.to_string());
                }
            }
        }
        for path in &module.paths {
            let Some(target) = resolve(path, &modules) else {
                problems.push(format!("{name} names crate::{} which is no module", path.join("::")));
                continue;
            };
            if modules[&target].declarations_only {
                problems.push(format!(
                    "{name} reaches crate::{} through the re-exports of {target}; name the module that defines it",
                    path.join("::")
                ));
            }
            if target != *name {
                graph.entry(name.clone()).or_default().insert(target);
            }
        }
    }
    (modules, graph, problems)
}

#[test]
fn modules_are_named_by_their_defining_module() {
    let (_, _, problems) = edges();
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn each_layer_depends_only_on_itself_and_the_layers_below() {
    let (_, graph, _) = edges();
    let mut upward = Vec::new();
    for (from, targets) in &graph {
        for to in targets {
            if layer(to) > layer(from) {
                upward.push(format!("{from} (layer {}) uses {to} (layer {})", layer(from), layer(to)));
            }
        }
    }
    assert!(upward.is_empty(), "{upward:#?}");
}

/// The first import circle in `graph`, if there is one (depth-first search: reaching a module that is
/// still on the path closes a circle).
fn find_circle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(start) = path.iter().position(|p| p == next) {
                let mut circle = path[start..].to_vec();
                circle.push(next.clone());
                return Some(circle);
            }
            if !done.contains(next) {
                if let Some(circle) = visit(next, graph, done, path) {
                    return Some(circle);
                }
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if !done.contains(node) {
            if let Some(circle) = visit(node, graph, &mut done, &mut Vec::new()) {
                return Some(circle);
            }
        }
    }
    None
}

#[test]
fn there_are_no_import_circles() {
    let (_, graph, _) = edges();
    assert!(graph.len() > 10, "the scan found the modules' imports: {graph:#?}");
    let onboarding = graph.get("onboarding").cloned().unwrap_or_default();
    assert!(onboarding.contains("clinical::formulary"), "calls to operations count as dependencies: {onboarding:?}");
    if let Some(circle) = find_circle(&graph) {
        panic!("import circle: {}", circle.join(" -> "));
    }
}

/// The checker itself finds what it must: a circle and an upward dependency in a made-up tree.
#[test]
fn the_checker_sees_a_circle_when_there_is_one() {
    let a = parse("use crate::reception::patient::Patient;\n");
    let b = parse("use crate::reception::client::Client;\n#[cfg(test)]\nmod tests { use crate::views::x; }\n");
    assert_eq!(a.paths, [vec!["reception".to_string(), "patient".into()]]);
    assert_eq!(b.paths.len(), 1, "test code is not counted");
    assert!(parse("pub mod a;\npub use a::B;\n").declarations_only);
    assert!(!parse("pub mod a;\npub struct B;\n").declarations_only);
    assert!(layer("views::search") > layer("reception::client"));
    let ops =
        parse("impl Write<'_> {\n    pub fn register_client(&mut self) {}\n}\nfn other() { w.book_appointment(x); }\n");
    assert_eq!(ops.methods, ["register_client"]);
    assert!(ops.calls.contains(&"book_appointment".to_string()), "method calls are seen: {:?}", ops.calls);
    assert_eq!(parse("use crate::{a, b};\n").hidden.len(), 1, "a grouped import is flagged");
    let graph: BTreeMap<String, BTreeSet<String>> =
        [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")].into_iter().fold(BTreeMap::new(), |mut g, (from, to)| {
            g.entry(from.to_string()).or_insert_with(BTreeSet::new).insert(to.to_string());
            g
        });
    assert_eq!(find_circle(&graph).unwrap().join(" -> "), "a -> b -> c -> a");
}

/// The package's folder, as Cargo names it when it runs this (the compile-time one as a fallback): a
/// build shared between two checkouts (CI's clone and a working copy) must read the files of the
/// checkout it runs in.
fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into())
}
