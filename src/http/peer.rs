//! The address a request came from. By default that is the socket peer and X-Forwarded-For and
//! similar headers are ignored, so clients cannot pick their address. Behind a proxy, the
//! operator names the trusted proxy addresses and the one header they write
//! (`PORTCULLIS_TRUSTED_PROXIES`, `PORTCULLIS_CLIENT_IP_HEADER`); see
//! `portcullis_core::cidr::client_address` for how the chain is read.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use portcullis_core::cidr::client_address;

use super::AppState;

/// The client's IP, or `None` when it is unknown: a garbled forwarding header, or a request
/// that did not come over a socket (in-process tests). Unknown fails closed wherever an address
/// is checked.
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub Option<IpAddr>);

impl FromRequestParts<AppState> for PeerAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(peer) = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|i| i.0.ip()) else {
            return Ok(Self(None));
        };
        let proxies = &state.config.proxies;
        let Some(header) = proxies.client_ip_header.as_ref() else {
            return Ok(Self(client_address(peer, &[], &[])));
        };
        let values: Vec<&str> =
            parts.headers.get_all(header).iter().map(|v| v.to_str().unwrap_or("\u{0}")).collect();
        Ok(Self(client_address(peer, &values, &proxies.trusted)))
    }
}

impl std::fmt::Display for PeerAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(ip) => write!(f, "{ip}"),
            None => f.write_str("unknown"),
        }
    }
}
