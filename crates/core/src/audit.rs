//! The audit log's hash chain. Each entry's hash covers its own fields and the previous entry's
//! hash, so removing, reordering or editing any entry breaks every link after it; `portcullis
//! audit verify` walks the chain with [`verify_chain`] and names the first broken link.

use ring::digest;
use serde::{Deserialize, Serialize};

use crate::UnixTime;

/// The hash the first entry links to.
pub const GENESIS: [u8; 32] = [0; 32];

/// Who did something: an admin (by id and email), the operator CLI, or the server itself.
pub type Actor = String;

/// One audit entry as recorded. `details` is JSON and never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: UnixTime,
    pub actor: Actor,
    /// What happened, e.g. `client.approve`.
    pub action: String,
    /// What it happened to, e.g. `client:Qx…`.
    pub target: String,
    pub source_ip: Option<String>,
    pub details: String,
    #[serde(skip)]
    pub prev_hash: Vec<u8>,
    #[serde(skip)]
    pub hash: Vec<u8>,
}

/// An entry about to be appended: everything but its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry {
    pub at: UnixTime,
    pub actor: Actor,
    pub action: String,
    pub target: String,
    pub source_ip: Option<String>,
    pub details: serde_json::Value,
}

impl AuditEntry {
    /// The entry's link hash: SHA-256 over the previous hash and each field, every field
    /// length-prefixed so that no two different entries encode the same bytes.
    pub fn link_hash(&self) -> Vec<u8> {
        fn field(context: &mut digest::Context, bytes: &[u8]) {
            context.update(&(bytes.len() as u64).to_be_bytes());
            context.update(bytes);
        }
        let mut context = digest::Context::new(&digest::SHA256);
        field(&mut context, &self.prev_hash);
        field(&mut context, &self.id.to_be_bytes());
        field(&mut context, &self.at.to_be_bytes());
        field(&mut context, self.actor.as_bytes());
        field(&mut context, self.action.as_bytes());
        field(&mut context, self.target.as_bytes());
        // An absent address and an empty one must differ.
        match &self.source_ip {
            Some(ip) => field(&mut context, ip.as_bytes()),
            None => context.update(&u64::MAX.to_be_bytes()),
        }
        field(&mut context, self.details.as_bytes());
        context.finish().as_ref().to_vec()
    }
}

/// Where a chain stops being intact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokenLink {
    /// The entry's own hash does not match its contents: it was edited.
    Altered { id: i64 },
    /// The entry does not point at the one before it: something was removed or reordered.
    Unlinked { id: i64 },
}

/// Checks a chain given oldest first, from the genesis hash or from `anchor` (the hash of the
/// last entry before `entries`, when old entries were pruned).
pub fn verify_chain(entries: &[AuditEntry], anchor: &[u8]) -> Result<(), BrokenLink> {
    let mut prev = anchor.to_vec();
    for entry in entries {
        if entry.prev_hash != prev {
            return Err(BrokenLink::Unlinked { id: entry.id });
        }
        if entry.hash != entry.link_hash() {
            return Err(BrokenLink::Altered { id: entry.id });
        }
        prev = entry.hash.clone();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: i64, prev_hash: Vec<u8>) -> AuditEntry {
        let mut entry = AuditEntry {
            id,
            at: 1_000 + id,
            actor: "cli".into(),
            action: "client.create".into(),
            target: "client:c1".into(),
            source_ip: None,
            details: format!("{{\"n\":{id}}}"),
            prev_hash,
            hash: vec![],
        };
        entry.hash = entry.link_hash();
        entry
    }

    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut prev = GENESIS.to_vec();
        (1..=n)
            .map(|id| {
                let next = entry(id, prev.clone());
                prev = next.hash.clone();
                next
            })
            .collect()
    }

    #[test]
    fn an_intact_chain_verifies() {
        assert_eq!(verify_chain(&chain(5), &GENESIS), Ok(()));
    }

    #[test]
    fn edits_removals_and_reorders_are_found_at_the_first_broken_link() {
        let mut edited = chain(5);
        edited[2].target = "client:c2".into();
        assert_eq!(verify_chain(&edited, &GENESIS), Err(BrokenLink::Altered { id: 3 }));

        let mut removed = chain(5);
        removed.remove(1);
        assert_eq!(verify_chain(&removed, &GENESIS), Err(BrokenLink::Unlinked { id: 3 }));

        let mut reordered = chain(5);
        reordered.swap(3, 4);
        assert_eq!(verify_chain(&reordered, &GENESIS), Err(BrokenLink::Unlinked { id: 5 }));
    }

    #[test]
    fn a_pruned_chain_verifies_from_its_anchor() {
        let entries = chain(5);
        let anchor = entries[1].hash.clone();
        assert_eq!(verify_chain(&entries[2..], &anchor), Ok(()));
        assert!(verify_chain(&entries[2..], &GENESIS).is_err());
    }

    #[test]
    fn fields_cannot_shift_into_each_other() {
        let a = AuditEntry { actor: "ab".into(), action: "c".into(), ..entry(1, GENESIS.to_vec()) };
        let b = AuditEntry { actor: "a".into(), action: "bc".into(), ..entry(1, GENESIS.to_vec()) };
        assert_ne!(a.link_hash(), b.link_hash());
        let none = entry(1, GENESIS.to_vec());
        let empty = AuditEntry { source_ip: Some(String::new()), ..entry(1, GENESIS.to_vec()) };
        assert_ne!(none.link_hash(), empty.link_hash());
    }
}
