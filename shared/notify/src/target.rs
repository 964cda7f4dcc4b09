//! Where an outbound webhook may go. In AWS a delivery must never reach the VPC, the
//! instance metadata service or anything else private: the URL is checked when the
//! endpoint is registered, and every address its host resolves to is checked again
//! before each delivery (and the request pinned to the checked address, so a DNS
//! answer cannot change between the check and the connection). Locally, receivers run
//! on loopback: [`TargetPolicy::allow_private`] allows them, by explicit configuration
//! (`WEBHOOK_ALLOW_PRIVATE_TARGETS`, refused in AWS).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use url::{Host, Url};

/// The longest URL an endpoint may have.
pub const MAX_URL_LEN: usize = 2048;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TargetPolicy {
    /// Allow private, loopback and link-local addresses and plain `http` (local stack only).
    pub allow_private: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("url: {0}")]
    BadUrl(String),
    #[error(
        "url: {0} is a private, loopback or otherwise non-public address; webhooks go to the public internet only"
    )]
    PrivateAddress(IpAddr),
    #[error("url: {0} resolves to no address")]
    Unresolvable(String),
}

/// The setting that allows private targets, and why it is refused in AWS.
pub const ALLOW_PRIVATE_SETTING: &str = "WEBHOOK_ALLOW_PRIVATE_TARGETS";

impl TargetPolicy {
    /// The policy a function runs with: private targets only where asked for and never
    /// in AWS (the error says why, for the start-up failure).
    pub fn configured(allow_private: bool, in_aws: bool) -> Result<Self, &'static str> {
        if allow_private && in_aws {
            return Err("never in AWS: webhooks must not reach private addresses there");
        }
        Ok(Self { allow_private })
    }

    /// Checks an endpoint URL as written: `https` (or `http` where private targets are
    /// allowed), a host, no credentials, no fragment; a literal IP must be public.
    pub fn check_url(&self, raw: &str) -> Result<Url, TargetError> {
        let raw = raw.trim();
        if raw.len() > MAX_URL_LEN {
            return Err(TargetError::BadUrl(format!("longer than {MAX_URL_LEN} characters")));
        }
        let url = Url::parse(raw).map_err(|e| TargetError::BadUrl(format!("not an absolute URL ({e})")))?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_private => {}
            other => return Err(TargetError::BadUrl(format!("the scheme must be https (not {other})"))),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(TargetError::BadUrl("credentials do not belong in the URL".into()));
        }
        if url.fragment().is_some() {
            return Err(TargetError::BadUrl("a fragment is never sent; remove it".into()));
        }
        match url.host() {
            None => return Err(TargetError::BadUrl("the URL has no host".into())),
            Some(Host::Ipv4(ip)) => self.check_ip(IpAddr::V4(ip))?,
            Some(Host::Ipv6(ip)) => self.check_ip(IpAddr::V6(ip))?,
            Some(Host::Domain(d)) => {
                let d = d.trim_end_matches('.').to_ascii_lowercase();
                if !self.allow_private && (d == "localhost" || d.ends_with(".localhost") || d.ends_with(".internal")) {
                    return Err(TargetError::BadUrl(format!("{d} is not a public host")));
                }
            }
        }
        Ok(url)
    }

    /// Checks one resolved address.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), TargetError> {
        if self.allow_private || is_public(ip) {
            Ok(())
        } else {
            Err(TargetError::PrivateAddress(ip))
        }
    }
}

/// Whether an address is on the public internet (not private, loopback, link-local,
/// shared, multicast, documentation, reserved or unspecified; IPv4 inside IPv6 is judged
/// as the IPv4 address it carries).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        // Shared address space (carrier-grade NAT), 100.64.0.0/10.
        || (a == 100 && (64..128).contains(&b))
        // IETF protocol assignments 192.0.0.0/24, benchmarking 198.18.0.0/15.
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (b == 18 || b == 19))
        // Reserved 240.0.0.0/4.
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    // NAT64 (64:ff9b::/96) carries an IPv4 address in its last 32 bits.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        let [a, b] = s[6].to_be_bytes();
        let [c, d] = s[7].to_be_bytes();
        return is_public_v4(Ipv4Addr::new(a, b, c, d));
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        // Unique local fc00::/7, link-local fe80::/10, site-local fec0::/10.
        || (s[0] & 0xfe00) == 0xfc00
        || (s[0] & 0xffc0) == 0xfe80
        || (s[0] & 0xffc0) == 0xfec0
        // Documentation 2001:db8::/32; the IPv4-compatible ::/96 and discard 100::/64.
        || (s[0] == 0x2001 && s[1] == 0x0db8)
        || s[..6] == [0, 0, 0, 0, 0, 0]
        || (s[0] == 0x100 && s[1..4] == [0, 0, 0]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "198.18.0.1",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "192.0.2.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "2001:db8::1",
            "ff02::1",
        ] {
            assert!(!is_public(ip(a)), "{a}");
        }
        for a in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "64:ff9b::808:808",
        ] {
            assert!(is_public(ip(a)), "{a}");
        }
    }

    #[test]
    fn private_targets_are_refused_in_aws() {
        assert!(TargetPolicy::configured(true, true).is_err());
        assert_eq!(
            TargetPolicy::configured(true, false),
            Ok(TargetPolicy { allow_private: true })
        );
        assert_eq!(TargetPolicy::configured(false, true), Ok(TargetPolicy::default()));
    }

    #[test]
    fn urls_are_checked_as_written() {
        let aws = TargetPolicy { allow_private: false };
        assert!(aws.check_url("https://hooks.example.com/sluice").is_ok());
        for bad in [
            "http://hooks.example.com/x",
            "https://127.0.0.1/x",
            "https://[::1]/x",
            "https://169.254.169.254/latest/meta-data",
            "https://localhost:8443/x",
            "https://user:pw@hooks.example.com/x",
            "https://hooks.example.com/x#frag",
            "ftp://hooks.example.com/x",
            "not a url",
            "/relative",
        ] {
            assert!(aws.check_url(bad).is_err(), "{bad}");
        }
        let local = TargetPolicy { allow_private: true };
        assert!(local.check_url("http://127.0.0.1:8080/hook").is_ok());
        assert!(local.check_url("http://localhost:8080/hook").is_ok());
        assert!(local.check_url("ftp://127.0.0.1/x").is_err());
    }
}
