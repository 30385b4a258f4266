//! Which terminal a request comes from. The deployment names its LG-WAN networks; a request whose
//! client address is in one of them comes from an LG-WAN terminal, any other from the internet.
//! Behind a reverse proxy the client address is read from the configured header, but only when the
//! connection itself comes from a trusted proxy — otherwise anyone could claim to be on LG-WAN —
//! and only the value the proxy itself appended: the last entry of the header's last line. A
//! client can put anything before it. A trusted proxy's request without a readable address counts
//! as from the internet, never as the proxy's own address.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;

use crate::config::Settings;

pub use vrs_domain::Terminal;

/// The client's address: the peer's; when the peer is a trusted proxy, the last entry of the last
/// line of the proxy header, or `None` when that is missing or not an address.
pub fn client_address(
    settings: &Settings,
    peer: SocketAddr,
    headers: &HeaderMap,
) -> Option<IpAddr> {
    let peer_ip = peer.ip();
    let Some(header) = &settings.client_address_header else {
        return Some(peer_ip);
    };
    if !settings
        .trusted_proxies
        .iter()
        .any(|n| n.contains(&peer_ip))
    {
        return Some(peer_ip);
    }
    headers
        .get_all(header.as_str())
        .iter()
        .next_back()
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|v| v.trim().parse().ok())
}

/// The terminal class of a client address (an unknown address is the internet's).
pub fn classify(settings: &Settings, client: Option<IpAddr>) -> Terminal {
    match client {
        Some(ip) if settings.lgwan_networks.iter().any(|n| n.contains(&ip)) => Terminal::Lgwan,
        _ => Terminal::Internet,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            lgwan_networks: vec!["10.20.0.0/16".parse().unwrap()],
            client_address_header: Some("x-forwarded-for".into()),
            trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
            ..Settings::default()
        }
    }

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().unwrap());
        h
    }

    #[test]
    fn lgwan_only_from_named_networks() {
        let s = settings();
        assert_eq!(
            classify(&s, Some("10.20.3.4".parse().unwrap())),
            Terminal::Lgwan
        );
        assert_eq!(
            classify(&s, Some("10.21.3.4".parse().unwrap())),
            Terminal::Internet
        );
        assert_eq!(classify(&s, None), Terminal::Internet);
    }

    /// Regression: only the first header line was read, so a client that sent its own
    /// `X-Forwarded-For: 10.20.0.9` line before the proxy's passed as LG-WAN; and a trusted proxy's
    /// request without the header took the proxy's own address.
    #[test]
    fn only_the_value_the_proxy_appended_counts() {
        let s = settings();
        let proxy: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let mut forged = HeaderMap::new();
        forged.append("x-forwarded-for", "10.20.0.9".parse().unwrap());
        forged.append("x-forwarded-for", "10.20.0.9, 203.0.113.7".parse().unwrap());
        let client = client_address(&s, proxy, &forged);
        assert_eq!(client, Some("203.0.113.7".parse().unwrap()));
        assert_eq!(classify(&s, client), Terminal::Internet);
        for bad in [None, Some("unknown"), Some(""), Some("10.20.0.9, garbage")] {
            let mut h = HeaderMap::new();
            if let Some(v) = bad {
                h.insert("x-forwarded-for", v.parse().unwrap());
            }
            let client = client_address(&s, proxy, &h);
            assert_eq!(client, None, "{bad:?}");
            assert_eq!(classify(&s, client), Terminal::Internet, "{bad:?}");
        }
    }

    #[test]
    fn proxy_header_is_trusted_only_from_a_trusted_proxy() {
        let s = settings();
        let via_proxy = client_address(
            &s,
            "127.0.0.1:5000".parse().unwrap(),
            &headers("1.2.3.4, 10.20.0.9"),
        );
        assert_eq!(via_proxy, Some("10.20.0.9".parse::<IpAddr>().unwrap()));
        let direct = client_address(
            &s,
            "203.0.113.7:5000".parse().unwrap(),
            &headers("10.20.0.9"),
        );
        assert_eq!(
            direct,
            Some("203.0.113.7".parse::<IpAddr>().unwrap()),
            "a forged header is ignored"
        );
    }
}
