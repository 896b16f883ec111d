//! Authorization codes and refresh-token families, and revoking a whole grant.

use portcullis_core::store::{
    CodeRecord, CodeState, GrantStore, IssuedGrantTokens, RefreshRecord, RefreshRotation,
    RefreshState, StoreResult, TokenRecord,
};
use portcullis_core::UnixTime;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::tokens::insert_tokens;
use crate::{map_err, record_change, SqlStore};

const CODE_COLUMNS: &str = "code_hash, grant_id, client_id, user_id, redirect_uri, scopes, \
    code_challenge, nonce, auth_time, expires_at";
const REFRESH_COLUMNS: &str =
    "token_hash, grant_id, client_id, user_id, scopes, auth_time, issued_at, expires_at";

fn code_from_row(row: &AnyRow) -> StoreResult<CodeRecord> {
    Ok(CodeRecord {
        code_hash: row.try_get("code_hash").map_err(map_err)?,
        grant_id: row.try_get("grant_id").map_err(map_err)?,
        client_id: row.try_get("client_id").map_err(map_err)?,
        user_id: row.try_get("user_id").map_err(map_err)?,
        redirect_uri: row.try_get("redirect_uri").map_err(map_err)?,
        scopes: row.try_get("scopes").map_err(map_err)?,
        code_challenge: row.try_get("code_challenge").map_err(map_err)?,
        nonce: row.try_get("nonce").map_err(map_err)?,
        auth_time: row.try_get("auth_time").map_err(map_err)?,
        expires_at: row.try_get("expires_at").map_err(map_err)?,
    })
}

fn refresh_from_row(row: &AnyRow) -> StoreResult<RefreshRecord> {
    Ok(RefreshRecord {
        token_hash: row.try_get("token_hash").map_err(map_err)?,
        grant_id: row.try_get("grant_id").map_err(map_err)?,
        client_id: row.try_get("client_id").map_err(map_err)?,
        user_id: row.try_get("user_id").map_err(map_err)?,
        scopes: row.try_get("scopes").map_err(map_err)?,
        auth_time: row.try_get("auth_time").map_err(map_err)?,
        issued_at: row.try_get("issued_at").map_err(map_err)?,
        expires_at: row.try_get("expires_at").map_err(map_err)?,
    })
}

async fn insert_refresh(
    executor: &mut sqlx::Transaction<'_, sqlx::Any>,
    token: &RefreshRecord,
) -> StoreResult<()> {
    let sql = format!(
        "INSERT INTO refresh_tokens ({REFRESH_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    );
    sqlx::query(&sql)
        .bind(token.token_hash.clone())
        .bind(&token.grant_id)
        .bind(&token.client_id)
        .bind(&token.user_id)
        .bind(&token.scopes)
        .bind(token.auth_time)
        .bind(token.issued_at)
        .bind(token.expires_at)
        .execute(&mut **executor)
        .await
        .map_err(map_err)?;
    Ok(())
}

impl GrantStore for SqlStore {
    async fn insert_code(&self, code: &CodeRecord) -> StoreResult<()> {
        let sql = format!(
            "INSERT INTO authorization_codes ({CODE_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        );
        sqlx::query(&sql)
            .bind(code.code_hash.clone())
            .bind(&code.grant_id)
            .bind(&code.client_id)
            .bind(&code.user_id)
            .bind(&code.redirect_uri)
            .bind(&code.scopes)
            .bind(&code.code_challenge)
            .bind(code.nonce.as_deref())
            .bind(code.auth_time)
            .bind(code.expires_at)
            .execute(&self.writer)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn find_code(&self, code_hash: &[u8]) -> StoreResult<Option<(CodeRecord, CodeState)>> {
        let sql = format!(
            "SELECT {CODE_COLUMNS}, used_at, tokens_issued_at FROM authorization_codes \
             WHERE code_hash = $1"
        );
        let row = sqlx::query(&sql)
            .bind(code_hash.to_vec())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        let Some(row) = row else { return Ok(None) };
        let used: Option<i64> = row.try_get("used_at").map_err(map_err)?;
        let issued: Option<i64> = row.try_get("tokens_issued_at").map_err(map_err)?;
        let state = match used {
            None => CodeState::Unused,
            Some(at) => CodeState::Spent { at, tokens_issued: issued.is_some() },
        };
        Ok(Some((code_from_row(&row)?, state)))
    }

    async fn burn_code(&self, code_hash: &[u8], now: UnixTime) -> StoreResult<bool> {
        let burnt = sqlx::query(
            "UPDATE authorization_codes SET used_at = $1 WHERE code_hash = $2 AND used_at IS NULL",
        )
        .bind(now)
        .bind(code_hash.to_vec())
        .execute(&self.writer)
        .await
        .map_err(map_err)?;
        Ok(burnt.rows_affected() > 0)
    }

    async fn exchange_code(
        &self,
        code_hash: &[u8],
        issued: &IssuedGrantTokens,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        // The conditional update is the single point of truth: of two concurrent redemptions
        // exactly one changes the row, and the other writes nothing.
        let spent = sqlx::query(
            "UPDATE authorization_codes SET used_at = $1, tokens_issued_at = $1 \
             WHERE code_hash = $2 AND used_at IS NULL",
        )
        .bind(now)
        .bind(code_hash.to_vec())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected()
            > 0;
        if !spent {
            tx.rollback().await.map_err(map_err)?;
            return Ok(false);
        }

        if let Some(refresh) = &issued.refresh {
            insert_refresh(&mut tx, refresh).await?;
        }
        insert_tokens(&mut tx, std::slice::from_ref(&issued.access)).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(true)
    }

    async fn insert_refresh_token(&self, token: &RefreshRecord) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        insert_refresh(&mut tx, token).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn find_refresh_token(
        &self,
        token_hash: &[u8],
    ) -> StoreResult<Option<(RefreshRecord, bool)>> {
        let sql = format!(
            "SELECT {REFRESH_COLUMNS}, rotated_at, revoked_at FROM refresh_tokens \
             WHERE token_hash = $1"
        );
        let row = sqlx::query(&sql)
            .bind(token_hash.to_vec())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        let Some(row) = row else { return Ok(None) };
        let rotated: Option<i64> = row.try_get("rotated_at").map_err(map_err)?;
        let revoked: Option<i64> = row.try_get("revoked_at").map_err(map_err)?;
        Ok(Some((refresh_from_row(&row)?, rotated.is_none() && revoked.is_none())))
    }

    async fn refresh_token_state(
        &self,
        token_hash: &[u8],
    ) -> StoreResult<Option<(RefreshRecord, RefreshState)>> {
        // One read, so a duplicate is judged by a consistent picture of the token and its
        // successor, not by what another request finished in between.
        let columns: Vec<String> = REFRESH_COLUMNS
            .split(", ")
            .map(|column| format!("presented.{column} AS {column}"))
            .collect();
        let sql = format!(
            "SELECT {}, presented.rotated_at AS rotated_at, presented.revoked_at AS revoked_at, \
             successor.rotated_at AS successor_rotated_at, \
             successor.revoked_at AS successor_revoked_at, \
             successor.token_hash AS successor_found \
             FROM refresh_tokens presented \
             LEFT JOIN refresh_tokens successor \
             ON successor.token_hash = presented.successor_hash \
             WHERE presented.token_hash = $1",
            columns.join(", ")
        );
        let row = sqlx::query(&sql)
            .bind(token_hash.to_vec())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        let Some(row) = row else { return Ok(None) };

        let rotated: Option<i64> = row.try_get("rotated_at").map_err(map_err)?;
        let revoked: Option<i64> = row.try_get("revoked_at").map_err(map_err)?;
        let successor_found: Option<Vec<u8>> = row.try_get("successor_found").map_err(map_err)?;
        let successor_rotated: Option<i64> =
            row.try_get("successor_rotated_at").map_err(map_err)?;
        let successor_revoked: Option<i64> =
            row.try_get("successor_revoked_at").map_err(map_err)?;
        let state = match (revoked, rotated) {
            (Some(_), _) => RefreshState::Revoked,
            (None, None) => RefreshState::Live,
            (None, Some(at)) => RefreshState::Rotated {
                at,
                successor_live: successor_found.is_some()
                    && successor_rotated.is_none()
                    && successor_revoked.is_none(),
            },
        };
        Ok(Some((refresh_from_row(&row)?, state)))
    }

    async fn rotate_refresh_token(
        &self,
        presented_hash: &[u8],
        successor: &RefreshRecord,
        access: &TokenRecord,
        now: UnixTime,
    ) -> StoreResult<RefreshRotation> {
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        let rotated = sqlx::query(
            "UPDATE refresh_tokens SET rotated_at = $1, successor_hash = $2 \
             WHERE token_hash = $3 AND rotated_at IS NULL AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(successor.token_hash.clone())
        .bind(presented_hash.to_vec())
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected()
            > 0;
        let sql = format!("SELECT {REFRESH_COLUMNS} FROM refresh_tokens WHERE token_hash = $1");
        let row = sqlx::query(&sql)
            .bind(presented_hash.to_vec())
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?;
        let Some(row) = row else {
            tx.rollback().await.map_err(map_err)?;
            return Ok(RefreshRotation::Unknown);
        };
        let presented = refresh_from_row(&row)?;
        if !rotated {
            tx.rollback().await.map_err(map_err)?;
            return Ok(RefreshRotation::AlreadySpent(presented));
        }

        insert_refresh(&mut tx, successor).await?;
        insert_tokens(&mut tx, std::slice::from_ref(access)).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(RefreshRotation::Rotated(presented))
    }

    async fn revoke_grant(&self, grant_id: &str, now: UnixTime) -> StoreResult<Vec<String>> {
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = $1 WHERE grant_id = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(grant_id)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let rows = sqlx::query("SELECT jti FROM tokens WHERE grant_id = $1 AND revoked_at IS NULL")
            .bind(grant_id)
            .fetch_all(&mut *tx)
            .await
            .map_err(map_err)?;
        let jtis: Vec<String> =
            rows.iter().map(|r| r.try_get("jti")).collect::<Result<_, _>>().map_err(map_err)?;
        sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE grant_id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(grant_id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        for jti in &jtis {
            record_change(&mut tx, "token_revoked", jti, now).await?;
        }
        revoke_successors_of_racing_rotations(&mut tx, "grant_id = $2", &[grant_id], now).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(jtis)
    }

    async fn revoke_user_grants(
        &self,
        user_id: &str,
        client_id: &str,
        now: UnixTime,
    ) -> StoreResult<Vec<String>> {
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        sqlx::query(
            "UPDATE refresh_tokens SET revoked_at = $1 \
             WHERE user_id = $2 AND client_id = $3 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(user_id)
        .bind(client_id)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        // User grants are the tokens with a grant id; the subject is the user's id.
        let rows = sqlx::query(
            "SELECT jti FROM tokens WHERE subject = $1 AND client_id = $2 \
             AND grant_id IS NOT NULL AND revoked_at IS NULL",
        )
        .bind(user_id)
        .bind(client_id)
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?;
        let jtis: Vec<String> =
            rows.iter().map(|r| r.try_get("jti")).collect::<Result<_, _>>().map_err(map_err)?;
        sqlx::query(
            "UPDATE tokens SET revoked_at = $1 WHERE subject = $2 AND client_id = $3 \
             AND grant_id IS NOT NULL AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(user_id)
        .bind(client_id)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        for jti in &jtis {
            record_change(&mut tx, "token_revoked", jti, now).await?;
        }
        let family = "user_id = $2 AND client_id = $3";
        revoke_successors_of_racing_rotations(&mut tx, family, &[user_id, client_id], now).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(jtis)
    }
}

/// The last statement of a family revocation. On PostgreSQL (READ COMMITTED) the first update
/// of the family waited for any rotation holding a row lock on it, but could not see the
/// successor that rotation inserted: each statement sees only what was committed when it began.
/// By now the rotation has committed, so this statement sees and revokes its successor, and a
/// rotation racing the revocation cannot leave a live token behind.
async fn revoke_successors_of_racing_rotations(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    family: &str,
    binds: &[&str],
    now: UnixTime,
) -> StoreResult<()> {
    let sql =
        format!("UPDATE refresh_tokens SET revoked_at = $1 WHERE {family} AND revoked_at IS NULL");
    let mut query = sqlx::query(&sql).bind(now);
    for value in binds {
        query = query.bind(*value);
    }
    query.execute(&mut **tx).await.map_err(map_err)?;
    Ok(())
}
