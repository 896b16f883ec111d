//! Signing-key rotation as an operator action: `portcullis keys rotate` and the scheduled
//! key-rotation job both go through it, so every rotation is audited the same way.

use portcullis_core::keys::SigningAlgorithm;
use portcullis_core::store::KeyStore;

use super::Operator;

impl Operator {
    /// Makes a new key current for `alg`; the previous one stays in the JWKS for
    /// `publish_previous_for` seconds (0: out at once). Audited as `signing_key.rotate` with
    /// `reason` (`operator`, `scheduled`). Returns the new key's id.
    pub async fn rotate_signing_key(
        &self,
        alg: SigningAlgorithm,
        publish_previous_for: u32,
        reason: &str,
    ) -> anyhow::Result<String> {
        let keys = self.store.list_signing_keys().await?;
        let previous = keys.iter().find(|k| k.alg == alg && k.retired_at.is_none());
        let previous = previous.map(|k| k.kid.clone());

        let kid = crate::bootstrap::rotate_signing_key(
            &self.store,
            &self.master_key,
            alg,
            publish_previous_for,
        )
        .await?;

        let details = serde_json::json!({
            "alg": alg.to_string(),
            "previous": previous,
            "previous_published_for_seconds": publish_previous_for,
            "reason": reason,
        });
        self.audit("signing_key.rotate", format!("signing_key:{kid}"), details).await?;
        Ok(kid)
    }
}
