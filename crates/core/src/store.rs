//! The storage traits the protocol needs, and the records they move. One implementation
//! (`portcullis-store`) serves SQLite and PostgreSQL with the same queries.
//!
//! Each trait is small and named for what it stores, as fosite's `*Storage` interfaces are.
//! Every method that a response depends on returns only after the write is committed.

use std::collections::BTreeSet;
use std::future::Future;

use crate::admin::{Admin, AdminPermission};
use crate::api_key::{ApiKey, ApiKeyStatus, VerifyOutcome};
use crate::audit::{AuditEntry, NewAuditEntry};
use crate::client::{Client, ClientId, ClientPermission, ClientStatus, GrantType};
use crate::keys::SigningAlgorithm;
use crate::scope::{ScopeDefinition, ScopeName, ScopeSet};
use crate::user::{User, UserStatus};
use crate::UnixTime;

/// A storage failure. The protocol layer answers it with 503 `temporarily_unavailable` and never
/// pretends the operation succeeded (RFC 7009 §2.2.1, SECURITY.md G-16).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("{0} already exists")]
    Conflict(String),
    #[error("{0} not found")]
    NotFound(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

pub trait ScopeStore {
    fn list_scopes(&self) -> impl Future<Output = StoreResult<Vec<ScopeDefinition>>> + Send;
    /// Inserts or replaces a scope definition.
    fn put_scope(&self, scope: &ScopeDefinition) -> impl Future<Output = StoreResult<()>> + Send;
    fn delete_scope(&self, name: &ScopeName) -> impl Future<Output = StoreResult<bool>> + Send;
}

pub trait ClientStore {
    fn list_clients(&self) -> impl Future<Output = StoreResult<Vec<Client>>> + Send;
    fn get_client(&self, id: &ClientId)
        -> impl Future<Output = StoreResult<Option<Client>>> + Send;
    fn insert_client(&self, client: &Client) -> impl Future<Output = StoreResult<()>> + Send;
    fn set_client_status(
        &self,
        id: &ClientId,
        status: ClientStatus,
        now: UnixTime,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Replaces what a client registered (name, grants, scopes, URIs, ID-token algorithm,
    /// lifetimes); its id, type, authentication method, status, secret and permissions stay.
    fn update_client_settings(
        &self,
        client: &Client,
        now: UnixTime,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Replaces the scopes a client may request (an approval that narrows a request).
    fn set_client_scopes(
        &self,
        id: &ClientId,
        scopes: &ScopeSet,
        now: UnixTime,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Replaces the secret. With `previous_until` the old secret keeps working until then;
    /// without, it stops at once.
    fn set_client_secret_hash(
        &self,
        id: &ClientId,
        hash: &[u8],
        previous_until: Option<UnixTime>,
        now: UnixTime,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Records that the previous secret was just used, and from where.
    fn note_previous_secret_use(
        &self,
        id: &ClientId,
        at: UnixTime,
        ip: Option<&str>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn set_client_permission(
        &self,
        id: &ClientId,
        permission: ClientPermission,
        granted: bool,
        now: UnixTime,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    fn delete_client(&self, id: &ClientId) -> impl Future<Output = StoreResult<bool>> + Send;
}

/// A signing key as stored: the public JWK in clear, the private key sealed.
#[derive(Debug, Clone)]
pub struct StoredSigningKey {
    pub kid: String,
    pub alg: SigningAlgorithm,
    pub public_jwk: String,
    pub sealed_private_key: Vec<u8>,
    pub created_at: UnixTime,
    /// When the key stopped signing; `None` for the current key.
    pub retired_at: Option<UnixTime>,
    /// The key stays published until every token it signed has expired.
    pub publish_until: Option<UnixTime>,
}

pub trait KeyStore {
    fn list_signing_keys(&self) -> impl Future<Output = StoreResult<Vec<StoredSigningKey>>> + Send;
    /// Adds `new_key` as the current key of its algorithm and retires that algorithm's previous key
    /// in one transaction, so each algorithm has at most one current key. `publish_until` is how
    /// long the retired key stays in the JWKS (the longest lifetime a token it signed can have).
    fn rotate_signing_key(
        &self,
        new_key: &StoredSigningKey,
        publish_until: UnixTime,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// Reads the master-key check value, storing `value` if none is stored yet.
    fn master_key_check(&self, value: &str) -> impl Future<Output = StoreResult<String>> + Send;
}

/// One issued token, recorded for revocation, introspection and analytics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub jti: String,
    pub client_id: String,
    pub subject: String,
    pub scopes: String,
    pub grant_type: GrantType,
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
    /// The user grant (code and refresh tokens) the token descends from; `None` for
    /// client_credentials.
    pub grant_id: Option<String>,
}

/// Which live tokens a bulk revocation hits (an admin responding to an incident).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSelection {
    /// Every token of a client.
    Client(String),
    /// Every token of a user (by user id, the tokens' `sub`).
    User(String),
    /// Every token issued in `[from, to)`.
    IssuedBetween(UnixTime, UnixTime),
}

/// How many live tokens a selection holds, or held when it was revoked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TokenCount {
    pub access: u64,
    pub refresh: u64,
}

/// Who is asking for a revocation: only the client a token was issued to may revoke it.
pub trait TokenStore {
    /// Records issued tokens. Returns once they are durable.
    fn record_tokens(&self, tokens: &[TokenRecord])
        -> impl Future<Output = StoreResult<()>> + Send;
    fn get_token(&self, jti: &str) -> impl Future<Output = StoreResult<Option<TokenState>>> + Send;
    /// Marks the token revoked if it belongs to `client_id`. Returns whether a live token of that
    /// client was revoked; the change is published to every instance's cache.
    fn revoke_token(
        &self,
        jti: &str,
        client_id: &str,
        now: UnixTime,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Live (unrevoked, unexpired, unrotated) tokens in a selection.
    fn count_live_tokens(
        &self,
        selection: &TokenSelection,
        now: UnixTime,
    ) -> impl Future<Output = StoreResult<TokenCount>> + Send;
    /// Revokes every live token in a selection, in one transaction; returns the revoked access
    /// tokens' jtis (announced on the change feed) and the counts.
    fn revoke_selection(
        &self,
        selection: &TokenSelection,
        now: UnixTime,
    ) -> impl Future<Output = StoreResult<(Vec<String>, TokenCount)>> + Send;
}

/// A recorded token and whether it was revoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenState {
    pub record: TokenRecord,
    pub revoked_at: Option<UnixTime>,
}

/// What changed, as seen by other processes (the CLI, other instances) through the change feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Client(String),
    Scope(String),
    SigningKey(String),
    TokenRevoked(String),
    ApiKey(String),
}

pub trait ChangeFeed {
    /// Changes with an id above `after`, oldest first, and the highest id seen.
    fn changes_since(
        &self,
        after: i64,
    ) -> impl Future<Output = StoreResult<(Vec<Change>, i64)>> + Send;
    fn latest_change_id(&self) -> impl Future<Output = StoreResult<i64>> + Send;
}

pub trait ApiKeyStore {
    fn insert_api_key(&self, key: &ApiKey) -> impl Future<Output = StoreResult<()>> + Send;
    /// Activates a pending key with the scopes and limits an admin approved (never more than
    /// requested; the caller checks). False when the key is not pending.
    fn approve_api_key(
        &self,
        id: &str,
        scopes: &ScopeSet,
        rate_limit_per_minute: u32,
        burst: Option<u32>,
        now: UnixTime,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    fn get_api_key(&self, id: &str) -> impl Future<Output = StoreResult<Option<ApiKey>>> + Send;
    /// Every key, or those of one client; oldest first.
    fn list_api_keys(
        &self,
        client: Option<&ClientId>,
    ) -> impl Future<Output = StoreResult<Vec<ApiKey>>> + Send;
    /// Changes a key's status. A revoked key stays revoked: returns false for it.
    fn set_api_key_status(
        &self,
        id: &str,
        status: ApiKeyStatus,
        now: UnixTime,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Inserts `successor` and retires `old_id` in one transaction: revoked at once when
    /// `old_valid_until` is `None`, otherwise expiring then. Returns false if the old key is not
    /// active (nothing is written).
    fn rotate_api_key(
        &self,
        old_id: &str,
        successor: &ApiKey,
        old_valid_until: Option<UnixTime>,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Adds aggregated counters and last-used times in one transaction.
    fn record_usage(&self, batch: &UsageBatch) -> impl Future<Output = StoreResult<()>> + Send;
    /// Replaces the saved in-process rate-limit state (key id, TAT in microseconds).
    fn save_rate_state(
        &self,
        state: &[(String, i64)],
    ) -> impl Future<Output = StoreResult<()>> + Send;
    fn load_rate_state(&self) -> impl Future<Output = StoreResult<Vec<(String, i64)>>> + Send;
    /// Per-day usage of one key, for days `from..=to` (days since the epoch, UTC).
    fn key_usage(
        &self,
        key_id: &str,
        from_day: i64,
        to_day: i64,
    ) -> impl Future<Output = StoreResult<Vec<DailyKeyUsage>>> + Send;
}

/// Verification counters gathered in memory between two flushes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageBatch {
    /// (key id, day, outcome) and how many verifications ended so.
    pub outcomes: Vec<(String, i64, VerifyOutcome, u64)>,
    /// (key id, day, source address) and how many verifications came from it.
    pub sources: Vec<(String, i64, String, u64)>,
    /// The latest successful use of each key.
    pub last_used: Vec<(String, UnixTime)>,
}

impl UsageBatch {
    pub fn is_empty(&self) -> bool {
        self.outcomes.is_empty() && self.sources.is_empty() && self.last_used.is_empty()
    }
}

/// One day of one key's verifications.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DailyKeyUsage {
    pub day: i64,
    pub outcomes: Vec<(VerifyOutcome, u64)>,
    /// Source addresses seen that day, most frequent first.
    pub sources: Vec<(String, u64)>,
}

pub trait UserStore {
    fn insert_user(&self, user: &User) -> impl Future<Output = StoreResult<()>> + Send;
    fn get_user(&self, id: &str) -> impl Future<Output = StoreResult<Option<User>>> + Send;
    fn find_user(&self, username: &str) -> impl Future<Output = StoreResult<Option<User>>> + Send;
    fn list_users(&self) -> impl Future<Output = StoreResult<Vec<User>>> + Send;
    fn set_user_status(
        &self,
        id: &str,
        status: UserStatus,
        now: UnixTime,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    fn set_user_password(
        &self,
        id: &str,
        password_hash: &str,
        now: UnixTime,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
}

/// An authorization code as stored (the code itself only as a keyed hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRecord {
    pub code_hash: Vec<u8>,
    /// The grant ("family") every token issued from this code belongs to.
    pub grant_id: String,
    pub client_id: String,
    pub user_id: String,
    pub redirect_uri: String,
    pub scopes: String,
    pub code_challenge: String,
    pub nonce: Option<String>,
    pub auth_time: UnixTime,
    pub expires_at: UnixTime,
}

/// How far a code got: a code is spent once, by its first redemption, whatever follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeState {
    Unused,
    /// Spent at `at`; `tokens_issued` when that redemption recorded tokens (a failed check
    /// burns a code without issuing any).
    Spent {
        at: UnixTime,
        tokens_issued: bool,
    },
}

/// What a redemption writes, all in the transaction that spends the code or the refresh
/// token: the access token's record and, when the client may refresh, the new refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedGrantTokens {
    pub access: TokenRecord,
    pub refresh: Option<RefreshRecord>,
}

/// A refresh token as stored (only as a keyed hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRecord {
    pub token_hash: Vec<u8>,
    pub grant_id: String,
    pub client_id: String,
    pub user_id: String,
    pub scopes: String,
    pub auth_time: UnixTime,
    pub issued_at: UnixTime,
    /// The family's absolute end; rotation does not move it.
    pub expires_at: UnixTime,
}

/// Where a refresh token stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshState {
    Live,
    /// Rotated at `at`; `successor_live` while the token it was exchanged for is itself
    /// neither rotated nor revoked (this is the family's immediate predecessor).
    Rotated {
        at: UnixTime,
        successor_live: bool,
    },
    Revoked,
}

/// What presenting a refresh token for rotation found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshRotation {
    /// It was live: it is now rotated and the successor is live instead, in one transaction.
    Rotated(RefreshRecord),
    /// It was rotated or revoked before this transaction: nothing was written.
    AlreadySpent(RefreshRecord),
    Unknown,
}

pub trait GrantStore {
    fn insert_code(&self, code: &CodeRecord) -> impl Future<Output = StoreResult<()>> + Send;
    /// The code with this hash and how far it got.
    fn find_code(
        &self,
        code_hash: &[u8],
    ) -> impl Future<Output = StoreResult<Option<(CodeRecord, CodeState)>>> + Send;
    /// Spends an unused code without issuing anything (its redemption failed a check); false
    /// when it was already spent.
    fn burn_code(
        &self,
        code_hash: &[u8],
        now: UnixTime,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Spends the code and records `issued` in one transaction, if and only if the code is
    /// still unused: true when committed, false (nothing written) when another redemption
    /// spent it first. A crash leaves the code either unused or spent with its tokens.
    fn exchange_code(
        &self,
        code_hash: &[u8],
        issued: &IssuedGrantTokens,
        now: UnixTime,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    fn insert_refresh_token(
        &self,
        token: &RefreshRecord,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// The refresh token with this hash and whether it is live (neither rotated nor revoked).
    fn find_refresh_token(
        &self,
        token_hash: &[u8],
    ) -> impl Future<Output = StoreResult<Option<(RefreshRecord, bool)>>> + Send;
    /// The refresh token with this hash and where it stands, from one read.
    fn refresh_token_state(
        &self,
        token_hash: &[u8],
    ) -> impl Future<Output = StoreResult<Option<(RefreshRecord, RefreshState)>>> + Send;
    /// Retires the presented token, inserts its successor and records the new access token in
    /// one transaction, if and only if the presented token is live: a crash never leaves zero
    /// or two live tokens in a family, nor a successor without its access token.
    fn rotate_refresh_token(
        &self,
        presented_hash: &[u8],
        successor: &RefreshRecord,
        access: &TokenRecord,
        now: UnixTime,
    ) -> impl Future<Output = StoreResult<RefreshRotation>> + Send;
    /// Revokes every refresh and access token of a grant; returns the revoked access-token
    /// jtis (announced on the change feed).
    fn revoke_grant(
        &self,
        grant_id: &str,
        now: UnixTime,
    ) -> impl Future<Output = StoreResult<Vec<String>>> + Send;
    /// Revokes every grant a user gave a client (the user withdrew consent); returns the revoked
    /// access-token jtis.
    fn revoke_user_grants(
        &self,
        user_id: &str,
        client_id: &str,
        now: UnixTime,
    ) -> impl Future<Output = StoreResult<Vec<String>>> + Send;
}

pub trait ConsentStore {
    /// The scopes a user has allowed a client, if any.
    fn remembered_consent(
        &self,
        user_id: &str,
        client_id: &str,
    ) -> impl Future<Output = StoreResult<Option<String>>> + Send;
    /// Records a decision (append-only) and, when allowed, remembers the scopes.
    fn record_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scopes: &str,
        allowed: bool,
        consent_version: &str,
        now: UnixTime,
    ) -> impl Future<Output = StoreResult<()>> + Send;
    /// (client id, scopes, granted at) for every remembered consent of a user.
    fn list_consents(
        &self,
        user_id: &str,
    ) -> impl Future<Output = StoreResult<Vec<(String, String, UnixTime)>>> + Send;
    fn forget_consent(
        &self,
        user_id: &str,
        client_id: &str,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
}

pub trait AdminStore {
    fn insert_admin(&self, admin: &Admin) -> impl Future<Output = StoreResult<()>> + Send;
    fn get_admin(&self, id: &str) -> impl Future<Output = StoreResult<Option<Admin>>> + Send;
    fn find_admin(&self, email: &str) -> impl Future<Output = StoreResult<Option<Admin>>> + Send;
    fn list_admins(&self) -> impl Future<Output = StoreResult<Vec<Admin>>> + Send;
    /// Replaces an admin's permissions, unless that would leave nobody holding `admin:admins`
    /// (checked in the same transaction). False when the admin does not exist.
    fn set_admin_permissions(
        &self,
        id: &str,
        permissions: &BTreeSet<AdminPermission>,
        now: UnixTime,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Turns the TOTP second factor on (with its sealed secret) or off.
    fn set_admin_totp(
        &self,
        id: &str,
        sealed: Option<&[u8]>,
        now: UnixTime,
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Records a TOTP step as used, only if it is later than the last one: false means the
    /// code was already spent.
    fn use_totp_step(&self, id: &str, step: i64) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Deletes an admin, unless it is the last one holding `admin:admins`.
    fn delete_admin(&self, id: &str) -> impl Future<Output = StoreResult<bool>> + Send;
}

/// Filters for reading the audit log; `None` matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub from: Option<UnixTime>,
    pub to: Option<UnixTime>,
    pub limit: Option<u32>,
}

pub trait AuditStore {
    /// Appends an entry at the end of the chain and returns it with its id and hashes.
    fn append_audit(
        &self,
        entry: &NewAuditEntry,
    ) -> impl Future<Output = StoreResult<AuditEntry>> + Send;
    /// Matching entries, newest first.
    fn list_audit(
        &self,
        filter: &AuditFilter,
    ) -> impl Future<Output = StoreResult<Vec<AuditEntry>>> + Send;
    /// Deletes the entries recorded before `before`, keeping the hash of the last one deleted
    /// as the anchor the rest of the chain verifies from; returns how many went.
    fn prune_audit(&self, before: UnixTime) -> impl Future<Output = StoreResult<u64>> + Send;
    /// The whole remaining chain, oldest first, and the hash it starts from (the genesis hash,
    /// or the last pruned entry's hash).
    fn audit_chain(&self) -> impl Future<Output = StoreResult<(Vec<u8>, Vec<AuditEntry>)>> + Send;
}
