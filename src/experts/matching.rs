//! Ranking open slots by fit (`?for_topic=&industry=&language=` on the slot lists).
//!
//! The rule, in order (each step only breaks the ties of the one before):
//!
//! 1. **Fit**: an expert who knows the asked topic first, then one who knows the industry, then one
//!    who speaks the language (a topic match outweighs an industry and a language match together,
//!    so the score is 4 × topic + 2 × industry + 1 × language).
//! 2. **Spread**: the expert's *effective load*, lowest first: the active bookings they already
//!    hold in the list's scope (the stop, or online sessions) plus the number of their own open
//!    slots ranked before this one. So among equally fit experts the slots alternate between them
//!    (round robin, the least booked first) instead of listing one popular expert's whole
//!    afternoon before anyone else's.
//! 3. **Time**: the earlier slot first.
//! 4. **Identity**: expert id, then slot id, so the same data always gives the same order.

use std::collections::HashMap;

use chrono::NaiveDateTime;

/// What a business asks for; `None` asks nothing of that kind.
#[derive(Debug, Clone, Default)]
pub struct Wish {
    pub topic: Option<String>,
    pub industry: Option<String>,
    pub language: Option<String>,
}

impl Wish {
    pub fn is_empty(&self) -> bool {
        self.topic.is_none() && self.industry.is_none() && self.language.is_none()
    }
}

/// One open slot with what ranking needs of its expert.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    pub slot_id: &'a str,
    pub expert_id: &'a str,
    pub starts_at: NaiveDateTime,
    pub topics: &'a [String],
    pub industries: &'a [String],
    pub languages: &'a [String],
}

/// The fit score of step 1.
pub fn score(c: &Candidate<'_>, wish: &Wish) -> u8 {
    let has = |list: &[String], want: &Option<String>| {
        want.as_ref().is_some_and(|w| list.iter().any(|x| x.eq_ignore_ascii_case(w)))
    };
    // A language asked as `es` matches an expert's `es-MX`, and the other way round.
    let speaks = wish.language.as_ref().is_some_and(|w| {
        c.languages.iter().any(|l| {
            let (a, b) = (l.to_ascii_lowercase(), w.to_ascii_lowercase());
            a == b || a.split('-').next() == b.split('-').next()
        })
    });
    4 * u8::from(has(c.topics, &wish.topic)) + 2 * u8::from(has(c.industries, &wish.industry)) + u8::from(speaks)
}

/// Indexes of `candidates` in ranked order (see the module docs). `load` is the active bookings
/// each expert holds in the list's scope.
pub fn rank(candidates: &[Candidate<'_>], wish: &Wish, load: &HashMap<String, i64>) -> Vec<usize> {
    // Steps 1, 3, 4 first, to number each expert's own slots in that order.
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    let scores: Vec<u8> = candidates.iter().map(|c| score(c, wish)).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (&candidates[a], &candidates[b]);
        scores[b]
            .cmp(&scores[a])
            .then(x.starts_at.cmp(&y.starts_at))
            .then(x.expert_id.cmp(y.expert_id))
            .then(x.slot_id.cmp(y.slot_id))
    });
    let mut seen: HashMap<&str, i64> = HashMap::new();
    let mut effective = vec![0i64; candidates.len()];
    for &i in &order {
        let expert = candidates[i].expert_id;
        let before = seen.entry(expert).or_insert(0);
        effective[i] = load.get(expert).copied().unwrap_or(0) + *before;
        *before += 1;
    }
    order.sort_by(|&a, &b| {
        let (x, y) = (&candidates[a], &candidates[b]);
        scores[b]
            .cmp(&scores[a])
            .then(effective[a].cmp(&effective[b]))
            .then(x.starts_at.cmp(&y.starts_at))
            .then(x.expert_id.cmp(y.expert_id))
            .then(x.slot_id.cmp(y.slot_id))
    });
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: u32) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2031, 3, 12).unwrap().and_hms_opt(h, 0, 0).unwrap()
    }

    #[test]
    fn fit_first_then_the_least_booked_expert_then_time() {
        let ads = vec!["advertising".to_string()];
        let none: Vec<String> = vec![];
        let es = vec!["es".to_string()];
        let cands = vec![
            Candidate {
                slot_id: "a1",
                expert_id: "a",
                starts_at: t(9),
                topics: &ads,
                industries: &none,
                languages: &none,
            },
            Candidate {
                slot_id: "a2",
                expert_id: "a",
                starts_at: t(10),
                topics: &ads,
                industries: &none,
                languages: &none,
            },
            Candidate {
                slot_id: "b1",
                expert_id: "b",
                starts_at: t(11),
                topics: &ads,
                industries: &none,
                languages: &es,
            },
            Candidate {
                slot_id: "c1",
                expert_id: "c",
                starts_at: t(9),
                topics: &none,
                industries: &none,
                languages: &none,
            },
            Candidate {
                slot_id: "d1",
                expert_id: "d",
                starts_at: t(10),
                topics: &ads,
                industries: &none,
                languages: &none,
            },
        ];
        let wish = Wish { topic: Some("advertising".into()), language: Some("es-MX".into()), ..Wish::default() };
        let load = HashMap::from([("a".to_string(), 0), ("d".to_string(), 3)]);
        let ranked: Vec<&str> = rank(&cands, &wish, &load).into_iter().map(|i| cands[i].slot_id).collect();
        // b speaks Spanish (5); a and d know the topic (4): a's first slot (load 0), then a's second
        // (load 1) before d (load 3); c does not know the topic.
        assert_eq!(ranked, ["b1", "a1", "a2", "d1", "c1"]);
    }

    #[test]
    fn equally_fit_experts_alternate() {
        let none: Vec<String> = vec![];
        let cands: Vec<Candidate> =
            [("a1", "a", 9), ("a2", "a", 10), ("a3", "a", 11), ("b1", "b", 12), ("b2", "b", 13)]
                .iter()
                .map(|&(s, e, h)| Candidate {
                    slot_id: s,
                    expert_id: e,
                    starts_at: t(h),
                    topics: &none,
                    industries: &none,
                    languages: &none,
                })
                .collect();
        let ranked: Vec<&str> =
            rank(&cands, &Wish::default(), &HashMap::new()).into_iter().map(|i| cands[i].slot_id).collect();
        assert_eq!(ranked, ["a1", "b1", "a2", "b2", "a3"]);
    }
}
