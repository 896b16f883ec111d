//! The scope registry table.

use portcullis_core::scope::{ScopeDefinition, ScopeName, ScopeSet};
use portcullis_core::store::{ScopeStore, StoreResult};
use sqlx::Row;

use crate::{corrupt, map_err, record_change, unix_now, SqlStore};

impl ScopeStore for SqlStore {
    async fn list_scopes(&self) -> StoreResult<Vec<ScopeDefinition>> {
        let rows = sqlx::query(
            "SELECT name, description, category, requires_user, includes, built_in, public \
             FROM scopes ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;

        rows.iter()
            .map(|row| {
                let name: String = row.try_get("name").map_err(map_err)?;
                let includes: String = row.try_get("includes").map_err(map_err)?;
                Ok(ScopeDefinition {
                    name: ScopeName::parse(&name).map_err(corrupt)?,
                    description: row.try_get("description").map_err(map_err)?,
                    category: row.try_get("category").map_err(map_err)?,
                    requires_user: row.try_get::<i64, _>("requires_user").map_err(map_err)? != 0,
                    includes: ScopeSet::parse_list(&includes).map_err(corrupt)?,
                    built_in: row.try_get::<i64, _>("built_in").map_err(map_err)? != 0,
                    public: row.try_get::<i64, _>("public").map_err(map_err)? != 0,
                })
            })
            .collect()
    }

    async fn put_scope(&self, scope: &ScopeDefinition) -> StoreResult<()> {
        let now = unix_now();
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        sqlx::query(
            "INSERT INTO scopes (name, description, category, requires_user, includes, built_in, \
             updated_at, public) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (name) DO UPDATE SET description = excluded.description, \
             category = excluded.category, requires_user = excluded.requires_user, \
             includes = excluded.includes, built_in = excluded.built_in, \
             updated_at = excluded.updated_at, public = excluded.public",
        )
        .bind(scope.name.as_str())
        .bind(&scope.description)
        .bind(scope.category.as_deref())
        .bind(i64::from(scope.requires_user))
        .bind(scope.includes.to_wire())
        .bind(i64::from(scope.built_in))
        .bind(now)
        .bind(i64::from(scope.public))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        record_change(&mut tx, "scope", scope.name.as_str(), now).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn delete_scope(&self, name: &ScopeName) -> StoreResult<bool> {
        let now = unix_now();
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        let deleted = sqlx::query("DELETE FROM scopes WHERE name = $1 AND built_in = 0")
            .bind(name.as_str())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?
            .rows_affected()
            > 0;
        record_change(&mut tx, "scope", name.as_str(), now).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(deleted)
    }
}
