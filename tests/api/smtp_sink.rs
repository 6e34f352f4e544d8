//! A small SMTP server for tests and the benchmark: listens on 127.0.0.1 (a random port), speaks
//! enough ESMTP for our client (EHLO/HELO, MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT,
//! PIPELINING unless turned off, and optionally STARTTLS or implicit TLS with the test certificate
//! in tests/api/tls, and AUTH PLAIN), and keeps every accepted message. Like a real server it
//! answers RCPT before MAIL and DATA without a recipient with 503/554, which is what a pipelining
//! client reads after a refused MAIL FROM. It can refuse for a while (4xx or 5xx replies), go
//! down and come back on the same port (connection refused meanwhile), to exercise the worker's
//! retries, and be slow to accept each message (a slow relay).
//!
//! Connections are accepted on the caller's tokio runtime and served on their own threads with
//! blocking I/O (so that TLS needs nothing beyond rustls).

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// What the server answers to `MAIL FROM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Accept,
    /// 451: try again later.
    Refuse,
    /// 550 to `RCPT TO`: this recipient will never be accepted.
    Reject,
}

/// How connections are secured.
#[allow(dead_code)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    Plain,
    /// Offers STARTTLS (and refuses mail before it when `required`).
    StartTls {
        required: bool,
    },
    /// TLS from the first byte (`smtps://`).
    Implicit,
}

/// How to start a sink.
#[derive(Debug, Clone)]
pub struct Options {
    /// Keep each message only as a count (benchmark: no memory growth).
    pub count_only: bool,
    /// Acknowledge every TCP segment at once (Linux `TCP_QUICKACK`) instead of delaying ACKs.
    pub quick_ack: bool,
    pub security: Security,
    /// Offer AUTH PLAIN and require these credentials before mail.
    pub auth: Option<(String, String)>,
    /// Offer PIPELINING (RFC 2920) in the EHLO reply, as most relays do.
    pub pipelining: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options { count_only: false, quick_ack: false, security: Security::Plain, auth: None, pipelining: true }
    }
}

/// One accepted message.
#[derive(Debug, Clone)]
pub struct Received {
    pub mail_from: String,
    /// The whole `MAIL FROM:` argument (with parameters such as `BODY=8BITMIME`).
    pub mail_from_line: String,
    pub rcpt_to: Vec<String>,
    pub data: Vec<u8>,
    /// Whether the message came over TLS.
    pub tls: bool,
    /// Whether the final `.` line was already in the bytes read with the content before it, i.e.
    /// the client did not send it in a separate, later write (which, under Nagle's algorithm,
    /// waits for the server's delayed ACK).
    pub end_came_with_content: bool,
    /// Whether MAIL FROM, RCPT TO and DATA came in the same read (a pipelining client's one
    /// write) rather than each after the reply to the one before.
    pub envelope_in_one_read: bool,
}

struct Shared {
    options: Options,
    tls: Option<Arc<rustls::ServerConfig>>,
    received: Mutex<Vec<Received>>,
    mode: Mutex<Mode>,
    /// How long the server takes to accept a message once it has it all.
    delay: Mutex<std::time::Duration>,
    count: AtomicUsize,
    /// Connections accepted, and RSET commands received.
    sessions: AtomicUsize,
    rsets: AtomicUsize,
    /// Open connections, so that going down can cut them.
    open: Mutex<HashMap<u64, std::net::TcpStream>>,
    next_id: AtomicU64,
}

pub struct SmtpSink {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<watch::Sender<bool>>,
}

impl SmtpSink {
    /// Starts on a random port of 127.0.0.1.
    pub async fn start() -> SmtpSink {
        Self::start_with(Options::default()).await
    }

    /// Starts a sink that only counts messages (the benchmark). With `quick_ack`, it acknowledges
    /// each TCP segment at once, which hides a client that ends DATA with a separate small write
    /// (that write would otherwise wait for the sink's delayed ACK, about 40 ms on Linux).
    #[allow(dead_code)]
    pub async fn start_counting(quick_ack: bool) -> SmtpSink {
        Self::start_with(Options { count_only: true, quick_ack, ..Options::default() }).await
    }

    pub async fn start_with(options: Options) -> SmtpSink {
        let tls = (options.security != Security::Plain).then(server_tls_config);
        let shared = Arc::new(Shared {
            options,
            tls,
            received: Mutex::new(Vec::new()),
            mode: Mutex::new(Mode::Accept),
            delay: Default::default(),
            count: Default::default(),
            sessions: Default::default(),
            rsets: Default::default(),
            open: Mutex::new(HashMap::new()),
            next_id: Default::default(),
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind SMTP sink");
        let addr = listener.local_addr().unwrap();
        let stop = serve(listener, shared.clone());
        SmtpSink { addr, shared, stop: Some(stop) }
    }

    /// `smtp://127.0.0.1:<port>` for `ROADSHOW_SMTP_URL`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.shared.mode.lock().unwrap() = mode;
    }

    /// Makes the server slow: it keeps each message, then waits this long before accepting it (a
    /// slow relay; the message counts as received at once).
    #[allow(dead_code)]
    pub fn set_delay(&self, delay: std::time::Duration) {
        *self.shared.delay.lock().unwrap() = delay;
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    #[allow(dead_code)]
    pub fn count(&self) -> usize {
        self.shared.count.load(Ordering::SeqCst)
    }

    /// Connections accepted so far.
    #[allow(dead_code)]
    pub fn sessions(&self) -> usize {
        self.shared.sessions.load(Ordering::SeqCst)
    }

    /// RSET commands received so far.
    #[allow(dead_code)]
    pub fn rsets(&self) -> usize {
        self.shared.rsets.load(Ordering::SeqCst)
    }

    /// Stops listening and cuts every open connection: connecting is refused until [`Self::up`].
    pub fn down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        for (_, stream) in self.shared.open.lock().unwrap().drain() {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }

    /// Listens again on the same port.
    pub async fn up(&mut self) {
        let mut tries = 0;
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(l) => break l,
                Err(e) if tries < 50 => {
                    tries += 1;
                    let _ = e;
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                Err(e) => panic!("SMTP sink cannot listen on {} again: {e}", self.addr),
            }
        };
        self.stop = Some(serve(listener, self.shared.clone()));
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.down();
    }
}

/// The sink's certificate for `localhost` and `127.0.0.1` (see tests/api/tls/README.md).
fn server_tls_config() -> Arc<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/api/tls");
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("localhost.pem"))
        .expect("test certificate")
        .collect::<Result<_, _>>()
        .expect("test certificate");
    let key = PrivateKeyDer::from_pem_file(dir.join("localhost.key")).expect("test key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("test certificate and key");
    Arc::new(config)
}

fn serve(listener: TcpListener, shared: Arc<Shared>) -> watch::Sender<bool> {
    let (tx, mut rx) = watch::channel(false);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = rx.changed() => break,
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let Ok(stream) = stream.into_std() else { continue };
                    let shared = shared.clone();
                    std::thread::spawn(move || {
                        let id = shared.next_id.fetch_add(1, Ordering::SeqCst);
                        if let Ok(handle) = stream.try_clone() {
                            shared.open.lock().unwrap().insert(id, handle);
                        }
                        let _ = session(stream, &shared);
                        shared.open.lock().unwrap().remove(&id);
                    });
                }
            }
        }
    });
    tx
}

fn session(stream: std::net::TcpStream, shared: &Shared) -> std::io::Result<()> {
    shared.sessions.fetch_add(1, Ordering::SeqCst);
    stream.set_nonblocking(false)?;
    stream.set_nodelay(true)?;
    let raw = stream.try_clone()?;
    let quick_ack = || {
        if shared.options.quick_ack {
            let _ = socket2::SockRef::from(&raw).set_tcp_quickack(true);
        }
    };
    let tls_stream = |tcp: std::net::TcpStream| -> std::io::Result<_> {
        let config = shared.tls.clone().expect("TLS configured");
        let conn = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
        Ok(rustls::StreamOwned::new(conn, tcp))
    };
    match shared.options.security {
        Security::Implicit => {
            converse(&mut buffered(tls_stream(stream)?), shared, true, false, &quick_ack)?;
        }
        Security::StartTls { .. } => {
            let mut plain = buffered(stream);
            if converse(&mut plain, shared, false, true, &quick_ack)? == End::StartTls {
                // The client waits for our 220 before starting TLS, so nothing is buffered.
                let tcp = plain.into_inner().inner;
                converse(&mut buffered(tls_stream(tcp)?), shared, true, false, &quick_ack)?;
            }
        }
        Security::Plain => {
            converse(&mut buffered(stream), shared, false, false, &quick_ack)?;
        }
    }
    Ok(())
}

/// A stream that counts the reads that returned data, so the conversation can tell which bytes
/// arrived together.
struct Reads<S> {
    inner: S,
    count: usize,
}

impl<S: Read> Read for Reads<S> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += usize::from(n > 0);
        Ok(n)
    }
}

impl<S: Write> Write for Reads<S> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A large buffer: a message written at once is read at once.
fn buffered<S: Read>(inner: S) -> BufReader<Reads<S>> {
    BufReader::with_capacity(64 * 1024, Reads { inner, count: 0 })
}

#[derive(Debug, PartialEq, Eq)]
enum End {
    Closed,
    StartTls,
}

fn reply<S: Read + Write>(r: &mut BufReader<Reads<S>>, text: &[u8]) -> std::io::Result<()> {
    r.get_mut().write_all(text)?;
    r.get_mut().flush()
}

/// One conversation (or its part before or after STARTTLS).
fn converse<S: Read + Write>(
    reader: &mut BufReader<Reads<S>>,
    shared: &Shared,
    tls: bool,
    offer_starttls: bool,
    quick_ack: &dyn Fn(),
) -> std::io::Result<End> {
    if !tls || shared.options.security == Security::Implicit {
        reply(reader, b"220 sink.test ESMTP ready\r\n")?;
    }
    let must_starttls = matches!(shared.options.security, Security::StartTls { required: true }) && !tls;
    let mut authenticated = shared.options.auth.is_none();
    let mut from = String::new();
    let mut from_line = String::new();
    // A transaction is open (MAIL FROM accepted), and the read that brought its MAIL FROM.
    let mut open = false;
    let mut mail_read = 0;
    let mut rcpt: Vec<String> = Vec::new();
    let mut line: Vec<u8> = Vec::new();
    loop {
        line.clear();
        quick_ack();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(End::Closed);
        }
        let cmd = String::from_utf8_lossy(&line).trim_end().to_string();
        let upper = cmd.to_ascii_uppercase();
        let mode = *shared.mode.lock().unwrap();
        let answer: Cow<'static, [u8]> = if upper.starts_with("EHLO") {
            // EHLO resets the transaction, as RSET does.
            open = false;
            rcpt.clear();
            let mut ehlo = String::from("250-sink.test\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n");
            if shared.options.pipelining {
                ehlo.push_str("250-PIPELINING\r\n");
            }
            if offer_starttls {
                ehlo.push_str("250-STARTTLS\r\n");
            }
            if shared.options.auth.is_some() {
                ehlo.push_str("250-AUTH PLAIN\r\n");
            }
            ehlo.push_str("250 SIZE 10485760\r\n");
            Cow::Owned(ehlo.into_bytes())
        } else if upper.starts_with("HELO") {
            Cow::Borrowed(b"250 sink.test\r\n")
        } else if upper == "STARTTLS" && offer_starttls {
            reply(reader, b"220 2.0.0 ready to start TLS\r\n")?;
            return Ok(End::StartTls);
        } else if upper.starts_with("AUTH PLAIN ") && shared.options.auth.is_some() {
            let (user, password) = shared.options.auth.as_ref().unwrap();
            let given = base64::engine::general_purpose::STANDARD.decode(cmd["AUTH PLAIN ".len()..].trim());
            if given.is_ok_and(|g| g == format!("\0{user}\0{password}").into_bytes()) {
                authenticated = true;
                Cow::Borrowed(b"235 2.7.0 authenticated\r\n")
            } else {
                Cow::Borrowed(b"535 5.7.8 authentication credentials invalid\r\n")
            }
        } else if upper.starts_with("MAIL FROM:") {
            if must_starttls {
                Cow::Borrowed(b"530 5.7.0 must issue a STARTTLS command first\r\n")
            } else if !authenticated {
                Cow::Borrowed(b"530 5.7.0 authentication required\r\n")
            } else if mode == Mode::Refuse {
                Cow::Borrowed(b"451 4.3.0 try again later\r\n")
            } else if open {
                Cow::Borrowed(b"503 5.5.1 nested MAIL command\r\n")
            } else {
                from_line = cmd["MAIL FROM:".len()..].trim().to_string();
                from = address(&from_line);
                rcpt.clear();
                open = true;
                mail_read = reader.get_ref().count;
                Cow::Borrowed(b"250 2.1.0 ok\r\n")
            }
        } else if upper.starts_with("RCPT TO:") {
            if !open {
                Cow::Borrowed(b"503 5.5.1 need MAIL command\r\n")
            } else if mode == Mode::Reject {
                Cow::Borrowed(b"550 5.1.1 no such mailbox\r\n")
            } else {
                rcpt.push(address(&cmd["RCPT TO:".len()..]));
                Cow::Borrowed(b"250 2.1.5 ok\r\n")
            }
        } else if upper == "DATA" && !open {
            Cow::Borrowed(b"503 5.5.1 need MAIL command\r\n")
        } else if upper == "DATA" && rcpt.is_empty() {
            Cow::Borrowed(b"554 5.5.1 no valid recipients\r\n")
        } else if upper == "DATA" {
            let envelope_in_one_read = reader.get_ref().count == mail_read;
            open = false;
            reply(reader, b"354 end with <CRLF>.<CRLF>\r\n")?;
            let mut data = Vec::new();
            // Which read brought the end of each of the last two lines: the final CRLF before the
            // "." is framing, the line before it is the content's last.
            let (mut content_end_read, mut previous_line_read) = (0, 0);
            let end_came_with_content;
            loop {
                line.clear();
                quick_ack();
                if reader.read_until(b'\n', &mut line)? == 0 {
                    return Ok(End::Closed);
                }
                let read = reader.get_ref().count;
                if line == b".\r\n" || line == b".\n" {
                    end_came_with_content = content_end_read == read;
                    break;
                }
                content_end_read = previous_line_read;
                previous_line_read = read;
                let l = line.strip_prefix(b".").unwrap_or(&line);
                data.extend_from_slice(l);
            }
            shared.count.fetch_add(1, Ordering::SeqCst);
            if !shared.options.count_only {
                shared.received.lock().unwrap().push(Received {
                    mail_from: std::mem::take(&mut from),
                    mail_from_line: std::mem::take(&mut from_line),
                    rcpt_to: std::mem::take(&mut rcpt),
                    data,
                    tls,
                    end_came_with_content,
                    envelope_in_one_read,
                });
            }
            let delay = *shared.delay.lock().unwrap();
            std::thread::sleep(delay);
            Cow::Borrowed(b"250 2.0.0 queued\r\n")
        } else if upper == "RSET" {
            shared.rsets.fetch_add(1, Ordering::SeqCst);
            from.clear();
            rcpt.clear();
            open = false;
            Cow::Borrowed(b"250 ok\r\n")
        } else if upper == "NOOP" {
            Cow::Borrowed(b"250 ok\r\n")
        } else if upper == "QUIT" {
            reply(reader, b"221 bye\r\n")?;
            return Ok(End::Closed);
        } else {
            Cow::Borrowed(b"502 5.5.2 command not implemented\r\n")
        };
        reply(reader, &answer)?;
    }
}

/// `<a@b.org> SIZE=…` → `a@b.org`.
fn address(arg: &str) -> String {
    let arg = arg.trim();
    match (arg.find('<'), arg.find('>')) {
        (Some(a), Some(b)) if b > a => arg[a + 1..b].to_string(),
        _ => arg.split_whitespace().next().unwrap_or_default().to_string(),
    }
}
