//! A local SMTP sink for the benchmark (not a test): accepts every message on a random port of
//! 127.0.0.1 and only counts them, as `examples/mail_bench.rs` does.
//!
//! ```text
//! cargo run --release --example smtp_sink -- COUNT_FILE
//! ```
//! Prints `smtp://127.0.0.1:PORT` (for `ROADSHOW_SMTP_URL`) on its first line, then writes the
//! number of messages received so far to `COUNT_FILE` every 200 ms, until it is killed.
//! `bench/run.sh` delivers the server's email to it, so that the CPU a
//! registration costs includes delivering its email over SMTP, as production does.

#[path = "../tests/api/smtp_sink.rs"]
#[allow(dead_code)]
mod smtp_sink;

use std::io::Write;
use std::time::Duration;

fn main() -> Result<(), String> {
    let count_file = std::env::args().nth(1).ok_or("usage: smtp_sink COUNT_FILE")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let sink = runtime.block_on(smtp_sink::SmtpSink::start_counting(false));
    println!("{}", sink.url());
    std::io::stdout().flush().map_err(|e| e.to_string())?;
    let tmp = format!("{count_file}.tmp");
    loop {
        std::fs::write(&tmp, format!("{}\n", sink.count())).map_err(|e| e.to_string())?;
        std::fs::rename(&tmp, &count_file).map_err(|e| e.to_string())?;
        std::thread::sleep(Duration::from_millis(200));
    }
}
