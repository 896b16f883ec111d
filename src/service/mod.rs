//! Operator actions: the one service layer the CLI uses today and the admin and developer
//! portals will use too. Each action validates with the core, writes through the store (which
//! announces the change to running servers), and returns what the caller may show.

mod admins;
mod api_keys;
mod clients;
mod keys;
mod partners;
mod scopes;
mod users;

use std::sync::Arc;

use portcullis_core::keys::MasterKey;
use portcullis_core::secret::SecretHasher;
use portcullis_core::store::StoreError;
use portcullis_store::SqlStore;

pub use admins::{verify_chain_report, AdminSignIn, TotpEnrolment};
pub use api_keys::{CreatedApiKey, MAX_ROTATION_OVERLAP_HOURS, MAX_USAGE_DAYS};
pub use clients::{CreatedClient, NewClient};
pub use partners::{ClientRequest, PartnerSignIn, PartnerSignUp, SignUp};
pub use scopes::{ScopeFile, ScopeInput};
pub use users::{hash_off_executor, verify_off_executor, NewUser};

/// Why an operator action was refused. The message tells the operator what to do.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type ServiceResult<T> = Result<T, ServiceError>;

/// Who is acting, for the audit log: an admin in the portal, or the operator at the CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acting {
    /// `cli`, `admin:<email>` or `partner:<email>`.
    pub actor: String,
    pub source_ip: Option<String>,
}

impl Acting {
    pub fn cli() -> Self {
        Self { actor: "cli".into(), source_ip: None }
    }
}

/// The operator service over one store, acting for one [`Acting`] identity.
pub struct Operator {
    pub store: SqlStore,
    pub hasher: SecretHasher,
    /// Seals signing keys the service generates (a client registered for ID tokens of an
    /// algorithm that has no key yet).
    pub master_key: Arc<MasterKey>,
    /// Server cap on access-token lifetimes, also the bound for client registrations.
    pub max_access_token_lifetime: u32,
    /// Whose actions these are.
    pub acting: Acting,
}

impl Operator {
    /// The same service acting for someone else.
    pub fn acting_as(mut self, acting: Acting) -> Self {
        self.acting = acting;
        self
    }

    /// Appends an entry to the audit log for the current actor. Called after the change it
    /// describes has been committed; `details` never holds a secret.
    pub async fn audit(
        &self,
        action: &str,
        target: impl Into<String>,
        details: serde_json::Value,
    ) -> ServiceResult<()> {
        let entry = portcullis_core::audit::NewAuditEntry {
            at: crate::clock::unix_now(),
            actor: self.acting.actor.clone(),
            action: action.to_owned(),
            target: target.into(),
            source_ip: self.acting.source_ip.clone(),
            details,
        };
        // FIXME(audit-tx): the entry is a separate commit after the change; a crash between
        // the two leaves a change unaudited. One transaction needs the store methods to take
        // the audit entry, which the portal work will bring.
        portcullis_core::store::AuditStore::append_audit(&self.store, &entry).await?;
        Ok(())
    }
}
