//! The admins table and the hash-chained audit log.

use std::collections::BTreeSet;

use portcullis_core::admin::{Admin, AdminPermission};
use portcullis_core::audit::{AuditEntry, NewAuditEntry, GENESIS};
use portcullis_core::client::parse_wire_list;
use portcullis_core::store::{AdminStore, AuditFilter, AuditStore, StoreError, StoreResult};
use portcullis_core::UnixTime;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{corrupt, map_err, Backend, SqlStore};

const ADMIN_COLUMNS: &str = "id, email, password_hash, permissions, created_at, updated_at";
/// Read with an admin, written only by the second-factor methods.
const TOTP_COLUMNS: &str = "totp_sealed, totp_last_step";
const AUDIT_COLUMNS: &str = "id, at, actor, action, target, source_ip, details, prev_hash, hash";
/// The `meta` key holding the hash of the last pruned entry, where the chain now starts.
const AUDIT_ANCHOR: &str = "audit_anchor";
/// PostgreSQL advisory lock that orders appends from every instance ("AUDIT" in ASCII).
const AUDIT_APPEND_LOCK: i64 = 0x0041_5544_4954;
/// PostgreSQL advisory lock that puts changes to admins' permissions in line, so two
/// concurrent demotions cannot both see the other as the remaining manager ("ADMIN" in ASCII).
const ADMIN_MANAGERS_LOCK: i64 = 0x0041_444D_494E;

fn admin_from_row(row: &AnyRow) -> StoreResult<Admin> {
    let permissions: String = row.try_get("permissions").map_err(map_err)?;
    Ok(Admin {
        id: row.try_get("id").map_err(map_err)?,
        email: row.try_get("email").map_err(map_err)?,
        password_hash: row.try_get("password_hash").map_err(map_err)?,
        permissions: parse_wire_list(&permissions).map_err(corrupt)?,
        totp_sealed: row.try_get("totp_sealed").map_err(map_err)?,
        totp_last_step: row.try_get("totp_last_step").map_err(map_err)?,
        created_at: row.try_get("created_at").map_err(map_err)?,
        updated_at: row.try_get("updated_at").map_err(map_err)?,
    })
}

fn audit_from_row(row: &AnyRow) -> StoreResult<AuditEntry> {
    Ok(AuditEntry {
        id: row.try_get("id").map_err(map_err)?,
        at: row.try_get("at").map_err(map_err)?,
        actor: row.try_get("actor").map_err(map_err)?,
        action: row.try_get("action").map_err(map_err)?,
        target: row.try_get("target").map_err(map_err)?,
        source_ip: row.try_get("source_ip").map_err(map_err)?,
        details: row.try_get("details").map_err(map_err)?,
        prev_hash: row.try_get("prev_hash").map_err(map_err)?,
        hash: row.try_get("hash").map_err(map_err)?,
    })
}

fn wire(permissions: &BTreeSet<AdminPermission>) -> String {
    permissions.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(" ")
}

/// Admins other than `except` who hold `admin:admins`, inside a transaction.
/// How many admins other than `except` hold `admin:admins`. Serialises with every other
/// caller until the transaction ends: SQLite has one writer already, PostgreSQL takes a lock
/// (at READ COMMITTED two transactions would otherwise each count the other).
async fn other_admin_managers(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: Backend,
    except: &str,
) -> StoreResult<usize> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(ADMIN_MANAGERS_LOCK)
            .execute(&mut **tx)
            .await
            .map_err(map_err)?;
    }
    let rows = sqlx::query("SELECT permissions FROM admins WHERE id <> $1")
        .bind(except)
        .fetch_all(&mut **tx)
        .await
        .map_err(map_err)?;
    let mut managers = 0;
    for row in rows {
        let permissions: String = row.try_get("permissions").map_err(map_err)?;
        if permissions.split(' ').any(|p| p == AdminPermission::Admins.as_str()) {
            managers += 1;
        }
    }
    Ok(managers)
}

fn last_admin_manager() -> StoreError {
    StoreError::Conflict(
        "this is the last admin who may manage admins: give another admin admin:admins first"
            .into(),
    )
}

impl AdminStore for SqlStore {
    async fn insert_admin(&self, admin: &Admin) -> StoreResult<()> {
        let sql = format!("INSERT INTO admins ({ADMIN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)");
        sqlx::query(&sql)
            .bind(&admin.id)
            .bind(&admin.email)
            .bind(&admin.password_hash)
            .bind(wire(&admin.permissions))
            .bind(admin.created_at)
            .bind(admin.updated_at)
            .execute(&self.writer)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn get_admin(&self, id: &str) -> StoreResult<Option<Admin>> {
        let sql = format!("SELECT {ADMIN_COLUMNS}, {TOTP_COLUMNS} FROM admins WHERE id = $1");
        let row = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await.map_err(map_err)?;
        row.as_ref().map(admin_from_row).transpose()
    }

    async fn find_admin(&self, email: &str) -> StoreResult<Option<Admin>> {
        let sql = format!("SELECT {ADMIN_COLUMNS}, {TOTP_COLUMNS} FROM admins WHERE email = $1");
        let row =
            sqlx::query(&sql).bind(email).fetch_optional(&self.pool).await.map_err(map_err)?;
        row.as_ref().map(admin_from_row).transpose()
    }

    async fn list_admins(&self) -> StoreResult<Vec<Admin>> {
        let sql = format!(
            "SELECT {ADMIN_COLUMNS}, {TOTP_COLUMNS} FROM admins ORDER BY created_at, email"
        );
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await.map_err(map_err)?;
        rows.iter().map(admin_from_row).collect()
    }

    async fn set_admin_permissions(
        &self,
        id: &str,
        permissions: &BTreeSet<AdminPermission>,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        if !permissions.contains(&AdminPermission::Admins)
            && other_admin_managers(&mut tx, self.backend, id).await? == 0
        {
            return Err(last_admin_manager());
        }
        let changed =
            sqlx::query("UPDATE admins SET permissions = $1, updated_at = $2 WHERE id = $3")
                .bind(wire(permissions))
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?
                .rows_affected()
                > 0;
        tx.commit().await.map_err(map_err)?;
        Ok(changed)
    }

    async fn set_admin_totp(
        &self,
        id: &str,
        sealed: Option<&[u8]>,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let changed = sqlx::query(
            "UPDATE admins SET totp_sealed = $1, totp_last_step = NULL, updated_at = $2 \
             WHERE id = $3",
        )
        .bind(sealed.map(<[u8]>::to_vec))
        .bind(now)
        .bind(id)
        .execute(&self.writer)
        .await
        .map_err(map_err)?
        .rows_affected()
            > 0;
        Ok(changed)
    }

    async fn use_totp_step(&self, id: &str, step: i64) -> StoreResult<bool> {
        // Conditional: of two sign-ins racing with the same code, one wins.
        let used = sqlx::query(
            "UPDATE admins SET totp_last_step = $1 \
             WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
        )
        .bind(step)
        .bind(id)
        .execute(&self.writer)
        .await
        .map_err(map_err)?
        .rows_affected()
            > 0;
        Ok(used)
    }

    async fn delete_admin(&self, id: &str) -> StoreResult<bool> {
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        if other_admin_managers(&mut tx, self.backend, id).await? == 0 {
            return Err(last_admin_manager());
        }
        let deleted = sqlx::query("DELETE FROM admins WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?
            .rows_affected()
            > 0;
        tx.commit().await.map_err(map_err)?;
        Ok(deleted)
    }
}

impl SqlStore {
    /// The hash the remaining chain starts from. Takes the connection to use, so an append
    /// reads it inside its own transaction (holding the append lock, it must not wait for a
    /// second connection).
    async fn audit_anchor(&self, conn: &mut sqlx::AnyConnection) -> StoreResult<Vec<u8>> {
        let row = sqlx::query("SELECT value FROM meta WHERE key = $1")
            .bind(AUDIT_ANCHOR)
            .fetch_optional(&mut *conn)
            .await
            .map_err(map_err)?;
        match row {
            None => Ok(GENESIS.to_vec()),
            Some(row) => {
                let hex: String = row.try_get("value").map_err(map_err)?;
                decode_hex(&hex).ok_or_else(|| corrupt("audit anchor"))
            }
        }
    }

    async fn append(&self, entry: &NewAuditEntry) -> StoreResult<AuditEntry> {
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        // Each entry links to the one before, so appends must not interleave. SQLite has one
        // writer already; on PostgreSQL several instances append, and a transaction-scoped
        // advisory lock puts them in line (released at commit).
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(AUDIT_APPEND_LOCK)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        let last = sqlx::query("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1")
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?;
        let (id, prev_hash) = match last {
            Some(row) => (
                row.try_get::<i64, _>("id").map_err(map_err)? + 1,
                row.try_get::<Vec<u8>, _>("hash").map_err(map_err)?,
            ),
            None => (1, self.audit_anchor(&mut tx).await?),
        };
        let mut recorded = AuditEntry {
            id,
            at: entry.at,
            actor: entry.actor.clone(),
            action: entry.action.clone(),
            target: entry.target.clone(),
            source_ip: entry.source_ip.clone(),
            details: entry.details.to_string(),
            prev_hash,
            hash: Vec::new(),
        };
        recorded.hash = recorded.link_hash();
        let sql = format!(
            "INSERT INTO audit_log ({AUDIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        );
        sqlx::query(&sql)
            .bind(recorded.id)
            .bind(recorded.at)
            .bind(&recorded.actor)
            .bind(&recorded.action)
            .bind(&recorded.target)
            .bind(recorded.source_ip.as_deref())
            .bind(&recorded.details)
            .bind(recorded.prev_hash.clone())
            .bind(recorded.hash.clone())
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(recorded)
    }
}

impl AuditStore for SqlStore {
    async fn append_audit(&self, entry: &NewAuditEntry) -> StoreResult<AuditEntry> {
        self.append(entry).await
    }

    async fn list_audit(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditEntry>> {
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log \
             WHERE ($1 IS NULL OR actor = $1) AND ($2 IS NULL OR action = $2) \
             AND ($3 IS NULL OR target = $3) AND ($4 IS NULL OR at >= $4) \
             AND ($5 IS NULL OR at <= $5) ORDER BY id DESC LIMIT $6"
        );
        let rows = sqlx::query(&sql)
            .bind(filter.actor.as_deref())
            .bind(filter.action.as_deref())
            .bind(filter.target.as_deref())
            .bind(filter.from)
            .bind(filter.to)
            .bind(i64::from(filter.limit.unwrap_or(1_000)))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(audit_from_row).collect()
    }

    async fn prune_audit(&self, before: UnixTime) -> StoreResult<u64> {
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        // Appends and prunes take turns, so the anchor is always the entry right before the
        // first one kept.
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(AUDIT_APPEND_LOCK)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        let last =
            sqlx::query("SELECT id, hash FROM audit_log WHERE at < $1 ORDER BY id DESC LIMIT 1")
                .bind(before)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
        let Some(last) = last else { return Ok(0) };
        let id: i64 = last.try_get("id").map_err(map_err)?;
        let hash: Vec<u8> = last.try_get("hash").map_err(map_err)?;
        let deleted = sqlx::query("DELETE FROM audit_log WHERE id <= $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?
            .rows_affected();
        let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        sqlx::query(
            "INSERT INTO meta (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(AUDIT_ANCHOR)
        .bind(hex)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(deleted)
    }

    async fn audit_chain(&self) -> StoreResult<(Vec<u8>, Vec<AuditEntry>)> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        let anchor = self.audit_anchor(&mut conn).await?;
        let sql = format!("SELECT {AUDIT_COLUMNS} FROM audit_log ORDER BY id");
        let rows = sqlx::query(&sql).fetch_all(&mut *conn).await.map_err(map_err)?;
        Ok((anchor, rows.iter().map(audit_from_row).collect::<StoreResult<_>>()?))
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|i| text.get(i..i + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok()))
        .collect()
}
