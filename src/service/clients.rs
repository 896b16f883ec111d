//! Client actions: create, status changes, secret rotation, permissions.

use portcullis_core::client::{
    Client, ClientId, ClientPermission, ClientRegistration, ClientStatus, ClientType,
};
use portcullis_core::secret::{Secret, SecretKind};
use portcullis_core::store::ClientStore;

use portcullis_core::scope::ScopeSet;
use serde_json::json;

use super::{Operator, ServiceError, ServiceResult};
use crate::clock::unix_now;

pub type NewClient = ClientRegistration;

/// The longest a replaced client secret may keep working (30 days).
pub const MAX_SECRET_OVERLAP_HOURS: u32 = 720;

/// A created client and, for confidential clients, its secret: shown once, never stored.
#[derive(Debug)]
pub struct CreatedClient {
    pub client: Client,
    pub secret: Option<Secret>,
}

impl Operator {
    /// Registers a client with the given initial status (the CLI creates active clients; the
    /// admin portal may file pending ones).
    pub async fn create_client(
        &self,
        registration: NewClient,
        status: ClientStatus,
    ) -> ServiceResult<CreatedClient> {
        let (client, secret) = self.new_client(registration, status).await?;
        self.store.insert_client(&client).await?;
        let details = json!({
            "name": client.name,
            "status": client.status,
            "scopes": client.allowed_scopes.to_wire(),
            "grant_types": client.grant_types,
        });
        self.audit("client.create", target(&client.id), details).await?;
        Ok(CreatedClient { client, secret })
    }

    /// A validated client, not yet stored, and its secret for confidential clients.
    pub(super) async fn new_client(
        &self,
        registration: NewClient,
        status: ClientStatus,
    ) -> ServiceResult<(Client, Option<Secret>)> {
        let registry = self.registry().await?;
        let validated = registration
            .validate(&registry, self.max_access_token_lifetime)
            .map_err(|e| ServiceError::Invalid(e.to_string()))?;

        let secret = (validated.client_type == ClientType::Confidential)
            .then(|| Secret::generate(SecretKind::ClientSecret));
        let hash = secret.as_ref().map(|s| self.hasher.hash(s.expose()));
        let client = validated.into_client(ClientId::generate(), status, hash, unix_now());
        // A pending request gets its key when it is approved: nothing a partner asks for
        // changes the server's JWKS before an admin decides.
        if status != ClientStatus::Pending {
            self.ensure_id_token_key(&client).await?;
        }
        Ok((client, secret))
    }

    /// The client's ID tokens need a current key of its algorithm before it can sign in
    /// anyone; generating it is what registering (or approving) that algorithm asks for.
    async fn ensure_id_token_key(&self, client: &Client) -> ServiceResult<()> {
        let Some(alg) = client.id_token_signing_alg else { return Ok(()) };
        crate::bootstrap::ensure_signing_key(
            &self.store,
            &self.master_key,
            alg,
            self.max_access_token_lifetime,
        )
        .await
        .map_err(|e| ServiceError::Invalid(format!("cannot add a {alg} signing key: {e}")))
    }

    pub async fn client(&self, id: &str) -> ServiceResult<Client> {
        let not_found = || ServiceError::NotFound(format!("client {id}"));
        let id = ClientId::parse(id).ok_or_else(not_found)?;
        self.store.get_client(&id).await?.ok_or_else(not_found)
    }

    pub async fn set_client_status(&self, id: &str, status: ClientStatus) -> ServiceResult<Client> {
        let client = self.client(id).await?;
        // Nothing a partner registered becomes active without an approval decision.
        if client.status == ClientStatus::Pending && status != ClientStatus::Pending {
            return Err(ServiceError::Invalid(format!(
                "client {id} awaits approval: approve or reject it (with a reason) instead"
            )));
        }
        self.store.set_client_status(&client.id, status, unix_now()).await?;
        let details = json!({ "from": client.status, "to": status });
        self.audit("client.status", target(&client.id), details).await?;
        self.client(id).await
    }

    /// Approves a pending client, optionally with fewer scopes than it asked for (never more).
    ///
    /// A client a partner requested also needs `partner_overlap_hours`: the longest overlap
    /// (0 to [`MAX_SECRET_OVERLAP_HOURS`]) the partner may choose when rotating its secret or
    /// keys. There is no default; other clients take none.
    pub async fn approve_client(
        &self,
        id: &str,
        narrowed_scopes: Option<ScopeSet>,
        reason: &str,
        partner_overlap_hours: Option<u32>,
    ) -> ServiceResult<Client> {
        let client = self.client(id).await?;
        if client.status != ClientStatus::Pending {
            return Err(ServiceError::Invalid(format!("client {id} is not awaiting approval")));
        }
        let partner_owned = self.store.client_owner(id).await?.is_some();
        match partner_overlap_hours {
            None if partner_owned => {
                return Err(ServiceError::Invalid(format!(
                    "client {id} was requested by a partner: say how long (0 to \
                     {MAX_SECRET_OVERLAP_HOURS} hours) an old secret or key may overlap when \
                     the partner rotates one"
                )))
            }
            Some(_) if !partner_owned => {
                return Err(ServiceError::Invalid(format!(
                    "client {id} was not requested by a partner: a rotation overlap limit is for \
                     partner clients only"
                )))
            }
            Some(hours) if hours > MAX_SECRET_OVERLAP_HOURS => {
                return Err(ServiceError::Invalid(format!(
                    "the overlap limit is 0 to {MAX_SECRET_OVERLAP_HOURS} hours, got {hours}"
                )))
            }
            _ => {}
        }
        if let Some(scopes) = &narrowed_scopes {
            if scopes.is_empty() || !scopes.is_subset(&client.allowed_scopes) {
                return Err(ServiceError::Invalid(format!(
                    "approval may narrow the requested scopes ({}), never widen them",
                    client.allowed_scopes.to_wire()
                )));
            }
            self.store.set_client_scopes(&client.id, scopes, unix_now()).await?;
        }
        self.ensure_id_token_key(&client).await?;
        // The admin's terms for the partner first: if the decision below fails, the client is
        // still pending and a retry writes them again.
        if partner_owned {
            self.store.record_client_decision(id, reason, partner_overlap_hours).await?;
        }
        if !self.store.decide_pending_client(&client.id, ClientStatus::Active, unix_now()).await? {
            return Err(ServiceError::Invalid(format!("client {id} was decided meanwhile")));
        }
        let granted = narrowed_scopes.as_ref().unwrap_or(&client.allowed_scopes).to_wire();
        let details = json!({
            "requested": client.allowed_scopes.to_wire(),
            "granted": granted,
            "reason": reason,
            "partner_overlap_hours": partner_overlap_hours,
        });
        self.audit("client.approve", target(&client.id), details).await?;
        let message = format!("Client {} was approved with the scopes {granted}.", client.name);
        self.notify_client_owner(id, "client.approve", target(&client.id), message).await?;
        self.client(id).await
    }

    /// Rejects a pending client: it stays disabled, with the reason in the audit log.
    pub async fn reject_client(&self, id: &str, reason: &str) -> ServiceResult<Client> {
        let client = self.client(id).await?;
        if client.status != ClientStatus::Pending {
            return Err(ServiceError::Invalid(format!("client {id} is not awaiting approval")));
        }
        if reason.trim().is_empty() {
            return Err(ServiceError::Invalid(
                "a rejection needs a reason the partner can read".into(),
            ));
        }
        if self.store.client_owner(id).await?.is_some() {
            self.store.record_client_decision(id, reason, None).await?;
        }
        if !self.store.decide_pending_client(&client.id, ClientStatus::Disabled, unix_now()).await?
        {
            return Err(ServiceError::Invalid(format!("client {id} was decided meanwhile")));
        }
        self.audit("client.reject", target(&client.id), json!({ "reason": reason })).await?;
        let message = format!("Client {} was not approved: {reason}", client.name);
        self.notify_client_owner(id, "client.reject", target(&client.id), message).await?;
        self.client(id).await
    }

    /// Replaces a confidential client's secret. The old secret stops working at once, unless
    /// `overlap_hours` keeps it valid that long (at most [`MAX_SECRET_OVERLAP_HOURS`]); a secret
    /// older than that stops either way.
    pub async fn rotate_client_secret(
        &self,
        id: &str,
        overlap_hours: Option<u32>,
    ) -> ServiceResult<Secret> {
        let client = self.client(id).await?;
        if client.client_type != ClientType::Confidential {
            return Err(ServiceError::Invalid(format!("client {id} is public and has no secret")));
        }
        if let Some(hours) = overlap_hours.filter(|h| *h == 0 || *h > MAX_SECRET_OVERLAP_HOURS) {
            return Err(ServiceError::Invalid(format!(
                "the overlap must be 1 to {MAX_SECRET_OVERLAP_HOURS} hours, got {hours}; \
                 leave it out to retire the old secret at once"
            )));
        }
        let now = unix_now();
        let until = overlap_hours.map(|h| now + i64::from(h) * 3600);
        let secret = Secret::generate(SecretKind::ClientSecret);
        let hash = self.hasher.hash(secret.expose());
        self.store.set_client_secret_hash(&client.id, &hash, until, now).await?;
        let details = json!({ "old_secret_valid_until": until });
        self.audit("client.secret.rotate", target(&client.id), details).await?;
        Ok(secret)
    }

    pub async fn set_client_permission(
        &self,
        id: &str,
        permission: ClientPermission,
        granted: bool,
    ) -> ServiceResult<Client> {
        let client = self.client(id).await?;
        let needs_secret = permission != ClientPermission::SkipConsent;
        if granted && needs_secret && client.client_type != ClientType::Confidential {
            return Err(ServiceError::Invalid(format!(
                "client {id} is public: only confidential clients can be trusted with {permission}"
            )));
        }
        self.store.set_client_permission(&client.id, permission, granted, unix_now()).await?;
        let details = json!({ "permission": permission, "granted": granted });
        self.audit("client.permission", target(&client.id), details).await?;
        self.client(id).await
    }

    pub async fn delete_client(&self, id: &str) -> ServiceResult<()> {
        let client = self.client(id).await?;
        self.store.delete_client(&client.id).await?;
        self.audit("client.delete", target(&client.id), json!({ "name": client.name })).await?;
        Ok(())
    }
}

/// How clients are named in the audit log.
fn target(id: &ClientId) -> String {
    format!("client:{id}")
}

impl Operator {
    /// Replaces what a client registered, with exactly the checks of a new registration (no
    /// defaults). Its type and authentication method cannot change: a public client has no
    /// secret to switch to, and a confidential one would silently lose it.
    pub async fn update_client(&self, id: &str, registration: NewClient) -> ServiceResult<Client> {
        let current = self.client(id).await?;
        if registration.client_type != current.client_type
            || registration.auth_method != current.auth_method
        {
            return Err(ServiceError::Invalid(
                "a client's type and authentication method are fixed: register a new client".into(),
            ));
        }
        let registry = self.registry().await?;
        let validated = registration
            .validate(&registry, self.max_access_token_lifetime)
            .map_err(|e| ServiceError::Invalid(e.to_string()))?;
        let updated = validated.into_client(current.id.clone(), current.status, None, unix_now());
        if let Some(alg) = updated.id_token_signing_alg {
            crate::bootstrap::ensure_signing_key(
                &self.store,
                &self.master_key,
                alg,
                self.max_access_token_lifetime,
            )
            .await
            .map_err(|e| ServiceError::Invalid(format!("cannot add a {alg} signing key: {e}")))?;
        }
        self.store.update_client_settings(&updated, unix_now()).await?;
        let details = json!({
            "name": updated.name,
            "scopes": updated.allowed_scopes.to_wire(),
            "grant_types": updated.grant_types,
            "redirect_uris": updated.redirect_uris.iter().map(|u| u.as_str()).collect::<Vec<_>>(),
            "access_token_lifetime": updated.access_token_lifetime,
            "refresh_token_lifetime": updated.refresh_token_lifetime,
        });
        self.audit("client.update", target(&current.id), details).await?;
        self.client(id).await
    }
}
