//! Webhooks for partners: an organization registers HTTPS endpoints and hears about what happens
//! at the events it hosts, without polling.
//!
//! - **What is sent**: [`EventType`]s (registration created, cancelled, promoted; event changed,
//!   cancelled; expert booking created, cancelled; credit granted). The payload is
//!   `{"type", "timestamp", "data"}` (the Standard Webhooks shape) and carries ids, statuses and
//!   times: what the organization could read through the staff API anyway, never a name or an
//!   address.
//! - **To whom**: the active endpoints, subscribed to that type, of the organizations hosting the
//!   event concerned (an organizer sees exactly those events). An online expert session belongs to
//!   no event and reaches no organization.
//! - **When**: [`emit`] writes one delivery row per endpoint in the transaction of the change, so a
//!   change and its messages commit together; the worker ([`worker`]) sends them, in order per
//!   object and endpoint, retrying with backoff, and gives up after [`worker::MAX_ATTEMPTS`].
//! - **Signed** per Standard Webhooks ([`sign`]): `webhook-id`, `webhook-timestamp` and
//!   `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, with the endpoint's
//!   secret (`whsec_…`, shown once); after a rotation the old secret signs too for
//!   [`ROTATION_OVERLAP_HOURS`], so receivers can switch without losing messages.
//! - **Where to**: HTTPS only, except `http://` to a loopback address; an address in a private,
//!   loopback, link-local or otherwise non-public range is refused unless the operator allows it
//!   (`ROADSHOW_WEBHOOK_ALLOW_PRIVATE`), checked when the endpoint is saved and again, on the
//!   resolved addresses, before every delivery, which then connects to the address checked (no
//!   redirects followed): the service cannot be made to call into its own network.

pub mod queries;
pub mod routes;
pub mod staff;
pub mod worker;

use std::net::IpAddr;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::db::DbConnection;
use crate::error::AppError;

/// How long a rotated-out secret keeps signing.
pub const ROTATION_OVERLAP_HOURS: i64 = 24;

crate::text_enum! {
    /// What a webhook message reports.
    pub enum EventType {
        RegistrationCreated = "registration.created",
        RegistrationCancelled = "registration.cancelled",
        RegistrationPromoted = "registration.promoted",
        EventChanged = "event.changed",
        EventCancelled = "event.cancelled",
        BookingCreated = "booking.created",
        BookingCancelled = "booking.cancelled",
        CreditGranted = "credit.granted",
    }
}

/// Writes one delivery of `data` (as `{"type","timestamp","data"}`) for every active endpoint
/// subscribed to `kind` of an organization hosting `event_id`, in the caller's transaction.
/// `object_id` orders the messages about one object. Nothing when no event is concerned.
pub fn emit(
    conn: &mut DbConnection,
    kind: EventType,
    event_id: Option<&str>,
    object_id: &str,
    data: serde_json::Value,
) -> Result<usize, AppError> {
    let Some(event_id) = event_id else { return Ok(0) };
    let at = crate::db::now();
    let payload = payload(kind, at, data);
    queries::enqueue(conn, kind, event_id, object_id, &payload, at)
}

/// The body of a webhook message of `kind` written at `at` (what [`emit`] stores).
pub fn payload(kind: EventType, at: chrono::NaiveDateTime, data: serde_json::Value) -> String {
    serde_json::json!({
        "type": kind.as_str(),
        "timestamp": crate::time::utc_string(crate::db::from_db_time(at)),
        "data": data,
    })
    .to_string()
}

/// A new signing secret: `whsec_` and 32 random bytes in base64 (the Standard Webhooks form).
pub fn new_secret() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(key))
}

/// `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>` with the key of `secret`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64.decode(secret.trim_start_matches("whsec_")).unwrap_or_else(|_| secret.as_bytes().to_vec());
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", b64.encode(mac.finalize().into_bytes()))
}

/// Whether an address is one the service must not call unless allowed: loopback, private
/// (RFC 1918, unique local), link-local, carrier-grade NAT, unspecified, multicast, documentation
/// and other reserved ranges.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || (o[0] == 198 && (o[1] == 18 || o[1] == 19))
                || o[0] >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            let s = v6.segments();
            let embedded = |hi: u16, lo: u16| {
                IpAddr::V4(std::net::Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8))
            };
            // IPv4 carried inside IPv6: NAT64 (64:ff9b::/96), 6to4 (2002::/16), IPv4-compatible.
            if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
                return is_private(embedded(s[6], s[7]));
            }
            if s[0] == 0x2002 {
                return is_private(embedded(s[1], s[2]));
            }
            if s[..6] == [0, 0, 0, 0, 0, 0] && !(s[6] == 0 && s[7] <= 1) {
                return is_private(embedded(s[6], s[7]));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] & 0xffc0) == 0xfec0
                || (s[0] == 0x2001 && s[1] == 0x0db8)
                // Teredo tunnels reach whatever the relay reaches.
                || (s[0] == 0x2001 && s[1] == 0)
        }
    }
}

/// A checked endpoint URL.
#[derive(Debug, Clone)]
pub struct Target {
    pub url: url::Url,
    pub host: String,
    pub port: u16,
}

/// Checks an endpoint URL's form: `https://`, or `http://` to a loopback host; no credentials in
/// it; a host. Addresses are checked by [`resolve_allowed`].
pub fn parse_target(raw: &str) -> Result<Target, String> {
    let url = url::Url::parse(raw.trim()).map_err(|_| "is not a URL".to_string())?;
    if raw.len() > 2000 {
        return Err("is longer than 2000 characters".into());
    }
    let host = url.host_str().ok_or("has no host")?.trim_matches(['[', ']']).to_ascii_lowercase();
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry a user name or password".into());
    }
    let loopback = host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => return Err("must be https (http only to a loopback address)".into()),
        _ => return Err("must be an https URL".into()),
    }
    let port = url.port_or_known_default().ok_or("has no port")?;
    Ok(Target { url, host, port })
}

/// The addresses of `target` the service may connect to: all of them public, or private ones
/// when `allow_private`. An address that may not be called is an error naming the rule.
pub fn resolve_allowed(target: &Target, allow_private: bool) -> Result<Vec<std::net::SocketAddr>, String> {
    use std::net::ToSocketAddrs;
    let addrs: Vec<std::net::SocketAddr> = match target.host.parse::<IpAddr>() {
        Ok(ip) => vec![std::net::SocketAddr::new(ip, target.port)],
        Err(_) => (target.host.as_str(), target.port)
            .to_socket_addrs()
            .map_err(|e| format!("its host does not resolve: {e}"))?
            .collect(),
    };
    if addrs.is_empty() {
        return Err("its host has no address".into());
    }
    if !allow_private && addrs.iter().any(|a| is_private(a.ip())) {
        return Err("points into a private or loopback network (ROADSHOW_WEBHOOK_ALLOW_PRIVATE allows it)".into());
    }
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_follow_standard_webhooks() {
        // The example of the Standard Webhooks specification's reference libraries.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let sig = sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, r#"{"test": 2432232314}"#);
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(new_secret().starts_with("whsec_"));
        assert_ne!(new_secret(), new_secret());
    }

    #[test]
    fn urls_must_be_https_or_loopback_and_private_addresses_are_refused() {
        assert!(parse_target("https://hooks.partner.example/roadshow").is_ok());
        assert!(parse_target("http://127.0.0.1:9000/hook").is_ok());
        assert!(parse_target("http://[::1]:9000/hook").is_ok());
        assert!(parse_target("http://hooks.partner.example/").is_err());
        assert!(parse_target("ftp://x.example/").is_err());
        assert!(parse_target("https://user:pw@x.example/").is_err());
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "198.18.0.1",
            "fec0::1",
            "64:ff9b::a9fe:a9fe",
            "2002:0a00:0001::1",
            "::10.0.0.1",
            "2001:0:4136:e378::1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:4700::1111", "8.8.8.8", "64:ff9b::808:808", "2002:0808:0808::1"] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
        let t = parse_target("https://169.254.169.254/latest/meta-data").unwrap();
        assert!(resolve_allowed(&t, false).is_err(), "the cloud metadata address");
        assert!(resolve_allowed(&t, true).is_ok());
        let t = parse_target("http://127.0.0.1:9/").unwrap();
        assert!(resolve_allowed(&t, false).is_err(), "loopback is private too unless allowed");
    }
}
