//! IP allowlists: IPv4 and IPv6 networks in CIDR notation, with IPv4-mapped IPv6 addresses
//! treated as the IPv4 address they carry (SECURITY.md J-13), so `::ffff:10.0.0.5` matches
//! `10.0.0.0/24` and a mapped allowlist entry matches the plain IPv4 peer.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Most networks one allowlist may hold.
pub const MAX_NETWORKS: usize = 64;

/// One network: an address with the host bits cleared, and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IpNetwork {
    base: IpAddr,
    prefix: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an IP address or CIDR network (e.g. 203.0.113.0/24 or 2001:db8::/32)")]
pub struct CidrError(String);

/// IPv4-mapped IPv6 addresses become plain IPv4; everything else is unchanged.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

impl IpNetwork {
    /// Parses `addr` (a single host) or `addr/prefix`. Host bits set below the prefix are an
    /// error: `10.0.0.5/24` is more likely a typo than a wish for `10.0.0.0/24`.
    pub fn parse(text: &str) -> Result<Self, CidrError> {
        let err = || CidrError(text.chars().take(60).collect());
        let (addr, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let parsed: IpAddr = addr.parse().map_err(|_| err())?;
        let mapped_v4 = matches!(parsed, IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some());
        let addr = canonical(parsed);
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) => return Err(err()),
            Some(p) => {
                let mut prefix: u8 = p.parse().map_err(|_| err())?;
                if mapped_v4 {
                    // ::ffff:a.b.c.d/120 is the IPv4 network a.b.c.d/24.
                    prefix = prefix.checked_sub(96).ok_or_else(err)?;
                }
                prefix
            }
        };
        if prefix > max {
            return Err(err());
        }
        let network = Self { base: addr, prefix };
        if network.masked(addr) != addr {
            return Err(err());
        }
        Ok(network)
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        ip.is_ipv4() == self.base.is_ipv4() && self.masked(ip) == self.base
    }

    fn masked(&self, ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V4(v4) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                IpAddr::V4((u32::from(v4) & mask).into())
            }
            IpAddr::V6(v6) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                IpAddr::V6((u128::from(v6) & mask).into())
            }
        }
    }
}

impl fmt::Display for IpNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.base, self.prefix)
    }
}

impl FromStr for IpNetwork {
    type Err = CidrError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for IpNetwork {
    type Error = CidrError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<IpNetwork> for String {
    fn from(value: IpNetwork) -> Self {
        value.to_string()
    }
}

/// Parses a comma- or space-separated list of networks.
pub fn parse_networks(list: &str) -> Result<Vec<IpNetwork>, CidrError> {
    let networks: Vec<IpNetwork> = list
        .split([',', ' '])
        .filter(|s| !s.is_empty())
        .map(IpNetwork::parse)
        .collect::<Result<_, _>>()?;
    if networks.len() > MAX_NETWORKS {
        return Err(CidrError(format!("more than {MAX_NETWORKS} networks")));
    }
    Ok(networks)
}

/// Longest forwarding header considered; longer ones are treated as garbage.
pub const MAX_FORWARDED_LEN: usize = 4096;

/// The client's address for a request from `peer` carrying the configured forwarding header
/// (`forwarded`, e.g. the values of X-Forwarded-For), given the trusted proxies.
///
/// A peer that is not a trusted proxy is the client, whatever the header says (SECURITY.md J-09).
/// Behind trusted proxies the client is the rightmost address that is not itself a trusted proxy
/// (J-11): entries to its left were written by whoever sent the request and prove nothing. An
/// entry that is not an IP address makes the client unknown (`None`), which fails closed (J-10).
pub fn client_address(peer: IpAddr, forwarded: &[&str], trusted: &[IpNetwork]) -> Option<IpAddr> {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(peer) {
        return Some(canonical(peer));
    }
    if forwarded.iter().map(|v| v.len()).sum::<usize>() > MAX_FORWARDED_LEN {
        return None;
    }
    let mut client = canonical(peer);
    for entry in forwarded.iter().rev().flat_map(|v| v.rsplit(',')) {
        let ip: IpAddr = entry.trim().parse().ok()?;
        client = canonical(ip);
        if !is_trusted(client) {
            break;
        }
    }
    Some(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn cidr_edges_are_exact() {
        let net = IpNetwork::parse("10.0.0.0/24").unwrap();
        assert!(net.contains(ip("10.0.0.0")));
        assert!(net.contains(ip("10.0.0.255")));
        assert!(!net.contains(ip("10.0.1.0")));
        assert!(!net.contains(ip("9.255.255.255")));
        let v6 = IpNetwork::parse("2001:db8::/32").unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")));
        assert!(!v6.contains(ip("2001:db9::1")));
        assert!(IpNetwork::parse("0.0.0.0/0").unwrap().contains(ip("203.0.113.9")));
        assert!(!IpNetwork::parse("0.0.0.0/0").unwrap().contains(ip("::1")));
    }

    #[test]
    fn mapped_ipv4_is_ipv4() {
        let net = IpNetwork::parse("10.0.0.0/24").unwrap();
        assert!(net.contains(ip("::ffff:10.0.0.5")));
        assert!(!net.contains(ip("::ffff:10.0.1.1")));
        let mapped_entry = IpNetwork::parse("::ffff:0a00:0005/128").unwrap();
        assert_eq!(mapped_entry.to_string(), "10.0.0.5/32");
        assert!(mapped_entry.contains(ip("10.0.0.5")));
        assert_eq!(IpNetwork::parse("::ffff:10.0.0.0/120").unwrap().to_string(), "10.0.0.0/24");
    }

    #[test]
    fn garbage_is_refused() {
        for bad in [
            "",
            "a",
            "999.1.1.1",
            "10.0.0.0/33",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "10.0.0.5/24",
            "::/129",
            "10.0.0.0/24/1",
            " 10.0.0.1",
        ] {
            assert!(IpNetwork::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn forwarded_addresses_count_only_behind_trusted_proxies() {
        let none: Vec<IpNetwork> = vec![];
        let proxy = parse_networks("127.0.0.1").unwrap();
        let peer = ip("127.0.0.1");
        // J-09: nobody trusted, the header is ignored.
        assert_eq!(client_address(peer, &["10.0.0.5"], &none), Some(peer));
        // J-11: rightmost untrusted entry.
        let chain = ["10.0.0.5, 203.0.113.9"];
        assert_eq!(client_address(peer, &chain, &proxy), Some(ip("203.0.113.9")));
        let two_headers = ["10.0.0.5", "203.0.113.9, 127.0.0.1"];
        assert_eq!(client_address(peer, &two_headers, &proxy), Some(ip("203.0.113.9")));
        // The proxy itself, with no header.
        assert_eq!(client_address(peer, &[], &proxy), Some(peer));
        // J-10: garbage fails closed.
        let long = "1.1.1.1,".repeat(1000);
        for garbage in ["a", "999.1.1.1", "10.0.0.5, a", long.as_str(), ""] {
            assert_eq!(client_address(peer, &[garbage], &proxy), None, "{garbage:.20}");
        }
        // J-13: mapped addresses are IPv4.
        let mapped = client_address(ip("::ffff:127.0.0.1"), &["::ffff:10.0.0.5"], &proxy);
        assert_eq!(mapped, Some(ip("10.0.0.5")));
    }

    #[test]
    fn lists_parse_and_are_bounded() {
        assert_eq!(parse_networks("10.0.0.0/8, 192.0.2.1").unwrap().len(), 2);
        let many = vec!["10.0.0.1"; MAX_NETWORKS + 1].join(",");
        assert!(parse_networks(&many).is_err());
    }
}
