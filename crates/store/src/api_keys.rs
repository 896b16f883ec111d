//! The api_keys table and the usage counters flushed into api_key_usage and api_key_sources.

use std::collections::BTreeMap;
use std::str::FromStr;

use portcullis_core::api_key::{ApiKey, ApiKeyStatus, VerifyOutcome};
use portcullis_core::cidr::IpNetwork;
use portcullis_core::client::ClientId;
use portcullis_core::scope::ScopeSet;
use portcullis_core::store::{ApiKeyStore, DailyKeyUsage, StoreResult, UsageBatch};
use portcullis_core::UnixTime;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{corrupt, map_err, record_change, SqlStore};

const KEY_COLUMNS: &str = "id, client_id, name, scopes, rate_limit_per_minute, burst, \
    allowed_ips, expires_at, status, key_prefix, key_hash, created_at, updated_at, last_used_at, \
    replaced_by";

fn key_from_row(row: &AnyRow) -> StoreResult<ApiKey> {
    let text = |col: &str| row.try_get::<String, _>(col).map_err(map_err);
    let opt_int = |col: &str| row.try_get::<Option<i64>, _>(col).map_err(map_err);
    let u32_of = |v: i64| u32::try_from(v).map_err(corrupt);

    let allowed_ips = text("allowed_ips")?
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(IpNetwork::parse)
        .collect::<Result<Vec<_>, _>>()
        .map_err(corrupt)?;
    Ok(ApiKey {
        id: text("id")?,
        client_id: ClientId::parse(&text("client_id")?).ok_or_else(|| corrupt("client id"))?,
        name: text("name")?,
        scopes: ScopeSet::parse_list(&text("scopes")?).map_err(corrupt)?,
        rate_limit_per_minute: u32_of(row.try_get("rate_limit_per_minute").map_err(map_err)?)?,
        burst: opt_int("burst")?.map(u32_of).transpose()?,
        allowed_ips,
        expires_at: opt_int("expires_at")?,
        status: ApiKeyStatus::from_str(&text("status")?).map_err(corrupt)?,
        key_prefix: text("key_prefix")?,
        key_hash: row.try_get("key_hash").map_err(map_err)?,
        created_at: row.try_get("created_at").map_err(map_err)?,
        updated_at: row.try_get("updated_at").map_err(map_err)?,
        last_used_at: opt_int("last_used_at")?,
        replaced_by: row.try_get("replaced_by").map_err(map_err)?,
    })
}

async fn insert(tx: &mut sqlx::Transaction<'_, sqlx::Any>, key: &ApiKey) -> StoreResult<()> {
    let ips: Vec<String> = key.allowed_ips.iter().map(ToString::to_string).collect();
    let sql = format!(
        "INSERT INTO api_keys ({KEY_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
    );
    sqlx::query(&sql)
        .bind(&key.id)
        .bind(key.client_id.as_str())
        .bind(&key.name)
        .bind(key.scopes.to_wire())
        .bind(i64::from(key.rate_limit_per_minute))
        .bind(key.burst.map(i64::from))
        .bind(ips.join(" "))
        .bind(key.expires_at)
        .bind(key.status.as_str())
        .bind(&key.key_prefix)
        .bind(key.key_hash.clone())
        .bind(key.created_at)
        .bind(key.updated_at)
        .bind(key.last_used_at)
        .bind(key.replaced_by.as_deref())
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
    record_change(tx, "api_key", &key.id, key.updated_at).await
}

impl ApiKeyStore for SqlStore {
    async fn insert_api_key(&self, key: &ApiKey) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        insert(&mut tx, key).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn get_api_key(&self, id: &str) -> StoreResult<Option<ApiKey>> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = $1");
        let row = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await.map_err(map_err)?;
        row.as_ref().map(key_from_row).transpose()
    }

    async fn list_api_keys(&self, client: Option<&ClientId>) -> StoreResult<Vec<ApiKey>> {
        let rows = match client {
            Some(client) => {
                let sql = format!(
                    "SELECT {KEY_COLUMNS} FROM api_keys WHERE client_id = $1 \
                     ORDER BY created_at, id"
                );
                sqlx::query(&sql).bind(client.as_str()).fetch_all(&self.pool).await
            }
            None => {
                let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys ORDER BY created_at, id");
                sqlx::query(&sql).fetch_all(&self.pool).await
            }
        }
        .map_err(map_err)?;
        rows.iter().map(key_from_row).collect()
    }

    async fn approve_api_key(
        &self,
        id: &str,
        scopes: &ScopeSet,
        rate_limit_per_minute: u32,
        burst: Option<u32>,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        let changed = sqlx::query(
            "UPDATE api_keys SET status = 'active', scopes = $1, rate_limit_per_minute = $2, \
             burst = $3, updated_at = $4 WHERE id = $5 AND status = 'pending'",
        )
        .bind(scopes.to_wire())
        .bind(i64::from(rate_limit_per_minute))
        .bind(burst.map(i64::from))
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected()
            > 0;
        if changed {
            record_change(&mut tx, "api_key", id, now).await?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(changed)
    }

    async fn set_api_key_status(
        &self,
        id: &str,
        status: ApiKeyStatus,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        let changed = sqlx::query(
            "UPDATE api_keys SET status = $1, updated_at = $2 \
             WHERE id = $3 AND status <> 'revoked'",
        )
        .bind(status.as_str())
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected()
            > 0;
        if changed {
            record_change(&mut tx, "api_key", id, now).await?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(changed)
    }

    async fn rotate_api_key(
        &self,
        old_id: &str,
        successor: &ApiKey,
        old_valid_until: Option<UnixTime>,
    ) -> StoreResult<bool> {
        let now = successor.created_at;
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        // Without an overlap the old key is revoked now; with one it expires at the chosen time
        // (or earlier, if it was going to expire anyway).
        let retired = match old_valid_until {
            None => sqlx::query(
                "UPDATE api_keys SET status = 'revoked', replaced_by = $1, updated_at = $2 \
                 WHERE id = $3 AND status = 'active' AND replaced_by IS NULL",
            )
            .bind(&successor.id)
            .bind(now)
            .bind(old_id),
            Some(until) => sqlx::query(
                "UPDATE api_keys SET replaced_by = $1, updated_at = $2, \
                 expires_at = CASE WHEN expires_at IS NOT NULL AND expires_at < $3 \
                                   THEN expires_at ELSE $3 END \
                 WHERE id = $4 AND status = 'active' AND replaced_by IS NULL",
            )
            .bind(&successor.id)
            .bind(now)
            .bind(until)
            .bind(old_id),
        }
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected()
            > 0;
        if !retired {
            tx.rollback().await.map_err(map_err)?;
            return Ok(false);
        }
        record_change(&mut tx, "api_key", old_id, now).await?;
        insert(&mut tx, successor).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(true)
    }

    async fn record_usage(&self, batch: &UsageBatch) -> StoreResult<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        for (key_id, day, outcome, count) in &batch.outcomes {
            sqlx::query(
                "INSERT INTO api_key_usage (key_id, day, outcome, count) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (key_id, day, outcome) \
                 DO UPDATE SET count = api_key_usage.count + excluded.count",
            )
            .bind(key_id)
            .bind(*day)
            .bind(outcome.as_str())
            .bind(i64::try_from(*count).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        }
        for (key_id, day, source, count) in &batch.sources {
            sqlx::query(
                "INSERT INTO api_key_sources (key_id, day, source, count) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (key_id, day, source) \
                 DO UPDATE SET count = api_key_sources.count + excluded.count",
            )
            .bind(key_id)
            .bind(*day)
            .bind(source)
            .bind(i64::try_from(*count).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        }
        for (key_id, at) in &batch.last_used {
            sqlx::query(
                "UPDATE api_keys SET last_used_at = $1 \
                 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)",
            )
            .bind(*at)
            .bind(key_id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)
    }

    async fn save_rate_state(&self, state: &[(String, i64)]) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        sqlx::query("DELETE FROM api_key_rate_state").execute(&mut *tx).await.map_err(map_err)?;
        for (key_id, tat) in state {
            sqlx::query("INSERT INTO api_key_rate_state (key_id, tat) VALUES ($1, $2)")
                .bind(key_id)
                .bind(*tat)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)
    }

    async fn load_rate_state(&self) -> StoreResult<Vec<(String, i64)>> {
        let rows = sqlx::query("SELECT key_id, tat FROM api_key_rate_state")
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter()
            .map(|row| {
                Ok((row.try_get("key_id").map_err(map_err)?, row.try_get("tat").map_err(map_err)?))
            })
            .collect()
    }

    async fn key_usage(
        &self,
        key_id: &str,
        from_day: i64,
        to_day: i64,
    ) -> StoreResult<Vec<DailyKeyUsage>> {
        let mut days: BTreeMap<i64, DailyKeyUsage> = BTreeMap::new();
        let outcomes = sqlx::query(
            "SELECT day, outcome, count FROM api_key_usage \
             WHERE key_id = $1 AND day >= $2 AND day <= $3 ORDER BY day, outcome",
        )
        .bind(key_id)
        .bind(from_day)
        .bind(to_day)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        for row in &outcomes {
            let day: i64 = row.try_get("day").map_err(map_err)?;
            let outcome: String = row.try_get("outcome").map_err(map_err)?;
            let count: i64 = row.try_get("count").map_err(map_err)?;
            let outcome = VerifyOutcome::from_str(&outcome).map_err(corrupt)?;
            let entry =
                days.entry(day).or_insert_with(|| DailyKeyUsage { day, ..Default::default() });
            entry.outcomes.push((outcome, u64::try_from(count).unwrap_or_default()));
        }

        let sources = sqlx::query(
            "SELECT day, source, count FROM api_key_sources \
             WHERE key_id = $1 AND day >= $2 AND day <= $3 ORDER BY day, count DESC, source",
        )
        .bind(key_id)
        .bind(from_day)
        .bind(to_day)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        for row in &sources {
            let day: i64 = row.try_get("day").map_err(map_err)?;
            let source: String = row.try_get("source").map_err(map_err)?;
            let count: i64 = row.try_get("count").map_err(map_err)?;
            let entry =
                days.entry(day).or_insert_with(|| DailyKeyUsage { day, ..Default::default() });
            entry.sources.push((source, u64::try_from(count).unwrap_or_default()));
        }
        Ok(days.into_values().collect())
    }
}

impl SqlStore {
    /// Verifications on `day` with `outcome`, over every key (a dashboard tile).
    pub async fn verifications_on(&self, day: i64, outcome: VerifyOutcome) -> StoreResult<u64> {
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) AS total FROM api_key_usage \
             WHERE day = $1 AND outcome = $2",
        )
        .bind(day)
        .bind(outcome.as_str())
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        let total: i64 = row.try_get("total").map_err(map_err)?;
        Ok(u64::try_from(total).unwrap_or_default())
    }
}
