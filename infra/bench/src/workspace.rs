//! What the benchmark reads from the repository: its root, the functions, their memory sizes.

use crate::stub::Res;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn function_names(root: &Path) -> Res<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(root.join("functions"))? {
        let path = entry?.path();
        if path.join("Cargo.toml").is_file() {
            if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
                names.push(name.to_owned());
            }
        }
    }
    names.sort();
    Ok(names)
}

/// Each function's `MemorySize` from `template.yaml` (a line scan: a resource's `Binary:` and
/// `MemorySize:`, falling back to `Globals.Function.MemorySize`).
pub fn memory_sizes(root: &Path) -> BTreeMap<String, u64> {
    let text = std::fs::read_to_string(root.join("template.yaml")).unwrap_or_default();
    let (mut global, mut out) = (128, BTreeMap::new());
    let (mut binary, mut memory): (Option<String>, Option<u64>) = (None, None);
    let mut flush = |binary: &mut Option<String>, memory: &mut Option<u64>, global: u64| {
        if let Some(b) = binary.take() {
            out.insert(b, memory.unwrap_or(global));
        }
        *memory = None;
    };
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim();
        if indent == 2 && trimmed.ends_with(':') {
            flush(&mut binary, &mut memory, global);
        }
        if let Some(v) = trimmed.strip_prefix("Binary:") {
            binary = Some(v.trim().to_owned());
        }
        if let Some(v) = trimmed.strip_prefix("MemorySize:") {
            match v.trim().parse::<u64>() {
                Ok(mb) if indent == 4 => global = mb,
                Ok(mb) => memory = Some(mb),
                Err(_) => {}
            }
        }
    }
    flush(&mut binary, &mut memory, global);
    out
}
