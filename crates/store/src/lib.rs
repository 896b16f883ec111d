//! Portcullis storage (placeholder while the crate is written).
