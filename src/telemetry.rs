//! Log setup: tracing with structured fields, human-readable by default, JSON with
//! `PORTCULLIS_LOG_FORMAT=json`. The filter comes from `RUST_LOG` (default `info`).

use tracing_subscriber::EnvFilter;

/// Installs the subscriber. A `PORTCULLIS_LOG_FORMAT` other than `json` or `text` is an
/// error naming both, not a quiet switch to text.
pub fn init() -> Result<(), String> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = match std::env::var("PORTCULLIS_LOG_FORMAT").as_deref() {
        Err(_) | Ok("text") => false,
        Ok("json") => true,
        Ok(other) => {
            return Err(format!("PORTCULLIS_LOG_FORMAT is {other:?}: set it to json or text"))
        }
    };
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if json { builder.json().try_init() } else { builder.try_init() };
    Ok(())
}
