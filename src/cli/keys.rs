//! `portcullis keys …`

use clap::Subcommand;
use portcullis_core::keys::SigningAlgorithm;
use portcullis_core::store::KeyStore;

use crate::service::Operator;

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate a new signing key and make it the current key of its algorithm. The previous key
    /// of that algorithm stays in the JWKS until every token it signed has expired
    /// (PORTCULLIS_MAX_ACCESS_TOKEN_LIFETIME). Access tokens are signed with the current key of
    /// PORTCULLIS_SIGNING_ALG; ID tokens with the current key of the client's algorithm.
    Rotate {
        /// ES256, RS256 or EdDSA.
        #[arg(long)]
        alg: SigningAlgorithm,
        /// Take the previous key out of the JWKS at once, so every token it signed stops
        /// verifying (after restoring an old backup, or when a key may have leaked).
        #[arg(long)]
        unpublish_previous: bool,
    },
    /// List signing keys and whether each is current, retired or gone from the JWKS.
    List,
}

pub async fn run(command: KeysCommand, operator: &Operator) -> anyhow::Result<()> {
    match command {
        KeysCommand::Rotate { alg, unpublish_previous } => {
            let publish_previous_for =
                if unpublish_previous { 0 } else { operator.max_access_token_lifetime };
            let kid = operator.rotate_signing_key(alg, publish_previous_for, "operator").await?;
            println!("new {alg} signing key {kid} is current");
        }
        KeysCommand::List => {
            let now = crate::clock::unix_now();
            for key in operator.store.list_signing_keys().await? {
                let state = match (key.retired_at, key.publish_until) {
                    (None, _) => "current".to_owned(),
                    (Some(_), Some(until)) if until > now => {
                        format!("retired, published until {until}")
                    }
                    _ => "retired, unpublished".to_owned(),
                };
                println!("{}  {:<6} {}", key.kid, key.alg, state);
            }
        }
    }
    Ok(())
}
