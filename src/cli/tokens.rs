//! `portcullis tokens …`: bulk revocation from the command line, for incidents and for the
//! step after restoring an old backup (docs/deployment.md), when no admin portal may be up.

use clap::Subcommand;
use portcullis_core::store::TokenSelection;

use crate::service::Operator;

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Revoke every live access and refresh token issued before a moment, with a reason.
    Revoke {
        /// Unix seconds; every token issued before it is revoked.
        #[arg(long)]
        issued_before: i64,
        /// Why, for the audit log.
        #[arg(long)]
        reason: String,
    },
}

pub async fn run(command: TokensCommand, operator: &Operator) -> anyhow::Result<()> {
    match command {
        TokensCommand::Revoke { issued_before, reason } => {
            let selection = TokenSelection::IssuedBetween(0, issued_before);
            let (_, count) = operator.revoke_tokens(&selection, &reason).await?;
            // Running servers forget the revoked access tokens through the change feed.
            println!(
                "revoked {} access and {} refresh tokens issued before {issued_before}",
                count.access, count.refresh
            );
        }
    }
    Ok(())
}
