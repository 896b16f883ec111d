//! `portcullis api-key …`

use clap::{Args, Subcommand};
use portcullis_core::api_key::{
    day_of, format_day, parse_day, ApiKey, ApiKeyRequest, ApiKeyStatus,
};
use portcullis_core::cidr::parse_networks;
use portcullis_core::scope::ScopeSet;
use serde_json::json;

use super::print_json;
use crate::clock::unix_now;
use crate::service::{CreatedApiKey, Operator};

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Issue a key for a client. The key is shown once.
    Create(CreateArgs),
    /// List keys, all or one client's.
    List {
        #[arg(long)]
        client_id: Option<String>,
        #[arg(long)]
        json: bool,
    },
    Show {
        key_id: String,
        #[arg(long)]
        json: bool,
    },
    /// Stop a key from verifying until it is enabled again.
    Disable {
        key_id: String,
    },
    Enable {
        key_id: String,
    },
    /// Activate a pending key, optionally with fewer scopes or a lower limit (never more).
    Approve {
        key_id: String,
        #[arg(long)]
        scopes: Option<String>,
        #[arg(long)]
        rate_limit_per_minute: Option<u32>,
        /// Why, for the audit log.
        #[arg(long)]
        reason: String,
    },
    /// Refuse a pending key (it is revoked), with a reason the partner can read.
    Reject {
        key_id: String,
        #[arg(long)]
        reason: String,
    },
    /// Revoke a key for good.
    Revoke {
        key_id: String,
    },
    /// Issue a successor with the same settings. The old key stops working at once unless
    /// --overlap-hours keeps it valid that long.
    Rotate {
        key_id: String,
        #[arg(long)]
        overlap_hours: Option<u32>,
        #[arg(long)]
        json: bool,
    },
    /// Verifications per day by outcome, and the source addresses seen.
    Usage {
        key_id: String,
        /// First day, YYYY-MM-DD (default: 29 days before --to).
        #[arg(long)]
        from: Option<String>,
        /// Last day, YYYY-MM-DD (default: today, UTC).
        #[arg(long)]
        to: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    #[arg(long)]
    client_id: String,
    #[arg(long)]
    name: String,
    /// Space-separated scopes, within the client's allowed scopes.
    #[arg(long)]
    scopes: String,
    /// Requests per minute. Required: there is no default limit.
    #[arg(long, allow_negative_numbers = true)]
    rate_limit_per_minute: i64,
    /// Extra requests allowed at once after a quiet spell (default: none).
    #[arg(long, allow_negative_numbers = true)]
    burst: Option<i64>,
    /// Comma-separated CIDRs the key may be used from (default: anywhere).
    #[arg(long)]
    allowed_ips: Option<String>,
    /// Days until the key expires (default: never).
    #[arg(long, allow_negative_numbers = true)]
    expires_in_days: Option<i64>,
    /// Issue the key as awaiting an admin's approval instead of active.
    #[arg(long)]
    pending: bool,
    #[arg(long)]
    json: bool,
}

pub async fn run(command: ApiKeyCommand, operator: &Operator) -> anyhow::Result<()> {
    match command {
        ApiKeyCommand::Create(args) => {
            let request = ApiKeyRequest {
                name: args.name,
                scopes: ScopeSet::parse_list(&args.scopes)?,
                rate_limit_per_minute: args.rate_limit_per_minute,
                burst: args.burst,
                allowed_ips: parse_networks(args.allowed_ips.as_deref().unwrap_or_default())?,
                expires_in_days: args.expires_in_days,
            };
            let status = if args.pending { ApiKeyStatus::Pending } else { ApiKeyStatus::Active };
            let created = operator.create_api_key(&args.client_id, request, status).await?;
            print_created(&created, args.json)?;
        }
        ApiKeyCommand::List { client_id, json } => {
            let keys = operator.api_keys(client_id.as_deref()).await?;
            if json {
                print_json(&keys.iter().map(key_json).collect::<Vec<_>>())?;
            } else {
                for key in &keys {
                    println!(
                        "{:<24} {:<9} {:<14} {:<24} {}",
                        key.id, key.status, key.key_prefix, key.client_id, key.name
                    );
                }
            }
        }
        ApiKeyCommand::Show { key_id, json } => {
            let key = operator.api_key(&key_id).await?;
            if json {
                print_json(&key_json(&key))?;
            } else {
                print_key(&key);
            }
        }
        ApiKeyCommand::Disable { key_id } => {
            operator.set_api_key_status(&key_id, ApiKeyStatus::Disabled).await?;
            println!("API key {key_id} disabled");
        }
        ApiKeyCommand::Enable { key_id } => {
            operator.set_api_key_status(&key_id, ApiKeyStatus::Active).await?;
            println!("API key {key_id} enabled");
        }
        ApiKeyCommand::Approve { key_id, scopes, rate_limit_per_minute, reason } => {
            let scopes = scopes.as_deref().map(ScopeSet::parse_list).transpose()?;
            let key =
                operator.approve_api_key(&key_id, scopes, rate_limit_per_minute, &reason).await?;
            println!(
                "API key {key_id} approved: {} at {} per minute",
                key.scopes.to_wire(),
                key.rate_limit_per_minute
            );
        }
        ApiKeyCommand::Reject { key_id, reason } => {
            operator.reject_api_key(&key_id, &reason).await?;
            println!("API key {key_id} rejected");
        }
        ApiKeyCommand::Revoke { key_id } => {
            operator.set_api_key_status(&key_id, ApiKeyStatus::Revoked).await?;
            println!("API key {key_id} revoked");
        }
        ApiKeyCommand::Rotate { key_id, overlap_hours, json } => {
            let created = operator.rotate_api_key(&key_id, overlap_hours).await?;
            print_created(&created, json)?;
            if !json {
                match overlap_hours {
                    Some(hours) => println!("the old key {key_id} keeps working for {hours} h"),
                    None => println!("the old key {key_id} no longer works"),
                }
            }
        }
        ApiKeyCommand::Usage { key_id, from, to, json } => {
            let day = |text: Option<String>, default: i64| match text {
                None => Ok(default),
                Some(text) => parse_day(&text)
                    .ok_or_else(|| anyhow::anyhow!("{text:?} is not a date: write YYYY-MM-DD")),
            };
            let to = day(to, day_of(unix_now()))?;
            let from = day(from, to - 29)?;
            let days = operator.api_key_usage(&key_id, from, to).await?;
            if json {
                print_json(&crate::http::usage_json(&key_id, from, to, &days))?;
            } else {
                for d in &days {
                    let outcomes: Vec<String> =
                        d.outcomes.iter().map(|(o, n)| format!("{o}={n}")).collect();
                    println!(
                        "{}  {}  sources: {}",
                        format_day(d.day),
                        outcomes.join(" "),
                        d.sources.len()
                    );
                }
            }
        }
    }
    Ok(())
}

fn print_created(created: &CreatedApiKey, json: bool) -> anyhow::Result<()> {
    if json {
        let mut value = key_json(&created.key);
        value["api_key"] = json!(created.secret.expose());
        print_json(&value)
    } else {
        print_key(&created.key);
        println!("api_key: {}", created.secret.expose());
        println!("(shown once: store it now; Portcullis keeps only a hash)");
        Ok(())
    }
}

fn key_json(key: &ApiKey) -> serde_json::Value {
    serde_json::to_value(key).unwrap_or_default()
}

fn print_key(key: &ApiKey) {
    println!("id: {}  ({}…)", key.id, key.key_prefix);
    println!("client: {}  name: {}  status: {}", key.client_id, key.name, key.status);
    println!("scopes: {}", key.scopes.to_wire());
    let burst = key.burst.map_or_else(|| "no burst".to_owned(), |b| format!("burst {b}"));
    println!("rate limit: {}/min, {burst}", key.rate_limit_per_minute);
    if !key.allowed_ips.is_empty() {
        let ips: Vec<String> = key.allowed_ips.iter().map(ToString::to_string).collect();
        println!("allowed from: {}", ips.join(", "));
    }
    if let Some(at) = key.expires_at {
        println!("expires: {at} (unix time)");
    }
    if let Some(successor) = &key.replaced_by {
        println!("replaced by: {successor}");
    }
    if let Some(at) = key.last_used_at {
        println!("last used: {at} (unix time)");
    }
}
