//! The protocol core stays free of I/O frameworks: checked over `cargo metadata`, including
//! transitive dependencies, so a stray import cannot creep in unnoticed.

use std::collections::{HashMap, HashSet};

const FORBIDDEN: [&str; 7] =
    ["axum", "sqlx", "leptos", "leptos_axum", "tower-sessions", "tokio", "hyper"];

#[test]
fn portcullis_core_depends_on_no_web_storage_or_ui_framework() {
    let metadata = cargo_metadata::MetadataCommand::new()
        .manifest_path(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .exec()
        .expect("cargo metadata");
    let resolve = metadata.resolve.as_ref().expect("resolved graph");
    let nodes: HashMap<_, _> = resolve.nodes.iter().map(|n| (&n.id, n)).collect();
    let names: HashMap<_, _> = metadata.packages.iter().map(|p| (&p.id, p.name.as_str())).collect();

    let core =
        metadata.packages.iter().find(|p| p.name == "portcullis-core").expect("core package");
    let mut seen = HashSet::new();
    let mut pending = vec![&core.id];
    while let Some(id) = pending.pop() {
        if !seen.insert(id) {
            continue;
        }
        let name = names[id];
        assert!(!FORBIDDEN.contains(&name), "portcullis-core pulls in {name}");
        // Only normal (non-dev, non-build) dependencies count: tests may use anything.
        for dep in &nodes[id].deps {
            let normal =
                dep.dep_kinds.iter().any(|k| k.kind == cargo_metadata::DependencyKind::Normal);
            if normal {
                pending.push(&dep.pkg);
            }
        }
    }
    assert!(seen.len() > 5, "walked the graph");
}
