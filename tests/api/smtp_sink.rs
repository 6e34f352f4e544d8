//! A small SMTP server for tests and the benchmark: listens on 127.0.0.1 (a random port), speaks
//! enough ESMTP for lettre (EHLO/HELO, MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT), and
//! keeps every accepted message. It can refuse for a while (4xx or 5xx replies), and go down and
//! come back on the same port (connection refused meanwhile), to exercise the worker's retries.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
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

/// One accepted message.
#[derive(Debug, Clone)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    pub data: Vec<u8>,
}

struct Shared {
    received: Mutex<Vec<Received>>,
    mode: Mutex<Mode>,
    /// Keeps each message only as a count (benchmark: no memory growth).
    count_only: bool,
    /// Acknowledge every segment at once (Linux `TCP_QUICKACK`) instead of delaying ACKs.
    quick_ack: bool,
    count: std::sync::atomic::AtomicUsize,
    /// Connections accepted, and RSET commands received.
    sessions: std::sync::atomic::AtomicUsize,
    rsets: std::sync::atomic::AtomicUsize,
}

pub struct SmtpSink {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<watch::Sender<bool>>,
}

impl SmtpSink {
    /// Starts on a random port of 127.0.0.1.
    pub async fn start() -> SmtpSink {
        Self::start_with(false, false).await
    }

    /// Starts a sink that only counts messages (the benchmark). With `quick_ack`, it acknowledges
    /// each TCP segment at once: lettre does not set `TCP_NODELAY`, so the small `.` that ends DATA
    /// otherwise waits for the server's delayed ACK (about 40 ms on Linux).
    #[allow(dead_code)]
    pub async fn start_counting(quick_ack: bool) -> SmtpSink {
        Self::start_with(true, quick_ack).await
    }

    async fn start_with(count_only: bool, quick_ack: bool) -> SmtpSink {
        let shared = Arc::new(Shared {
            received: Mutex::new(Vec::new()),
            mode: Mutex::new(Mode::Accept),
            count_only,
            quick_ack,
            count: Default::default(),
            sessions: Default::default(),
            rsets: Default::default(),
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

    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    #[allow(dead_code)]
    pub fn count(&self) -> usize {
        self.shared.count.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Connections accepted so far.
    #[allow(dead_code)]
    pub fn sessions(&self) -> usize {
        self.shared.sessions.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// RSET commands received so far.
    #[allow(dead_code)]
    pub fn rsets(&self) -> usize {
        self.shared.rsets.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Stops listening and drops every open connection: connecting is refused until [`Self::up`].
    pub fn down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
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

fn serve(listener: TcpListener, shared: Arc<Shared>) -> watch::Sender<bool> {
    let (tx, rx) = watch::channel(false);
    let mut accept_rx = rx.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = accept_rx.changed() => break,
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let shared = shared.clone();
                    let mut conn_rx = rx.clone();
                    tokio::spawn(async move {
                        tokio::select! {
                            _ = conn_rx.changed() => {}
                            _ = session(stream, shared) => {}
                        }
                    });
                }
            }
        }
    });
    tx
}

async fn session(stream: TcpStream, shared: Arc<Shared>) -> std::io::Result<()> {
    shared.sessions.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let _ = stream.set_nodelay(true);
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    write.write_all(b"220 sink.test ESMTP ready\r\n").await?;
    let mut from = String::new();
    let mut rcpt: Vec<String> = Vec::new();
    let mut line: Vec<u8> = Vec::new();
    let quick_ack = |r: &BufReader<tokio::net::tcp::OwnedReadHalf>| {
        if shared.quick_ack {
            let _ = socket2::SockRef::from(r.get_ref().as_ref()).set_tcp_quickack(true);
        }
    };
    loop {
        line.clear();
        quick_ack(&reader);
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Ok(());
        }
        let cmd = String::from_utf8_lossy(&line).trim_end().to_string();
        let upper = cmd.to_ascii_uppercase();
        let mode = *shared.mode.lock().unwrap();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-sink.test\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 SIZE 10485760\r\n"
        } else if upper.starts_with("HELO") {
            b"250 sink.test\r\n"
        } else if upper.starts_with("MAIL FROM:") {
            if mode == Mode::Refuse {
                b"451 4.3.0 try again later\r\n"
            } else {
                from = address(&cmd["MAIL FROM:".len()..]);
                rcpt.clear();
                b"250 2.1.0 ok\r\n"
            }
        } else if upper.starts_with("RCPT TO:") {
            if mode == Mode::Reject {
                b"550 5.1.1 no such mailbox\r\n"
            } else {
                rcpt.push(address(&cmd["RCPT TO:".len()..]));
                b"250 2.1.5 ok\r\n"
            }
        } else if upper == "DATA" {
            write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
            let mut data = Vec::new();
            loop {
                line.clear();
                quick_ack(&reader);
                if reader.read_until(b'\n', &mut line).await? == 0 {
                    return Ok(());
                }
                if line == b".\r\n" || line == b".\n" {
                    break;
                }
                let l = line.strip_prefix(b".").unwrap_or(&line);
                data.extend_from_slice(l);
            }
            shared.count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if !shared.count_only {
                shared.received.lock().unwrap().push(Received {
                    mail_from: std::mem::take(&mut from),
                    rcpt_to: std::mem::take(&mut rcpt),
                    data,
                });
            }
            b"250 2.0.0 queued\r\n"
        } else if upper == "RSET" {
            shared.rsets.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            from.clear();
            rcpt.clear();
            b"250 ok\r\n"
        } else if upper == "NOOP" {
            b"250 ok\r\n"
        } else if upper == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            b"502 5.5.2 command not implemented\r\n"
        };
        write.write_all(reply).await?;
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
