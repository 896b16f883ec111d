//! `portcullis user …`

use std::io::Read;

use clap::Subcommand;
use portcullis_core::user::{User, UserStatus};

use super::print_json;
use crate::service::{NewUser, Operator};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an end user. The password is read from standard input, never from a flag.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        name: Option<String>,
        /// Required: read the password from standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
        #[arg(long)]
        json: bool,
    },
    List {
        #[arg(long)]
        json: bool,
    },
    /// Stop a user from signing in.
    Disable {
        username: String,
    },
    Enable {
        username: String,
    },
    /// Set a new password, read from standard input.
    Reset {
        username: String,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

pub(super) fn read_password() -> anyhow::Result<String> {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text)?;
    Ok(text.trim_end_matches(['\n', '\r']).to_owned())
}

pub async fn run(command: UserCommand, operator: &Operator) -> anyhow::Result<()> {
    match command {
        UserCommand::Create { username, email, name, password_stdin: _, json } => {
            let user =
                operator.create_user(NewUser { username, email, name }, read_password()?).await?;
            if json {
                print_json(&user)?;
            } else {
                println!("user {} created (sub {})", user.username, user.id);
            }
        }
        UserCommand::List { json } => {
            let users = operator.users().await?;
            if json {
                print_json(&users)?;
            } else {
                for user in &users {
                    print_user(user);
                }
            }
        }
        UserCommand::Disable { username } => {
            operator.set_user_status(&username, UserStatus::Disabled).await?;
            println!("user {username} disabled");
        }
        UserCommand::Enable { username } => {
            operator.set_user_status(&username, UserStatus::Active).await?;
            println!("user {username} enabled");
        }
        UserCommand::Reset { username, password_stdin: _ } => {
            operator.reset_password(&username, read_password()?).await?;
            println!("password of {username} reset");
        }
    }
    Ok(())
}

fn print_user(user: &User) {
    println!(
        "{:<24} {:<9} {:<24} {}",
        user.id,
        user.status,
        user.username,
        user.email.as_deref().unwrap_or("")
    );
}
