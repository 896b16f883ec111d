//! Admin accounts (create, permissions, delete, sign-in check) and the audit chain report.

use std::collections::BTreeSet;

use portcullis_core::admin::{normalise_email, Admin, AdminPermission};
use portcullis_core::audit::{verify_chain, BrokenLink};
use portcullis_core::secret::random_id;
use portcullis_core::store::{
    AdminStore, AuditStore, StoreError, TokenCount, TokenSelection, TokenStore,
};
use portcullis_core::totp;
use serde_json::json;

use super::{hash_off_executor, verify_off_executor, Operator, ServiceError, ServiceResult};
use crate::clock::unix_now;

/// The outcome of checking an admin's password.
pub enum AdminSignIn {
    Admin(Admin),
    /// Unknown email or wrong password: the caller cannot tell which, nor can an attacker.
    Refused,
}

impl Operator {
    /// Creates an admin. The first admin is made with the CLI; later ones need `admin:admins`
    /// (checked by the portal before it calls this).
    pub async fn create_admin(
        &self,
        email: &str,
        password: String,
        permissions: BTreeSet<AdminPermission>,
    ) -> ServiceResult<Admin> {
        let email = normalise_email(email).ok_or_else(|| {
            ServiceError::Invalid(format!("{email:?} is not an email address an admin can use"))
        })?;
        if permissions.is_empty() {
            return Err(ServiceError::Invalid("an admin needs at least one permission".into()));
        }
        if self.store.find_admin(&email).await?.is_some() {
            return Err(ServiceError::Invalid(format!("admin {email} already exists")));
        }
        let now = unix_now();
        let admin = Admin {
            id: random_id(),
            email,
            password_hash: hash_off_executor(password).await?,
            permissions,
            totp_sealed: None,
            totp_last_step: None,
            created_at: now,
            updated_at: now,
        };
        self.store.insert_admin(&admin).await?;
        let details = json!({ "email": admin.email, "permissions": admin.permissions });
        self.audit("admin.create", format!("admin:{}", admin.email), details).await?;
        Ok(admin)
    }

    pub async fn admins(&self) -> ServiceResult<Vec<Admin>> {
        Ok(self.store.list_admins().await?)
    }

    /// Checks an admin's password off the async executor; unknown emails cost the same.
    pub async fn check_admin_password(&self, email: &str, password: String) -> AdminSignIn {
        let Some(email) = normalise_email(email) else {
            verify_off_executor(password, None).await;
            return AdminSignIn::Refused;
        };
        let admin = self.store.find_admin(&email).await.ok().flatten();
        let stored = admin.as_ref().map(|a| a.password_hash.clone());
        match (verify_off_executor(password, stored).await, admin) {
            (true, Some(admin)) => AdminSignIn::Admin(admin),
            _ => AdminSignIn::Refused,
        }
    }

    /// Replaces an admin's permissions; the last holder of `admin:admins` keeps it.
    pub async fn set_admin_permissions(
        &self,
        email: &str,
        permissions: BTreeSet<AdminPermission>,
    ) -> ServiceResult<Admin> {
        let admin = self.admin(email).await?;
        if permissions.is_empty() {
            return Err(ServiceError::Invalid("an admin needs at least one permission".into()));
        }
        self.store
            .set_admin_permissions(&admin.id, &permissions, unix_now())
            .await
            .map_err(refusal)?;
        let details = json!({ "from": admin.permissions, "to": permissions });
        self.audit("admin.permissions", format!("admin:{}", admin.email), details).await?;
        self.admin(email).await
    }

    /// Deletes an admin; the last holder of `admin:admins` cannot be deleted.
    pub async fn delete_admin(&self, email: &str) -> ServiceResult<()> {
        let admin = self.admin(email).await?;
        self.store.delete_admin(&admin.id).await.map_err(refusal)?;
        self.audit("admin.delete", format!("admin:{}", admin.email), json!({})).await?;
        Ok(())
    }

    pub async fn admin(&self, email: &str) -> ServiceResult<Admin> {
        let normal = normalise_email(email).unwrap_or_default();
        self.store
            .find_admin(&normal)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("admin {email}")))
    }

    /// Walks the whole audit chain: `Ok(entries checked)` or the first broken link.
    pub async fn verify_audit_chain(&self) -> ServiceResult<Result<usize, BrokenLink>> {
        let (anchor, entries) = self.store.audit_chain().await?;
        Ok(verify_chain(&entries, &anchor).map(|()| entries.len()))
    }
}

/// The store refuses to leave nobody managing admins with a conflict; that is the operator's
/// mistake to fix, not a storage failure.
fn refusal(err: StoreError) -> ServiceError {
    match err {
        StoreError::Conflict(message) => ServiceError::Invalid(message),
        other => other.into(),
    }
}

/// The words `portcullis audit verify` prints for a check result.
pub fn verify_chain_report(result: &Result<usize, BrokenLink>) -> String {
    match result {
        Ok(count) => format!("audit chain intact: {count} entries"),
        Err(BrokenLink::Altered { id }) => {
            format!("audit chain broken at entry {id}: its contents were changed")
        }
        Err(BrokenLink::Unlinked { id }) => format!(
            "audit chain broken at entry {id}: the entry before it was removed or reordered"
        ),
    }
}

impl Operator {
    /// How many live tokens a bulk revocation would hit, shown before the admin confirms.
    pub async fn preview_revocation(
        &self,
        selection: &TokenSelection,
    ) -> ServiceResult<TokenCount> {
        Ok(self.store.count_live_tokens(selection, unix_now()).await?)
    }

    /// Revokes every live access and refresh token in `selection` with a reason; returns the
    /// revoked access tokens' jtis (for the caller's caches) and the counts. Audited.
    pub async fn revoke_tokens(
        &self,
        selection: &TokenSelection,
        reason: &str,
    ) -> ServiceResult<(Vec<String>, TokenCount)> {
        if reason.trim().is_empty() {
            return Err(ServiceError::Invalid("a bulk revocation needs a reason".into()));
        }
        let (jtis, count) = self.store.revoke_selection(selection, unix_now()).await?;
        let (target, scope) = match selection {
            TokenSelection::Client(id) => (format!("client:{id}"), json!({ "client_id": id })),
            TokenSelection::User(id) => (format!("user:{id}"), json!({ "user_id": id })),
            TokenSelection::IssuedBetween(from, to) => {
                ("tokens".to_owned(), json!({ "issued_from": from, "issued_to": to }))
            }
        };
        let details = json!({ "selection": scope, "revoked": count, "reason": reason });
        self.audit("tokens.revoke", target, details).await?;
        Ok((jtis, count))
    }
}

/// A second factor being set up: the secret to show (once) and, sealed, to confirm with.
pub struct TotpEnrolment {
    /// For the authenticator app: base32 and as an `otpauth://` URI.
    pub secret_base32: String,
    pub provisioning_uri: String,
    /// The secret sealed with the master key, kept by the caller until the admin confirms.
    pub sealed: Vec<u8>,
}

fn totp_kid(admin: &Admin) -> String {
    format!("totp:{}", admin.id)
}

impl Operator {
    /// Generates a TOTP secret for an admin; nothing changes until [`Operator::confirm_totp`]
    /// sees a code from it.
    pub fn begin_totp(&self, admin: &Admin) -> TotpEnrolment {
        let secret = totp::generate_secret();
        TotpEnrolment {
            secret_base32: totp::base32(&secret),
            provisioning_uri: totp::provisioning_uri("Portcullis", &admin.email, &secret),
            sealed: self.master_key.seal(&totp_kid(admin), &secret),
        }
    }

    /// Turns the second factor on once a code from the new secret checks out. Audited.
    pub async fn confirm_totp(
        &self,
        admin: &Admin,
        sealed: &[u8],
        code: &str,
    ) -> ServiceResult<()> {
        let secret = self
            .master_key
            .open(&totp_kid(admin), sealed)
            .map_err(|_| ServiceError::Invalid("the setup expired: start again".into()))?;
        if totp::verify(&secret, code, unix_now(), None).is_none() {
            return Err(ServiceError::Invalid(
                "that code does not match: check the authenticator's clock and try again".into(),
            ));
        }
        self.store.set_admin_totp(&admin.id, Some(sealed), unix_now()).await?;
        self.audit("admin.totp.enable", format!("admin:{}", admin.email), json!({})).await
    }

    /// Turns the second factor off. Audited.
    pub async fn disable_totp(&self, admin: &Admin) -> ServiceResult<()> {
        self.store.set_admin_totp(&admin.id, None, unix_now()).await?;
        self.audit("admin.totp.disable", format!("admin:{}", admin.email), json!({})).await
    }

    /// Checks a sign-in code against the admin's second factor; each code works once.
    pub async fn check_totp(&self, admin: &Admin, code: &str) -> ServiceResult<bool> {
        let Some(sealed) = &admin.totp_sealed else { return Ok(false) };
        let secret = self
            .master_key
            .open(&totp_kid(admin), sealed)
            .map_err(|_| ServiceError::Invalid("the second factor cannot be read".into()))?;
        match totp::verify(&secret, code, unix_now(), admin.totp_last_step) {
            Some(step) => Ok(self.store.use_totp_step(&admin.id, step).await?),
            None => Ok(false),
        }
    }
}

impl Operator {
    /// Deletes audit entries older than `retention_days` and records that it did, as an audit
    /// entry of its own. Safe to run twice: the second run finds nothing old enough.
    pub async fn prune_audit(&self, retention_days: u32) -> ServiceResult<u64> {
        let before = unix_now() - i64::from(retention_days) * 86_400;
        let deleted = self.store.prune_audit(before).await?;
        if deleted > 0 {
            let details =
                json!({ "deleted": deleted, "before": before, "retention_days": retention_days });
            self.audit("audit.prune", "audit", details).await?;
        }
        Ok(deleted)
    }
}
