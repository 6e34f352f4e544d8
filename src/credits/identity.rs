//! One business across contact emails. A registration finds its business by the contact email
//! typed, so one company can appear as several records; the credit goes once per business, so
//! admins need to see and join them:
//!
//! - an optional **EIN** (stored `12-3456789`, unique): a second record claiming a held EIN is a
//!   409 naming the holder, for an admin to merge;
//! - **likely duplicates**: records with the same normalised name in the same state
//!   ([`name_key`]), or the same website domain in the same state ([`site_key`]), listed by
//!   [`duplicate_groups`];
//! - **merge** ([`merge`]): registrations, expert bookings and grants of one record move to the
//!   survivor; the merged record keeps its row (its contact address still finds the business:
//!   registrations typed with it attach to the survivor), points at the survivor and is audited.

use diesel::prelude::*;

use crate::auth::Actor;
use crate::db::schema::{businesses, credit_grants, expert_bookings, registrations};
use crate::db::{now, DbConnection};
use crate::domain::GrantStatus;
use crate::error::AppError;

/// Words that do not tell two businesses apart: legal forms and articles.
const NOISE: [&str; 14] = [
    "the",
    "llc",
    "l.l.c",
    "inc",
    "incorporated",
    "co",
    "corp",
    "corporation",
    "ltd",
    "company",
    "pllc",
    "lp",
    "llp",
    "and",
];

/// `Taco Garage, LLC` in `TX` → `taco garage|TX`: lower case, letters and digits only, legal forms
/// and `&`/`and` dropped. `None` when nothing is left.
pub fn name_key(name: &str, state: Option<&str>) -> Option<String> {
    let cleaned: String =
        name.to_lowercase().chars().map(|c| if c.is_alphanumeric() || c == '.' { c } else { ' ' }).collect();
    let words: Vec<&str> = cleaned
        .split_whitespace()
        .map(|w| w.trim_matches('.'))
        .filter(|w| !w.is_empty() && !NOISE.contains(w))
        .collect();
    if words.is_empty() {
        return None;
    }
    Some(format!("{}|{}", words.join(" "), state.unwrap_or("")))
}

/// `https://www.TacoGarage.example/menu` in `TX` → `tacogarage.example|TX`; `None` without a
/// website.
pub fn site_key(website: Option<&str>, state: Option<&str>) -> Option<String> {
    let w = website?.trim().to_lowercase();
    let rest = w.split_once("://").map_or(w.as_str(), |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next()?.rsplit('@').next()?.split(':').next()?;
    let host = host.strip_prefix("www.").unwrap_or(host).trim_end_matches('.');
    (!host.is_empty()).then(|| format!("{host}|{}", state.unwrap_or("")))
}

/// Recomputes a business's duplicate keys from its record.
pub fn refresh_keys(conn: &mut DbConnection, id: &str) -> Result<(), AppError> {
    let (name, state, website): (String, Option<String>, Option<String>) = businesses::table
        .find(id)
        .select((businesses::name, businesses::state_code, businesses::website))
        .first(conn)?;
    diesel::update(businesses::table.find(id))
        .set((
            businesses::name_key.eq(name_key(&name, state.as_deref())),
            businesses::site_key.eq(site_key(website.as_deref(), state.as_deref())),
        ))
        .execute(conn)?;
    Ok(())
}

/// Computes the keys of records that have none (created before keys existed, or by a
/// registration, which does not spend time on them): at most `limit` per call.
pub fn fill_missing_keys(conn: &mut DbConnection, limit: i64) -> Result<usize, AppError> {
    let ids: Vec<String> = businesses::table
        .filter(businesses::name_key.is_null())
        .filter(businesses::deleted_at.is_null())
        .filter(businesses::merged_into.is_null())
        .select(businesses::id)
        .limit(limit)
        .load(conn)?;
    for id in &ids {
        refresh_keys(conn, id)?;
        // A name with nothing left after cleaning keeps a NULL key: mark it with an empty one.
        diesel::update(businesses::table.find(id).filter(businesses::name_key.is_null()))
            .set(businesses::name_key.eq(Some("")))
            .execute(conn)?;
    }
    Ok(ids.len())
}

/// Sets (or clears) a business's EIN. One held by another record is a 409 that names the holder
/// to staff (`name_holder`), and not to a business's own contact.
pub fn set_ein(conn: &mut DbConnection, id: &str, ein: Option<&str>, name_holder: bool) -> Result<(), AppError> {
    if let Some(ein) = ein {
        let holder: Option<String> = businesses::table
            .filter(businesses::ein.eq(ein))
            .filter(businesses::id.ne(id))
            .select(businesses::id)
            .first(conn)
            .optional()?;
        if let Some(holder) = holder {
            return Err(AppError::Conflict {
                detail: if name_holder {
                    "another business record holds this EIN: merge the two (POST /api/v1/admin/businesses/{id}/merge)"
                        .into()
                } else {
                    "another business record holds this EIN; the program's staff can join the two".into()
                },
                existing_id: name_holder.then_some(holder),
            });
        }
    }
    diesel::update(businesses::table.find(id)).set(businesses::ein.eq(ein)).execute(conn).map_err(|e| match e {
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _) => {
            AppError::conflict("another business record took this EIN meanwhile")
        }
        other => AppError::from(other),
    })?;
    Ok(())
}

/// A group of likely duplicates.
#[derive(Debug, Clone)]
pub struct DuplicateGroup {
    /// `same_name` or `same_website`.
    pub reason: &'static str,
    pub key: String,
    pub members: Vec<Member>,
}

/// A record in a duplicate group.
#[derive(Debug, Clone, Queryable)]
pub struct Member {
    pub id: String,
    pub name: String,
    pub email: Option<String>,
    pub state: Option<String>,
    pub website: Option<String>,
    pub ein: Option<String>,
    pub created_at: chrono::NaiveDateTime,
}

/// Groups of live, unmerged records sharing a key, by key; `after` continues from a key
/// (`reason:key`). Up to `limit` groups.
pub fn duplicate_groups(
    conn: &mut DbConnection,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<DuplicateGroup>, AppError> {
    // Keys first, so that every record is comparable (bounded per call; big backlogs fill up over
    // a few calls, and the answer says nothing is missed only once they are filled).
    fill_missing_keys(conn, 5000)?;
    let mut groups = Vec::new();
    for (reason, column_is_name) in [("same_name", true), ("same_website", false)] {
        let start = after.and_then(|a| a.split_once(':')).filter(|(r, _)| *r == reason).map(|(_, k)| k.to_string());
        // A later reason starts from its beginning; an earlier one is finished.
        if after.is_some_and(|a| a.starts_with("same_website:")) && column_is_name {
            continue;
        }
        let keys: Vec<String> = if column_is_name {
            let mut q = businesses::table
                .filter(businesses::merged_into.is_null())
                .filter(businesses::deleted_at.is_null())
                .filter(businesses::name_key.is_not_null())
                .filter(businesses::name_key.ne(""))
                .group_by(businesses::name_key)
                .having(diesel::dsl::count_star().gt(1))
                .select(businesses::name_key.assume_not_null())
                .order(businesses::name_key)
                .limit(limit + 1)
                .into_boxed();
            if let Some(s) = &start {
                q = q.filter(businesses::name_key.gt(s.clone()));
            }
            q.load(conn)?
        } else {
            let mut q = businesses::table
                .filter(businesses::merged_into.is_null())
                .filter(businesses::deleted_at.is_null())
                .filter(businesses::site_key.is_not_null())
                .group_by(businesses::site_key)
                .having(diesel::dsl::count_star().gt(1))
                .select(businesses::site_key.assume_not_null())
                .order(businesses::site_key)
                .limit(limit + 1)
                .into_boxed();
            if let Some(s) = &start {
                q = q.filter(businesses::site_key.gt(s.clone()));
            }
            q.load(conn)?
        };
        for key in keys {
            let q = businesses::table
                .filter(businesses::merged_into.is_null())
                .filter(businesses::deleted_at.is_null())
                .select((
                    businesses::id,
                    businesses::name,
                    businesses::email,
                    businesses::state_code,
                    businesses::website,
                    businesses::ein,
                    businesses::created_at,
                ))
                .order((businesses::created_at, businesses::id))
                .limit(50);
            let members: Vec<Member> = if column_is_name {
                q.filter(businesses::name_key.eq(&key)).load(conn)?
            } else {
                q.filter(businesses::site_key.eq(&key)).load(conn)?
            };
            groups.push(DuplicateGroup { reason, key, members });
            if groups.len() as i64 > limit {
                return Ok(groups);
            }
        }
    }
    Ok(groups)
}

/// What a merge moved.
#[derive(Debug, Clone, Default)]
pub struct Merged {
    pub registrations: usize,
    pub bookings: usize,
    pub grants: usize,
    /// The merged record's active grant, revoked because the survivor holds one.
    pub revoked_grant: Option<String>,
}

/// Merges `from` into `into`: registrations, expert bookings and grants move to `into`; when both
/// hold an active grant, `from`'s is revoked (its amount returns to its reserve) so one remains.
/// `from` keeps its row, pointing at `into`; records merged into `from` before now point at
/// `into`. An EIN only `from` has moves to `into`.
pub fn merge(conn: &mut DbConnection, actor: &Actor, into: &str, from: &str) -> Result<Merged, AppError> {
    if into == from {
        return Err(AppError::field("from", "is the business itself"));
    }
    // Both rows locked, in id order (no cycle with another merge of the same two).
    let mut ids = [into.to_string(), from.to_string()];
    ids.sort();
    // (id, merged into, EIN, erased at)
    type Row = (String, Option<String>, Option<String>, Option<chrono::NaiveDateTime>);
    let rows: Vec<Row> = {
        let q = businesses::table.filter(businesses::id.eq_any(&ids)).order(businesses::id).select((
            businesses::id,
            businesses::merged_into,
            businesses::ein,
            businesses::deleted_at,
        ));
        match conn {
            DbConnection::Postgres(pg) => q.for_update().load(pg)?,
            DbConnection::Sqlite(_) => q.load(conn)?,
        }
    };
    let find = |id: &str| rows.iter().find(|r| r.0 == id).cloned();
    let (Some(survivor), Some(merged)) = (find(into), find(from)) else {
        return Err(AppError::not_found("no such business"));
    };
    if survivor.1.is_some() {
        return Err(AppError::conflict("this business was merged into another: merge into that one"));
    }
    if merged.1.is_some() {
        return Err(AppError::conflict("the business to merge was merged already"));
    }
    if survivor.3.is_some() || merged.3.is_some() {
        return Err(AppError::conflict("an erased business cannot be merged"));
    }
    let mut out = Merged::default();
    // One active grant at most: the survivor's stays, unless only the merged record's voucher was
    // used (then that one stays). Two used vouchers cannot become one.
    let actives: Vec<(String, String, Option<chrono::NaiveDateTime>)> = credit_grants::table
        .filter(credit_grants::business_id.eq_any(&ids))
        .filter(credit_grants::status.eq(GrantStatus::Active))
        .select((credit_grants::id, credit_grants::business_id, credit_grants::redeemed_at))
        .load(conn)?;
    if actives.len() == 2 {
        let mine = |b: &str| actives.iter().find(|a| a.1 == b).cloned().unwrap_or_default();
        let (kept, gone) = (mine(into), mine(from));
        let revoke = match (kept.2.is_some(), gone.2.is_some()) {
            (true, true) => {
                return Err(AppError::conflict(
                    "both businesses redeemed a voucher; records that each used a credit cannot be merged",
                ))
            }
            (false, true) => kept.0,
            _ => gone.0,
        };
        super::queries::end_grant(
            conn,
            &revoke,
            GrantStatus::Revoked,
            &format!("merged: business {from} into {into}"),
            Some(actor),
        )?;
        out.revoked_grant = Some(revoke);
    }
    out.grants = diesel::update(credit_grants::table.filter(credit_grants::business_id.eq(from)))
        .set(credit_grants::business_id.eq(into))
        .execute(conn)?;
    out.registrations = diesel::update(registrations::table.filter(registrations::business_id.eq(from)))
        .set(registrations::business_id.eq(into))
        .execute(conn)?;
    out.bookings = diesel::update(expert_bookings::table.filter(expert_bookings::business_id.eq(from)))
        .set(expert_bookings::business_id.eq(into))
        .execute(conn)?;
    let at = now();
    diesel::update(businesses::table.filter(businesses::merged_into.eq(from)))
        .set(businesses::merged_into.eq(Some(into)))
        .execute(conn)?;
    let moved_ein = survivor.2.is_none().then_some(merged.2.clone()).flatten();
    diesel::update(businesses::table.find(from))
        .set((
            businesses::merged_into.eq(Some(into)),
            businesses::ein.eq(None::<String>),
            businesses::updated_at.eq(at),
        ))
        .execute(conn)?;
    if let Some(ein) = moved_ein {
        diesel::update(businesses::table.find(into)).set(businesses::ein.eq(Some(ein))).execute(conn)?;
    }
    diesel::update(businesses::table.find(into)).set(businesses::updated_at.eq(at)).execute(conn)?;
    let mut changes = crate::audit::Changes::fields(&["merged_into"]);
    changes.refs.insert("into".into(), into.to_string());
    changes.refs.insert("registrations".into(), out.registrations.to_string());
    changes.refs.insert("expert_bookings".into(), out.bookings.to_string());
    changes.refs.insert("credit_grants".into(), out.grants.to_string());
    crate::audit::record(conn, actor, "merge", "business", from, changes)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{name_key, site_key};

    #[test]
    fn names_that_differ_only_in_legal_form_case_or_punctuation_share_a_key() {
        let k = name_key("Taco Garage, LLC", Some("TX"));
        assert_eq!(k.as_deref(), Some("taco garage|TX"));
        assert_eq!(name_key("The TACO garage inc.", Some("TX")), k);
        assert_eq!(name_key("Taco  Garage & Co", Some("TX")), k);
        assert_ne!(name_key("Taco Garage", Some("NM")), k);
        assert_ne!(name_key("Taco Garage Two", Some("TX")), k);
        assert_eq!(name_key("LLC", Some("TX")), None);
    }

    #[test]
    fn websites_share_a_key_by_domain_without_www_scheme_or_path() {
        let k = site_key(Some("https://www.TacoGarage.example/menu"), Some("TX"));
        assert_eq!(k.as_deref(), Some("tacogarage.example|TX"));
        assert_eq!(site_key(Some("http://tacogarage.example"), Some("TX")), k);
        assert_eq!(site_key(Some("tacogarage.example:443/?q=1"), Some("TX")), k);
        assert_eq!(site_key(None, Some("TX")), None);
        assert_ne!(site_key(Some("https://shop.example"), Some("TX")), k);
    }
}
