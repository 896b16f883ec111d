//! The clients table.

use std::str::FromStr;

use portcullis_core::client::{
    parse_wire_list, Client, ClientId, ClientPermission, ClientStatus, ClientType, PreviousSecret,
    TokenAuthMethod,
};
use portcullis_core::keys::SigningAlgorithm;
use portcullis_core::redirect_uri::RedirectUri;
use portcullis_core::scope::ScopeSet;
use portcullis_core::store::{ClientStore, StoreResult};
use portcullis_core::UnixTime;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{corrupt, map_err, record_change, SqlStore};

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

const CLIENT_COLUMNS: &str = "id, name, client_type, grant_types, allowed_scopes, redirect_uris, \
    auth_method, access_token_lifetime, refresh_token_lifetime, lifetime_policy, status, \
    permissions, secret_hash, created_at, updated_at, post_logout_redirect_uris, \
    id_token_signing_alg";

/// The columns read with a client but never written by `insert_client` (a new client has no
/// previous secret).
const PREVIOUS_SECRET_COLUMNS: &str = "previous_secret_hash, previous_secret_until, \
    previous_secret_last_used_at, previous_secret_last_used_ip";

fn previous_secret_from_row(row: &AnyRow) -> StoreResult<Option<PreviousSecret>> {
    let hash: Option<Vec<u8>> = row.try_get("previous_secret_hash").map_err(map_err)?;
    let until: Option<i64> = row.try_get("previous_secret_until").map_err(map_err)?;
    let (Some(hash), Some(valid_until)) = (hash, until) else { return Ok(None) };
    Ok(Some(PreviousSecret {
        hash,
        valid_until,
        last_used_at: row.try_get("previous_secret_last_used_at").map_err(map_err)?,
        last_used_ip: row.try_get("previous_secret_last_used_ip").map_err(map_err)?,
    }))
}

fn client_from_row(row: &AnyRow) -> StoreResult<Client> {
    let text = |col: &str| row.try_get::<String, _>(col).map_err(map_err);
    let int = |col: &str| row.try_get::<i64, _>(col).map_err(map_err);
    let lifetime = |col: &str| int(col).and_then(|v| u32::try_from(v).map_err(corrupt));

    let uris = |col: &str| -> StoreResult<Vec<RedirectUri>> {
        let list: Vec<String> = serde_json::from_str(&text(col)?).map_err(corrupt)?;
        list.iter().map(|u| RedirectUri::parse(u)).collect::<Result<_, _>>().map_err(corrupt)
    };
    let redirect_uris = uris("redirect_uris")?;
    let post_logout_redirect_uris = uris("post_logout_redirect_uris")?;
    let lifetime_policy = row
        .try_get::<Option<String>, _>("lifetime_policy")
        .map_err(map_err)?
        .map(|json| serde_json::from_str(&json))
        .transpose()
        .map_err(corrupt)?;

    Ok(Client {
        id: ClientId::parse(&text("id")?).ok_or_else(|| corrupt("client id"))?,
        name: text("name")?,
        client_type: ClientType::from_str(&text("client_type")?).map_err(corrupt)?,
        grant_types: parse_wire_list(&text("grant_types")?).map_err(corrupt)?,
        allowed_scopes: ScopeSet::parse_list(&text("allowed_scopes")?).map_err(corrupt)?,
        redirect_uris,
        post_logout_redirect_uris,
        auth_method: TokenAuthMethod::from_str(&text("auth_method")?).map_err(corrupt)?,
        id_token_signing_alg: row
            .try_get::<Option<String>, _>("id_token_signing_alg")
            .map_err(map_err)?
            .map(|alg| SigningAlgorithm::from_str(&alg))
            .transpose()
            .map_err(corrupt)?,
        access_token_lifetime: lifetime("access_token_lifetime")?,
        refresh_token_lifetime: lifetime("refresh_token_lifetime")?,
        lifetime_policy,
        status: ClientStatus::from_str(&text("status")?).map_err(corrupt)?,
        permissions: parse_wire_list(&text("permissions")?).map_err(corrupt)?,
        secret_hash: row.try_get("secret_hash").map_err(map_err)?,
        previous_secret: previous_secret_from_row(row)?,
        created_at: int("created_at")?,
        updated_at: int("updated_at")?,
    })
}

fn wire_list<T: std::fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    items.into_iter().map(|i| i.to_string()).collect::<Vec<_>>().join(" ")
}

impl SqlStore {
    /// Runs one statement on a client and records the change, in one transaction.
    async fn update_client(
        &self,
        id: &ClientId,
        now: UnixTime,
        query: AnyQuery<'_>,
    ) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        let changed = query.execute(&mut *tx).await.map_err(map_err)?.rows_affected() > 0;
        if changed {
            record_change(&mut tx, "client", id.as_str(), now).await?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(changed)
    }

    /// Moves a pending client to `to`: false when it was no longer pending (another decision
    /// came first), so two admins deciding at once cannot both succeed.
    pub async fn decide_pending_client(
        &self,
        id: &ClientId,
        to: ClientStatus,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let sql = "UPDATE clients SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4";
        let query = sqlx::query(sql)
            .bind(to.as_str())
            .bind(now)
            .bind(id.as_str())
            .bind(ClientStatus::Pending.as_str());
        self.update_client(id, now, query).await
    }
}

impl ClientStore for SqlStore {
    async fn list_clients(&self) -> StoreResult<Vec<Client>> {
        let sql = format!(
            "SELECT {CLIENT_COLUMNS}, {PREVIOUS_SECRET_COLUMNS} FROM clients ORDER BY created_at, id"
        );
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await.map_err(map_err)?;
        rows.iter().map(client_from_row).collect()
    }

    async fn get_client(&self, id: &ClientId) -> StoreResult<Option<Client>> {
        let sql = format!(
            "SELECT {CLIENT_COLUMNS}, {PREVIOUS_SECRET_COLUMNS} FROM clients WHERE id = $1"
        );
        let row = sqlx::query(&sql)
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(client_from_row).transpose()
    }

    async fn insert_client(&self, client: &Client) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        insert_client_in(&mut tx, client).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn set_client_status(
        &self,
        id: &ClientId,
        status: ClientStatus,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let sql = "UPDATE clients SET status = $1, updated_at = $2 WHERE id = $3";
        let query = sqlx::query(sql).bind(status.as_str()).bind(now).bind(id.as_str());
        self.update_client(id, now, query).await
    }

    async fn update_client_settings(&self, client: &Client, now: UnixTime) -> StoreResult<bool> {
        let redirect_uris: Vec<&str> = client.redirect_uris.iter().map(|u| u.as_str()).collect();
        let post_logout: Vec<&str> =
            client.post_logout_redirect_uris.iter().map(|u| u.as_str()).collect();
        let policy = client
            .lifetime_policy
            .as_ref()
            .map(serde_json::to_string)
            .transpose()
            .map_err(corrupt)?;
        let sql = "UPDATE clients SET name = $1, grant_types = $2, allowed_scopes = $3, \
                   redirect_uris = $4, post_logout_redirect_uris = $5, id_token_signing_alg = $6, \
                   access_token_lifetime = $7, refresh_token_lifetime = $8, lifetime_policy = $9, \
                   updated_at = $10 WHERE id = $11";
        let query = sqlx::query(sql)
            .bind(client.name.clone())
            .bind(wire_list(&client.grant_types))
            .bind(client.allowed_scopes.to_wire())
            .bind(serde_json::to_string(&redirect_uris).map_err(corrupt)?)
            .bind(serde_json::to_string(&post_logout).map_err(corrupt)?)
            .bind(client.id_token_signing_alg.map(|alg| alg.as_str()))
            .bind(i64::from(client.access_token_lifetime))
            .bind(i64::from(client.refresh_token_lifetime))
            .bind(policy)
            .bind(now)
            .bind(client.id.as_str());
        self.update_client(&client.id, now, query).await
    }

    async fn set_client_scopes(
        &self,
        id: &ClientId,
        scopes: &ScopeSet,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let sql = "UPDATE clients SET allowed_scopes = $1, updated_at = $2 WHERE id = $3";
        let query = sqlx::query(sql).bind(scopes.to_wire()).bind(now).bind(id.as_str());
        self.update_client(id, now, query).await
    }

    async fn set_client_secret_hash(
        &self,
        id: &ClientId,
        hash: &[u8],
        previous_until: Option<UnixTime>,
        now: UnixTime,
    ) -> StoreResult<bool> {
        // The current hash becomes the previous one (with its deadline), or is dropped.
        let sql = "UPDATE clients SET \
                   previous_secret_hash = CASE WHEN $1 IS NULL THEN NULL ELSE secret_hash END, \
                   previous_secret_until = $1, previous_secret_last_used_at = NULL, \
                   previous_secret_last_used_ip = NULL, secret_hash = $2, updated_at = $3 \
                   WHERE id = $4 AND secret_hash IS NOT NULL";
        let query =
            sqlx::query(sql).bind(previous_until).bind(hash.to_vec()).bind(now).bind(id.as_str());
        self.update_client(id, now, query).await
    }

    async fn note_previous_secret_use(
        &self,
        id: &ClientId,
        at: UnixTime,
        ip: Option<&str>,
    ) -> StoreResult<()> {
        let sql = "UPDATE clients SET previous_secret_last_used_at = $1, \
                   previous_secret_last_used_ip = $2 WHERE id = $3 AND previous_secret_hash IS NOT NULL";
        let query = sqlx::query(sql).bind(at).bind(ip).bind(id.as_str());
        self.update_client(id, at, query).await.map(|_| ())
    }

    async fn set_client_permission(
        &self,
        id: &ClientId,
        permission: ClientPermission,
        granted: bool,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let Some(client) = self.get_client(id).await? else { return Ok(false) };
        let mut permissions = client.permissions;
        if granted {
            permissions.insert(permission);
        } else {
            permissions.remove(&permission);
        }
        let permissions = wire_list(&permissions);
        let sql = "UPDATE clients SET permissions = $1, updated_at = $2 WHERE id = $3";
        let query = sqlx::query(sql).bind(permissions).bind(now).bind(id.as_str());
        self.update_client(id, now, query).await
    }

    async fn delete_client(&self, id: &ClientId) -> StoreResult<bool> {
        let now = crate::unix_now();
        let query = sqlx::query("DELETE FROM clients WHERE id = $1").bind(id.as_str());
        self.update_client(id, now, query).await
    }
}

/// Inserts a client (and its change-feed row) inside the caller's transaction.
pub(crate) async fn insert_client_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    client: &Client,
) -> StoreResult<()> {
    let redirect_uris: Vec<&str> = client.redirect_uris.iter().map(|u| u.as_str()).collect();
    let post_logout: Vec<&str> =
        client.post_logout_redirect_uris.iter().map(|u| u.as_str()).collect();
    let policy =
        client.lifetime_policy.as_ref().map(serde_json::to_string).transpose().map_err(corrupt)?;
    let sql = format!(
        "INSERT INTO clients ({CLIENT_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
    );
    sqlx::query(&sql)
        .bind(client.id.as_str())
        .bind(&client.name)
        .bind(client.client_type.as_str())
        .bind(wire_list(&client.grant_types))
        .bind(client.allowed_scopes.to_wire())
        .bind(serde_json::to_string(&redirect_uris).map_err(corrupt)?)
        .bind(client.auth_method.as_str())
        .bind(i64::from(client.access_token_lifetime))
        .bind(i64::from(client.refresh_token_lifetime))
        .bind(policy)
        .bind(client.status.as_str())
        .bind(wire_list(&client.permissions))
        .bind(client.secret_hash.clone())
        .bind(client.created_at)
        .bind(client.updated_at)
        .bind(serde_json::to_string(&post_logout).map_err(corrupt)?)
        .bind(client.id_token_signing_alg.map(|alg| alg.as_str()))
        .execute(&mut **tx)
        .await
        .map_err(map_err)?;
    record_change(tx, "client", client.id.as_str(), client.updated_at).await
}
