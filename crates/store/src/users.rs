//! The users table.

use std::str::FromStr;

use portcullis_core::store::{StoreResult, UserStore};
use portcullis_core::user::{User, UserStatus};
use portcullis_core::UnixTime;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::{corrupt, map_err, SqlStore};

const USER_COLUMNS: &str =
    "id, username, email, name, password_hash, status, created_at, updated_at";

fn user_from_row(row: &AnyRow) -> StoreResult<User> {
    let status: String = row.try_get("status").map_err(map_err)?;
    Ok(User {
        id: row.try_get("id").map_err(map_err)?,
        username: row.try_get("username").map_err(map_err)?,
        email: row.try_get("email").map_err(map_err)?,
        name: row.try_get("name").map_err(map_err)?,
        password_hash: row.try_get("password_hash").map_err(map_err)?,
        status: UserStatus::from_str(&status).map_err(corrupt)?,
        created_at: row.try_get("created_at").map_err(map_err)?,
        updated_at: row.try_get("updated_at").map_err(map_err)?,
    })
}

impl UserStore for SqlStore {
    async fn insert_user(&self, user: &User) -> StoreResult<()> {
        let sql =
            format!("INSERT INTO users ({USER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)");
        sqlx::query(&sql)
            .bind(&user.id)
            .bind(&user.username)
            .bind(user.email.as_deref())
            .bind(user.name.as_deref())
            .bind(&user.password_hash)
            .bind(user.status.as_str())
            .bind(user.created_at)
            .bind(user.updated_at)
            .execute(&self.writer)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn get_user(&self, id: &str) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        let row = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await.map_err(map_err)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn find_user(&self, username: &str) -> StoreResult<Option<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username = $1");
        let row =
            sqlx::query(&sql).bind(username).fetch_optional(&self.pool).await.map_err(map_err)?;
        row.as_ref().map(user_from_row).transpose()
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY username");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await.map_err(map_err)?;
        rows.iter().map(user_from_row).collect()
    }

    async fn set_user_status(
        &self,
        id: &str,
        status: UserStatus,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let result = sqlx::query("UPDATE users SET status = $1, updated_at = $2 WHERE id = $3")
            .bind(status.as_str())
            .bind(now)
            .bind(id)
            .execute(&self.writer)
            .await
            .map_err(map_err)?;
        Ok(result.rows_affected() > 0)
    }

    async fn set_user_password(&self, id: &str, hash: &str, now: UnixTime) -> StoreResult<bool> {
        let result =
            sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
                .bind(hash)
                .bind(now)
                .bind(id)
                .execute(&self.writer)
                .await
                .map_err(map_err)?;
        Ok(result.rows_affected() > 0)
    }
}
