//! The operator CLI. Commands that change state go through [`crate::service::Operator`], the
//! same service the portals use, and take effect in a running server within a second.

mod admins;
mod api_keys;
mod clients;
mod keys;
mod scopes;
mod tokens;
mod users;

use clap::{Parser, Subcommand};

use crate::bootstrap;
use crate::config::{RawSettings, ServerConfig, StorageConfig};
use crate::service::Operator;

#[derive(Debug, Parser)]
#[command(name = "portcullis", version, about = "OAuth 2 / OpenID Connect authorization server")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (configuration from PORTCULLIS_* variables; see docs/configuration.md).
    Serve,
    /// Create the database if needed and apply pending migrations, then exit.
    Migrate,
    /// Manage the scope registry.
    #[command(subcommand)]
    Scope(scopes::ScopeCommand),
    /// Manage OAuth clients.
    #[command(subcommand)]
    Client(clients::ClientCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Manage end users (the people who sign in and consent).
    #[command(subcommand)]
    User(users::UserCommand),
    /// Manage API keys for partner integrations.
    #[command(subcommand)]
    ApiKey(api_keys::ApiKeyCommand),
    /// Manage administrators of the admin portal.
    #[command(subcommand)]
    Admin(admins::AdminCommand),
    /// Read and verify the audit log.
    #[command(subcommand)]
    Audit(admins::AuditCommand),
    /// Revoke tokens in bulk.
    #[command(subcommand)]
    Tokens(tokens::TokensCommand),
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let raw = RawSettings::from_env()?;
    match cli.command {
        Command::Serve => crate::server::serve(ServerConfig::from_raw(&raw)?).await,
        Command::Migrate => {
            let storage = StorageConfig::from_raw(&raw)?;
            bootstrap::open(&storage).await?;
            println!("database is up to date");
            Ok(())
        }
        Command::Scope(command) => scopes::run(command, &operator(&raw).await?).await,
        Command::Client(command) => clients::run(command, &operator(&raw).await?).await,
        Command::User(command) => users::run(command, &operator(&raw).await?).await,
        Command::ApiKey(command) => api_keys::run(command, &operator(&raw).await?).await,
        Command::Admin(command) => admins::run_admin(command, &operator(&raw).await?).await,
        Command::Audit(command) => admins::run_audit(command, &operator(&raw).await?).await,
        Command::Tokens(command) => tokens::run(command, &operator(&raw).await?).await,
        Command::Keys(command) => keys::run(command, &operator(&raw).await?).await,
    }
}

async fn operator(raw: &RawSettings) -> anyhow::Result<Operator> {
    let storage = StorageConfig::from_raw(raw)?;
    let opened = bootstrap::open(&storage).await?;
    Ok(Operator {
        hasher: opened.master_key.secret_hasher(),
        master_key: std::sync::Arc::new(opened.master_key),
        store: opened.store,
        max_access_token_lifetime: storage.max_access_token_lifetime,
        acting: crate::service::Acting::cli(),
    })
}

/// Prints a value as pretty JSON.
fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
