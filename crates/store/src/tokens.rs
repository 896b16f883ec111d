//! The tokens table: every issued access token, for revocation, introspection and analytics.

use std::str::FromStr;

use portcullis_core::client::GrantType;
use portcullis_core::store::{StoreResult, TokenRecord, TokenState, TokenStore};
use portcullis_core::UnixTime;
use sqlx::Row;

use crate::{corrupt, map_err, record_change, SqlStore};

const TOKEN_COLUMNS: usize = 8;

impl TokenStore for SqlStore {
    async fn record_tokens(&self, tokens: &[TokenRecord]) -> StoreResult<()> {
        if tokens.is_empty() {
            return Ok(());
        }
        let mut sql = String::from(
            "INSERT INTO tokens \
             (jti, client_id, subject, scopes, grant_type, issued_at, expires_at, grant_id) \
             VALUES ",
        );
        for i in 0..tokens.len() {
            if i > 0 {
                sql.push_str(", ");
            }
            let base = i * TOKEN_COLUMNS;
            let params: Vec<String> =
                (1..=TOKEN_COLUMNS).map(|c| format!("${}", base + c)).collect();
            sql.push('(');
            sql.push_str(&params.join(", "));
            sql.push(')');
        }

        let mut query = sqlx::query(&sql);
        for t in tokens {
            query = query
                .bind(&t.jti)
                .bind(&t.client_id)
                .bind(&t.subject)
                .bind(&t.scopes)
                .bind(t.grant_type.as_str())
                .bind(t.issued_at)
                .bind(t.expires_at)
                .bind(t.grant_id.as_deref());
        }
        query.execute(&self.writer).await.map_err(map_err)?;
        Ok(())
    }

    async fn get_token(&self, jti: &str) -> StoreResult<Option<TokenState>> {
        let row = sqlx::query(
            "SELECT jti, client_id, subject, scopes, grant_type, issued_at, expires_at, revoked_at, \
             grant_id \
             FROM tokens WHERE jti = $1",
        )
        .bind(jti)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        let Some(row) = row else { return Ok(None) };

        let grant_type: String = row.try_get("grant_type").map_err(map_err)?;
        Ok(Some(TokenState {
            record: TokenRecord {
                jti: row.try_get("jti").map_err(map_err)?,
                client_id: row.try_get("client_id").map_err(map_err)?,
                subject: row.try_get("subject").map_err(map_err)?,
                scopes: row.try_get("scopes").map_err(map_err)?,
                grant_type: GrantType::from_str(&grant_type).map_err(corrupt)?,
                issued_at: row.try_get("issued_at").map_err(map_err)?,
                expires_at: row.try_get("expires_at").map_err(map_err)?,
                grant_id: row.try_get("grant_id").map_err(map_err)?,
            },
            revoked_at: row.try_get("revoked_at").map_err(map_err)?,
        }))
    }

    async fn revoke_token(&self, jti: &str, client_id: &str, now: UnixTime) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        let revoked = sqlx::query(
            "UPDATE tokens SET revoked_at = $1 \
             WHERE jti = $2 AND client_id = $3 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(jti)
        .bind(client_id)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected()
            > 0;
        if revoked {
            record_change(&mut tx, "token_revoked", jti, now).await?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(revoked)
    }
}

impl SqlStore {
    /// Tokens issued at or after `since`, counted per grant type (the dashboard's tiles).
    pub async fn tokens_issued_since(&self, since: UnixTime) -> StoreResult<Vec<(String, u64)>> {
        let rows = sqlx::query(
            "SELECT grant_type, COUNT(*) AS issued FROM tokens WHERE issued_at >= $1 \
             GROUP BY grant_type ORDER BY grant_type",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|row| {
                let grant: String = row.try_get("grant_type").map_err(map_err)?;
                let issued: i64 = row.try_get("issued").map_err(map_err)?;
                Ok((grant, u64::try_from(issued).unwrap_or_default()))
            })
            .collect()
    }
}
