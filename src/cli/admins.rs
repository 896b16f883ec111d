//! `portcullis admin …` and `portcullis audit …`.

use clap::Subcommand;
use portcullis_core::admin::{parse_permissions, AdminPermission};
use portcullis_core::store::{AuditFilter, AuditStore};

use super::print_json;
use super::users::read_password;
use crate::service::{verify_chain_report, Operator};

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an admin. The password is read from standard input, never from a flag.
    Create {
        #[arg(long)]
        email: String,
        /// Required: read the password from standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
        /// Comma-separated: admin:clients, admin:keys, admin:users, admin:scopes, admin:audit,
        /// admin:admins. Required, except for the very first admin, who gets all of them
        /// (someone has to be able to manage admins).
        #[arg(long)]
        permissions: Option<String>,
        #[arg(long)]
        json: bool,
    },
    List {
        #[arg(long)]
        json: bool,
    },
    /// Replace an admin's permissions (the last admin:admins holder keeps that one).
    SetPermissions {
        email: String,
        #[arg(long)]
        permissions: String,
    },
    /// Delete an admin (never the last one who may manage admins).
    Delete { email: String },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain and report the first broken link; exits non-zero when broken.
    Verify,
    /// Show entries, newest first.
    List {
        #[arg(long)]
        actor: Option<String>,
        #[arg(long)]
        action: Option<String>,
        #[arg(long)]
        target: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run_admin(command: AdminCommand, operator: &Operator) -> anyhow::Result<()> {
    match command {
        AdminCommand::Create { email, password_stdin: _, permissions, json } => {
            let permissions = match permissions {
                Some(list) => parse_permissions(&list).map_err(anyhow::Error::msg)?,
                None if operator.admins().await?.is_empty() => {
                    AdminPermission::ALL.iter().copied().collect()
                }
                None => anyhow::bail!(
                    "--permissions is required: only the first admin gets all permissions"
                ),
            };
            let admin = operator.create_admin(&email, read_password()?, permissions).await?;
            if json {
                print_json(&admin)?;
            } else {
                let list: Vec<&str> = admin.permissions.iter().map(|p| p.as_str()).collect();
                println!("admin {} created with {}", admin.email, list.join(", "));
            }
        }
        AdminCommand::List { json } => {
            let admins = operator.admins().await?;
            if json {
                print_json(&admins)?;
            } else {
                for admin in &admins {
                    let list: Vec<&str> = admin.permissions.iter().map(|p| p.as_str()).collect();
                    println!("{:<32} {}", admin.email, list.join(" "));
                }
            }
        }
        AdminCommand::SetPermissions { email, permissions } => {
            let permissions = parse_permissions(&permissions).map_err(anyhow::Error::msg)?;
            operator.set_admin_permissions(&email, permissions).await?;
            println!("permissions of {email} replaced");
        }
        AdminCommand::Delete { email } => {
            operator.delete_admin(&email).await?;
            println!("admin {email} deleted");
        }
    }
    Ok(())
}

pub async fn run_audit(command: AuditCommand, operator: &Operator) -> anyhow::Result<()> {
    match command {
        AuditCommand::Verify => {
            let result = operator.verify_audit_chain().await?;
            println!("{}", verify_chain_report(&result));
            if result.is_err() {
                std::process::exit(1);
            }
        }
        AuditCommand::List { actor, action, target, limit, json } => {
            let filter =
                AuditFilter { actor, action, target, limit: Some(limit), ..AuditFilter::default() };
            let entries = operator.store.list_audit(&filter).await?;
            if json {
                // JSON lines: one entry per line, for log pipelines.
                for entry in &entries {
                    println!("{}", serde_json::to_string(entry)?);
                }
            } else {
                for entry in &entries {
                    println!(
                        "{:>6} {} {:<24} {:<22} {:<36} {}",
                        entry.id, entry.at, entry.actor, entry.action, entry.target, entry.details
                    );
                }
            }
        }
    }
    Ok(())
}
