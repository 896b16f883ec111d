//! `portcullis scope …`

use clap::Subcommand;
use portcullis_core::scope::{ScopeDefinition, ScopeName};
use serde_json::json;

use super::print_json;
use crate::service::{Operator, ScopeFile, ScopeInput};

#[derive(Debug, Subcommand)]
pub enum ScopeCommand {
    /// Add a scope to the registry (or replace one with the same name).
    Create {
        #[arg(long)]
        name: String,
        /// Shown to end users on the consent screen.
        #[arg(long)]
        description: String,
        #[arg(long)]
        category: Option<String>,
        /// Scopes this one includes, comma-separated (e.g. quote:read).
        #[arg(long, value_delimiter = ',')]
        includes: Vec<String>,
        /// Refuse this scope for client_credentials: it needs an end user.
        #[arg(long)]
        requires_user: bool,
        /// List the scope in discovery's scopes_supported (unlisted scopes work the same).
        #[arg(long)]
        public: bool,
        #[arg(long)]
        json: bool,
    },
    /// List the registry.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show one scope and what it expands to.
    Show {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Delete a scope no client or other scope uses.
    Delete { name: String },
    /// Load scopes from a TOML file of [[scope]] tables (see examples/scopes/insurance.toml).
    Import { file: std::path::PathBuf },
}

pub async fn run(command: ScopeCommand, operator: &Operator) -> anyhow::Result<()> {
    match command {
        ScopeCommand::Create {
            name,
            description,
            category,
            includes,
            requires_user,
            public,
            json,
        } => {
            let input = ScopeInput { name, description, category, includes, requires_user, public };
            let created = operator.put_scopes(vec![input]).await?;
            for scope in &created {
                if json {
                    print_json(&scope_json(scope, None))?;
                } else {
                    println!("scope {} saved", scope.name);
                }
            }
        }
        ScopeCommand::List { json } => {
            let registry = operator.registry().await?;
            if json {
                let all: Vec<_> = registry.iter().map(|s| scope_json(s, None)).collect();
                print_json(&all)?;
            } else {
                for scope in registry.iter() {
                    print_line(scope);
                }
            }
        }
        ScopeCommand::Show { name, json } => {
            let registry = operator.registry().await?;
            let name = ScopeName::parse(&name)?;
            let scope =
                registry.get(&name).ok_or_else(|| anyhow::anyhow!("scope {name} not found"))?;
            let single: portcullis_core::scope::ScopeSet = std::iter::once(name.clone()).collect();
            let expanded = registry.expand(&single).to_wire();
            if json {
                print_json(&scope_json(scope, Some(&expanded)))?;
            } else {
                print_line(scope);
                println!("  grants: {expanded}");
            }
        }
        ScopeCommand::Delete { name } => {
            operator.delete_scope(&name).await?;
            println!("scope {name} deleted");
        }
        ScopeCommand::Import { file } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let parsed: ScopeFile = toml::from_str(&text).map_err(|e| {
                anyhow::anyhow!("{} is not a valid scope file: {e}", file.display())
            })?;
            let saved = operator.put_scopes(parsed.scope).await?;
            println!("imported {} scopes from {}", saved.len(), file.display());
        }
    }
    Ok(())
}

fn print_line(scope: &ScopeDefinition) {
    let includes = scope.includes.to_wire();
    println!(
        "{:<24} {:<12} {}{}{}",
        scope.name,
        scope.category.as_deref().unwrap_or("-"),
        scope.description,
        if includes.is_empty() { String::new() } else { format!(" (includes {includes})") },
        if scope.requires_user { " [requires user]" } else { "" },
    );
}

fn scope_json(scope: &ScopeDefinition, expands_to: Option<&str>) -> serde_json::Value {
    let mut value = json!({
        "name": scope.name,
        "description": scope.description,
        "category": scope.category,
        "requires_user": scope.requires_user,
        "public": scope.public,
        "includes": scope.includes.iter().collect::<Vec<_>>(),
        "built_in": scope.built_in,
    });
    if let Some(expanded) = expands_to {
        value["grants"] = json!(expanded.split(' ').collect::<Vec<_>>());
    }
    value
}
