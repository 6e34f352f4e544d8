//! Our SMTP client: a small pool of connections over lettre's public sync client
//! ([`SmtpConnection`]), sending each message as MAIL FROM, RCPT TO, DATA and then the dot-stuffed
//! content *with* its terminating `.` in one write. When the server offers PIPELINING (RFC 2920),
//! MAIL FROM, RCPT TO and DATA go in one write and their three replies are read after it: two
//! round trips per message instead of four (each a write, a read and a wake-up on both sides).
//! lettre keeps only the EHLO keywords it knows, and PIPELINING is not one of them, so each new
//! connection sends EHLO once more (before AUTH) and reads the keyword from that reply.
//!
//! Why not lettre's `SmtpTransport`: it writes the content and the final `\r\n.\r\n` separately and
//! never sets `TCP_NODELAY`, so the small terminator waits (Nagle) for the server's delayed ACK,
//! about 40 ms on Linux, and one connection carries only about 25 messages a second. It also sends a
//! NOOP before reusing each pooled connection; here a reused connection that turns out to be closed
//! is noticed on MAIL FROM, before anything was delivered, and the message goes over a fresh one.
//!
//! URLs: `smtp://host:25` plain, `smtp://host:587?tls=required` STARTTLS (refuses a server without
//! it), `smtp://host:587?tls=opportunistic` STARTTLS when offered, `smtps://host:465` implicit TLS;
//! `smtp://user:password@host…` authenticates (percent-encoded user and password); a path
//! (`smtp://host/client.example.org`) is the name sent in EHLO. Servers' certificates are checked
//! against the Mozilla roots (webpki-roots) plus those of `ROADSHOW_SMTP_CA_FILE`, if set.

use std::fmt;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{Certificate, SmtpConnection, Tls, TlsParameters};
use lettre::transport::smtp::commands::{Data, Ehlo, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use lettre::transport::smtp::response::{Response, Severity};
use lettre::transport::smtp::Error as SmtpError;

use super::transport::SendError;

/// Per-command timeout (connect, each reply, each write).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// By default, an idle connection older than this is closed rather than reused.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long closing an idle connection may wait for the reply to QUIT.
const QUIT_TIMEOUT: Duration = Duration::from_secs(1);

/// Where and how to connect, from `ROADSHOW_SMTP_URL`.
#[derive(Clone)]
pub struct SmtpServer {
    pub host: String,
    pub port: u16,
    pub tls: Tls,
    pub credentials: Option<Credentials>,
    pub hello: ClientId,
}

impl fmt::Debug for SmtpServer {
    /// Without the credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpServer")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("credentials", &self.credentials.is_some())
            .field("hello", &self.hello)
            .finish()
    }
}

impl SmtpServer {
    /// Parses an SMTP URL (see the module docs); TLS also trusts `extra_roots`. Errors start with
    /// `ROADSHOW_SMTP_URL:` and never repeat the URL, which may hold a password.
    pub fn parse(url: &str, extra_roots: Option<&Certificate>) -> Result<SmtpServer, String> {
        let bad = |why: String| format!("ROADSHOW_SMTP_URL: {why}");
        let u = url::Url::parse(url.trim()).map_err(|e| bad(format!("not a URL ({e})")))?;
        let implicit_tls = match u.scheme() {
            "smtp" => false,
            "smtps" => true,
            other => return Err(bad(format!("unknown scheme {other:?}: use smtp:// or smtps://"))),
        };
        let host = match u.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => d.to_string(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            _ => return Err(bad("no host: use smtp://host:port".into())),
        };
        let mut tls_mode = None;
        for (key, value) in u.query_pairs() {
            match (key.as_ref(), value.as_ref()) {
                ("tls", "required" | "opportunistic") if !implicit_tls && tls_mode.is_none() => {
                    tls_mode = Some(value.into_owned())
                }
                ("tls", _) if implicit_tls => {
                    return Err(bad(
                        "smtps:// is always TLS: drop ?tls= (or use smtp://…?tls=required for STARTTLS)".into()
                    ))
                }
                ("tls", v) => return Err(bad(format!("tls={v:?}: use tls=required or tls=opportunistic"))),
                (k, _) => return Err(bad(format!("unknown parameter {k:?} (only tls=required|opportunistic)"))),
            }
        }
        let port = u.port().unwrap_or(match (implicit_tls, &tls_mode) {
            (true, _) => 465,
            (false, Some(_)) => 587,
            (false, None) => 25,
        });
        let tls_params = || {
            let mut builder = TlsParameters::builder(host.clone());
            if let Some(roots) = extra_roots {
                builder = builder.add_root_certificate(roots.clone());
            }
            builder.build().map_err(|e| bad(format!("cannot set up TLS for {host:?}: {e}")))
        };
        let tls = match (implicit_tls, tls_mode.as_deref()) {
            (true, _) => Tls::Wrapper(tls_params()?),
            (false, Some("required")) => Tls::Required(tls_params()?),
            (false, Some(_)) => Tls::Opportunistic(tls_params()?),
            (false, None) => Tls::None,
        };
        let decode = |what: &str, s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .map(|c| c.into_owned())
                .map_err(|_| bad(format!("the {what} is not valid UTF-8 once percent-decoded")))
        };
        let credentials = match (u.username(), u.password()) {
            ("", None) => None,
            (user, Some(password)) => Some(Credentials::new(decode("user", user)?, decode("password", password)?)),
            (_, None) => return Err(bad("a user needs a password: smtp://user:password@host".into())),
        };
        let path = u.path().trim_matches('/');
        let hello = if path.is_empty() { ClientId::default() } else { ClientId::Domain(path.to_string()) };
        Ok(SmtpServer { host, port, tls, credentials, hello })
    }

    /// Opens a connection: TCP (and TLS for smtps), greeting, EHLO, STARTTLS when asked, EHLO
    /// again (for PIPELINING, see the module docs), AUTH.
    fn connect(&self) -> Result<Conn, SendError> {
        let wrapper = match &self.tls {
            Tls::Wrapper(p) => Some(p),
            _ => None,
        };
        let mut conn =
            SmtpConnection::connect((self.host.as_str(), self.port), Some(COMMAND_TIMEOUT), &self.hello, wrapper, None)
                .map_err(|e| setup_error("connect", e))?;
        let starttls = match &self.tls {
            Tls::Required(p) => Some(p),
            Tls::Opportunistic(p) if conn.can_starttls() => Some(p),
            _ => None,
        };
        if let Some(p) = starttls {
            conn.starttls(p, &self.hello).map_err(|e| setup_error("STARTTLS", e))?;
        }
        let ehlo = conn.command(Ehlo::new(self.hello.clone())).map_err(|e| setup_error("EHLO", e))?;
        let pipelining = offers(&ehlo, "PIPELINING");
        if let Some(c) = &self.credentials {
            conn.auth(DEFAULT_MECHANISMS, c).map_err(|e| setup_error("AUTH", e))?;
        }
        Ok(Conn { smtp: conn, pipelining })
    }
}

/// Whether an EHLO reply lists this keyword (its lines after the first, each a keyword and its
/// parameters).
fn offers(ehlo: &Response, keyword: &str) -> bool {
    ehlo.message().skip(1).any(|line| line.split_whitespace().next().is_some_and(|k| k.eq_ignore_ascii_case(keyword)))
}

/// An open connection, and whether its server takes pipelined commands.
struct Conn {
    smtp: SmtpConnection,
    pipelining: bool,
}

/// Reads `ROADSHOW_SMTP_CA_FILE`: PEM certificates to trust as roots besides the usual ones (a
/// relay with a certificate from a private CA).
pub fn load_ca_file(path: &Path) -> Result<Certificate, String> {
    let bad = |why: String| format!("ROADSHOW_SMTP_CA_FILE: {why}");
    let pem = std::fs::read(path).map_err(|e| bad(format!("cannot read {}: {e}", path.display())))?;
    if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
        return Err(bad(format!("{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)", path.display())));
    }
    let roots = Certificate::from_pem(&pem).map_err(|e| bad(format!("{}: {e}", path.display())))?;
    // Building TLS settings with them checks that each one is a usable certificate.
    TlsParameters::builder("localhost".into())
        .add_root_certificate(roots.clone())
        .build()
        .map_err(|e| bad(format!("{}: {e}", path.display())))?;
    Ok(roots)
}

/// A connection could not be opened: no mail transaction took place, whatever the reason (refused,
/// TLS, timeout, or a negative reply to the greeting, EHLO, STARTTLS or AUTH, which says nothing
/// about the message). The rest of the batch waits.
fn setup_error(step: &str, e: SmtpError) -> SendError {
    SendError { permanent: false, unreachable: true, message: format!("SMTP {step}: {e}") }
}

/// Thread-safe pool of idle connections to one server. Sending takes the most recently used idle
/// connection (or opens one) and puts it back after a completed transaction; at most `max_idle`
/// are kept, none longer than the idle timeout ([`IDLE_TIMEOUT`] by default).
pub struct SmtpPool {
    server: SmtpServer,
    max_idle: usize,
    idle_timeout: Duration,
    idle: Mutex<Vec<Idle>>,
}

struct Idle {
    conn: Conn,
    since: Instant,
}

impl SmtpPool {
    pub fn new(server: SmtpServer, max_idle: usize) -> SmtpPool {
        SmtpPool { server, max_idle: max_idle.max(1), idle_timeout: IDLE_TIMEOUT, idle: Mutex::new(Vec::new()) }
    }

    pub fn with_idle_timeout(mut self, idle_timeout: Duration) -> SmtpPool {
        self.idle_timeout = idle_timeout;
        self
    }

    /// Idle connections right now (tests).
    pub fn idle_count(&self) -> usize {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Sends one message; `Ok` once the server accepted it (2xx after the final `.`).
    pub fn send(&self, envelope: &Envelope, content: &[u8]) -> Result<(), SendError> {
        loop {
            let (mut conn, reused) = match self.take_idle() {
                Some(conn) => (conn, true),
                None => (self.server.connect()?, false),
            };
            match transaction(&mut conn, envelope, content) {
                Ok(()) => {
                    self.put_back(conn);
                    return Ok(());
                }
                // A pooled connection the server closed meanwhile (reset, end of stream, or 421 as
                // it closes): nothing was delivered, so try the next one or a fresh connection.
                // Each attempt removes a connection from the pool, so this ends.
                Err(f) if reused && f.stage == Stage::MailFrom && f.closed() => continue,
                Err(f) => {
                    // Refused, but the conversation is intact: RSET and keep the connection.
                    let keep = match f.kind {
                        FailureKind::Unsupported => true,
                        FailureKind::Refused { .. } => rset(&mut conn),
                        FailureKind::Closing | FailureKind::Broken { .. } => false,
                    };
                    if keep {
                        self.put_back(conn);
                    }
                    return Err(f.send_error());
                }
            }
        }
    }

    /// Closes idle connections past the idle timeout (QUIT, briefly awaited). The worker calls it
    /// between steps so that a quiet service does not hold connections open.
    pub fn close_expired(&self) {
        let expired: Vec<Idle> = {
            let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
            // Connections are pushed in time order, so the expired ones come first.
            let n = idle.partition_point(|i| i.since.elapsed() > self.idle_timeout);
            idle.drain(..n).collect()
        };
        for i in expired {
            quit(i.conn);
        }
    }

    fn take_idle(&self) -> Option<Conn> {
        self.close_expired();
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop().map(|i| i.conn)
    }

    fn put_back(&self, conn: Conn) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < self.max_idle {
            idle.push(Idle { conn, since: Instant::now() });
        } else {
            drop(idle);
            quit(conn);
        }
    }
}

/// Says goodbye without waiting long for the answer, then closes.
fn quit(mut conn: Conn) {
    let _ = conn.smtp.set_timeout(Some(QUIT_TIMEOUT));
    conn.smtp.abort();
}

/// RSET after a refused transaction; `true` if the connection is fit for reuse.
fn rset(conn: &mut Conn) -> bool {
    matches!(conn.smtp.command(Rset), Ok(r) if r.code().severity == Severity::PositiveCompletion)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Before any command: the message cannot go over this server (SMTPUTF8 / 8BITMIME missing).
    Prepare,
    MailFrom,
    RcptTo,
    Data,
    /// The reply after the content and its final `.`.
    Content,
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Prepare => "before MAIL FROM",
            Stage::MailFrom => "MAIL FROM",
            Stage::RcptTo => "RCPT TO",
            Stage::Data => "DATA",
            Stage::Content => "end of data",
        })
    }
}

/// A transaction that did not complete.
struct Failure {
    stage: Stage,
    kind: FailureKind,
    message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FailureKind {
    /// The server refused the message for now (4xx) or for good (5xx) and still listens.
    Refused { permanent: bool },
    /// 421: the server refuses for now and closes the connection.
    Closing,
    /// No usable reply: reset, end of stream, timeout, TLS or protocol error, or a positive reply
    /// of the wrong kind. The connection is out of step and is dropped.
    Broken { timeout: bool },
    /// The server lacks an extension this message needs; nothing was sent.
    Unsupported,
}

impl Failure {
    fn from_error(stage: Stage, error: SmtpError) -> Failure {
        let kind = match error.status() {
            Some(code) if code.to_string() == "421" => FailureKind::Closing,
            Some(_) => FailureKind::Refused { permanent: error.is_permanent() },
            None => FailureKind::Broken { timeout: error.is_timeout() },
        };
        Failure { stage, kind, message: format!("SMTP {stage}: {error}") }
    }

    /// The connection ended under us without a timeout: it was closed while idle in the pool.
    fn closed(&self) -> bool {
        matches!(self.kind, FailureKind::Closing | FailureKind::Broken { timeout: false })
    }

    /// Our classification, as with lettre's transport before: 5xx permanent, 4xx for later, and
    /// no reply at all means the server cannot be talked to now.
    fn send_error(self) -> SendError {
        let (permanent, unreachable) = match self.kind {
            FailureKind::Refused { permanent } => (permanent, false),
            FailureKind::Closing => (false, false),
            FailureKind::Broken { .. } | FailureKind::Unsupported => (false, true),
        };
        SendError { permanent, unreachable, message: self.message }
    }
}

/// One mail transaction on an open connection. MAIL FROM parameters as lettre's
/// `SmtpConnection::send` decides them: SMTPUTF8 when an address is not ASCII, 8BITMIME when the
/// content is not, each refused up front if the server does not offer it.
fn transaction(conn: &mut Conn, envelope: &Envelope, content: &[u8]) -> Result<(), Failure> {
    let unsupported = |what: &str| Failure {
        stage: Stage::Prepare,
        kind: FailureKind::Unsupported,
        message: format!("SMTP: the server does not offer {what}"),
    };
    let mut params = Vec::new();
    let non_ascii_address =
        envelope.from().into_iter().chain(envelope.to()).any(|a| !AsRef::<str>::as_ref(a).is_ascii());
    if non_ascii_address {
        if !conn.smtp.server_info().supports_feature(Extension::SmtpUtfEight) {
            return Err(unsupported("SMTPUTF8, needed for a non-ASCII address"));
        }
        params.push(MailParameter::SmtpUtfEight);
    }
    if !content.is_ascii() {
        if !conn.smtp.server_info().supports_feature(Extension::EightBitMime) {
            return Err(unsupported("8BITMIME, needed for non-ASCII content"));
        }
        params.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    let mail = Mail::new(envelope.from().cloned(), params);
    let smtp = &mut conn.smtp;
    // One recipient (every outbox row): pipelined. With more, a refused RCPT TO would leave DATA
    // accepted for the others and the content owed; those go a command at a time.
    if conn.pipelining && envelope.to().len() == 1 {
        pipelined_envelope(smtp, mail, &envelope.to()[0])?;
    } else {
        step(Stage::MailFrom, smtp.command(mail), Severity::PositiveCompletion)?;
        for to in envelope.to() {
            step(Stage::RcptTo, smtp.command(Rcpt::new(to.clone(), vec![])), Severity::PositiveCompletion)?;
        }
        step(Stage::Data, smtp.command(Data), Severity::PositiveIntermediate)?;
    }
    let reply = match std::str::from_utf8(content) {
        // The content and the terminator in one write (see the module docs).
        Ok(text) => smtp.command(Verbatim(super::mime::dot_stuffed(text))),
        // Not UTF-8 (never for messages we build): lettre's own two writes, slower but correct.
        Err(_) => smtp.message(content),
    };
    step(Stage::Content, reply, Severity::PositiveCompletion)
}

/// MAIL FROM, RCPT TO and DATA in one write, then their three replies. The first refusal decides
/// the failure; the replies after it are still read (a server answers each pipelined command, a
/// 503 or 554 after a refused MAIL FROM or RCPT TO), so the connection stays in step for RSET. A
/// reply that never comes (reset, end of stream, timeout) ends the reading: the connection is lost.
fn pipelined_envelope(smtp: &mut SmtpConnection, mail: Mail, to: &lettre::Address) -> Result<(), Failure> {
    let mut group = Some(format!("{mail}{}{Data}", Rcpt::new(to.clone(), vec![])));
    let expected = [
        (Stage::MailFrom, Severity::PositiveCompletion),
        (Stage::RcptTo, Severity::PositiveCompletion),
        (Stage::Data, Severity::PositiveIntermediate),
    ];
    let mut failure: Option<Failure> = None;
    let mut data_accepted = false;
    for (stage, wanted) in expected {
        let reply = match group.take() {
            Some(group) => smtp.command(Verbatim(group)),
            None => smtp.read_response(),
        };
        let lost = matches!(&reply, Err(e) if e.status().is_none());
        data_accepted =
            stage == Stage::Data && matches!(&reply, Ok(r) if r.code().severity == Severity::PositiveIntermediate);
        if let Err(f) = step(stage, reply, wanted) {
            failure.get_or_insert(f);
        }
        if lost {
            break;
        }
    }
    match failure {
        None => Ok(()),
        // DATA accepted after a refusal: the server waits for content we will not send. Out of step;
        // the connection is dropped.
        Some(f) if data_accepted => Err(Failure { kind: FailureKind::Broken { timeout: false }, ..f }),
        Some(f) => Err(f),
    }
}

/// Checks one reply. lettre turns 4xx/5xx into errors; a positive reply of the other kind (250 to
/// DATA, 354 to MAIL FROM) means the two sides are out of step.
fn step(stage: Stage, reply: Result<Response, SmtpError>, wanted: Severity) -> Result<(), Failure> {
    let r = reply.map_err(|e| Failure::from_error(stage, e))?;
    if r.code().severity == wanted {
        return Ok(());
    }
    Err(Failure {
        stage,
        kind: FailureKind::Broken { timeout: false },
        message: format!("SMTP {stage}: unexpected reply {} {}", r.code(), r.message().collect::<Vec<_>>().join(" ")),
    })
}

/// Bytes written by `SmtpConnection::command` as they are, in one buffer: pipelined commands, or
/// content already dot-stuffed and terminated ([`super::mime::dot_stuffed`]).
struct Verbatim(String);

impl fmt::Display for Verbatim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> SmtpServer {
        SmtpServer::parse(url, None).unwrap_or_else(|e| panic!("{url}: {e}"))
    }

    fn error(url: &str) -> String {
        let e = SmtpServer::parse(url, None).err().unwrap_or_else(|| panic!("{url} was accepted"));
        assert!(e.starts_with("ROADSHOW_SMTP_URL: "), "{e}");
        assert!(!e.contains("secret"), "the password stays out of errors: {e}");
        e
    }

    #[test]
    fn urls_give_host_port_tls_credentials_and_hello_name() {
        let s = parse("smtp://127.0.0.1:1025");
        assert_eq!((s.host.as_str(), s.port), ("127.0.0.1", 1025));
        assert!(matches!(s.tls, Tls::None) && s.credentials.is_none());
        assert_eq!(parse("smtp://mail.example.org").port, 25);

        let s = parse("smtp://mail.example.org?tls=required");
        assert_eq!(s.port, 587);
        assert!(matches!(&s.tls, Tls::Required(p) if p.domain() == "mail.example.org"));
        assert!(matches!(parse("smtp://mail.example.org:2525?tls=opportunistic").tls, Tls::Opportunistic(_)));

        let s = parse("smtps://user%40example.org:p%40ss%3Aw%2Fd@mail.example.org");
        assert_eq!(s.port, 465);
        assert!(matches!(&s.tls, Tls::Wrapper(p) if p.domain() == "mail.example.org"));
        let expected = Credentials::new("user@example.org".into(), "p@ss:w/d".into());
        assert!(s.credentials == Some(expected), "percent-decoded user and password");
        assert!(!format!("{s:?}").contains("p@ss"), "Debug leaves the password out");

        let s = parse("smtp://[::1]:1025/client.example.org");
        assert_eq!((s.host.as_str(), s.port), ("::1", 1025));
        assert_eq!(s.hello, ClientId::Domain("client.example.org".into()));
        assert_eq!(parse("smtp://localhost").hello, ClientId::default());
    }

    #[test]
    fn bad_urls_say_what_is_wrong() {
        assert!(error("relay.example.org").contains("not a URL"));
        assert!(error("mail.example.org:25").contains("scheme"));
        assert!(error("http://mail.example.org").contains("scheme"));
        assert!(error("smtp:relay.example.org").contains("no host"));
        assert!(error("smtp://mail.example.org?tls=sometimes").contains("tls=required"));
        assert!(error("smtps://mail.example.org?tls=required").contains("always TLS"));
        assert!(error("smtp://mail.example.org?tsl=required").contains("unknown parameter"));
        assert!(error("smtp://user@mail.example.org").contains("password"));
        assert!(error("smtp://user:secret%FF@mail.example.org").contains("UTF-8"));
    }

    #[test]
    fn a_ca_file_must_hold_certificates() {
        let dir = std::env::temp_dir().join(format!("roadshow-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = load_ca_file(&dir.join("missing.pem")).err().unwrap();
        assert!(missing.starts_with("ROADSHOW_SMTP_CA_FILE: cannot read"), "{missing}");
        std::fs::write(dir.join("empty.pem"), "not a certificate").unwrap();
        let empty = load_ca_file(&dir.join("empty.pem")).err().unwrap();
        assert!(empty.contains("no PEM certificate"), "{empty}");
        std::fs::write(dir.join("bad.pem"), "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").unwrap();
        let bad = load_ca_file(&dir.join("bad.pem")).err().unwrap();
        assert!(bad.starts_with("ROADSHOW_SMTP_CA_FILE: "), "{bad}");
        let ca = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/api/tls/ca.pem");
        let roots = load_ca_file(Path::new(ca)).unwrap();
        let s = SmtpServer::parse("smtps://localhost:465", Some(&roots)).unwrap();
        assert!(matches!(s.tls, Tls::Wrapper(_)));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
