//! The tokens table: every issued access token, for revocation, introspection and analytics.

use std::str::FromStr;

use portcullis_core::client::GrantType;
use portcullis_core::store::{
    StoreResult, TokenCount, TokenRecord, TokenSelection, TokenState, TokenStore,
};
use portcullis_core::UnixTime;
use sqlx::Row;

use crate::{corrupt, map_err, record_change, SqlStore};

const TOKEN_COLUMNS: usize = 8;

/// Inserts token records on `conn`, in one statement; the grant paths call it inside the
/// transaction that spends their code or refresh token.
pub(crate) async fn insert_tokens(
    conn: &mut sqlx::AnyConnection,
    tokens: &[TokenRecord],
) -> StoreResult<()> {
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
        let params: Vec<String> = (1..=TOKEN_COLUMNS).map(|c| format!("${}", base + c)).collect();
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
    query.execute(conn).await.map_err(map_err)?;
    Ok(())
}

impl TokenStore for SqlStore {
    async fn record_tokens(&self, tokens: &[TokenRecord]) -> StoreResult<()> {
        let mut conn = self.writer.acquire().await.map_err(map_err)?;
        insert_tokens(&mut conn, tokens).await
    }

    async fn get_token(&self, jti: &str) -> StoreResult<Option<TokenState>> {
        let row = sqlx::query(
            "SELECT jti, client_id, subject, scopes, grant_type, issued_at, expires_at, \
             revoked_at, grant_id \
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

    async fn count_live_tokens(
        &self,
        selection: &TokenSelection,
        now: UnixTime,
    ) -> StoreResult<TokenCount> {
        let (access, refresh) = selection_filters(selection);
        let count = |table: &'static str, filter: &str| {
            format!("SELECT COUNT(*) AS live FROM {table} WHERE {filter}")
        };
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        let mut counts = [0u64; 2];
        for (slot, sql) in
            [count("tokens", &access), count("refresh_tokens", &refresh)].iter().enumerate()
        {
            let row = bind_selection(sqlx::query(sql).bind(now), selection)
                .fetch_one(&mut *conn)
                .await
                .map_err(map_err)?;
            counts[slot] =
                u64::try_from(row.try_get::<i64, _>("live").map_err(map_err)?).unwrap_or(0);
        }
        Ok(TokenCount { access: counts[0], refresh: counts[1] })
    }

    async fn revoke_selection(
        &self,
        selection: &TokenSelection,
        now: UnixTime,
    ) -> StoreResult<(Vec<String>, TokenCount)> {
        let (access, refresh) = selection_filters(selection);
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        let rows = bind_selection(
            sqlx::query(&format!("SELECT jti FROM tokens WHERE {access}")).bind(now),
            selection,
        )
        .fetch_all(&mut *tx)
        .await
        .map_err(map_err)?;
        let jtis: Vec<String> =
            rows.iter().map(|r| r.try_get("jti")).collect::<Result<_, _>>().map_err(map_err)?;
        // `$1` is the time in both statements: alive after it, revoked at it.
        let revoke_access = format!("UPDATE tokens SET revoked_at = $1 WHERE {access}");
        bind_selection(sqlx::query(&revoke_access).bind(now), selection)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let revoke_refresh = format!("UPDATE refresh_tokens SET revoked_at = $1 WHERE {refresh}");
        let refreshed = bind_selection(sqlx::query(&revoke_refresh).bind(now), selection)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?
            .rows_affected();
        // FIXME(bulk-feed): one change row per revoked token keeps other instances' caches exact
        // but makes a revocation of a very busy client write as many rows as it has live
        // tokens; a single "client's tokens revoked at T" change needs the caches to check
        // issue times, which comes with the multi-instance work.
        for jti in &jtis {
            record_change(&mut tx, "token_revoked", jti, now).await?;
        }
        tx.commit().await.map_err(map_err)?;
        let count = TokenCount { access: jtis.len() as u64, refresh: refreshed };
        Ok((jtis, count))
    }
}

/// The WHERE clauses (access tokens, refresh tokens) of a selection: `$1` is now, the
/// selection's values follow from `$2`.
fn selection_filters(selection: &TokenSelection) -> (String, String) {
    let live_access = "revoked_at IS NULL AND expires_at > $1";
    let live_refresh = "revoked_at IS NULL AND rotated_at IS NULL AND expires_at > $1";
    let (access, refresh) = match selection {
        TokenSelection::Client(_) => ("client_id = $2", "client_id = $2"),
        TokenSelection::User(_) => ("subject = $2", "user_id = $2"),
        TokenSelection::IssuedBetween(..) => {
            ("issued_at >= $2 AND issued_at < $3", "issued_at >= $2 AND issued_at < $3")
        }
    };
    (format!("{live_access} AND {access}"), format!("{live_refresh} AND {refresh}"))
}

fn bind_selection<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    selection: &'q TokenSelection,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    match selection {
        TokenSelection::Client(id) | TokenSelection::User(id) => query.bind(id.as_str()),
        TokenSelection::IssuedBetween(from, to) => query.bind(*from).bind(*to),
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

impl SqlStore {
    /// Tokens issued per UTC day and grant type over `from_day..=to_day` (days since the epoch),
    /// for one client or all: the analytics chart's data.
    pub async fn tokens_per_day(
        &self,
        from_day: i64,
        to_day: i64,
        client_id: Option<&str>,
    ) -> StoreResult<Vec<(i64, String, u64)>> {
        let rows = sqlx::query(
            "SELECT issued_at / 86400 AS day, grant_type, COUNT(*) AS issued FROM tokens \
             WHERE issued_at >= $1 AND issued_at < $2 AND ($3 IS NULL OR client_id = $3) \
             GROUP BY issued_at / 86400, grant_type ORDER BY day, grant_type",
        )
        .bind(from_day * 86_400)
        .bind((to_day + 1) * 86_400)
        .bind(client_id)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|row| {
                let day: i64 = row.try_get("day").map_err(map_err)?;
                let grant: String = row.try_get("grant_type").map_err(map_err)?;
                let issued: i64 = row.try_get("issued").map_err(map_err)?;
                Ok((day, grant, u64::try_from(issued).unwrap_or_default()))
            })
            .collect()
    }
}

impl SqlStore {
    /// Every scope that appeared on a token of `client_id` issued at or after `since`.
    pub async fn scopes_used_by(
        &self,
        client_id: &str,
        since: UnixTime,
    ) -> StoreResult<std::collections::BTreeSet<String>> {
        let rows = sqlx::query(
            "SELECT DISTINCT scopes FROM tokens WHERE client_id = $1 AND issued_at >= $2",
        )
        .bind(client_id)
        .bind(since)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        let mut used = std::collections::BTreeSet::new();
        for row in rows {
            let scopes: String = row.try_get("scopes").map_err(map_err)?;
            used.extend(scopes.split(' ').filter(|s| !s.is_empty()).map(str::to_owned));
        }
        Ok(used)
    }
}

/// What the analytics page shows besides tokens per grant type, over a period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenActivity {
    /// (day, distinct users who got a token that day).
    pub unique_users: Vec<(i64, u64)>,
    /// (day, tokens revoked that day).
    pub revocations: Vec<(i64, u64)>,
    /// (scope, tokens that carried it), most used first.
    pub scope_usage: Vec<(String, u64)>,
}

impl SqlStore {
    /// Unique users, revocations per day and scope usage over `from_day..=to_day`, for one
    /// client or all.
    pub async fn token_activity(
        &self,
        from_day: i64,
        to_day: i64,
        client_id: Option<&str>,
    ) -> StoreResult<TokenActivity> {
        let (from, to) = (from_day * 86_400, (to_day + 1) * 86_400);
        let per_day = |rows: Vec<sqlx::any::AnyRow>| -> StoreResult<Vec<(i64, u64)>> {
            rows.iter()
                .map(|row| {
                    let day: i64 = row.try_get("day").map_err(map_err)?;
                    let n: i64 = row.try_get("n").map_err(map_err)?;
                    Ok((day, u64::try_from(n).unwrap_or_default()))
                })
                .collect()
        };
        // User tokens are those with a grant; a client's own tokens have no user.
        let users = sqlx::query(
            "SELECT issued_at / 86400 AS day, COUNT(DISTINCT subject) AS n FROM tokens \
             WHERE issued_at >= $1 AND issued_at < $2 AND grant_id IS NOT NULL \
             AND ($3 IS NULL OR client_id = $3) GROUP BY issued_at / 86400 ORDER BY day",
        )
        .bind(from)
        .bind(to)
        .bind(client_id)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        let revoked = sqlx::query(
            "SELECT revoked_at / 86400 AS day, COUNT(*) AS n FROM tokens \
             WHERE revoked_at >= $1 AND revoked_at < $2 AND ($3 IS NULL OR client_id = $3) \
             GROUP BY revoked_at / 86400 ORDER BY day",
        )
        .bind(from)
        .bind(to)
        .bind(client_id)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        let scope_rows = sqlx::query(
            "SELECT scopes, COUNT(*) AS n FROM tokens WHERE issued_at >= $1 AND issued_at < $2 \
             AND ($3 IS NULL OR client_id = $3) GROUP BY scopes",
        )
        .bind(from)
        .bind(to)
        .bind(client_id)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        let mut scopes: std::collections::BTreeMap<String, u64> = Default::default();
        for row in &scope_rows {
            let list: String = row.try_get("scopes").map_err(map_err)?;
            let n: i64 = row.try_get("n").map_err(map_err)?;
            for scope in list.split(' ').filter(|s| !s.is_empty()) {
                *scopes.entry(scope.to_owned()).or_default() +=
                    u64::try_from(n).unwrap_or_default();
            }
        }
        let mut scope_usage: Vec<(String, u64)> = scopes.into_iter().collect();
        scope_usage.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
        Ok(TokenActivity {
            unique_users: per_day(users)?,
            revocations: per_day(revoked)?,
            scope_usage,
        })
    }
}

impl SqlStore {
    /// Adds failed-authentication counts (day, client, reason, count), in one transaction.
    pub async fn add_auth_failures(&self, rows: &[(i64, String, String, u64)]) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        for (day, client, reason, count) in rows {
            sqlx::query(
                "INSERT INTO client_auth_failures (day, client_id, reason, count) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (day, client_id, reason) \
                 DO UPDATE SET count = client_auth_failures.count + excluded.count",
            )
            .bind(*day)
            .bind(client.as_str())
            .bind(reason.as_str())
            .bind(i64::try_from(*count).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)
    }

    /// Failed client authentications per reason over `from_day..=to_day`, for one client or
    /// all, most frequent first.
    pub async fn auth_failures_between(
        &self,
        from_day: i64,
        to_day: i64,
        client_id: Option<&str>,
    ) -> StoreResult<Vec<(String, u64)>> {
        let rows = sqlx::query(
            "SELECT reason, CAST(SUM(count) AS BIGINT) AS n FROM client_auth_failures \
             WHERE day >= $1 AND day <= $2 AND ($3 IS NULL OR client_id = $3) \
             GROUP BY reason ORDER BY n DESC, reason",
        )
        .bind(from_day)
        .bind(to_day)
        .bind(client_id)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|row| {
                let reason: String = row.try_get("reason").map_err(map_err)?;
                let n: i64 = row.try_get("n").map_err(map_err)?;
                Ok((reason, u64::try_from(n).unwrap_or_default()))
            })
            .collect()
    }
}
