//! `portcullis client …`

use clap::{Args, Subcommand};
use portcullis_core::client::{
    parse_wire_list, Client, ClientPermission, ClientStatus, ClientType, TokenAuthMethod,
};
use portcullis_core::keys::SigningAlgorithm;
use portcullis_core::lifetime::{LifetimePolicy, WeeklyWindow};
use portcullis_core::scope::ScopeSet;
use serde_json::json;

use super::print_json;
use crate::service::{NewClient, Operator};

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client. Every setting is required: nothing defaults.
    Create(CreateArgs),
    List {
        #[arg(long)]
        json: bool,
    },
    Show {
        client_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Stop the client from authenticating (its tokens stay valid until revoked or expired).
    Disable {
        client_id: String,
    },
    Enable {
        client_id: String,
    },
    Delete {
        client_id: String,
    },
    /// Activate a pending client, optionally with fewer scopes than it asked for.
    Approve {
        client_id: String,
        #[arg(long)]
        scopes: Option<String>,
        /// Why, for the audit log.
        #[arg(long)]
        reason: String,
        /// Required for a client a partner requested: the longest overlap (hours, 0-720) the
        /// partner may keep an old secret or key working when it rotates one.
        #[arg(long)]
        partner_overlap_hours: Option<u32>,
    },
    /// Refuse a pending client (it stays disabled), with a reason the partner can read.
    Reject {
        client_id: String,
        #[arg(long)]
        reason: String,
    },
    /// Issue a new secret, shown once. The old one stops working at once unless
    /// --overlap-hours keeps it valid that long (1-720) while partners switch over.
    RotateSecret {
        client_id: String,
        #[arg(long)]
        overlap_hours: Option<u32>,
        #[arg(long)]
        json: bool,
    },
    /// Give a client a permission: introspect-any, verify-api-keys or skip-consent.
    Grant {
        client_id: String,
        permission: ClientPermission,
    },
    /// Take a permission back.
    RevokeGrant {
        client_id: String,
        permission: ClientPermission,
    },
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    #[arg(long)]
    name: String,
    /// confidential or public.
    #[arg(long = "type")]
    client_type: ClientType,
    /// Comma-separated: authorization_code, refresh_token, client_credentials.
    #[arg(long)]
    grant_types: String,
    /// Space-separated scopes the client may request.
    #[arg(long)]
    scopes: String,
    /// Comma-separated redirect URIs (required with authorization_code).
    #[arg(long, default_value = "")]
    redirect_uris: String,
    /// Comma-separated URIs RP-initiated logout may return to (optional).
    #[arg(long, default_value = "")]
    post_logout_redirect_uris: String,
    /// How ID tokens are signed: ES256, RS256 or EdDSA. Required when the scopes include
    /// openid; a key of that algorithm is generated if there is none.
    #[arg(long)]
    id_token_signing_alg: Option<SigningAlgorithm>,
    /// client_secret_basic or client_secret_post (confidential), none (public).
    #[arg(long)]
    token_auth_method: TokenAuthMethod,
    /// Access-token lifetime in seconds.
    #[arg(long, allow_negative_numbers = true)]
    access_token_lifetime: i64,
    /// Refresh-token lifetime in seconds.
    #[arg(long, allow_negative_numbers = true)]
    refresh_token_lifetime: i64,
    /// Optional: longer access-token lifetime (seconds) for --extended-lifetime-scopes inside
    /// --extended-lifetime-window. All three together or none.
    #[arg(long, requires_all = ["extended_lifetime_scopes", "extended_lifetime_window"])]
    extended_lifetime: Option<u32>,
    #[arg(long, requires = "extended_lifetime")]
    extended_lifetime_scopes: Option<String>,
    /// e.g. "Mon-Fri 08:00-18:00 America/New_York".
    #[arg(long, requires = "extended_lifetime")]
    extended_lifetime_window: Option<String>,
    /// Register the client as awaiting an admin's approval (e.g. a partner's request that
    /// arrived by other means) instead of active.
    #[arg(long)]
    pending: bool,
    #[arg(long)]
    json: bool,
}

impl CreateArgs {
    fn registration(&self) -> anyhow::Result<NewClient> {
        let lifetime_policy = match (
            &self.extended_lifetime,
            &self.extended_lifetime_scopes,
            &self.extended_lifetime_window,
        ) {
            (Some(lifetime), Some(scopes), Some(window)) => Some(LifetimePolicy {
                scopes: ScopeSet::parse_list(scopes)?,
                access_token_lifetime: *lifetime,
                window: WeeklyWindow::parse(window)?,
            }),
            _ => None,
        };
        Ok(NewClient {
            name: self.name.clone(),
            client_type: self.client_type,
            grant_types: parse_wire_list(&self.grant_types).map_err(anyhow::Error::msg)?,
            allowed_scopes: ScopeSet::parse_list(&self.scopes)?,
            redirect_uris: split_list(&self.redirect_uris),
            post_logout_redirect_uris: split_list(&self.post_logout_redirect_uris),
            auth_method: self.token_auth_method,
            id_token_signing_alg: self.id_token_signing_alg,
            access_token_lifetime: self.access_token_lifetime,
            refresh_token_lifetime: self.refresh_token_lifetime,
            lifetime_policy,
        })
    }
}

pub async fn run(command: ClientCommand, operator: &Operator) -> anyhow::Result<()> {
    match command {
        ClientCommand::Create(args) => {
            let status = if args.pending { ClientStatus::Pending } else { ClientStatus::Active };
            let created = operator.create_client(args.registration()?, status).await?;
            let secret = created.secret.as_ref().map(|s| s.expose());
            if args.json {
                let mut value = client_json(&created.client);
                value["client_secret"] = json!(secret);
                print_json(&value)?;
            } else {
                print_client(&created.client);
                if let Some(secret) = secret {
                    println!("client_secret: {secret}");
                    println!("(shown once: store it now; Portcullis keeps only a hash)");
                }
            }
        }
        ClientCommand::List { json } => {
            let clients =
                portcullis_core::store::ClientStore::list_clients(&operator.store).await?;
            if json {
                print_json(&clients.iter().map(client_json).collect::<Vec<_>>())?;
            } else {
                for client in &clients {
                    println!(
                        "{:<24} {:<9} {:<12} {}",
                        client.id, client.status, client.client_type, client.name
                    );
                }
            }
        }
        ClientCommand::Show { client_id, json } => {
            let client = operator.client(&client_id).await?;
            if json {
                print_json(&client_json(&client))?;
            } else {
                print_client(&client);
            }
        }
        ClientCommand::Disable { client_id } => {
            operator.set_client_status(&client_id, ClientStatus::Disabled).await?;
            println!("client {client_id} disabled");
        }
        ClientCommand::Enable { client_id } => {
            operator.set_client_status(&client_id, ClientStatus::Active).await?;
            println!("client {client_id} enabled");
        }
        ClientCommand::Approve { client_id, scopes, reason, partner_overlap_hours } => {
            let scopes = scopes.as_deref().map(ScopeSet::parse_list).transpose()?;
            let client =
                operator.approve_client(&client_id, scopes, &reason, partner_overlap_hours).await?;
            println!("client {client_id} approved with {}", client.allowed_scopes.to_wire());
        }
        ClientCommand::Reject { client_id, reason } => {
            operator.reject_client(&client_id, &reason).await?;
            println!("client {client_id} rejected");
        }
        ClientCommand::Delete { client_id } => {
            operator.delete_client(&client_id).await?;
            println!("client {client_id} deleted");
        }
        ClientCommand::RotateSecret { client_id, overlap_hours, json } => {
            let secret = operator.rotate_client_secret(&client_id, overlap_hours).await?;
            if json {
                print_json(&json!({ "client_id": client_id, "client_secret": secret.expose() }))?;
            } else {
                println!("client_secret: {}", secret.expose());
                match overlap_hours {
                    Some(hours) => {
                        println!("(shown once; the previous secret works {hours} more hours)")
                    }
                    None => println!("(shown once; the previous secret no longer works)"),
                }
            }
        }
        ClientCommand::Grant { client_id, permission } => {
            operator.set_client_permission(&client_id, permission, true).await?;
            println!("client {client_id} may now {permission}");
        }
        ClientCommand::RevokeGrant { client_id, permission } => {
            operator.set_client_permission(&client_id, permission, false).await?;
            println!("client {client_id} may no longer {permission}");
        }
    }
    Ok(())
}

fn split_list(list: &str) -> Vec<String> {
    list.split(',').filter(|u| !u.is_empty()).map(str::to_owned).collect()
}

fn client_json(client: &Client) -> serde_json::Value {
    let mut value = serde_json::to_value(client).unwrap_or_default();
    value["client_id"] = json!(client.id);
    value
}

fn print_client(client: &Client) {
    println!("client_id: {}", client.id);
    println!("name: {}", client.name);
    println!(
        "type: {}  status: {}  auth: {}",
        client.client_type, client.status, client.auth_method
    );
    let grants: Vec<&str> = client.grant_types.iter().map(|g| g.as_str()).collect();
    println!("grant types: {}", grants.join(", "));
    println!("scopes: {}", client.allowed_scopes.to_wire());
    for uri in &client.redirect_uris {
        println!("redirect uri: {}", uri.as_str());
    }
    for uri in &client.post_logout_redirect_uris {
        println!("post-logout redirect uri: {}", uri.as_str());
    }
    if let Some(alg) = client.id_token_signing_alg {
        println!("ID tokens signed with: {alg}");
    }
    println!(
        "lifetimes: access {}s, refresh {}s",
        client.access_token_lifetime, client.refresh_token_lifetime
    );
    if let Some(policy) = &client.lifetime_policy {
        println!(
            "extended lifetime: {}s for {} during {}",
            policy.access_token_lifetime,
            policy.scopes.to_wire(),
            policy.window.as_str()
        );
    }
    let permissions: Vec<&str> = client.permissions.iter().map(|p| p.as_str()).collect();
    if !permissions.is_empty() {
        println!("permissions: {}", permissions.join(", "));
    }
}
