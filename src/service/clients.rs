//! Client actions: create, status changes, secret rotation, permissions.

use portcullis_core::client::{
    Client, ClientId, ClientPermission, ClientRegistration, ClientStatus, ClientType,
};
use portcullis_core::secret::{Secret, SecretKind};
use portcullis_core::store::ClientStore;

use super::{Operator, ServiceError, ServiceResult};
use crate::clock::unix_now;

pub type NewClient = ClientRegistration;

/// A created client and, for confidential clients, its secret: shown once, never stored.
#[derive(Debug)]
pub struct CreatedClient {
    pub client: Client,
    pub secret: Option<Secret>,
}

impl Operator {
    /// Registers a client with the given initial status (the CLI creates active clients; partner
    /// requests arrive as pending).
    pub async fn create_client(
        &self,
        registration: NewClient,
        status: ClientStatus,
    ) -> ServiceResult<CreatedClient> {
        let registry = self.registry().await?;
        let validated = registration
            .validate(&registry, self.max_access_token_lifetime)
            .map_err(|e| ServiceError::Invalid(e.to_string()))?;

        let secret = (validated.client_type == ClientType::Confidential)
            .then(|| Secret::generate(SecretKind::ClientSecret));
        let hash = secret.as_ref().map(|s| self.hasher.hash(s.expose()));
        let client = validated.into_client(ClientId::generate(), status, hash, unix_now());
        // The client's ID tokens need a current key of its algorithm before it can sign in
        // anyone; generating it is what registering that algorithm asks for.
        if let Some(alg) = client.id_token_signing_alg {
            crate::bootstrap::ensure_signing_key(
                &self.store,
                &self.master_key,
                alg,
                self.max_access_token_lifetime,
            )
            .await
            .map_err(|e| ServiceError::Invalid(format!("cannot add a {alg} signing key: {e}")))?;
        }
        self.store.insert_client(&client).await?;
        Ok(CreatedClient { client, secret })
    }

    pub async fn client(&self, id: &str) -> ServiceResult<Client> {
        let not_found = || ServiceError::NotFound(format!("client {id}"));
        let id = ClientId::parse(id).ok_or_else(not_found)?;
        self.store.get_client(&id).await?.ok_or_else(not_found)
    }

    pub async fn set_client_status(&self, id: &str, status: ClientStatus) -> ServiceResult<Client> {
        let client = self.client(id).await?;
        self.store.set_client_status(&client.id, status, unix_now()).await?;
        self.client(id).await
    }

    /// Replaces a confidential client's secret. The old secret stops working at once.
    pub async fn rotate_client_secret(&self, id: &str) -> ServiceResult<Secret> {
        let client = self.client(id).await?;
        if client.client_type != ClientType::Confidential {
            return Err(ServiceError::Invalid(format!("client {id} is public and has no secret")));
        }
        let secret = Secret::generate(SecretKind::ClientSecret);
        let hash = self.hasher.hash(secret.expose());
        self.store.set_client_secret_hash(&client.id, &hash, unix_now()).await?;
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
        self.client(id).await
    }

    pub async fn delete_client(&self, id: &str) -> ServiceResult<()> {
        let client = self.client(id).await?;
        self.store.delete_client(&client.id).await?;
        Ok(())
    }
}
