//! Operator actions: the one service layer the CLI uses today and the admin and developer
//! portals will use too. Each action validates with the core, writes through the store (which
//! announces the change to running servers), and returns what the caller may show.

mod api_keys;
mod clients;
mod scopes;
mod users;

use std::sync::Arc;

use portcullis_core::keys::MasterKey;
use portcullis_core::secret::SecretHasher;
use portcullis_core::store::StoreError;
use portcullis_store::SqlStore;

pub use api_keys::{CreatedApiKey, MAX_ROTATION_OVERLAP_HOURS, MAX_USAGE_DAYS};
pub use clients::{CreatedClient, NewClient};
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

/// The operator service over one store.
pub struct Operator {
    pub store: SqlStore,
    pub hasher: SecretHasher,
    /// Seals signing keys the service generates (a client registered for ID tokens of an
    /// algorithm that has no key yet).
    pub master_key: Arc<MasterKey>,
    /// Server cap on access-token lifetimes, also the bound for client registrations.
    pub max_access_token_lifetime: u32,
}
