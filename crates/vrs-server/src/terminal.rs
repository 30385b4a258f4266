//! Which terminal a request comes from. The deployment names its LG-WAN networks; a request whose
//! client address is in one of them comes from an LG-WAN terminal, any other from the internet.
//! Behind a reverse proxy the client address is read from the configured header, but only when the
//! connection itself comes from a trusted proxy — otherwise anyone could claim to be on LG-WAN.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;

use crate::config::Settings;

/// The class of terminal a session was opened from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TerminalClass {
    Lgwan,
    Internet,
}

impl TerminalClass {
    pub fn as_str(self) -> &'static str {
        match self {
            TerminalClass::Lgwan => "lgwan",
            TerminalClass::Internet => "internet",
        }
    }

    pub fn from_stored(s: &str) -> Self {
        if s == "lgwan" {
            TerminalClass::Lgwan
        } else {
            TerminalClass::Internet
        }
    }
}

/// The client's address: the peer's, or the proxy header's last entry when the peer is a trusted
/// proxy.
pub fn client_address(settings: &Settings, peer: SocketAddr, headers: &HeaderMap) -> IpAddr {
    let peer_ip = peer.ip();
    let Some(header) = &settings.client_address_header else {
        return peer_ip;
    };
    if !settings
        .trusted_proxies
        .iter()
        .any(|n| n.contains(&peer_ip))
    {
        return peer_ip;
    }
    headers
        .get(header.as_str())
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.rsplit(',').next())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(peer_ip)
}

/// The terminal class of a client address.
pub fn classify(settings: &Settings, client: IpAddr) -> TerminalClass {
    if settings.lgwan_networks.iter().any(|n| n.contains(&client)) {
        TerminalClass::Lgwan
    } else {
        TerminalClass::Internet
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
            classify(&s, "10.20.3.4".parse().unwrap()),
            TerminalClass::Lgwan
        );
        assert_eq!(
            classify(&s, "10.21.3.4".parse().unwrap()),
            TerminalClass::Internet
        );
    }

    #[test]
    fn proxy_header_is_trusted_only_from_a_trusted_proxy() {
        let s = settings();
        let via_proxy = client_address(
            &s,
            "127.0.0.1:5000".parse().unwrap(),
            &headers("1.2.3.4, 10.20.0.9"),
        );
        assert_eq!(via_proxy, "10.20.0.9".parse::<IpAddr>().unwrap());
        let direct = client_address(
            &s,
            "203.0.113.7:5000".parse().unwrap(),
            &headers("10.20.0.9"),
        );
        assert_eq!(
            direct,
            "203.0.113.7".parse::<IpAddr>().unwrap(),
            "a forged header is ignored"
        );
    }
}
