//! API-key actions: create, status changes, rotation, usage. The CLI calls these today; the
//! admin and developer portals will call the same functions.

use portcullis_core::api_key::{ApiKey, ApiKeyRequest, ApiKeyStatus};
use portcullis_core::scope::ScopeSet;
use portcullis_core::secret::{random_id, Secret, SecretKind};
use portcullis_core::store::{ApiKeyStore, DailyKeyUsage};

use serde_json::json;

use super::{Operator, ServiceError, ServiceResult};
use crate::clock::unix_now;

/// Longest overlap a rotation may keep the old key valid for: 30 days.
pub const MAX_ROTATION_OVERLAP_HOURS: u32 = 30 * 24;
/// Longest period one usage query may span.
pub const MAX_USAGE_DAYS: i64 = 366;

/// A new key and the key itself: shown once, never stored.
#[derive(Debug)]
pub struct CreatedApiKey {
    pub key: ApiKey,
    pub secret: Secret,
}

impl Operator {
    /// Issues a key for `client_id` with the given initial status (the CLI issues active keys;
    /// partner requests arrive as pending).
    pub async fn create_api_key(
        &self,
        client_id: &str,
        request: ApiKeyRequest,
        status: ApiKeyStatus,
    ) -> ServiceResult<CreatedApiKey> {
        let owner = self.client(client_id).await?;
        let registry = self.registry().await?;
        let now = unix_now();
        let validated = request
            .validate(&owner, &registry, now)
            .map_err(|e| ServiceError::Invalid(e.to_string()))?;

        let secret = Secret::generate(SecretKind::ApiKey);
        let key = validated.into_key(
            random_id(),
            owner.id,
            status,
            ApiKey::visible_prefix(secret.expose()),
            self.hasher.hash(secret.expose()),
            now,
        );
        self.store.insert_api_key(&key).await?;
        let details = json!({
            "client_id": key.client_id,
            "name": key.name,
            "scopes": key.scopes.to_wire(),
            "rate_limit_per_minute": key.rate_limit_per_minute,
            "status": key.status,
        });
        self.audit("api_key.create", format!("api_key:{}", key.id), details).await?;
        Ok(CreatedApiKey { key, secret })
    }

    pub async fn api_key(&self, id: &str) -> ServiceResult<ApiKey> {
        self.store
            .get_api_key(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("API key {id}")))
    }

    /// Every key, or those of one client.
    pub async fn api_keys(&self, client_id: Option<&str>) -> ServiceResult<Vec<ApiKey>> {
        let client = match client_id {
            Some(id) => Some(self.client(id).await?.id),
            None => None,
        };
        Ok(self.store.list_api_keys(client.as_ref()).await?)
    }

    /// Disables, re-enables or revokes a key. Revocation is final.
    pub async fn set_api_key_status(
        &self,
        id: &str,
        status: ApiKeyStatus,
    ) -> ServiceResult<ApiKey> {
        let key = self.api_key(id).await?;
        if key.status == ApiKeyStatus::Revoked && status != ApiKeyStatus::Revoked {
            return Err(ServiceError::Invalid(format!(
                "API key {id} is revoked, which is final: issue a new key instead"
            )));
        }
        self.store.set_api_key_status(id, status, unix_now()).await?;
        let details = json!({ "from": key.status, "to": status });
        self.audit("api_key.status", format!("api_key:{id}"), details).await?;
        self.api_key(id).await
    }

    /// Issues a successor with the same owner, scopes, limits, allowlist and expiry. The old key
    /// stops working at once unless `overlap_hours` keeps it valid that long.
    pub async fn rotate_api_key(
        &self,
        id: &str,
        overlap_hours: Option<u32>,
    ) -> ServiceResult<CreatedApiKey> {
        let old = self.api_key(id).await?;
        if old.status != ApiKeyStatus::Active || old.replaced_by.is_some() {
            return Err(ServiceError::Invalid(format!(
                "API key {id} is {} and cannot be rotated: only active keys rotate, once",
                if old.replaced_by.is_some() { "already rotated" } else { old.status.as_str() }
            )));
        }
        if let Some(hours) = overlap_hours.filter(|h| *h == 0 || *h > MAX_ROTATION_OVERLAP_HOURS) {
            return Err(ServiceError::Invalid(format!(
                "the overlap must be 1 to {MAX_ROTATION_OVERLAP_HOURS} hours, got {hours}; \
                 leave it out to retire the old key at once"
            )));
        }

        let now = unix_now();
        let secret = Secret::generate(SecretKind::ApiKey);
        let successor = ApiKey {
            id: random_id(),
            key_prefix: ApiKey::visible_prefix(secret.expose()),
            key_hash: self.hasher.hash(secret.expose()),
            status: ApiKeyStatus::Active,
            created_at: now,
            updated_at: now,
            last_used_at: None,
            replaced_by: None,
            ..old
        };
        let until = overlap_hours.map(|h| now + i64::from(h) * 3600);
        if !self.store.rotate_api_key(id, &successor, until).await? {
            return Err(ServiceError::Invalid(format!(
                "API key {id} changed while rotating it; look at it again and retry"
            )));
        }
        let details = json!({ "successor": successor.id, "overlap_until": until });
        self.audit("api_key.rotate", format!("api_key:{id}"), details).await?;
        Ok(CreatedApiKey { key: successor, secret })
    }

    /// Per-day usage of a key over `from_day..=to_day` (days since the epoch, UTC).
    pub async fn api_key_usage(
        &self,
        id: &str,
        from_day: i64,
        to_day: i64,
    ) -> ServiceResult<Vec<DailyKeyUsage>> {
        if to_day < from_day || to_day - from_day >= MAX_USAGE_DAYS {
            return Err(ServiceError::Invalid(format!(
                "the period must run forwards and span at most {MAX_USAGE_DAYS} days"
            )));
        }
        let key = self.api_key(id).await?;
        Ok(self.store.key_usage(&key.id, from_day, to_day).await?)
    }
}

impl Operator {
    /// Activates a pending key, optionally with fewer scopes or a lower limit than requested
    /// (never more), with a reason for the audit log.
    pub async fn approve_api_key(
        &self,
        id: &str,
        narrowed_scopes: Option<ScopeSet>,
        lower_limit: Option<u32>,
        reason: &str,
    ) -> ServiceResult<ApiKey> {
        let key = self.api_key(id).await?;
        if key.status != ApiKeyStatus::Pending {
            return Err(ServiceError::Invalid(format!("API key {id} is not awaiting approval")));
        }
        if reason.trim().is_empty() {
            return Err(ServiceError::Invalid(
                "an approval needs a reason, for the audit log".into(),
            ));
        }
        let scopes = match narrowed_scopes {
            None => key.scopes.clone(),
            Some(requested) => {
                // Expanded the way the key's own scopes were, then compared.
                let expanded = self.registry().await?.expand(&requested);
                if expanded.is_empty() || !expanded.is_subset(&key.scopes) {
                    return Err(ServiceError::Invalid(format!(
                        "approval may narrow the key's scopes ({}), never widen them",
                        key.scopes.to_wire()
                    )));
                }
                expanded
            }
        };
        let limit = match lower_limit {
            None => key.rate_limit_per_minute,
            Some(limit) if limit >= 1 && limit <= key.rate_limit_per_minute => limit,
            Some(limit) => {
                return Err(ServiceError::Invalid(format!(
                "approval may lower the rate limit ({} per minute), never raise it: got {limit}",
                key.rate_limit_per_minute
            )))
            }
        };
        let burst = key.burst.map(|b| b.min(limit));
        if !self.store.approve_api_key(id, &scopes, limit, burst, unix_now()).await? {
            return Err(ServiceError::Invalid(format!(
                "API key {id} changed meanwhile; look again"
            )));
        }
        let details = json!({
            "requested_scopes": key.scopes.to_wire(),
            "granted_scopes": scopes.to_wire(),
            "requested_limit": key.rate_limit_per_minute,
            "granted_limit": limit,
            "reason": reason,
        });
        self.audit("api_key.approve", format!("api_key:{id}"), details).await?;
        let message = format!(
            "API key {} was approved with the scopes {} and {limit} requests per minute.",
            key.name,
            scopes.to_wire()
        );
        let target = format!("api_key:{id}");
        self.notify_client_owner(key.client_id.as_str(), "api_key.approve", target, message)
            .await?;
        self.api_key(id).await
    }

    /// Rejects a pending key: it is revoked (final), with the reason in the audit log.
    pub async fn reject_api_key(&self, id: &str, reason: &str) -> ServiceResult<ApiKey> {
        let key = self.api_key(id).await?;
        if key.status != ApiKeyStatus::Pending {
            return Err(ServiceError::Invalid(format!("API key {id} is not awaiting approval")));
        }
        if reason.trim().is_empty() {
            return Err(ServiceError::Invalid(
                "a rejection needs a reason the partner can read".into(),
            ));
        }
        self.store.set_api_key_status(id, ApiKeyStatus::Revoked, unix_now()).await?;
        self.audit("api_key.reject", format!("api_key:{id}"), json!({ "reason": reason })).await?;
        let message = format!("API key {} was not approved: {reason}", key.name);
        let target = format!("api_key:{id}");
        self.notify_client_owner(key.client_id.as_str(), "api_key.reject", target, message).await?;
        self.api_key(id).await
    }
}
