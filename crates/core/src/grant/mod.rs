//! Grant types: each one turns an authenticated client's request into a decision about what to
//! issue. The HTTP layer parses; these functions decide.

pub mod authorization_code;
pub mod client_credentials;

use crate::scope::ScopeSet;

/// What the token endpoint should issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueDecision {
    /// Subject of the access token (`client:<id>` for client_credentials).
    pub subject: String,
    /// Granted scopes, already expanded by the registry.
    pub scopes: ScopeSet,
    /// Access-token lifetime in seconds.
    pub lifetime: u32,
}
