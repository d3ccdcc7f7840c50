//! Source policy: what a request may make the server open. Input: a [`SourceSpec`] and whether
//! local sources are allowed, a URL, or the addresses a host name resolved to. Output: allowed,
//! or a [`Refused`] whose text says why (for the server log only).
//!
//! A monitored stream is published by the seller being watched, so its URL, every redirect and
//! every playlist entry is hostile: none may reach loopback, the private networks or other
//! addresses that are not public unicast, unless the operator allows them ([`NetPolicy`]). Host
//! names are checked after resolution, on the very addresses the connection then uses (the
//! resolver in [`super::fetch`] filters them), so a name that resolves to a public address for a
//! check and to a private one for the connection (DNS rebinding) gains nothing.
//!
//! API clients are told only [`REFUSED`] or [`UNAVAILABLE`]: a reason naming the address class,
//! the file or the socket error would let them map the server's network and disk.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use ipnet::{Ipv4Net, Ipv6Net};
use url::{Host, Url};

use super::SourceSpec;

/// What an API client is told when the policy refuses a source.
pub const REFUSED: &str = "source refused by policy";
/// What an API client is told when a source it may open could not be opened.
pub const UNAVAILABLE: &str = "source could not be opened";

/// Addresses that are not public unicast, by the reason to refuse them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AddrClass {
    /// 127/8, ::1.
    Loopback,
    /// RFC 1918 (10/8, 172.16/12, 192.168/16), IPv6 unique local fc00::/7 and the deprecated
    /// site-local fec0::/10, local-use NAT64 64:ff9b:1::/48.
    Private,
    /// 169.254/16 (cloud metadata services live here), fe80::/10.
    LinkLocal,
    /// Carrier-grade NAT, 100.64/10 (RFC 6598).
    SharedNat,
    /// 0/8 ("this network": Linux connects 0.0.0.0 to the local host), `::`.
    Unspecified,
    /// 224/4, ff00::/8.
    Multicast,
    /// 255.255.255.255.
    Broadcast,
    /// Documentation, benchmarking, IETF-reserved and future-use ranges, Teredo, discard, and
    /// IPv4-compatible IPv6: nothing a public stream is served from.
    Reserved,
}

impl AddrClass {
    pub const ALL: [AddrClass; 8] = [
        AddrClass::Loopback,
        AddrClass::Private,
        AddrClass::LinkLocal,
        AddrClass::SharedNat,
        AddrClass::Unspecified,
        AddrClass::Multicast,
        AddrClass::Broadcast,
        AddrClass::Reserved,
    ];

    fn describe(self) -> &'static str {
        match self {
            AddrClass::Loopback => "a loopback address",
            AddrClass::Private => "a private address",
            AddrClass::LinkLocal => "a link-local address",
            AddrClass::SharedNat => "a carrier-grade NAT address",
            AddrClass::Unspecified => "an unspecified address",
            AddrClass::Multicast => "a multicast address",
            AddrClass::Broadcast => "the broadcast address",
            AddrClass::Reserved => "a reserved address",
        }
    }
}

const fn v4(a: u8, b: u8, c: u8, d: u8, len: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), len)
}

const fn v6(segments: [u16; 8], len: u8) -> Ipv6Net {
    let [a, b, c, d, e, f, g, h] = segments;
    Ipv6Net::new_assert(Ipv6Addr::new(a, b, c, d, e, f, g, h), len)
}

// First match wins: the broadcast address before the reserved 240/4 it lies in.
const V4: &[(Ipv4Net, AddrClass)] = &[
    (v4(255, 255, 255, 255, 32), AddrClass::Broadcast),
    (v4(0, 0, 0, 0, 8), AddrClass::Unspecified),
    (v4(10, 0, 0, 0, 8), AddrClass::Private),
    (v4(100, 64, 0, 0, 10), AddrClass::SharedNat),
    (v4(127, 0, 0, 0, 8), AddrClass::Loopback),
    (v4(169, 254, 0, 0, 16), AddrClass::LinkLocal),
    (v4(172, 16, 0, 0, 12), AddrClass::Private),
    (v4(192, 0, 0, 0, 24), AddrClass::Reserved),
    (v4(192, 0, 2, 0, 24), AddrClass::Reserved),
    (v4(192, 168, 0, 0, 16), AddrClass::Private),
    (v4(198, 18, 0, 0, 15), AddrClass::Reserved),
    (v4(198, 51, 100, 0, 24), AddrClass::Reserved),
    (v4(203, 0, 113, 0, 24), AddrClass::Reserved),
    (v4(224, 0, 0, 0, 4), AddrClass::Multicast),
    (v4(240, 0, 0, 0, 4), AddrClass::Reserved),
];

const V6: &[(Ipv6Net, AddrClass)] = &[
    (v6([0, 0, 0, 0, 0, 0, 0, 0], 128), AddrClass::Unspecified),
    (v6([0, 0, 0, 0, 0, 0, 0, 1], 128), AddrClass::Loopback),
    (v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48), AddrClass::Private),
    (v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64), AddrClass::Reserved),
    (v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 32), AddrClass::Reserved),
    (
        v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32),
        AddrClass::Reserved,
    ),
    (v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7), AddrClass::Private),
    (v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10), AddrClass::LinkLocal),
    (v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10), AddrClass::Private),
    (v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8), AddrClass::Multicast),
];

/// The class of an address that is not public unicast; `None` for a public one.
///
/// IPv6 forms that carry an IPv4 address (mapped `::ffff:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`,
/// 6to4 `2002:AABB:CCDD::`, and the deprecated compatible `::a.b.c.d`) are judged by that IPv4
/// address, since that is where the packets go.
pub fn classify(ip: IpAddr) -> Option<AddrClass> {
    match ip {
        IpAddr::V4(ip) => V4
            .iter()
            .find(|(net, _)| net.contains(&ip))
            .map(|(_, c)| *c),
        IpAddr::V6(ip) => {
            if let Some(inner) = embedded_v4(ip) {
                return classify(IpAddr::V4(inner));
            }
            let class = V6
                .iter()
                .find(|(net, _)| net.contains(&ip))
                .map(|(_, c)| *c);
            // Deprecated IPv4-compatible addresses (`::a.b.c.d`) whose IPv4 part is public.
            if class.is_none() && ip.segments()[..6] == [0; 6] {
                return Some(AddrClass::Reserved);
            }
            class
        }
    }
}

/// The IPv4 address an IPv6 address stands for, if it is one of the forms that carry one.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let last_32 = || Ipv4Addr::from(u128::from(ip) as u32);
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(last_32()),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(last_32()),
        [0x2002, hi, lo, ..] => Some(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo))),
        // `::` and `::1` are themselves, not 0.0.0.0 and 0.0.0.1.
        [0, 0, 0, 0, 0, 0, 0, 0 | 1] => None,
        [0, 0, 0, 0, 0, 0, _, _] => {
            Some(last_32()).filter(|inner| classify(IpAddr::V4(*inner)).is_some())
        }
        _ => None,
    }
}

/// Why a source was refused: one line for the server log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(String);

impl Refused {
    /// A refusal of something that is not a [`SourceSpec`] (a comment feed).
    pub fn new(why: String) -> Refused {
        Refused(why)
    }
}

/// Which network addresses sources may connect to, and which certificate authorities their
/// https is checked against. The default allows public unicast only and trusts the built-in
/// roots; `claimwatch serve --allow-private-sources` allows every address, `--source-ca` adds
/// an authority (a company's own, for streams inside its network).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetPolicy {
    allowed: Vec<AddrClass>,
    /// PEM files of extra root certificates, each checked when given.
    extra_roots: Vec<Vec<u8>>,
}

impl NetPolicy {
    /// Also trusts the certificates in `pem` (one or more PEM blocks) for https sources.
    pub fn trusting(mut self, pem: Vec<u8>) -> Result<Self, String> {
        let certificates = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("not a PEM certificate: {e}"))?;
        if certificates.is_empty() {
            return Err("no PEM certificate in it".into());
        }
        self.extra_roots.push(pem);
        Ok(self)
    }

    /// The extra root certificates, as given to [`Self::trusting`].
    pub fn extra_roots(&self) -> impl Iterator<Item = reqwest::Certificate> + '_ {
        self.extra_roots
            .iter()
            .flat_map(|pem| reqwest::Certificate::from_pem_bundle(pem).unwrap_or_default())
    }

    /// Public unicast addresses only.
    pub fn public_only() -> Self {
        Self::default()
    }

    /// Any address (the operator trusts every stream's publisher with the local network).
    pub fn any_address() -> Self {
        Self::allowing(&AddrClass::ALL)
    }

    /// Public addresses and the classes listed.
    pub fn allowing(classes: &[AddrClass]) -> Self {
        Self {
            allowed: classes.to_vec(),
            ..Self::default()
        }
    }

    pub fn check_ip(&self, ip: IpAddr) -> Result<(), Refused> {
        match classify(ip) {
            Some(class) if !self.allowed.contains(&class) => {
                Err(Refused(format!("{ip} is {}", class.describe())))
            }
            _ => Ok(()),
        }
    }

    /// The scheme (http or https) and, when the host is an address literal, the address. A host
    /// name is checked once resolved ([`NetPolicy::filter_resolved`]).
    pub fn check_url(&self, url: &Url) -> Result<(), Refused> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Refused(format!(
                "{url}: scheme {:?} (only http and https)",
                url.scheme()
            )));
        }
        let ip = match url.host() {
            Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
            Some(Host::Domain(_)) => return Ok(()),
            None => return Err(Refused(format!("{url}: no host"))),
        };
        self.check_ip(ip)
            .map_err(|r| Refused(format!("{url}: {r}")))
    }

    /// The addresses `host` resolved to that may be connected to; refused when none may. The
    /// others are dropped rather than failing the name: only the kept ones are ever dialled.
    pub fn filter_resolved(
        &self,
        host: &str,
        addrs: impl IntoIterator<Item = SocketAddr>,
    ) -> Result<Vec<SocketAddr>, Refused> {
        let mut kept = Vec::new();
        let mut dropped = Vec::new();
        for addr in addrs {
            match self.check_ip(addr.ip()) {
                Ok(()) => kept.push(addr),
                Err(refused) => dropped.push(refused.0),
            }
        }
        if kept.is_empty() {
            if dropped.is_empty() {
                return Err(Refused(format!("{host} resolved to no address")));
            }
            return Err(Refused(format!("{host}: {}", dropped.join("; "))));
        }
        Ok(kept)
    }
}

/// Whether a request may open `spec`: local sources (file, device, stdin) only when
/// `allow_local`; a URL whose host is an address literal only where `net` allows it (a host
/// name is checked when the source connects, on each connection).
pub fn check_spec(spec: &SourceSpec, allow_local: bool, net: &NetPolicy) -> Result<(), Refused> {
    match spec {
        SourceSpec::File { .. } | SourceSpec::Device(_) | SourceSpec::Stdin(_) if !allow_local => {
            Err(Refused(format!(
                "{spec}: file, device and stdin sources are open to API clients only with \
                 --allow-local-sources"
            )))
        }
        SourceSpec::File { .. } | SourceSpec::Device(_) | SourceSpec::Stdin(_) => Ok(()),
        SourceSpec::Http(url) | SourceSpec::Hls(url) => {
            let url = Url::parse(url).map_err(|e| Refused(format!("{url}: {e}")))?;
            net.check_url(&url)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use AddrClass::*;

    #[test]
    fn classifies_v4_v6_and_v4_inside_v6() {
        let table: &[(&str, Option<AddrClass>)] = &[
            ("8.8.8.8", None),
            ("1.1.1.1", None),
            ("172.32.0.1", None),
            ("100.128.0.1", None),
            ("127.0.0.1", Some(Loopback)),
            ("127.255.255.254", Some(Loopback)),
            ("10.0.0.1", Some(Private)),
            ("172.16.0.1", Some(Private)),
            ("172.31.255.255", Some(Private)),
            ("192.168.1.1", Some(Private)),
            ("169.254.169.254", Some(LinkLocal)),
            ("100.64.0.1", Some(SharedNat)),
            ("100.127.255.255", Some(SharedNat)),
            ("0.0.0.0", Some(Unspecified)),
            ("0.1.2.3", Some(Unspecified)),
            ("224.0.0.1", Some(Multicast)),
            ("239.255.255.250", Some(Multicast)),
            ("255.255.255.255", Some(Broadcast)),
            ("240.0.0.1", Some(Reserved)),
            ("192.0.2.1", Some(Reserved)),
            ("198.18.0.1", Some(Reserved)),
            ("2606:4700::1111", None),
            ("2001:4860:4860::8888", None),
            ("::", Some(Unspecified)),
            ("::1", Some(Loopback)),
            ("fc00::1", Some(Private)),
            ("fd12:3456::1", Some(Private)),
            ("fec0::1", Some(Private)),
            ("fe80::1", Some(LinkLocal)),
            ("ff02::1", Some(Multicast)),
            ("2001:db8::1", Some(Reserved)),
            ("2001::1", Some(Reserved)),
            ("100::1", Some(Reserved)),
            // IPv4-mapped: where the packets really go.
            ("::ffff:127.0.0.1", Some(Loopback)),
            ("::ffff:10.1.2.3", Some(Private)),
            ("::ffff:169.254.169.254", Some(LinkLocal)),
            ("::ffff:100.64.0.1", Some(SharedNat)),
            ("::ffff:0.0.0.0", Some(Unspecified)),
            ("::ffff:255.255.255.255", Some(Broadcast)),
            ("::ffff:8.8.8.8", None),
            // NAT64, 6to4 and the deprecated IPv4-compatible form.
            ("64:ff9b::7f00:1", Some(Loopback)),
            ("64:ff9b::808:808", None),
            ("64:ff9b:1::1", Some(Private)),
            ("2002:7f00:1::1", Some(Loopback)),
            ("2002:c0a8:101::1", Some(Private)),
            ("2002:808:808::1", None),
            ("::127.0.0.1", Some(Loopback)),
            ("::10.0.0.1", Some(Private)),
            ("::8.8.8.8", Some(Reserved)),
        ];
        for (text, want) in table {
            let ip: IpAddr = text.parse().unwrap();
            assert_eq!(classify(ip), *want, "{text}");
        }
    }

    #[test]
    fn urls_with_address_literals_are_checked_and_names_wait_for_resolution() {
        // (URL, refused under the default policy)
        let table = [
            ("http://8.8.8.8/live.mp3", false),
            ("https://[2606:4700::1111]/a.m3u8", false),
            ("http://stream.example/live", false),
            ("http://localhost:8080/x", false), // a name: refused once it resolves to ::1 or 127.x
            ("http://127.0.0.1:8080/internal-admin/delete?all=1", true),
            ("http://[::1]/x", true),
            ("http://[::ffff:127.0.0.1]/x", true),
            ("http://[::ffff:7f00:1]/x", true),
            // The URL parser reads these as 127.0.0.1, as browsers and curl do.
            ("http://2130706433/x", true),
            ("http://0x7f.1/x", true),
            ("http://0177.0.0.1/x", true),
            ("http://0/x", true),
            ("http://169.254.169.254/latest/meta-data/", true),
            ("http://10.0.0.1/seg.aac", true),
            ("http://[fd00::1]/x", true),
            ("http://100.64.1.1/x", true),
            ("http://224.0.0.1/x", true),
            ("http://255.255.255.255/x", true),
            ("file:///etc/passwd", true),
            ("ftp://8.8.8.8/x", true),
            ("gopher://8.8.8.8/x", true),
        ];
        let strict = NetPolicy::public_only();
        let open = NetPolicy::any_address();
        for (text, refused) in table {
            let url = Url::parse(text).unwrap();
            assert_eq!(strict.check_url(&url).is_err(), refused, "{text}");
            let scheme_ok = matches!(url.scheme(), "http" | "https");
            assert_eq!(
                open.check_url(&url).is_ok(),
                scheme_ok,
                "{text}, any address"
            );
        }
    }

    #[test]
    fn resolved_addresses_keep_only_the_allowed_ones() {
        let addr = |s: &str| -> SocketAddr { s.parse().unwrap() };
        let loopback_only = NetPolicy::allowing(&[Loopback]);
        let (strict, open) = (NetPolicy::public_only(), NetPolicy::any_address());
        // (policy, resolved addresses, Some(kept) or None for refused)
        type Case<'a> = (&'a NetPolicy, Vec<SocketAddr>, Option<Vec<SocketAddr>>);
        let table: Vec<Case> = vec![
            (
                &strict,
                vec![addr("93.184.216.34:0")],
                Some(vec![addr("93.184.216.34:0")]),
            ),
            // Rebinding-style answers: the private one is dropped, only the public one is dialled.
            (
                &strict,
                vec![addr("127.0.0.1:0"), addr("93.184.216.34:0")],
                Some(vec![addr("93.184.216.34:0")]),
            ),
            (&strict, vec![addr("127.0.0.1:0"), addr("[::1]:0")], None),
            (&strict, vec![addr("[::ffff:192.168.0.1]:0")], None),
            (&strict, vec![], None),
            (
                &loopback_only,
                vec![addr("127.0.0.1:0"), addr("10.0.0.1:0")],
                Some(vec![addr("127.0.0.1:0")]),
            ),
            (&loopback_only, vec![addr("169.254.169.254:0")], None),
            (
                &open,
                vec![addr("10.0.0.1:0")],
                Some(vec![addr("10.0.0.1:0")]),
            ),
        ];
        for (policy, resolved, want) in table {
            let got = policy.filter_resolved("h.test", resolved.clone()).ok();
            assert_eq!(got, want, "{policy:?} {resolved:?}");
        }
        let err = NetPolicy::public_only()
            .filter_resolved("h.test", [addr("127.0.0.1:0")])
            .unwrap_err();
        assert_eq!(err.to_string(), "h.test: 127.0.0.1 is a loopback address");
    }

    #[test]
    fn local_sources_need_the_operator() {
        let strict = NetPolicy::public_only();
        // (spec, refused without allow_local, refused with it)
        let table = [
            ("file:samples/ja_demo.wav", true, false),
            ("samples/ja_demo.wav", true, false),
            ("device:default", true, false),
            ("-", true, false),
            ("-?format=s16le&rate=16000&channels=1", true, false),
            ("http://8.8.8.8/live.mp3", false, false),
            ("http://stream.example/live.m3u8", false, false),
            ("http://127.0.0.1:9/live.mp3", true, true),
            ("hls:http://[::1]/x", true, true),
        ];
        for (text, refused, refused_with_local) in table {
            let spec: SourceSpec = text.parse().unwrap();
            assert_eq!(
                check_spec(&spec, false, &strict).is_err(),
                refused,
                "{text}"
            );
            assert_eq!(
                check_spec(&spec, true, &strict).is_err(),
                refused_with_local,
                "{text}, local allowed"
            );
        }
    }
}
