//! Our SMTP client (src/mail/smtp.rs) against the in-process sink, without a database: connection
//! reuse, a pooled connection the server closed, refusals on a live connection, transparency,
//! STARTTLS and implicit TLS with a private CA (tests/api/tls), credentials.

use lettre::message::header::ContentTransferEncoding;
use lettre::message::SinglePart;
use lettre::Message;
use std::sync::Arc;
use std::time::Duration;

use roadshow::mail::smtp::{SmtpPool, SmtpServer};
use roadshow::mail::transport::{SendError, Transport};

use crate::smtp_sink::{Mode, Options, Security, SmtpSink};

fn ca_file() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/api/tls/ca.pem")
}

fn message(to: &str, body: &str) -> Message {
    Message::builder()
        .from("Roadshow <no-reply@localhost>".parse().unwrap())
        .to(to.parse().unwrap())
        .subject("Test")
        .singlepart(SinglePart::builder().header(ContentTransferEncoding::SevenBit).body(body.to_string()))
        .unwrap()
}

/// Sends from a blocking thread (the client is synchronous; the sink runs on this runtime).
async fn send(t: &Transport, m: Message) -> Result<(), SendError> {
    let t = t.clone();
    tokio::task::spawn_blocking(move || t.send("row", &m)).await.unwrap()
}

fn idle(t: &Transport) -> usize {
    match t {
        Transport::Smtp(pool) => pool.idle_count(),
        Transport::Files(_) => 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_connection_carries_many_messages_and_a_closed_one_is_replaced_without_a_failure() {
    let mut sink = SmtpSink::start().await;
    let t = Transport::smtp(&sink.url(), None, 4).unwrap();
    for n in 0..5 {
        send(&t, message(&format!("a{n}@example.org"), "hello\r\n")).await.unwrap();
    }
    assert_eq!(sink.sessions(), 1, "sent one after the other over one connection");
    assert_eq!(idle(&t), 1);
    assert_eq!(sink.rsets(), 0, "no RSET after a successful transaction");

    // The server drops every connection (restart): the pooled one is found closed on MAIL FROM,
    // before anything was delivered, and the message goes over a fresh connection.
    sink.down();
    sink.up().await;
    send(&t, message("b@example.org", "again\r\n")).await.unwrap();
    assert_eq!(sink.sessions(), 2);
    let got = sink.received();
    assert_eq!(got.len(), 6, "each message exactly once");
    assert_eq!(got[5].rcpt_to, vec!["b@example.org".to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_after_the_idle_timeout() {
    // No wall-clock race: one pool whose timeout no pause of this test comes near (an hour), and
    // one whose timeout has passed for every idle connection (zero).
    let sink = SmtpSink::start().await;
    let pool =
        SmtpPool::new(SmtpServer::parse(&sink.url(), None).unwrap(), 4).with_idle_timeout(Duration::from_secs(3600));
    let t = Transport::Smtp(Arc::new(pool));
    send(&t, message("a@example.org", "x\r\n")).await.unwrap();
    t.close_idle();
    assert_eq!(idle(&t), 1, "still fresh");
    send(&t, message("b@example.org", "x\r\n")).await.unwrap();
    assert_eq!(sink.sessions(), 1, "a fresh idle connection is reused");

    let sink = SmtpSink::start().await;
    let pool = SmtpPool::new(SmtpServer::parse(&sink.url(), None).unwrap(), 4).with_idle_timeout(Duration::ZERO);
    let t = Transport::Smtp(Arc::new(pool));
    send(&t, message("a@example.org", "x\r\n")).await.unwrap();
    assert_eq!(idle(&t), 1, "kept after sending");
    let closer = t.clone();
    tokio::task::spawn_blocking(move || closer.close_idle()).await.unwrap();
    assert_eq!(idle(&t), 0, "closed once idle too long");
    send(&t, message("b@example.org", "x\r\n")).await.unwrap();
    assert_eq!(sink.sessions(), 2, "a new connection after the old one was closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_keep_the_connection_after_rset_and_are_classified() {
    let sink = SmtpSink::start().await;
    let t = Transport::smtp(&sink.url(), None, 4).unwrap();

    sink.set_mode(Mode::Refuse);
    let e = send(&t, message("a@example.org", "x\r\n")).await.unwrap_err();
    assert!(!e.permanent && !e.unreachable, "{e:?}");
    assert!(e.message.contains("MAIL FROM") && e.message.contains("451"), "{}", e.message);

    sink.set_mode(Mode::Reject);
    let e = send(&t, message("a@example.org", "x\r\n")).await.unwrap_err();
    assert!(e.permanent && !e.unreachable, "{e:?}");
    assert!(e.message.contains("RCPT TO") && e.message.contains("550"), "{}", e.message);

    sink.set_mode(Mode::Accept);
    send(&t, message("a@example.org", "x\r\n")).await.unwrap();
    assert_eq!(sink.rsets(), 2, "each refused transaction was reset");
    assert_eq!(sink.sessions(), 1, "and its connection kept");
    assert_eq!(sink.received().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_is_down_is_unreachable() {
    let mut sink = SmtpSink::start().await;
    let t = Transport::smtp(&sink.url(), None, 4).unwrap();
    sink.down();
    let e = send(&t, message("a@example.org", "x\r\n")).await.unwrap_err();
    assert!(e.unreachable && !e.permanent, "{e:?}");
    assert!(e.message.starts_with("SMTP connect"), "{}", e.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_starting_with_a_dot_arrive_intact() {
    let sink = SmtpSink::start().await;
    let t = Transport::smtp(&sink.url(), None, 4).unwrap();
    let body = ".\r\n..two\r\n.three\r\nfour.\r\n\r\n.\r\nlast";
    let m = message("a@example.org", body);
    let formatted = m.formatted();
    send(&t, m).await.unwrap();
    let got = sink.received();
    assert_eq!(got.len(), 1);
    // The sink removes the transparency dots; lettre's framing adds one CRLF before the final dot.
    let mut expected = formatted.clone();
    expected.extend_from_slice(b"\r\n");
    assert_eq!(String::from_utf8_lossy(&got[0].data), String::from_utf8_lossy(&expected));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_end_of_a_message_goes_in_the_same_write_as_its_content() {
    // With the content and its final "." in two writes (lettre's transport), the "." waited for the
    // sink's delayed ACK (about 40 ms under Nagle's algorithm): one connection carried about 25
    // messages a second. The sink sees whether the "." came with the bytes before it.
    let sink = SmtpSink::start().await;
    let t = Transport::smtp(&sink.url(), None, 1).unwrap();
    let body = "Hello,\r\n\r\nsee you there.\r\n".repeat(100);
    let sender = t.clone();
    tokio::task::spawn_blocking(move || {
        for n in 0..25 {
            sender.send("row", &message(&format!("a{n}@example.org"), &body)).unwrap();
        }
    })
    .await
    .unwrap();
    assert_eq!(sink.sessions(), 1);
    let got = sink.received();
    assert_eq!(got.len(), 25);
    assert!(got.iter().all(|r| r.end_came_with_content), "a message's final '.' came in a separate write");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_ascii_content_and_addresses_use_8bitmime_and_smtputf8() {
    let sink = SmtpSink::start().await;
    let t = Transport::smtp(&sink.url(), None, 4).unwrap();
    let m = Message::builder()
        .from("Roadshow <no-reply@localhost>".parse().unwrap())
        .to("José <josé@example.org>".parse().unwrap())
        .subject("Grüße")
        .singlepart(
            SinglePart::builder().header(ContentTransferEncoding::EightBit).body("Grüße aus Köln\r\n".to_string()),
        )
        .unwrap();
    send(&t, m).await.unwrap();
    let got = sink.received();
    assert_eq!(got[0].rcpt_to, vec!["josé@example.org".to_string()]);
    assert!(got[0].mail_from_line.contains("SMTPUTF8"), "{}", got[0].mail_from_line);
    assert!(got[0].mail_from_line.contains("BODY=8BITMIME"), "{}", got[0].mail_from_line);
    assert!(String::from_utf8_lossy(&got[0].data).contains("Grüße aus Köln"));
    let ascii = message("a@example.org", "plain\r\n");
    send(&t, ascii).await.unwrap();
    assert_eq!(sink.received()[1].mail_from_line, "<no-reply@localhost>", "no parameters when not needed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_with_a_private_ca_and_percent_encoded_credentials() {
    let sink = SmtpSink::start_with(Options {
        security: Security::StartTls { required: true },
        auth: Some(("user@example.org".into(), "p@ss:w/d".into())),
        ..Options::default()
    })
    .await;
    let port = sink.addr.port();
    let url = format!("smtp://user%40example.org:p%40ss%3Aw%2Fd@localhost:{port}?tls=required");
    let ca = ca_file();

    let t = Transport::smtp(&url, Some(&ca), 4).unwrap();
    send(&t, message("a@example.org", "over TLS\r\n")).await.unwrap();
    send(&t, message("b@example.org", "again\r\n")).await.unwrap();
    let got = sink.received();
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|r| r.tls), "mail went after STARTTLS");
    assert_eq!(sink.sessions(), 1, "the TLS connection is reused");

    // Without the private CA the server's certificate is not trusted: nothing is sent.
    let untrusted = Transport::smtp(&url, None, 4).unwrap();
    let e = send(&untrusted, message("a@example.org", "x\r\n")).await.unwrap_err();
    assert!(e.unreachable && !e.permanent, "{e:?}");
    assert!(e.message.starts_with("SMTP STARTTLS") && e.message.contains("UnknownIssuer"), "{}", e.message);

    // A wrong password: no transaction took place, so the message is not dead-lettered.
    let wrong = format!("smtp://user%40example.org:nope@localhost:{port}?tls=required");
    let e = send(&Transport::smtp(&wrong, Some(&ca), 4).unwrap(), message("a@example.org", "x\r\n")).await.unwrap_err();
    assert!(e.unreachable && !e.permanent, "{e:?}");
    assert!(e.message.starts_with("SMTP AUTH") && e.message.contains("535"), "{}", e.message);

    // tls=required refuses a server that does not offer STARTTLS.
    let plain = SmtpSink::start().await;
    let required = format!("smtp://127.0.0.1:{}?tls=required", plain.addr.port());
    let e =
        send(&Transport::smtp(&required, Some(&ca), 4).unwrap(), message("a@example.org", "x\r\n")).await.unwrap_err();
    assert!(e.unreachable && e.message.starts_with("SMTP STARTTLS"), "{e:?}");
    assert!(plain.received().is_empty());
    assert_eq!(sink.received().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opportunistic_tls_is_used_when_offered() {
    let ca = ca_file();
    let offering =
        SmtpSink::start_with(Options { security: Security::StartTls { required: false }, ..Options::default() }).await;
    let url = format!("smtp://127.0.0.1:{}?tls=opportunistic", offering.addr.port());
    send(&Transport::smtp(&url, Some(&ca), 4).unwrap(), message("a@example.org", "x\r\n")).await.unwrap();
    assert!(offering.received()[0].tls);

    let plain = SmtpSink::start().await;
    let url = format!("smtp://127.0.0.1:{}?tls=opportunistic", plain.addr.port());
    send(&Transport::smtp(&url, Some(&ca), 4).unwrap(), message("a@example.org", "x\r\n")).await.unwrap();
    assert!(!plain.received()[0].tls, "no STARTTLS offered: plain");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn implicit_tls_with_a_private_ca() {
    let sink = SmtpSink::start_with(Options { security: Security::Implicit, ..Options::default() }).await;
    let url = format!("smtps://127.0.0.1:{}", sink.addr.port());
    let t = Transport::smtp(&url, Some(&ca_file()), 4).unwrap();
    for n in 0..3 {
        send(&t, message(&format!("a{n}@example.org"), ".dot\r\nover TLS\r\n")).await.unwrap();
    }
    let got = sink.received();
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|r| r.tls));
    assert!(String::from_utf8_lossy(&got[0].data).contains("\r\n.dot\r\n"), "transparency inside TLS");
    assert_eq!(sink.sessions(), 1);

    let e = send(&Transport::smtp(&url, None, 4).unwrap(), message("a@example.org", "x\r\n")).await.unwrap_err();
    assert!(e.unreachable && !e.permanent && e.message.starts_with("SMTP connect"), "{e:?}");
    assert!(e.message.contains("UnknownIssuer"), "the certificate is not trusted: {}", e.message);
    assert_eq!(sink.received().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_envelope_is_pipelined_when_the_server_offers_it_and_refusals_stay_in_step() {
    // PIPELINING offered: MAIL FROM, RCPT TO and DATA reach the server in one write.
    let sink = SmtpSink::start().await;
    let t = Transport::smtp(&sink.url(), None, 1).unwrap();
    for n in 0..3 {
        send(&t, message(&format!("a{n}@example.org"), "hello\r\n")).await.unwrap();
    }
    let got = sink.received();
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|r| r.envelope_in_one_read), "MAIL, RCPT and DATA came in separate writes");

    // A refused MAIL FROM and a refused RCPT TO: the pipelined replies after the refusal (503 or 554)
    // are read too, so RSET and the next message on the same connection work.
    sink.set_mode(Mode::Refuse);
    let e = send(&t, message("b@example.org", "x\r\n")).await.unwrap_err();
    assert!(!e.permanent && !e.unreachable && e.message.contains("MAIL FROM") && e.message.contains("451"), "{e:?}");
    sink.set_mode(Mode::Reject);
    let e = send(&t, message("b@example.org", "x\r\n")).await.unwrap_err();
    assert!(e.permanent && !e.unreachable && e.message.contains("RCPT TO") && e.message.contains("550"), "{e:?}");
    sink.set_mode(Mode::Accept);
    send(&t, message("c@example.org", "after\r\n")).await.unwrap();
    assert_eq!((sink.sessions(), sink.rsets()), (1, 2), "one connection throughout, reset after each refusal");
    let got = sink.received();
    assert_eq!(got.len(), 4);
    assert_eq!(got[3].rcpt_to, vec!["c@example.org".to_string()]);
    assert!(got[3].envelope_in_one_read);

    // Not offered: one command at a time, each after the reply to the one before.
    let sink = SmtpSink::start_with(Options { pipelining: false, ..Options::default() }).await;
    let t = Transport::smtp(&sink.url(), None, 1).unwrap();
    send(&t, message("a@example.org", "hello\r\n")).await.unwrap();
    let got = sink.received();
    assert_eq!(got.len(), 1);
    assert!(!got[0].envelope_in_one_read, "pipelined to a server that did not offer PIPELINING");
}
