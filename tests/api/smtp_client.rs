//! Our SMTP client (src/mail/smtp.rs) against the in-process sink, without a database: connection
//! reuse, a pooled connection the server closed, refusals on a live connection, transparency.

use lettre::message::header::ContentTransferEncoding;
use lettre::message::SinglePart;
use lettre::Message;
use std::sync::Arc;
use std::time::Duration;

use roadshow::mail::smtp::{SmtpPool, SmtpServer};
use roadshow::mail::transport::{SendError, Transport};

use crate::smtp_sink::{Mode, SmtpSink};

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
    let t = Transport::smtp(&sink.url(), 4).unwrap();
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
    let sink = SmtpSink::start().await;
    let pool = SmtpPool::new(SmtpServer::parse(&sink.url()).unwrap(), 4).with_idle_timeout(Duration::from_millis(200));
    let t = Transport::Smtp(Arc::new(pool));
    send(&t, message("a@example.org", "x\r\n")).await.unwrap();
    t.close_idle();
    assert_eq!(idle(&t), 1, "still fresh");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let closer = t.clone();
    tokio::task::spawn_blocking(move || closer.close_idle()).await.unwrap();
    assert_eq!(idle(&t), 0, "closed once idle too long");
    send(&t, message("b@example.org", "x\r\n")).await.unwrap();
    assert_eq!(sink.sessions(), 2, "a new connection after the old one was closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_keep_the_connection_after_rset_and_are_classified() {
    let sink = SmtpSink::start().await;
    let t = Transport::smtp(&sink.url(), 4).unwrap();

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
    let t = Transport::smtp(&sink.url(), 4).unwrap();
    sink.down();
    let e = send(&t, message("a@example.org", "x\r\n")).await.unwrap_err();
    assert!(e.unreachable && !e.permanent, "{e:?}");
    assert!(e.message.starts_with("SMTP connect"), "{}", e.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_starting_with_a_dot_arrive_intact() {
    let sink = SmtpSink::start().await;
    let t = Transport::smtp(&sink.url(), 4).unwrap();
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
async fn the_end_of_a_message_does_not_wait_for_a_delayed_ack() {
    // With the content and its final "." in two writes (lettre's transport), each message waited
    // about 40 ms for the sink's delayed ACK: 25 messages took a second or more.
    let sink = SmtpSink::start().await;
    let t = Transport::smtp(&sink.url(), 1).unwrap();
    let body = "Hello,\r\n\r\nsee you there.\r\n".repeat(100);
    send(&t, message("a@example.org", &body)).await.unwrap();
    let started = std::time::Instant::now();
    let sender = t.clone();
    tokio::task::spawn_blocking(move || {
        for n in 0..25 {
            sender.send("row", &message(&format!("a{n}@example.org"), &body)).unwrap();
        }
    })
    .await
    .unwrap();
    let took = started.elapsed();
    assert_eq!(sink.sessions(), 1);
    assert!(took < Duration::from_millis(500), "25 messages over one connection took {took:?}");
}
