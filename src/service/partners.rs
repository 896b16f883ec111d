//! Partner actions: sign-up and the admin's decision on it, client and key requests, and what
//! an organisation may do with what it owns (reveal or rotate a secret, rotate or revoke a key,
//! revoke its tokens). Every owned resource is looked up through [`Operator::owned_client`],
//! which answers "not found" for anything another organisation owns (SECURITY.md I-04).

use portcullis_core::admin::normalise_email;
use portcullis_core::api_key::{ApiKey, ApiKeyRequest, ApiKeyStatus};
use portcullis_core::client::{Client, ClientStatus, ClientType};
use portcullis_core::partner::{
    Invitation, Notification, Partner, PartnerClient, PartnerStatus, INVITATION_LIFETIME_SECONDS,
};
use portcullis_core::secret::{random_id, Secret, SecretKind};
use portcullis_core::store::{ApiKeyStore, ClientStore, StoreError, TokenCount, TokenSelection};
use portcullis_store::InvitedSignUp;
use serde_json::json;

use super::{
    hash_off_executor, verify_off_executor, CreatedApiKey, NewClient, Operator, ServiceError,
    ServiceResult,
};
use crate::clock::unix_now;

/// The longest name or organisation a partner may give.
const MAX_LABEL_CHARS: usize = 100;
/// The longest description or justification of a client request.
const MAX_TEXT_CHARS: usize = 2_000;

/// What a developer types to sign up. Debug never shows the password.
pub struct PartnerSignUp {
    pub email: String,
    pub name: String,
    /// Ignored when `invitation` is given: the account joins the inviting organisation.
    pub organisation: String,
    pub password: String,
    /// A colleague's invitation code, to join its organisation instead of founding one.
    pub invitation: Option<String>,
}

impl std::fmt::Debug for PartnerSignUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartnerSignUp")
            .field("email", &self.email)
            .field("organisation", &self.organisation)
            .field("password", &"[REDACTED]")
            .field("invitation", &self.invitation.as_ref().map(|_| "[REDACTED]"))
            .finish_non_exhaustive()
    }
}

/// How a sign-up ended. The page says the same either way, so the form tells no one which
/// emails have accounts.
pub enum SignUp {
    Created(Box<Partner>),
    AlreadyRegistered,
}

/// The outcome of checking a partner's password.
pub enum PartnerSignIn {
    /// The password is right; the account may still be pending, rejected or disabled.
    Partner(Box<Partner>),
    /// Unknown email or wrong password, indistinguishable.
    Refused,
}

/// A client request: the registration, checked exactly like the CLI's, and what the partner
/// says about it for the admin deciding.
#[derive(Debug)]
pub struct ClientRequest {
    pub registration: NewClient,
    pub description: String,
    pub justification: String,
}

/// A label the partner typed: trimmed, not empty, not too long.
fn label(value: &str, what: &str, max: usize) -> ServiceResult<String> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max {
        return Err(ServiceError::Invalid(format!("{what} is required, at most {max} characters")));
    }
    Ok(value.to_owned())
}

impl Operator {
    /// Creates a pending account: in a new organisation, or with a colleague's invitation in
    /// that colleague's. Nothing is usable until an admin approves it (SECURITY.md I-03 and
    /// principle 3).
    pub async fn sign_up_partner(&self, form: PartnerSignUp) -> ServiceResult<SignUp> {
        let email = normalise_email(&form.email)
            .ok_or_else(|| ServiceError::Invalid("enter a valid email address".into()))?;
        let name = label(&form.name, "your name", MAX_LABEL_CHARS)?;
        let invitation =
            form.invitation.map(|code| code.trim().to_owned()).filter(|c| !c.is_empty());
        let organisation = match invitation {
            Some(_) => String::new(),
            None => label(&form.organisation, "the organisation", MAX_LABEL_CHARS)?,
        };
        // Hashing first costs the same whether or not the email is taken.
        let password_hash = hash_off_executor(form.password).await?;
        if self.store.find_partner(&email).await?.is_some() {
            return Ok(SignUp::AlreadyRegistered);
        }

        let now = unix_now();
        let partner = Partner {
            id: random_id(),
            email,
            name,
            organisation,
            organisation_id: random_id(),
            invited_by: None,
            password_hash,
            status: PartnerStatus::Pending,
            decision_reason: None,
            created_at: now,
            updated_at: now,
        };
        // `None`: the same email signed up in between; the page says the same as above.
        let stored = match invitation {
            None => match self.store.insert_partner(&partner).await {
                Ok(()) => Some(partner),
                Err(StoreError::Conflict(_)) => None,
                Err(err) => return Err(err.into()),
            },
            Some(code) => self.join_organisation(&partner, &code, now).await?,
        };
        let Some(partner) = stored else { return Ok(SignUp::AlreadyRegistered) };
        let details = json!({
            "organisation": partner.organisation,
            "name": partner.name,
            "invited_by": partner.invited_by,
        });
        self.audit("partner.sign_up", format!("partner:{}", partner.email), details).await?;
        Ok(SignUp::Created(Box::new(partner)))
    }

    /// Stores `partner` in the organisation whose invitation `code` is, spending the code;
    /// `None` when the email is taken (the code stays unspent for the right person).
    async fn join_organisation(
        &self,
        partner: &Partner,
        code: &str,
        now: i64,
    ) -> ServiceResult<Option<Partner>> {
        let hash = self.hasher.hash(code);
        match self.store.insert_invited_partner(partner, &hash, now).await? {
            InvitedSignUp::Joined(joined) => Ok(Some(*joined)),
            InvitedSignUp::EmailTaken => Ok(None),
            InvitedSignUp::InvalidInvitation => Err(ServiceError::Invalid(
                "the invitation code is unknown, used or expired: ask your colleague for a new \
                 one, or leave it empty to register a new organisation"
                    .into(),
            )),
        }
    }

    /// An invitation for a colleague to join the partner's organisation, valid for a week and
    /// for one sign-up. The code is returned once; the account it creates still waits for an
    /// admin.
    pub async fn invite_colleague(&self, partner: &Partner) -> ServiceResult<Secret> {
        if partner.status != PartnerStatus::Active {
            return Err(ServiceError::Invalid("only an approved account can invite".into()));
        }
        let code = Secret::generate(SecretKind::PartnerInvitation);
        let now = unix_now();
        let invitation = Invitation {
            code_hash: self.hasher.hash(code.expose()),
            organisation_id: partner.organisation_id.clone(),
            organisation: partner.organisation.clone(),
            invited_by: partner.email.clone(),
            created_at: now,
            expires_at: now + INVITATION_LIFETIME_SECONDS,
        };
        self.store.insert_invitation(&invitation).await?;
        let details =
            json!({ "organisation": partner.organisation, "expires_at": invitation.expires_at });
        self.audit("partner.invite", format!("partner:{}", partner.email), details).await?;
        Ok(code)
    }

    /// The organisation's members, for the console.
    pub async fn colleagues(&self, partner: &Partner) -> ServiceResult<Vec<Partner>> {
        Ok(self.store.organisation_members(&partner.organisation_id).await?)
    }

    /// Checks a partner's password (argon2id off the executor; an unknown email costs the same).
    pub async fn check_partner_password(&self, email: &str, password: String) -> PartnerSignIn {
        let Some(email) = normalise_email(email) else {
            verify_off_executor(password, None).await;
            return PartnerSignIn::Refused;
        };
        let partner = self.store.find_partner(&email).await.ok().flatten();
        let stored = partner.as_ref().map(|p| p.password_hash.clone());
        match (verify_off_executor(password, stored).await, partner) {
            (true, Some(partner)) => PartnerSignIn::Partner(Box::new(partner)),
            _ => PartnerSignIn::Refused,
        }
    }

    pub async fn partner(&self, id: &str) -> ServiceResult<Partner> {
        let not_found = || ServiceError::NotFound(format!("partner {id}"));
        self.store.get_partner(id).await?.ok_or_else(not_found)
    }

    pub async fn partners(&self, status: Option<PartnerStatus>) -> ServiceResult<Vec<Partner>> {
        Ok(self.store.list_partners(status).await?)
    }

    /// An admin's decision on a pending account; a rejection needs a reason the partner reads.
    pub async fn decide_partner(
        &self,
        id: &str,
        approve: bool,
        reason: &str,
    ) -> ServiceResult<Partner> {
        let partner = self.partner(id).await?;
        if partner.status != PartnerStatus::Pending {
            return Err(ServiceError::Invalid(format!("partner {id} is not awaiting approval")));
        }
        let reason = reason.trim();
        if !approve && reason.is_empty() {
            return Err(ServiceError::Invalid(
                "a rejection needs a reason the partner reads".into(),
            ));
        }
        let to = if approve { PartnerStatus::Active } else { PartnerStatus::Rejected };
        let reason_kept = Some(reason).filter(|r| !r.is_empty());
        let now = unix_now();
        if !self.store.set_partner_status(id, PartnerStatus::Pending, to, reason_kept, now).await? {
            return Err(ServiceError::Invalid(format!("partner {id} was decided meanwhile")));
        }
        let action = if approve { "partner.approve" } else { "partner.reject" };
        let details = json!({ "reason": reason, "organisation": partner.organisation });
        self.audit(action, format!("partner:{}", partner.email), details).await?;
        if approve {
            let message = "Your account was approved: you can request clients and keys.";
            self.notify(&partner.organisation_id, "account.approve", "account", message).await?;
        }
        self.partner(id).await
    }

    /// Switches an active account off or a disabled one back on. Switching off ends its
    /// sessions (every request re-reads the account) and, when no other member of the
    /// organisation is active, disables the organisation's clients and keys, pending requests
    /// included, so none can be approved for it afterwards
    /// (SECURITY.md I-19). Switching off an account that is already off runs the cascade again,
    /// so an interrupted one can be finished. Switching on gives back the account only: each
    /// client and key is enabled again by an admin who looked at it.
    pub async fn set_partner_enabled(&self, id: &str, enabled: bool) -> ServiceResult<Partner> {
        let partner = self.partner(id).await?;
        let now = unix_now();
        let (from, to) = if enabled {
            (PartnerStatus::Disabled, PartnerStatus::Active)
        } else {
            (PartnerStatus::Active, PartnerStatus::Disabled)
        };
        let already_off = !enabled && partner.status == PartnerStatus::Disabled;
        if !already_off && !self.store.set_partner_status(id, from, to, None, now).await? {
            return Err(ServiceError::Invalid(format!("partner {id} is not {from}")));
        }
        // The organisation's clients and keys stop with its last active member; a colleague who
        // is still active keeps them running (and answerable for).
        let mut disabled_clients = Vec::new();
        if !enabled
            && self.store.other_active_members(&partner.organisation_id, &partner.id).await? == 0
        {
            disabled_clients = self.disable_organisation(&partner.organisation_id, now).await?;
        }
        let action = if enabled { "partner.enable" } else { "partner.disable" };
        let details = json!({ "disabled_clients": disabled_clients });
        self.audit(action, format!("partner:{}", partner.email), details).await?;
        self.partner(id).await
    }

    /// Disables every active or pending client of an organisation and every active key (pending
    /// keys are revoked); returns the clients it changed. Storage errors stop it: the caller
    /// reports them and the admin runs it again.
    async fn disable_organisation(
        &self,
        organisation_id: &str,
        now: i64,
    ) -> ServiceResult<Vec<String>> {
        let mut changed = Vec::new();
        for owned in self.store.organisation_clients(organisation_id).await? {
            let Some(id) = portcullis_core::client::ClientId::parse(&owned.client_id) else {
                continue;
            };
            let Some(client) = self.store.get_client(&id).await? else { continue };
            if matches!(client.status, ClientStatus::Active | ClientStatus::Pending) {
                self.store.set_client_status(&client.id, ClientStatus::Disabled, now).await?;
                changed.push(client.id.to_string());
            }
            for key in self.store.list_api_keys(Some(&client.id)).await? {
                let to = match key.status {
                    ApiKeyStatus::Active => ApiKeyStatus::Disabled,
                    ApiKeyStatus::Pending => ApiKeyStatus::Revoked,
                    _ => continue,
                };
                self.store.set_api_key_status(&key.id, to, now).await?;
            }
        }
        Ok(changed)
    }

    /// Files a client request: validated exactly like a registration at the CLI (no
    /// defaults), stored pending with its owner. The secret generated with it is dropped
    /// unseen: the partner is shown a fresh one, once, after approval.
    pub async fn request_client(
        &self,
        partner: &Partner,
        request: ClientRequest,
    ) -> ServiceResult<Client> {
        let description = label(&request.description, "a description", MAX_TEXT_CHARS)?;
        let justification =
            label(&request.justification, "a business justification", MAX_TEXT_CHARS)?;
        let (client, _unseen_secret) =
            self.new_client(request.registration, ClientStatus::Pending).await?;
        let owner = PartnerClient {
            client_id: client.id.to_string(),
            organisation_id: partner.organisation_id.clone(),
            description,
            justification,
            max_overlap_hours: None,
            decision_reason: None,
            secret_revealed_at: None,
            requested_at: client.created_at,
        };
        self.store.insert_partner_client(&client, &owner).await?;
        let details = json!({
            "name": client.name,
            "status": client.status,
            "scopes": client.allowed_scopes.to_wire(),
            "grant_types": client.grant_types,
            "organisation": partner.organisation,
        });
        self.audit("client.request", format!("client:{}", client.id), details).await?;
        Ok(client)
    }

    /// A client the partner's organisation owns; any other id, existing or not, is the same
    /// "not found" (SECURITY.md I-04, I-05).
    pub async fn owned_client(
        &self,
        partner: &Partner,
        client_id: &str,
    ) -> ServiceResult<(Client, PartnerClient)> {
        let not_found = || ServiceError::NotFound(format!("client {client_id}"));
        let owner = self.store.client_owner(client_id).await?.ok_or_else(not_found)?;
        if owner.organisation_id != partner.organisation_id {
            return Err(not_found());
        }
        let client = match self.client(client_id).await {
            Ok(client) => client,
            Err(ServiceError::NotFound(_)) => return Err(not_found()),
            Err(err) => return Err(err),
        };
        Ok((client, owner))
    }

    /// Every client the organisation owns, with what was said about it.
    pub async fn owned_clients(
        &self,
        partner: &Partner,
    ) -> ServiceResult<Vec<(Client, PartnerClient)>> {
        let mut owned = Vec::new();
        for owner in self.store.organisation_clients(&partner.organisation_id).await? {
            match self.client(&owner.client_id).await {
                Ok(client) => owned.push((client, owner)),
                Err(ServiceError::NotFound(_)) => {}
                Err(err) => return Err(err),
            }
        }
        Ok(owned)
    }

    /// A key of one of the organisation's clients; others are "not found" like unknown ids.
    pub async fn owned_key(
        &self,
        partner: &Partner,
        key_id: &str,
    ) -> ServiceResult<(ApiKey, PartnerClient)> {
        let not_found = || ServiceError::NotFound(format!("API key {key_id}"));
        let key = match self.api_key(key_id).await {
            Ok(key) => key,
            Err(ServiceError::NotFound(_)) => return Err(not_found()),
            Err(err) => return Err(err),
        };
        match self.owned_client(partner, key.client_id.as_str()).await {
            Ok((_, owner)) => Ok((key, owner)),
            Err(ServiceError::NotFound(_)) => Err(not_found()),
            Err(err) => Err(err),
        }
    }

    /// The first secret of an approved confidential client, shown once: a fresh secret
    /// replaces the unseen one the request was stored with.
    pub async fn reveal_client_secret(
        &self,
        partner: &Partner,
        client_id: &str,
    ) -> ServiceResult<Secret> {
        let (client, _) = self.owned_client(partner, client_id).await?;
        active_confidential(&client)?;
        if !self.store.mark_secret_revealed(client_id, unix_now()).await? {
            return Err(ServiceError::Invalid(
                "the secret was shown once already: rotate it to get a new one".into(),
            ));
        }
        self.rotate_client_secret(client_id, None).await
    }

    /// The partner's own secret rotation: after the first secret was shown, with an overlap of
    /// at most what the admin allowed for the client.
    pub async fn partner_rotate_secret(
        &self,
        partner: &Partner,
        client_id: &str,
        overlap_hours: Option<u32>,
    ) -> ServiceResult<Secret> {
        let (client, owner) = self.owned_client(partner, client_id).await?;
        active_confidential(&client)?;
        if owner.secret_revealed_at.is_none() {
            return Err(ServiceError::Invalid("show the first secret before rotating it".into()));
        }
        let overlap_hours = allowed_overlap(&owner, overlap_hours)?;
        self.rotate_client_secret(client_id, overlap_hours).await
    }

    /// Requests a key for one of the organisation's approved clients; pending until an admin
    /// decides. The key is shown once, now, and works only after approval.
    pub async fn partner_request_key(
        &self,
        partner: &Partner,
        client_id: &str,
        request: ApiKeyRequest,
    ) -> ServiceResult<CreatedApiKey> {
        let (client, _) = self.owned_client(partner, client_id).await?;
        if client.status != ClientStatus::Active {
            return Err(ServiceError::Invalid(
                "keys can be requested for approved, active clients only".into(),
            ));
        }
        self.create_api_key(client_id, request, ApiKeyStatus::Pending).await
    }

    pub async fn partner_rotate_key(
        &self,
        partner: &Partner,
        key_id: &str,
        overlap_hours: Option<u32>,
    ) -> ServiceResult<CreatedApiKey> {
        let (_, owner) = self.owned_key(partner, key_id).await?;
        let overlap_hours = allowed_overlap(&owner, overlap_hours)?;
        self.rotate_api_key(key_id, overlap_hours).await
    }

    /// Revokes one of the organisation's keys (final).
    pub async fn partner_revoke_key(
        &self,
        partner: &Partner,
        key_id: &str,
    ) -> ServiceResult<ApiKey> {
        let (key, _) = self.owned_key(partner, key_id).await?;
        if key.status == ApiKeyStatus::Pending {
            return Err(ServiceError::Invalid("a pending key awaits an admin's decision".into()));
        }
        self.set_api_key_status(key_id, ApiKeyStatus::Revoked).await
    }

    /// Revokes every live token of one of the organisation's clients.
    pub async fn partner_revoke_tokens(
        &self,
        partner: &Partner,
        client_id: &str,
        reason: &str,
    ) -> ServiceResult<(Vec<String>, TokenCount)> {
        let (client, _) = self.owned_client(partner, client_id).await?;
        self.revoke_tokens(&TokenSelection::Client(client.id.to_string()), reason).await
    }

    /// The organisation's notifications, newest first.
    pub async fn notifications(&self, partner: &Partner) -> ServiceResult<Vec<Notification>> {
        Ok(self.store.notifications(&partner.organisation_id, 100).await?)
    }

    /// Tells the organisation owning `client_id` about a decision, if a partner requested it.
    pub(super) async fn notify_client_owner(
        &self,
        client_id: &str,
        kind: &str,
        target: String,
        message: String,
    ) -> ServiceResult<()> {
        let Some(owner) = self.store.client_owner(client_id).await? else { return Ok(()) };
        self.notify(&owner.organisation_id, kind, &target, &message).await
    }

    async fn notify(
        &self,
        organisation_id: &str,
        kind: &str,
        target: &str,
        message: &str,
    ) -> ServiceResult<()> {
        let notification = Notification {
            id: random_id(),
            organisation_id: organisation_id.to_owned(),
            at: unix_now(),
            kind: kind.to_owned(),
            target: target.to_owned(),
            message: message.to_owned(),
            read_at: None,
        };
        Ok(self.store.insert_notification(&notification).await?)
    }

    pub async fn mark_notifications_read(&self, partner: &Partner) -> ServiceResult<()> {
        Ok(self.store.mark_notifications_read(&partner.organisation_id, unix_now()).await?)
    }
}

fn active_confidential(client: &Client) -> ServiceResult<()> {
    if client.client_type != ClientType::Confidential {
        return Err(ServiceError::Invalid("a public client has no secret".into()));
    }
    if client.status != ClientStatus::Active {
        return Err(ServiceError::Invalid(format!("the client is {}", client.status)));
    }
    Ok(())
}

/// Checks a partner's rotation overlap against the admin's limit for the client; an overlap of
/// 0 is no overlap.
fn allowed_overlap(
    owner: &PartnerClient,
    overlap_hours: Option<u32>,
) -> ServiceResult<Option<u32>> {
    let limit = owner.max_overlap_hours.unwrap_or(0);
    match overlap_hours.filter(|h| *h > 0) {
        Some(hours) if hours > limit => Err(ServiceError::Invalid(format!(
            "the administrator allows an overlap of at most {limit} hours for this client"
        ))),
        hours => Ok(hours),
    }
}
