//! Where messages go: SMTP through our connection pool ([`super::smtp`]) when `ROADSHOW_SMTP_URL`
//! is set, and otherwise `.eml` files under `ROADSHOW_MAIL_DIR`, one per outbox row
//! (`<row id>.eml`, so a re-send replaces the file instead of adding a copy). Also builds the MIME
//! message from an outbox row.
//!
//! SMTP URLs: `smtp://host:25` plain, `smtp://host:587?tls=required` STARTTLS,
//! `smtp://host:587?tls=opportunistic`, `smtps://host:465` implicit TLS;
//! `smtp://user:password@host…` authenticates.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::Message;

use super::mime;
use super::outbox::OutboxRow;
use super::smtp::{load_ca_file, SmtpPool, SmtpServer};

/// A delivery failure, classified for the retry policy. The text may contain the server's reply
/// (possibly an address): it goes to `outbox.last_error`, never to the logs.
#[derive(Debug, Clone)]
pub struct SendError {
    /// The server refused for good (5xx), or the message cannot be built: retrying will not help.
    pub permanent: bool,
    /// No conversation took place (connect, TLS, timeout): the server is unreachable, so the rest
    /// of a batch is not tried now.
    pub unreachable: bool,
    pub message: String,
}

/// The configured way out.
#[derive(Clone)]
pub enum Transport {
    Smtp(Arc<SmtpPool>),
    Files(PathBuf),
}

impl Transport {
    /// SMTP from a URL, keeping up to `pool_size` idle connections (30 s per command, idle ones
    /// closed after a minute). TLS also trusts the roots in `ca_file` (PEM), if given.
    pub fn smtp(url: &str, ca_file: Option<&Path>, pool_size: u32) -> Result<Transport, String> {
        let roots = ca_file.map(load_ca_file).transpose()?;
        let server = SmtpServer::parse(url, roots.as_ref())?;
        Ok(Transport::Smtp(Arc::new(SmtpPool::new(server, pool_size as usize))))
    }

    /// Closes SMTP connections that have been idle too long (the worker calls this between steps).
    pub fn close_idle(&self) {
        if let Transport::Smtp(pool) = self {
            pool.close_expired();
        }
    }

    /// `.eml` files in `dir` (created if missing).
    pub fn files(dir: impl Into<PathBuf>) -> Result<Transport, String> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("ROADSHOW_MAIL_DIR: cannot create {}: {e}", dir.display()))?;
        Ok(Transport::Files(dir))
    }

    /// Sends one message; `Ok` means the server accepted it (or the file is fully written).
    pub fn send(&self, row_id: &str, message: &Message) -> Result<(), SendError> {
        match self {
            Transport::Smtp(pool) => pool.send(message.envelope(), &message.formatted()),
            Transport::Files(dir) => {
                let transient = |e: std::io::Error| SendError {
                    permanent: false,
                    unreachable: true,
                    message: format!("mail directory: {e}"),
                };
                // Write then rename, so a reader never sees half a message.
                let tmp = dir.join(format!(".{row_id}.eml.tmp"));
                std::fs::write(&tmp, message.formatted()).map_err(transient)?;
                std::fs::rename(&tmp, dir.join(format!("{row_id}.eml"))).map_err(transient)
            }
        }
    }
}

/// Builds the MIME message of an outbox row: `multipart/alternative` text + HTML (+ the invite as
/// `text/calendar; method=…`, which calendar-aware clients act on), and the invite again as an
/// `invite.ics` attachment for the others. The Message-ID is the row's, so a re-send is recognisably
/// the same message.
pub fn build_message(row: &OutboxRow, from: &Mailbox) -> Result<Message, SendError> {
    let permanent = |what: String| SendError { permanent: true, unreachable: false, message: what };
    let to: Mailbox = row.recipient.parse().map_err(|e| permanent(format!("bad recipient address: {e}")))?;
    let mut builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(row.subject.clone())
        .message_id(Some(super::outbox::message_id_at(&row.id, from.email.domain())))
        .raw_header(HeaderValue::new(HeaderName::new_from_ascii_str("Auto-Submitted"), "auto-generated".into()));
    let extra: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&row.headers).unwrap_or_default();
    for (name, value) in extra {
        let Some(value) = value.as_str() else { continue };
        let name = HeaderName::new_from_ascii(name).map_err(|e| permanent(format!("bad header name: {e}")))?;
        builder = builder.raw_header(HeaderValue::new(name, value.to_string()));
    }
    // Each body encoded once, in one pass (see `mime`).
    let alternative = MultiPart::alternative()
        .singlepart(SinglePart::plain(mime::body(&row.body_text)))
        .singlepart(SinglePart::html(mime::body(&row.body_html)));
    let body = match &row.ics {
        None => alternative,
        Some(ics) => {
            let method = if ics.contains("\r\nMETHOD:CANCEL\r\n") { "CANCEL" } else { "REQUEST" };
            let calendar = ContentType::parse(&format!("text/calendar; charset=utf-8; method={method}"))
                .map_err(|e| permanent(format!("calendar content type: {e}")))?;
            let ics_file = ContentType::parse("application/ics").map_err(|e| permanent(e.to_string()))?;
            let invite = mime::body(ics);
            MultiPart::mixed()
                .multipart(alternative.singlepart(SinglePart::builder().header(calendar).body(invite.clone())))
                .singlepart(Attachment::new("invite.ics".into()).body(invite, ics_file))
        }
    };
    builder.multipart(body).map_err(|e| permanent(format!("cannot build the message: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_for_plain_tls_starttls_and_credentials_are_accepted() {
        for url in [
            "smtp://127.0.0.1:1025",
            "smtps://user:secret@mail.example.org:465",
            "smtp://user:secret@mail.example.org:587?tls=required",
            "smtp://mail.example.org:587?tls=opportunistic",
            "smtp://mail.example.org",
            "smtp://us%65r:p%40ss@[::1]:2525/client.example.org",
        ] {
            assert!(matches!(Transport::smtp(url, None, 4), Ok(Transport::Smtp(_))), "{url}");
        }
        for url in [
            "smtp://mail.example.org:587?tls=sometimes",
            "smtps://mail.example.org?tls=required",
            "smtp://mail.example.org?tsl=required",
            "smtp://user@mail.example.org",
            "imap://mail.example.org",
            "smtp:mail.example.org",
            "not a url",
        ] {
            let err = Transport::smtp(url, None, 4).err().unwrap_or_else(|| panic!("{url} was accepted"));
            assert!(err.starts_with("ROADSHOW_SMTP_URL: "), "{err}");
        }
    }
}
