//! The wall clock as rules that count per clock minute see it (rate limiting, `ratelimit`). It is
//! part of the [`Config`](crate::config::Config), so a test can hold time still at a known instant
//! instead of racing a minute boundary. The service always runs on the system clock.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

/// The system clock, or a clock held at an instant that only moves when told ([`Clock::fixed`]).
#[derive(Clone, Default)]
pub struct Clock(Option<Arc<Mutex<DateTime<Utc>>>>);

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock(None)
    }

    /// A clock standing at `at` until [`Clock::set`] moves it (shared by its clones).
    pub fn fixed(at: DateTime<Utc>) -> Clock {
        Clock(Some(Arc::new(Mutex::new(at))))
    }

    pub fn now(&self) -> DateTime<Utc> {
        match &self.0 {
            None => Utc::now(),
            Some(t) => *t.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }

    /// Moves a fixed clock to `at`. Panics on the system clock, which cannot be set.
    pub fn set(&self, at: DateTime<Utc>) {
        let t = self.0.as_ref().expect("only a fixed clock can be set");
        *t.lock().unwrap_or_else(|e| e.into_inner()) = at;
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            None => f.write_str("Clock::system"),
            Some(_) => write!(f, "Clock::fixed({})", self.now()),
        }
    }
}
