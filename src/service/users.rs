//! End-user accounts: create, list, disable, reset. Passwords are hashed with argon2id on a
//! blocking thread, never on the async executor.

use portcullis_core::password::{hash_password, verify_password};
use portcullis_core::secret::random_id;
use portcullis_core::store::{ConsentStore, GrantStore, UserStore};
use portcullis_core::user::{valid_username, User, UserStatus};

use super::{Operator, ServiceError, ServiceResult};
use crate::clock::unix_now;

/// What creating a user states; the password arrives separately (from stdin, never a flag).
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub email: Option<String>,
    pub name: Option<String>,
}

/// Runs argon2id off the async executor.
pub async fn hash_off_executor(password: String) -> ServiceResult<String> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| ServiceError::Invalid(format!("password hashing stopped: {e}")))?
        .map_err(|e| ServiceError::Invalid(e.to_string()))
}

/// Checks a password off the async executor; `stored` is `None` for an unknown user, which
/// costs the same as a wrong password.
pub async fn verify_off_executor(password: String, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || verify_password(&password, stored.as_deref()))
        .await
        .unwrap_or(false)
}

impl Operator {
    pub async fn create_user(&self, new: NewUser, password: String) -> ServiceResult<User> {
        if !valid_username(&new.username) {
            return Err(ServiceError::Invalid(
                "usernames are 1-64 characters of a-z, 0-9, '.', '_', '-' and '@'".into(),
            ));
        }
        if self.store.find_user(&new.username).await?.is_some() {
            return Err(ServiceError::Invalid(format!("user {} already exists", new.username)));
        }
        let now = unix_now();
        let user = User {
            id: random_id(),
            username: new.username,
            email: new.email.filter(|e| !e.trim().is_empty()),
            name: new.name.filter(|n| !n.trim().is_empty()),
            password_hash: hash_off_executor(password).await?,
            status: UserStatus::Active,
            created_at: now,
            updated_at: now,
        };
        self.store.insert_user(&user).await?;
        self.audit("user.create", format!("user:{}", user.username), serde_json::json!({})).await?;
        Ok(user)
    }

    pub async fn user(&self, username: &str) -> ServiceResult<User> {
        self.store
            .find_user(username)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("user {username}")))
    }

    pub async fn users(&self) -> ServiceResult<Vec<User>> {
        Ok(self.store.list_users().await?)
    }

    pub async fn set_user_status(&self, username: &str, status: UserStatus) -> ServiceResult<User> {
        let user = self.user(username).await?;
        self.store.set_user_status(&user.id, status, unix_now()).await?;
        let details = serde_json::json!({ "from": user.status, "to": status });
        self.audit("user.status", format!("user:{username}"), details).await?;
        self.user(username).await
    }

    pub async fn reset_password(&self, username: &str, password: String) -> ServiceResult<()> {
        let user = self.user(username).await?;
        let hash = hash_off_executor(password).await?;
        self.store.set_user_password(&user.id, &hash, unix_now()).await?;
        self.audit("user.password.reset", format!("user:{username}"), serde_json::json!({}))
            .await?;
        Ok(())
    }
}

impl Operator {
    /// Withdraws a user's consent to a client and revokes every grant it gave (refresh and
    /// access tokens, SECURITY.md D-10); returns the revoked access tokens' jtis for the
    /// caller's caches. Used by the user's own account page and by admins. Audited.
    pub async fn withdraw_consent(
        &self,
        user: &User,
        client_id: &str,
    ) -> ServiceResult<Vec<String>> {
        self.store.forget_consent(&user.id, client_id).await?;
        let jtis = self.store.revoke_user_grants(&user.id, client_id, unix_now()).await?;
        let details =
            serde_json::json!({ "client_id": client_id, "revoked_access_tokens": jtis.len() });
        self.audit("consent.withdraw", format!("user:{}", user.username), details).await?;
        Ok(jtis)
    }

    /// A user's remembered consents: (client id, scopes, granted at).
    pub async fn consents_of(&self, user: &User) -> ServiceResult<Vec<(String, String, i64)>> {
        Ok(self.store.list_consents(&user.id).await?)
    }
}
