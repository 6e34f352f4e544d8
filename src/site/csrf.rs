//! The public forms' protection against cross-site posts.
//!
//! The site keeps no session, so there is nothing ambient for another site to ride on; what a
//! forged post could still do is register someone, from a page they did not mean to use. Two
//! checks stop it, and both must pass:
//!
//! - **The browser says where the post came from.** A post whose `Sec-Fetch-Site` is
//!   `cross-site`, or whose `Origin` is another origin than this service's public URL (or the
//!   request's own host), is refused. Browsers send at least one of the two on every form post;
//!   a post with neither (a script, curl) is judged by the token alone.
//! - **A signed token from the page.** Each form carries `csrf`: the instant it was made and an
//!   HMAC-SHA256 of that instant and the form's purpose (`register:{event id}`) under a key kept
//!   in the database (`site_keys`, made once, shared by every process). It is good for
//!   [`TOKEN_HOURS`] hours; an older or altered one gets the form back, filled in, asking to send
//!   it again.

use std::sync::OnceLock;

use actix_web::http::header;
use actix_web::HttpRequest;
use diesel::prelude::*;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::db::schema::site_keys;
use crate::db::{Db, DbConnection};
use crate::error::AppError;

/// How long a form may sit in a browser before it has to be sent again.
pub const TOKEN_HOURS: i64 = 12;

/// The key forms are signed with, read from the database once per process.
#[derive(Default)]
pub struct FormKey(OnceLock<Vec<u8>>);

impl FormKey {
    async fn get(&self, db: &Db) -> Result<&[u8], AppError> {
        if let Some(k) = self.0.get() {
            return Ok(k);
        }
        let key = db.write(load_or_make).await?;
        Ok(self.0.get_or_init(|| key))
    }

    /// A token for a form with this purpose, made now.
    pub async fn issue(&self, db: &Db, purpose: &str) -> Result<String, AppError> {
        let key = self.get(db).await?;
        let at = chrono::Utc::now().timestamp();
        Ok(format!("{at}.{}", sign(key, purpose, at)))
    }

    /// Whether `token` was issued for `purpose` within [`TOKEN_HOURS`].
    pub async fn check(&self, db: &Db, purpose: &str, token: Option<&str>) -> Result<bool, AppError> {
        let Some((at, mac)) = token.and_then(|t| t.split_once('.')) else { return Ok(false) };
        let Ok(at) = at.parse::<i64>() else { return Ok(false) };
        let age = chrono::Utc::now().timestamp() - at;
        if !(-300..=TOKEN_HOURS * 3600).contains(&age) {
            return Ok(false);
        }
        let key = self.get(db).await?;
        let want = sign(key, purpose, at);
        Ok(subtle::ConstantTimeEq::ct_eq(want.as_bytes(), mac.as_bytes()).into())
    }
}

fn sign(key: &[u8], purpose: &str, at: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(format!("{purpose}|{at}").as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
}

/// The form key, made by the first process that needs it.
fn load_or_make(conn: &mut DbConnection) -> Result<Vec<u8>, AppError> {
    let fresh = hex::encode(rand::random::<[u8; 32]>());
    diesel::sql_query(
        "INSERT INTO site_keys (name, secret, created_at) VALUES ('forms', $1, $2) ON CONFLICT (name) DO NOTHING",
    )
    .bind::<diesel::sql_types::Text, _>(&fresh)
    .bind::<diesel::sql_types::Timestamp, _>(crate::db::now())
    .execute(conn)?;
    let stored: String = site_keys::table.find("forms").select(site_keys::secret).first(conn)?;
    hex::decode(stored).map_err(|e| AppError::internal(format!("site key: {e}")))
}

/// Whether the browser says this post came from another site (see the module docs).
pub fn cross_site(req: &HttpRequest, public_url: &str) -> bool {
    let h = req.headers();
    if h.get("sec-fetch-site").and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("cross-site")) {
        return true;
    }
    let Some(origin) = h.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else { return false };
    let ours = origin_of(public_url);
    let own_host = req.connection_info().host().to_ascii_lowercase();
    let origin = origin.trim_end_matches('/').to_ascii_lowercase();
    let same_as_host = origin.split_once("://").is_some_and(|(_, host)| host == own_host);
    !(Some(origin.as_str()) == ours.as_deref() || same_as_host)
}

/// `scheme://host[:port]` of a URL, lower case.
fn origin_of(url: &str) -> Option<String> {
    let u = url::Url::parse(url).ok()?;
    Some(u.origin().ascii_serialization().to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_holds_only_for_its_purpose_and_instant() {
        let key = b"k".repeat(32);
        let s = sign(&key, "register:a", 100);
        assert_eq!(s.len(), 32);
        assert_eq!(s, sign(&key, "register:a", 100));
        assert_ne!(s, sign(&key, "register:b", 100));
        assert_ne!(s, sign(&key, "register:a", 101));
        assert_ne!(s, sign(b"other key", "register:a", 100));
    }

    #[test]
    fn origins_compare_by_scheme_host_and_port() {
        assert_eq!(origin_of("https://Roadshow.example/path").as_deref(), Some("https://roadshow.example"));
        assert_eq!(origin_of("http://127.0.0.1:8080").as_deref(), Some("http://127.0.0.1:8080"));
    }
}
