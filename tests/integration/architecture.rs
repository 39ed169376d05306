//! The code's shape, checked on the source tree: no import cycle between top-level modules,
//! the import boundaries ARCHITECTURE.md promises (only `archive` imports sled, only `fetch`
//! reqwest), and no file in `src/` above 800 lines of code unless it is named below with the
//! reason it belongs together.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Files allowed above the limit, with why (none today).
const LARGE_FILES: &[(&str, &str)] = &[];

/// Lines of code a file may hold: non-blank, non-comment lines outside `#[cfg(test)]` blocks.
const MAX_CODE_LINES: usize = 800;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs")
            // a module's `tests.rs` is its `#[cfg(test)] mod tests` kept in a file of its own
            && path.file_name().is_some_and(|n| n != "tests.rs")
        {
            out.push(path);
        }
    }
}

/// The file's text without its `#[cfg(test)]` items (a `mod tests { … }` block or a single
/// item), blank lines and comments: what the code itself says.
fn code_of(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut skip_depth: Option<i64> = None;
    let mut pending_cfg_test = false;
    let mut depth: i64 = 0;
    for raw in text.lines() {
        let line = raw.trim();
        let braces = |l: &str| {
            l.chars().filter(|&c| c == '{').count() as i64
                - l.chars().filter(|&c| c == '}').count() as i64
        };
        if let Some(start) = skip_depth {
            depth += braces(line);
            if depth <= start {
                skip_depth = None;
            }
            continue;
        }
        if line == "#[cfg(test)]" {
            pending_cfg_test = true;
            continue;
        }
        if pending_cfg_test {
            pending_cfg_test = false;
            let start = depth;
            depth += braces(line);
            if depth > start {
                skip_depth = Some(start);
            }
            continue;
        }
        depth += braces(line);
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        lines.push(line.to_string());
    }
    lines
}

/// `src/a/b.rs` → `a`; `src/a.rs` → `a`.
fn top_module(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src");
    let first = rel
        .components()
        .next()
        .and_then(|c| c.as_os_str().to_str())
        .unwrap_or_default();
    first.trim_end_matches(".rs").to_string()
}

/// Every `crate::name` a line mentions, `use crate::{a, b::c}` included.
fn crate_refs(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let word = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        let after = &rest[at + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for part in group[..end].split(',') {
                let w = word(part.trim());
                if !w.is_empty() {
                    out.push(w);
                }
            }
        } else {
            let w = word(after);
            if !w.is_empty() {
                out.push(w);
            }
        }
        rest = after;
    }
    out
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Top-level module → the top-level modules its code (tests excluded) refers to.
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = src_dir();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let module = top_module(&src, &file);
        if module == "lib" || module == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("read");
        let deps = graph.entry(module.clone()).or_default();
        for line in code_of(&text) {
            for r in crate_refs(&line) {
                if r != module {
                    deps.insert(r);
                }
            }
        }
    }
    graph
}

/// A cycle in `graph`, if there is one (depth-first search with colours).
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_string(), 1);
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next.as_str()).copied().unwrap_or(0) {
                1 => {
                    let from = path.iter().position(|p| p == next).unwrap_or(0);
                    let mut cycle = path[from..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(next, graph, state, path) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        path.pop();
        state.insert(node.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if state.get(node.as_str()).copied().unwrap_or(0) == 0 {
            let mut path = Vec::new();
            if let Some(c) = visit(node, graph, &mut state, &mut path) {
                return Some(c);
            }
        }
    }
    None
}

#[test]
fn the_checker_finds_a_cycle_and_reads_grouped_imports() {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("c".into());
    g.entry("c".into()).or_default().insert("a".into());
    assert_eq!(
        find_cycle(&g),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    g.entry("c".into()).or_default().remove("a");
    assert_eq!(find_cycle(&g), None);
    assert_eq!(
        crate_refs("use crate::{archive::Archive, config};"),
        ["archive", "config"]
    );
    assert_eq!(
        code_of("fn a() {}\n// note\n#[cfg(test)]\nmod tests {\n    fn b() {}\n}\nfn c() {}\n"),
        ["fn a() {}", "fn c() {}"]
    );
}

#[test]
fn no_import_cycle_between_top_level_modules() {
    let graph = module_graph();
    assert!(
        graph.contains_key("daemon") && graph.contains_key("poll"),
        "{graph:?}"
    );
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "top-level modules import each other in a circle: {}\nthe graph: {graph:#?}",
            cycle.join(" → ")
        );
    }
    // the pure schedule policy and the query language are leaves of the pipeline
    for leaf in ["schedule", "query", "secrets"] {
        assert!(
            graph.get(leaf).is_none_or(|d| d.is_empty()),
            "{leaf} imports {:?}",
            graph.get(leaf)
        );
    }
}

#[test]
fn only_archive_imports_sled_and_only_fetch_imports_reqwest() {
    let src = src_dir();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    for file in files {
        let module = top_module(&src, &file);
        let text = std::fs::read_to_string(&file).expect("read");
        for line in code_of(&text) {
            for (krate, owner) in [("sled::", "archive"), ("reqwest::", "fetch")] {
                let used = line.contains(&format!("use {krate}"))
                    || line.contains(&format!(" {krate}"))
                    || line.contains(&format!("({krate}"))
                    || line.contains(&format!("<{krate}"))
                    || line.contains(&format!("&{krate}"));
                assert!(
                    !used || module == owner,
                    "{} uses {krate} (only {owner} may): {line}",
                    file.display()
                );
            }
        }
    }
}

#[test]
fn no_source_file_is_much_over_800_lines_of_code() {
    let src = src_dir();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut over = Vec::new();
    for file in files {
        let rel = file
            .strip_prefix(&src)
            .expect("under src")
            .to_string_lossy()
            .to_string();
        let text = std::fs::read_to_string(&file).expect("read");
        let n = code_of(&text).len();
        if n > MAX_CODE_LINES && !LARGE_FILES.iter().any(|(f, _)| *f == rel) {
            over.push(format!("src/{rel}: {n} lines of code"));
        }
    }
    assert!(
        over.is_empty(),
        "over {MAX_CODE_LINES} lines of code (split by responsibility, or name the file in LARGE_FILES with the reason): {over:#?}"
    );
}
