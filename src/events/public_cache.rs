//! A micro-cache of the public event answers (list pages and event pages), one per app (held in
//! its app data, with the generation in its [`crate::db::Db`]).
//!
//! An entry is served for at most [`TTL`], and only while nothing in this app
//! changed public data since it was read ([`super::queries::public_data_changed`]: event writes,
//! registrations, cancellations; the generation moves after their transaction is over, so a read
//! racing one cannot keep the old state). So a change made through this app shows at once, and
//! any other change within about a second; a burst of
//! readers of one popular page costs the database one read per second instead of one per request.
//!
//! Keys are the database, the path and the query parameters decoded and sorted, so
//! `?state=TX&kind=webinar`, `?kind=webinar&state=TX` and `?state=%54X&kind=webinar` share one
//! entry. The cache holds at most `ROADSHOW_PUBLIC_CACHE_ENTRIES` answers and
//! `ROADSHOW_PUBLIC_CACHE_BYTES` bytes; when full, the oldest entries go first. Expired entries
//! and entries made stale by a change are dropped on the next lookup of any key, not only
//! replaced when their own key is asked for again, so memory holds only live answers.
//!
//! One refresh serves everyone ([`PublicCache::get_or_load`]): when an entry is missing or has
//! expired, the first reader of that key reads the database and the others wait for its answer,
//! instead of all going to the database at once.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::web::Bytes;

use crate::config::Config;
use crate::error::AppError;

/// How long an answer is served.
pub const TTL: Duration = Duration::from_secs(1);

/// What a kept answer costs besides its key and body (map slot, queue slot, `Bytes` header).
const OVERHEAD: usize = 128;

/// How much the cache may hold (`ROADSHOW_PUBLIC_CACHE_ENTRIES`, `ROADSHOW_PUBLIC_CACHE_BYTES`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub entries: usize,
    pub bytes: usize,
}

impl Limits {
    pub fn of(config: &Config) -> Limits {
        Limits { entries: config.public_cache_entries, bytes: config.public_cache_bytes }
    }
}

struct Entry {
    stored: Instant,
    body: Bytes,
}

/// The entries, and their keys in the order they were stored: with one TTL for all, that is
/// also the order they expire in, so both expiry and "oldest first" eviction pop the front.
/// A key stored again leaves its old queue record behind; a record only removes the entry it
/// was made for (same `stored` instant).
#[derive(Default)]
pub struct Cache {
    entries: HashMap<String, Entry>,
    order: VecDeque<(String, Instant)>,
    bytes: usize,
    generation: u64,
}

fn cost(key: &str, body: &Bytes) -> usize {
    // The key is held twice: in the map and in the queue.
    2 * key.len() + body.len() + OVERHEAD
}

impl Cache {
    /// Drops everything when public data changed since the entries were read, and entries
    /// whose time is up.
    fn sweep(&mut self, generation: u64, now: Instant) {
        if generation != self.generation {
            self.entries.clear();
            self.order.clear();
            self.bytes = 0;
            self.generation = generation;
        }
        while let Some((_, stored)) = self.order.front() {
            if now.saturating_duration_since(*stored) < TTL {
                break;
            }
            self.pop_oldest();
        }
    }

    fn pop_oldest(&mut self) {
        if let Some((key, stored)) = self.order.pop_front() {
            if self.entries.get(&key).is_some_and(|e| e.stored == stored) {
                if let Some(e) = self.entries.remove(&key) {
                    self.bytes -= cost(&key, &e.body);
                }
            }
        }
    }

    pub fn get(&mut self, key: &str, generation: u64, now: Instant) -> Option<Bytes> {
        self.sweep(generation, now);
        self.entries.get(key).map(|e| e.body.clone())
    }

    /// Keeps `body`, read at `read_generation`, unless public data changed since (it would be
    /// stale already) or it alone is over the byte limit; evicts the oldest entries to fit.
    pub fn put(
        &mut self,
        key: String,
        read_generation: u64,
        generation: u64,
        body: Bytes,
        now: Instant,
        limits: Limits,
    ) {
        self.sweep(generation, now);
        let size = cost(&key, &body);
        if read_generation != generation || limits.entries == 0 || size > limits.bytes {
            return;
        }
        if let Some(old) = self.entries.remove(&key) {
            self.bytes -= cost(&key, &old.body);
        }
        while !self.order.is_empty() && (self.entries.len() >= limits.entries || self.bytes + size > limits.bytes) {
            self.pop_oldest();
        }
        self.order.push_back((key.clone(), now));
        self.entries.insert(key, Entry { stored: now, body });
        self.bytes += size;
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.len()
    }
}

/// The gate of one key's reads in flight, holding the first read's answer and the generation it
/// was read at.
type Gate = std::sync::Arc<futures_util::lock::Mutex<Option<(u64, Bytes)>>>;

/// One app's cache (see the module docs), and the per-key gates of the reads in flight.
#[derive(Default)]
pub struct PublicCache(Mutex<Cache>, Mutex<HashMap<String, Gate>>);

/// Drops a key's gate once nobody else holds it (the map holds one reference, the last user
/// another).
struct GateCleanup<'a> {
    gates: &'a Mutex<HashMap<String, Gate>>,
    key: &'a str,
    gate: &'a Gate,
}

impl Drop for GateCleanup<'_> {
    fn drop(&mut self) {
        let mut gates = self.gates.lock().unwrap_or_else(|e| e.into_inner());
        if std::sync::Arc::strong_count(self.gate) <= 2
            && gates.get(self.key).is_some_and(|g| std::sync::Arc::ptr_eq(g, self.gate))
        {
            gates.remove(self.key);
        }
    }
}

/// The cache key of a public read: the database, the path, and the query parameters decoded
/// (`%54` is `T`, `+` is a space) and sorted.
pub fn key(config: &Config, path: &str, query: &str) -> String {
    let mut pairs: Vec<(String, String)> =
        form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    pairs.sort();
    let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    format!("{}\n{path}?{query}", config.database_url)
}

impl PublicCache {
    /// The answer for `key`: the kept one, or the one `load` reads (and this keeps). Concurrent
    /// misses of one key wait for the first one's read and take its answer, as long as public
    /// data has not changed since that read began: one read per key and refresh. Once it has
    /// changed, waiters read for themselves, side by side (never one behind another).
    /// `generation` gives the app's current public generation.
    pub async fn get_or_load<T, F, Fut>(
        &self,
        key: String,
        generation: impl Fn() -> u64,
        limits: Limits,
        load: F,
    ) -> Result<Bytes, AppError>
    where
        T: serde::Serialize,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T, AppError>>,
    {
        if let Some(body) = self.get(&key, generation()) {
            return Ok(body);
        }
        let gate = {
            let mut gates = self.1.lock().unwrap_or_else(|e| e.into_inner());
            gates.entry(key.clone()).or_default().clone()
        };
        // Removes the gate when the last user of it is done, even when this request is dropped
        // while it waits or reads.
        let _cleanup = GateCleanup { gates: &self.1, key: &key, gate: &gate };
        let mut slot = gate.lock().await;
        let current = generation();
        if let Some((read_at, body)) = slot.as_ref() {
            if *read_at == current {
                return Ok(body.clone());
            }
        }
        if let Some(body) = self.get(&key, current) {
            return Ok(body);
        }
        if slot.is_some() {
            // A read finished at an older generation: read on our own, without the gate.
            drop(slot);
            let value = load().await?;
            return self.put(key.clone(), current, generation(), &value, limits);
        }
        let value = load().await?;
        let body = self.put(key.clone(), current, generation(), &value, limits)?;
        *slot = Some((current, body.clone()));
        Ok(body)
    }

    /// The answer kept for `key`, if any, given the app's current public `generation`.
    pub fn get(&self, key: &str, generation: u64) -> Option<Bytes> {
        let mut cache = self.0.lock().unwrap_or_else(|e| e.into_inner());
        cache.get(key, generation, Instant::now())
    }

    /// Serializes `value` and keeps it, tagged with the generation read before the database
    /// was (`read_generation`); `generation` is the current one.
    pub fn put<T: serde::Serialize>(
        &self,
        key: String,
        read_generation: u64,
        generation: u64,
        value: &T,
        limits: Limits,
    ) -> Result<Bytes, AppError> {
        let body = Bytes::from(serde_json::to_vec(value).map_err(|e| AppError::internal(e.to_string()))?);
        let mut cache = self.0.lock().unwrap_or_else(|e| e.into_inner());
        cache.put(key, read_generation, generation, body.clone(), Instant::now(), limits);
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::defaults()
    }

    fn body(n: usize) -> Bytes {
        Bytes::from(vec![b'x'; n])
    }

    const ROOMY: Limits = Limits { entries: 100, bytes: 1 << 20 };

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_misses_of_one_key_read_the_database_once() {
        let cache = std::sync::Arc::new(PublicCache::default());
        let loads = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (cache, loads) = (cache.clone(), loads.clone());
                tokio::spawn(async move {
                    cache
                        .get_or_load(
                            "k".into(),
                            || 7,
                            ROOMY,
                            || async {
                                loads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                                tokio::time::sleep(Duration::from_millis(50)).await;
                                Ok::<_, AppError>(vec![1, 2, 3])
                            },
                        )
                        .await
                        .unwrap()
                })
            })
            .collect();
        for t in tasks {
            assert_eq!(&t.await.unwrap()[..], b"[1,2,3]");
        }
        assert_eq!(loads.load(std::sync::atomic::Ordering::SeqCst), 1, "one read served all twenty");
        assert!(cache.1.lock().unwrap().is_empty(), "no gate is left behind");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn while_data_changes_waiters_read_side_by_side_and_a_dropped_reader_leaves_no_gate() {
        let cache = std::sync::Arc::new(PublicCache::default());
        let generation = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let running = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (cache, generation, running, most) =
                    (cache.clone(), generation.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    let g = generation.clone();
                    cache
                        .get_or_load(
                            "k".into(),
                            move || g.load(std::sync::atomic::Ordering::SeqCst),
                            ROOMY,
                            || async move {
                                // Every read sees data change under it (a registration per read).
                                generation.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                                let now = running.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                                most.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
                                tokio::time::sleep(Duration::from_millis(50)).await;
                                running.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                                Ok::<_, AppError>(1)
                            },
                        )
                        .await
                        .unwrap()
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert!(most.load(std::sync::atomic::Ordering::SeqCst) > 1, "the waiters did not queue one behind another");
        // A reader dropped while it reads leaves nothing behind.
        let slow = cache.get_or_load(
            "gone".into(),
            || 0,
            ROOMY,
            || async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                Ok::<_, AppError>(1)
            },
        );
        let _ = tokio::time::timeout(Duration::from_millis(20), slow).await;
        assert!(
            cache.1.lock().unwrap().is_empty(),
            "gates left: {:?}",
            cache.1.lock().unwrap().keys().collect::<Vec<_>>()
        );
    }

    #[test]
    fn keys_ignore_parameter_order_and_percent_encoding() {
        let c = config();
        let k = |q: &str| key(&c, "/api/v1/events", q);
        assert_eq!(k("state=TX&kind=webinar"), k("kind=webinar&state=TX"));
        assert_eq!(k("state=TX&kind=webinar"), k("state=%54X&kind=webinar"));
        assert_eq!(k("q=grow+social"), k("q=grow%20social"));
        assert_ne!(k("state=TX"), k("state=CA"));
        assert_ne!(k("q=a%26b"), k("q=a&b="), "an encoded & stays part of the value");
        assert_ne!(key(&c, "/api/v1/events/1", ""), key(&c, "/api/v1/events/2", ""));
        let mut other = config();
        other.database_url = "sqlite://other.db".into();
        assert_ne!(k(""), key(&other, "/api/v1/events", ""), "one cache serves several databases in tests");
    }

    #[test]
    fn entries_are_bounded_in_number_oldest_first() {
        let mut cache = Cache::default();
        let t = Instant::now();
        let limits = Limits { entries: 3, bytes: 1 << 20 };
        for i in 0..5 {
            cache.put(format!("k{i}"), 0, 0, body(10), t, limits);
        }
        assert_eq!(cache.len(), 3);
        assert!(cache.get("k0", 0, t).is_none() && cache.get("k1", 0, t).is_none());
        assert!(cache.get("k4", 0, t).is_some());
    }

    #[test]
    fn entries_are_bounded_in_bytes() {
        let mut cache = Cache::default();
        let t = Instant::now();
        let per = cost("k0", &body(1000));
        let limits = Limits { entries: 100, bytes: 3 * per };
        for i in 0..10 {
            cache.put(format!("k{i}"), 0, 0, body(1000), t, limits);
            assert!(cache.bytes <= limits.bytes);
        }
        assert_eq!(cache.len(), 3);
        // One answer bigger than the whole budget is served but not kept.
        cache.put("huge".into(), 0, 0, body(4 * per), t, limits);
        assert!(cache.get("huge", 0, t).is_none());
        assert_eq!(cache.len(), 3);
    }

    #[test]
    fn expired_entries_are_evicted_without_being_asked_for() {
        let mut cache = Cache::default();
        let t = Instant::now();
        cache.put("old".into(), 0, 0, body(10), t, ROOMY);
        cache.put("newer".into(), 0, 0, body(10), t + TTL / 2, ROOMY);
        // A lookup of another key, after "old" expired, drops it.
        assert!(cache.get("unrelated", 0, t + TTL + TTL / 4).is_none());
        assert_eq!(cache.len(), 1);
        assert!(cache.get("newer", 0, t + TTL + TTL / 4).is_some());
        assert!(cache.get("newer", 0, t + 2 * TTL).is_none());
        assert_eq!((cache.len(), cache.bytes, cache.order.len()), (0, 0, 0));
    }

    #[test]
    fn a_change_drops_every_entry_and_stale_reads_are_not_kept() {
        let mut cache = Cache::default();
        let t = Instant::now();
        cache.put("a".into(), 0, 0, body(10), t, ROOMY);
        assert!(cache.get("a", 1, t).is_none());
        assert_eq!(cache.len(), 0);
        // Read before change 2, stored after it: already stale.
        cache.put("b".into(), 1, 2, body(10), t, ROOMY);
        assert!(cache.get("b", 2, t).is_none());
    }

    #[test]
    fn storing_a_key_again_replaces_it_once() {
        let mut cache = Cache::default();
        let t = Instant::now();
        cache.put("a".into(), 0, 0, body(10), t, ROOMY);
        cache.put("a".into(), 0, 0, body(20), t + TTL / 2, ROOMY);
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.bytes, cost("a", &body(20)));
        // The first record's expiry leaves the newer entry alone.
        assert_eq!(cache.get("a", 0, t + TTL).map(|b| b.len()), Some(20));
    }
}
