//! Portcullis server: configuration, the HTTP surface, the operator CLI and the service layer
//! both share. Protocol rules live in `portcullis-core`; storage in `portcullis-store`.

pub mod auth_failures;
pub mod bootstrap;
pub mod cli;
pub mod clock;
pub mod config;
pub mod http;
pub mod introspection_cache;
pub mod jobs;
pub mod live;
pub mod login_throttle;
pub mod metrics;
pub mod rate_limiter;
pub mod server;
pub mod service;
pub mod session_store;
pub mod signer;
pub mod telemetry;
pub mod throttle;
pub mod usage;
