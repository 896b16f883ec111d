//! Configuration: raw values from `PORTCULLIS_*` environment variables and an optional TOML file
//! (`PORTCULLIS_CONFIG`), validated once into typed settings.
//!
//! Environment variables win over the file. Every missing or invalid value is an error that names
//! the variable and what to set. The few documented defaults are operational (where to listen,
//! where the data directory is), never protocol choices: there is no default issuer, audience,
//! scope, lifetime or redirect URI.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use std::time::Duration;

use axum::http::HeaderName;
use portcullis_core::cidr::{parse_networks, IpNetwork};
use portcullis_core::keys::SigningAlgorithm;
use portcullis_core::rate_limit::RateLimit;

/// Server-wide cap on any access-token lifetime unless configured: one day.
const DEFAULT_MAX_ACCESS_TOKEN_LIFETIME: u32 = 24 * 3600;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{var} is not set: {help}")]
    Missing { var: &'static str, help: &'static str },
    #[error("{var} is invalid ({value:?}): {help}")]
    Invalid { var: &'static str, value: String, help: String },
    #[error("cannot read the configuration file {path}: {reason}")]
    File { path: PathBuf, reason: String },
}

/// Raw settings: each `PORTCULLIS_<NAME>` variable, or `<name>` in the TOML file.
#[derive(Debug, Default)]
pub struct RawSettings {
    values: BTreeMap<String, String>,
}

impl RawSettings {
    /// Reads the environment and, if `PORTCULLIS_CONFIG` names one, the TOML file.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_pairs(std::env::vars())
    }

    /// Builds raw settings from `(variable, value)` pairs, as the environment would give them.
    pub fn from_pairs(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut values = BTreeMap::new();
        let vars: Vec<(String, String)> = vars.into_iter().collect();
        if let Some((_, path)) = vars.iter().find(|(k, _)| k == "PORTCULLIS_CONFIG") {
            values.extend(read_toml(Path::new(path))?);
        }
        for (key, value) in vars {
            if let Some(name) = key.strip_prefix("PORTCULLIS_") {
                values.insert(name.to_ascii_lowercase(), value);
            }
        }
        Ok(Self { values })
    }

    fn get(&self, var: &'static str) -> Option<&str> {
        let name = var.trim_start_matches("PORTCULLIS_").to_ascii_lowercase();
        self.values.get(&name).map(String::as_str).filter(|v| !v.trim().is_empty())
    }

    fn parse<T: FromStr>(&self, var: &'static str, help: &str) -> Result<Option<T>, ConfigError> {
        self.get(var)
            .map(|v| {
                v.trim().parse().map_err(|_| ConfigError::Invalid {
                    var,
                    value: v.into(),
                    help: help.into(),
                })
            })
            .transpose()
    }
}

fn read_toml(path: &Path) -> Result<BTreeMap<String, String>, ConfigError> {
    let file_error = |reason: String| ConfigError::File { path: path.into(), reason };
    let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
    let table: toml::Table =
        text.parse().map_err(|e: toml::de::Error| file_error(e.to_string()))?;
    table
        .into_iter()
        .map(|(key, value)| {
            let value = match value {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                other => {
                    return Err(file_error(format!(
                        "{key} must be a string or number, got {other}"
                    )))
                }
            };
            Ok((key.to_ascii_lowercase(), value))
        })
        .collect()
}

/// Where state lives: needed by every command, the server and the CLI alike.
#[derive(Debug, Clone)]
pub struct StorageConfig {
    pub data_dir: PathBuf,
    pub database_url: String,
    /// The master key itself, when given in the environment.
    pub master_key: Option<String>,
    /// Where the master key file is (created with 0600 permissions when missing).
    pub master_key_file: PathBuf,
    pub max_connections: u32,
    pub max_access_token_lifetime: u32,
}

impl StorageConfig {
    pub fn from_raw(raw: &RawSettings) -> Result<Self, ConfigError> {
        let data_dir = PathBuf::from(raw.get("PORTCULLIS_DATA_DIR").unwrap_or("data"));
        let database_url = match raw.get("PORTCULLIS_DATABASE_URL") {
            Some(url) if url.starts_with("sqlite:") || url.starts_with("postgres") => {
                url.to_owned()
            }
            Some(url) => return Err(ConfigError::Invalid {
                var: "PORTCULLIS_DATABASE_URL",
                value: url.into(),
                help: "use postgres://user@host/db, or leave it unset for the embedded SQLite file"
                    .into(),
            }),
            None => portcullis_store::SqlStore::sqlite_url(&absolute(&data_dir)),
        };
        let master_key_file = raw
            .get("PORTCULLIS_MASTER_KEY_FILE")
            .map(PathBuf::from)
            .unwrap_or_else(|| data_dir.join("master.key"));
        let max_connections = raw
            .parse("PORTCULLIS_DATABASE_MAX_CONNECTIONS", "a number of connections, e.g. 16")?
            .unwrap_or(16);
        let max_access_token_lifetime = raw
            .parse(
                "PORTCULLIS_MAX_ACCESS_TOKEN_LIFETIME",
                "the longest access-token lifetime any client may get, in seconds",
            )?
            .unwrap_or(DEFAULT_MAX_ACCESS_TOKEN_LIFETIME);
        Ok(Self {
            data_dir,
            database_url,
            master_key: raw.get("PORTCULLIS_MASTER_KEY").map(str::to_owned),
            master_key_file,
            max_connections,
            max_access_token_lifetime,
        })
    }
}

/// Everything `portcullis serve` needs on top of storage.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub storage: StorageConfig,
    /// The issuer identifier (RFC 8414 §2), compared byte for byte.
    pub issuer: String,
    /// The `aud` of access tokens: RFC 9068 §3 asks for a default resource indicator when the
    /// request names none, and Portcullis makes the operator choose it.
    pub audience: String,
    pub listen: SocketAddr,
    pub signing_alg: SigningAlgorithm,
    /// Folder with the built site (`pkg/` with wasm, JS and CSS).
    pub site_root: PathBuf,
    /// Failed client authentications allowed per client and source address per minute.
    pub client_auth_failure_limit: u32,
    /// Inactive introspection answers allowed per calling client per minute.
    pub introspection_inactive_limit: u32,
    /// Unknown API keys presented per source address per minute before that source is blocked.
    pub api_key_guess_limit: u32,
    pub proxies: ProxyConfig,
    /// Redis for limits shared by several instances; `None` keeps them in process.
    pub redis: Option<RedisConfig>,
    /// How often API-key usage counters are written to the database.
    pub usage_flush_interval: Duration,
    /// How long an authorization code may wait to be redeemed.
    pub authorization_code_lifetime: u32,
    /// Days audit entries are kept; `None` (unset) keeps them for ever. Set explicitly.
    pub audit_retention_days: Option<u32>,
    /// Days a signing key signs before the key-rotation job replaces it; `None` (unset): keys
    /// rotate only when an operator runs `portcullis keys rotate`.
    pub signing_key_rotation_days: Option<u32>,
    /// How long a browser session lasts without activity.
    pub session_lifetime: Duration,
    /// How long a session lasts from sign-in, however active (SECURITY.md H-25).
    pub session_absolute_lifetime: Duration,
    /// How long an admin session lasts without activity: shorter than the others by default
    /// (SECURITY.md I-15).
    pub admin_session_lifetime: Duration,
    /// Where `/metrics` is served, apart from the public listener (127.0.0.1:9464 unless set);
    /// `None` (`off`): not served.
    pub metrics_listen: Option<SocketAddr>,
    /// How long in-flight requests may run on after SIGTERM before the process exits anyway.
    pub shutdown_grace: Duration,
    /// Token requests per authenticated client; `None` (unset): not limited.
    pub token_rate_limit: Option<RateLimit>,
    /// Sign-in and sign-up form posts per source address; `None` (unset): not limited beyond
    /// the failure lockouts.
    pub form_rate_limit: Option<RateLimit>,
}

/// Which proxies may tell us the client's address, and in which header. Empty by default: the
/// socket peer is the client and forwarding headers are ignored.
#[derive(Debug, Clone, Default)]
pub struct ProxyConfig {
    pub trusted: Vec<IpNetwork>,
    pub client_ip_header: Option<HeaderName>,
}

#[derive(Debug, Clone)]
pub struct RedisConfig {
    pub url: String,
    /// Prefix of every key Portcullis writes, so deployments can share a Redis.
    pub prefix: String,
}

impl ServerConfig {
    pub fn from_raw(raw: &RawSettings) -> Result<Self, ConfigError> {
        let storage = StorageConfig::from_raw(raw)?;
        let issuer = raw.get("PORTCULLIS_ISSUER").ok_or(ConfigError::Missing {
            var: "PORTCULLIS_ISSUER",
            help: "set it to the public https URL of this server, e.g. https://auth.example.com",
        })?;
        let issuer = validate_issuer(issuer)?;
        let audience = raw.get("PORTCULLIS_ACCESS_TOKEN_AUDIENCE").ok_or(ConfigError::Missing {
            var: "PORTCULLIS_ACCESS_TOKEN_AUDIENCE",
            help: "set it to the identifier of the API the tokens are for, \
                   e.g. https://api.example.com",
        })?;
        let listen = raw
            .parse("PORTCULLIS_LISTEN", "an address and port, e.g. 127.0.0.1:3000")?
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 3000)));
        let signing_alg = raw
            .parse("PORTCULLIS_SIGNING_ALG", "one of ES256, RS256, EdDSA")?
            .unwrap_or(SigningAlgorithm::ES256);
        let (session_lifetime, session_absolute_lifetime) = session_lifetimes(raw)?;
        let admin_session_lifetime = bounded(
            raw,
            "PORTCULLIS_ADMIN_SESSION_LIFETIME",
            "seconds an admin session lasts without activity, 60 to 86400",
            (60, 86_400),
            30 * 60,
        )?;
        if admin_session_lifetime > session_absolute_lifetime {
            return Err(ConfigError::Invalid {
                var: "PORTCULLIS_ADMIN_SESSION_LIFETIME",
                value: admin_session_lifetime.to_string(),
                help: "at most PORTCULLIS_SESSION_ABSOLUTE_LIFETIME, which ends every session"
                    .into(),
            });
        }
        let site_root = PathBuf::from(raw.get("PORTCULLIS_SITE_ROOT").unwrap_or("target/site"));
        let client_auth_failure_limit = raw
            .parse(
                "PORTCULLIS_CLIENT_AUTH_FAILURE_LIMIT",
                "failures per client and address per minute",
            )?
            .unwrap_or(20);
        let introspection_inactive_limit = raw
            .parse(
                "PORTCULLIS_INTROSPECTION_INACTIVE_LIMIT",
                "inactive answers per client per minute",
            )?
            .unwrap_or(600);
        let api_key_guess_limit = raw
            .parse(
                "PORTCULLIS_API_KEY_GUESS_LIMIT",
                "unknown API keys per source address per minute",
            )?
            .unwrap_or(100);
        let usage_flush_seconds: u64 = raw
            .parse(
                "PORTCULLIS_USAGE_FLUSH_INTERVAL",
                "seconds between writes of API-key usage counters, 1 to 300",
            )?
            .unwrap_or(5);
        if !(1..=300).contains(&usage_flush_seconds) {
            return Err(ConfigError::Invalid {
                var: "PORTCULLIS_USAGE_FLUSH_INTERVAL",
                value: usage_flush_seconds.to_string(),
                help: "seconds between writes of API-key usage counters, 1 to 300".into(),
            });
        }
        let metrics_listen = metrics_listen(raw)?;
        if metrics_listen == Some(listen) {
            return Err(ConfigError::Invalid {
                var: "PORTCULLIS_METRICS_LISTEN",
                value: listen.to_string(),
                help: "metrics are served apart from the public endpoints: choose another port"
                    .into(),
            });
        }
        let token_rate_limit = rate_limit(
            raw,
            "PORTCULLIS_TOKEN_RATE_LIMIT_PER_MINUTE",
            "PORTCULLIS_TOKEN_RATE_LIMIT_BURST",
        )?;
        let form_rate_limit = rate_limit(
            raw,
            "PORTCULLIS_FORM_RATE_LIMIT_PER_MINUTE",
            "PORTCULLIS_FORM_RATE_LIMIT_BURST",
        )?;
        let shutdown_grace = Duration::from_secs(u64::from(bounded(
            raw,
            "PORTCULLIS_SHUTDOWN_GRACE_SECONDS",
            "seconds in-flight requests may finish after SIGTERM, 1 to 300",
            (1, 300),
            30,
        )?));
        Ok(Self {
            shutdown_grace,
            metrics_listen,
            token_rate_limit,
            form_rate_limit,
            storage,
            issuer,
            audience: audience.to_owned(),
            listen,
            signing_alg,
            site_root,
            client_auth_failure_limit,
            introspection_inactive_limit,
            api_key_guess_limit,
            proxies: ProxyConfig::from_raw(raw)?,
            redis: raw.get("PORTCULLIS_REDIS_URL").map(|url| RedisConfig {
                url: url.to_owned(),
                prefix: raw.get("PORTCULLIS_REDIS_PREFIX").unwrap_or("portcullis").to_owned(),
            }),
            usage_flush_interval: Duration::from_secs(usage_flush_seconds),
            authorization_code_lifetime: bounded(
                raw,
                "PORTCULLIS_AUTHORIZATION_CODE_LIFETIME",
                "seconds an authorization code stays redeemable, 10 to 600",
                (10, 600),
                60,
            )?,
            audit_retention_days: match raw.get("PORTCULLIS_AUDIT_RETENTION_DAYS") {
                None => None,
                Some(_) => Some(bounded(
                    raw,
                    "PORTCULLIS_AUDIT_RETENTION_DAYS",
                    "days audit entries are kept, 30 to 36500 (unset: for ever)",
                    (30, 36_500),
                    0,
                )?),
            },
            signing_key_rotation_days: match raw.get("PORTCULLIS_SIGNING_KEY_ROTATION_DAYS") {
                None => None,
                Some(_) => Some(bounded(
                    raw,
                    "PORTCULLIS_SIGNING_KEY_ROTATION_DAYS",
                    "days each signing key signs before it is replaced, 1 to 3650 (unset: only \
                     `portcullis keys rotate` rotates)",
                    (1, 3_650),
                    0,
                )?),
            },
            session_lifetime: Duration::from_secs(u64::from(session_lifetime)),
            session_absolute_lifetime: Duration::from_secs(u64::from(session_absolute_lifetime)),
            admin_session_lifetime: Duration::from_secs(u64::from(admin_session_lifetime)),
        })
    }
}

/// Where `/metrics` is served: its own address, 127.0.0.1:9464 unless set, never the public
/// listener; `off` serves no metrics at all.
fn metrics_listen(raw: &RawSettings) -> Result<Option<SocketAddr>, ConfigError> {
    const HELP: &str = "an address and port apart from PORTCULLIS_LISTEN (default \
                        127.0.0.1:9464), or off";
    match raw.get("PORTCULLIS_METRICS_LISTEN") {
        Some(value) if value.trim().eq_ignore_ascii_case("off") => Ok(None),
        Some(_) => raw.parse("PORTCULLIS_METRICS_LISTEN", HELP),
        None => Ok(Some(SocketAddr::from(([127, 0, 0, 1], 9464)))),
    }
}

/// The idle and absolute session lifetimes, in seconds. An absolute lifetime shorter than the
/// idle one would make the idle one meaningless: refused rather than silently capped.
fn session_lifetimes(raw: &RawSettings) -> Result<(u32, u32), ConfigError> {
    let idle = bounded(
        raw,
        "PORTCULLIS_SESSION_LIFETIME",
        "seconds a sign-in session lasts without activity, 60 to 2592000",
        (60, 2_592_000),
        8 * 3600,
    )?;
    let absolute_help = "seconds a sign-in session lasts however active it is, 300 to 31536000, \
                         and at least PORTCULLIS_SESSION_LIFETIME";
    let absolute = bounded(
        raw,
        "PORTCULLIS_SESSION_ABSOLUTE_LIFETIME",
        absolute_help,
        (300, 31_536_000),
        24 * 3600,
    )?;
    if absolute < idle {
        return Err(ConfigError::Invalid {
            var: "PORTCULLIS_SESSION_ABSOLUTE_LIFETIME",
            value: absolute.to_string(),
            help: absolute_help.into(),
        });
    }
    Ok((idle, absolute))
}

/// A request limit from its two variables: requests per minute (1 to 1,000,000) and the burst
/// above it, which needs the rate and is 0 unless given. Neither set: no limit.
fn rate_limit(
    raw: &RawSettings,
    per_minute_var: &'static str,
    burst_var: &'static str,
) -> Result<Option<RateLimit>, ConfigError> {
    let per_minute: Option<u32> = raw.parse(per_minute_var, "requests per minute, 1 to 1000000")?;
    let burst: Option<u32> = raw.parse(burst_var, "requests above the rate, 0 to 1000000")?;
    match (per_minute, burst) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(ConfigError::Missing {
            var: per_minute_var,
            help: "a burst needs a rate: set the requests per minute too",
        }),
        (Some(n), _) if !(1..=1_000_000).contains(&n) => Err(ConfigError::Invalid {
            var: per_minute_var,
            value: n.to_string(),
            help: "requests per minute, 1 to 1000000".into(),
        }),
        (Some(per_minute), burst) => Ok(Some(RateLimit { per_minute, burst: burst.unwrap_or(0) })),
    }
}

/// An optional number within bounds; outside them is an error naming the variable.
fn bounded(
    raw: &RawSettings,
    var: &'static str,
    help: &str,
    (min, max): (u32, u32),
    default: u32,
) -> Result<u32, ConfigError> {
    let value = raw.parse(var, help)?.unwrap_or(default);
    if !(min..=max).contains(&value) {
        return Err(ConfigError::Invalid { var, value: value.to_string(), help: help.into() });
    }
    Ok(value)
}

impl ProxyConfig {
    /// Both settings or neither: trusting proxies without naming their header (or the reverse)
    /// is a mistake the operator must resolve, not something to guess.
    fn from_raw(raw: &RawSettings) -> Result<Self, ConfigError> {
        let proxies = raw.get("PORTCULLIS_TRUSTED_PROXIES");
        let header = raw.get("PORTCULLIS_CLIENT_IP_HEADER");
        match (proxies, header) {
            (None, None) => Ok(Self::default()),
            (Some(_), None) => Err(ConfigError::Missing {
                var: "PORTCULLIS_CLIENT_IP_HEADER",
                help: "name the header your trusted proxies write, e.g. X-Forwarded-For",
            }),
            (None, Some(_)) => Err(ConfigError::Missing {
                var: "PORTCULLIS_TRUSTED_PROXIES",
                help: "list the proxy addresses allowed to set the client IP header, \
                       e.g. 10.0.0.0/8,192.0.2.7",
            }),
            (Some(list), Some(name)) => {
                let trusted = parse_networks(list).map_err(|e| ConfigError::Invalid {
                    var: "PORTCULLIS_TRUSTED_PROXIES",
                    value: list.into(),
                    help: e.to_string(),
                })?;
                let header = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
                    ConfigError::Invalid {
                        var: "PORTCULLIS_CLIENT_IP_HEADER",
                        value: name.into(),
                        help: "a header name such as X-Forwarded-For".into(),
                    }
                })?;
                Ok(Self { trusted, client_ip_header: Some(header) })
            }
        }
    }
}

/// The issuer must be an https URL without query or fragment (RFC 8414 §2); plain http is
/// accepted only for loopback hosts, for development.
fn validate_issuer(issuer: &str) -> Result<String, ConfigError> {
    let invalid = |help: &str| ConfigError::Invalid {
        var: "PORTCULLIS_ISSUER",
        value: issuer.into(),
        help: help.into(),
    };
    if issuer.contains(['?', '#']) || issuer.ends_with('/') {
        return Err(invalid("no query, fragment or trailing slash: e.g. https://auth.example.com"));
    }
    let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"];
    let is_loopback = loopback.iter().any(|p| {
        issuer.strip_prefix(p).is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/']))
    });
    if !(issuer.starts_with("https://") || is_loopback) {
        return Err(invalid("use https (http is accepted only for 127.0.0.1, [::1] or localhost)"));
    }
    Ok(issuer.to_owned())
}

fn absolute(path: &Path) -> PathBuf {
    std::env::current_dir().map(|cwd| cwd.join(path)).unwrap_or_else(|_| path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, &str)]) -> RawSettings {
        RawSettings::from_pairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string()))).unwrap()
    }

    /// The server settings with the two required ones and `extra`.
    fn with(extra: &[(&'static str, &'static str)]) -> Result<ServerConfig, ConfigError> {
        let required = [
            ("PORTCULLIS_ISSUER", "https://as.example"),
            ("PORTCULLIS_ACCESS_TOKEN_AUDIENCE", "https://api.example"),
        ];
        let pairs: Vec<_> = required.iter().chain(extra).copied().collect();
        ServerConfig::from_raw(&raw(&pairs))
    }

    #[test]
    fn issuer_and_audience_are_required() {
        let err = ServerConfig::from_raw(&raw(&[])).unwrap_err();
        assert!(err.to_string().contains("PORTCULLIS_ISSUER"), "{err}");
        let err = ServerConfig::from_raw(&raw(&[("PORTCULLIS_ISSUER", "https://as.example")]))
            .unwrap_err();
        assert!(err.to_string().contains("PORTCULLIS_ACCESS_TOKEN_AUDIENCE"), "{err}");
    }

    #[test]
    fn issuer_rules() {
        for ok in ["https://as.example", "https://as.example/tenant", "http://127.0.0.1:3000"] {
            assert!(validate_issuer(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://as.example",
            "https://as.example/",
            "https://as.example?x",
            "as.example",
            "http://127.0.0.1.evil",
        ] {
            assert!(validate_issuer(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_toml_file_is_read_and_the_environment_wins() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("portcullis.toml");
        std::fs::write(
            &file,
            "issuer = \"https://file.example\"\naccess_token_audience = \"https://api\"\n\
             max_access_token_lifetime = 600\n",
        )
        .unwrap();
        let path = file.display().to_string();
        let config = ServerConfig::from_raw(&raw(&[("PORTCULLIS_CONFIG", &path)])).unwrap();
        assert_eq!(config.issuer, "https://file.example");
        assert_eq!(config.storage.max_access_token_lifetime, 600);

        let overridden =
            raw(&[("PORTCULLIS_CONFIG", &path), ("PORTCULLIS_ISSUER", "https://env.example")]);
        assert_eq!(ServerConfig::from_raw(&overridden).unwrap().issuer, "https://env.example");

        std::fs::write(&file, "issuer = [1]").unwrap();
        let pairs = [("PORTCULLIS_CONFIG".to_owned(), path.clone())];
        let err = RawSettings::from_pairs(pairs).unwrap_err();
        assert!(err.to_string().contains("issuer"), "{err}");
    }

    #[test]
    fn metrics_have_their_own_address_by_default_and_can_be_turned_off() {
        let default = with(&[]).unwrap().metrics_listen;
        assert_eq!(default, Some(SocketAddr::from(([127, 0, 0, 1], 9464))));
        assert_eq!(with(&[("PORTCULLIS_METRICS_LISTEN", "off")]).unwrap().metrics_listen, None);
        let chosen = with(&[("PORTCULLIS_METRICS_LISTEN", "0.0.0.0:9100")]).unwrap();
        assert_eq!(chosen.metrics_listen, Some(SocketAddr::from(([0, 0, 0, 0], 9100))));
        let err = with(&[("PORTCULLIS_METRICS_LISTEN", "nine")]).unwrap_err();
        assert!(err.to_string().contains("PORTCULLIS_METRICS_LISTEN"), "{err}");
        let same = [("PORTCULLIS_LISTEN", "127.0.0.1:9464")];
        assert!(with(&same).is_err(), "never on the public listener");
    }

    #[test]
    fn proxy_settings_come_in_pairs() {
        assert!(with(&[]).unwrap().proxies.trusted.is_empty());
        let err = with(&[("PORTCULLIS_TRUSTED_PROXIES", "10.0.0.1")]).unwrap_err();
        assert!(err.to_string().contains("PORTCULLIS_CLIENT_IP_HEADER"), "{err}");
        let err = with(&[("PORTCULLIS_CLIENT_IP_HEADER", "X-Forwarded-For")]).unwrap_err();
        assert!(err.to_string().contains("PORTCULLIS_TRUSTED_PROXIES"), "{err}");
        let ok = with(&[
            ("PORTCULLIS_TRUSTED_PROXIES", "10.0.0.0/8"),
            ("PORTCULLIS_CLIENT_IP_HEADER", "X-Forwarded-For"),
        ])
        .unwrap();
        assert_eq!(ok.proxies.trusted.len(), 1);
    }

    #[test]
    fn invalid_values_name_the_variable() {
        let err = ServerConfig::from_raw(&raw(&[
            ("PORTCULLIS_ISSUER", "https://as.example"),
            ("PORTCULLIS_ACCESS_TOKEN_AUDIENCE", "https://api.example"),
            ("PORTCULLIS_SIGNING_ALG", "HS256"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("PORTCULLIS_SIGNING_ALG"), "{err}");
    }
}
