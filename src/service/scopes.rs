//! Scope registry actions: create, delete, import.

use portcullis_core::scope::{ScopeDefinition, ScopeName, ScopeRegistry, ScopeSet};
use portcullis_core::store::ScopeStore;
use serde::Deserialize;

use super::{Operator, ServiceError, ServiceResult};

/// A scope as an operator writes it (CLI flags or an import file entry).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeInput {
    pub name: String,
    pub description: String,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub includes: Vec<String>,
    #[serde(default)]
    pub requires_user: bool,
    /// Advertised in discovery (`scopes_supported`).
    #[serde(default)]
    pub public: bool,
}

/// The import file: `[[scope]]` tables.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeFile {
    pub scope: Vec<ScopeInput>,
}

impl ScopeInput {
    fn into_definition(self) -> ServiceResult<ScopeDefinition> {
        let invalid = |e: portcullis_core::scope::ScopeError| ServiceError::Invalid(e.to_string());
        if self.description.trim().is_empty() {
            return Err(ServiceError::Invalid(format!(
                "scope {} needs a description: it is shown to end users on the consent screen",
                self.name
            )));
        }
        Ok(ScopeDefinition {
            name: ScopeName::parse(&self.name).map_err(invalid)?,
            description: self.description.trim().to_owned(),
            category: self.category.filter(|c| !c.trim().is_empty()),
            requires_user: self.requires_user,
            includes: ScopeSet::parse_list(&self.includes.join(" ")).map_err(invalid)?,
            built_in: false,
            public: self.public,
        })
    }
}

impl Operator {
    pub async fn registry(&self) -> ServiceResult<ScopeRegistry> {
        let scopes = self.store.list_scopes().await?;
        ScopeRegistry::new(scopes).map_err(|e| ServiceError::Invalid(e.to_string()))
    }

    /// Adds or replaces scopes after checking the whole resulting registry (includes exist,
    /// no cycles), so a bad import changes nothing.
    pub async fn put_scopes(&self, inputs: Vec<ScopeInput>) -> ServiceResult<Vec<ScopeDefinition>> {
        let mut registry = self.registry().await?;
        let mut definitions = Vec::with_capacity(inputs.len());
        for input in inputs {
            let definition = input.into_definition()?;
            if registry.get(&definition.name).is_some_and(|d| d.built_in) {
                return Err(ServiceError::Invalid(format!(
                    "scope {} is built in and cannot be redefined",
                    definition.name
                )));
            }
            definitions.push(definition);
        }
        // Validate the final registry as a whole: entries may refer to each other in any order.
        let mut candidate: Vec<ScopeDefinition> = registry.iter().cloned().collect();
        for definition in &definitions {
            candidate.retain(|d| d.name != definition.name);
            candidate.push(definition.clone());
        }
        registry =
            ScopeRegistry::new(candidate).map_err(|e| ServiceError::Invalid(e.to_string()))?;
        drop(registry);

        for definition in &definitions {
            self.store.put_scope(definition).await?;
            let details = serde_json::json!({
                "description": definition.description,
                "includes": definition.includes.to_wire(),
                "requires_user": definition.requires_user,
                "public": definition.public,
            });
            self.audit("scope.put", format!("scope:{}", definition.name), details).await?;
        }
        Ok(definitions)
    }

    /// Deletes a scope no other scope includes and no client is allowed.
    pub async fn delete_scope(&self, name: &str) -> ServiceResult<()> {
        let name = ScopeName::parse(name).map_err(|e| ServiceError::Invalid(e.to_string()))?;
        let registry = self.registry().await?;
        let definition =
            registry.get(&name).ok_or_else(|| ServiceError::NotFound(format!("scope {name}")))?;
        if definition.built_in {
            return Err(ServiceError::Invalid(format!(
                "scope {name} is built in and cannot be deleted"
            )));
        }
        let dependents: Vec<String> =
            registry.dependents_of(&name).map(|d| d.to_string()).collect();
        if !dependents.is_empty() {
            return Err(ServiceError::Invalid(format!(
                "scope {name} is included by {}: remove it from their includes first",
                dependents.join(", ")
            )));
        }
        let users: Vec<String> = portcullis_core::store::ClientStore::list_clients(&self.store)
            .await?
            .into_iter()
            .filter(|c| c.allowed_scopes.contains(&name))
            .map(|c| c.id.to_string())
            .collect();
        if !users.is_empty() {
            return Err(ServiceError::Invalid(format!(
                "scope {name} is allowed to clients {}: change those clients first",
                users.join(", ")
            )));
        }
        self.store.delete_scope(&name).await?;
        self.audit("scope.delete", format!("scope:{name}"), serde_json::json!({})).await?;
        Ok(())
    }
}
