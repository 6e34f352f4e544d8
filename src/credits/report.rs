//! `GET /api/v1/admin/reports/credits`: the funders' figures, JSON or CSV (`?format=csv`).
//!
//! Granted and redeemed by state (the business's) and by host organization (of the event the
//! grant was earned at; a co-hosted event counts for each host), over the grants the caller may
//! see (scoped as the other reports); the pool and every reserve with what remains; the burn rate
//! (cents granted less cents returned per day) over the last 7 and 30 days, and the date the pool
//! and each reserve run out at each rate.

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::queries::{self, GrantFact};
use super::wire::PoolOut;
use crate::auth::Actor;
use crate::db::schema::{event_hosts, organizations};
use crate::db::{now, Db};
use crate::domain::GrantStatus;
use crate::error::AppError;
use crate::http::QueryParams;
use crate::openapi::problems::Staff;

/// Granted (active grants) and redeemed figures of one state or organization.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct CreditFiguresOut {
    /// A state code (`null`: businesses without a state), or an organization id.
    pub key: Option<String>,
    /// The organization's name (organizations only).
    pub name: Option<String>,
    pub granted_count: i64,
    pub granted_cents: i64,
    pub redeemed_count: i64,
    pub redeemed_cents: i64,
}

/// A burn rate and when the money runs out at it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BurnOut {
    /// Days in the window (7 or 30).
    pub days: i64,
    /// Cents granted less cents returned (revoked, declined) in the window.
    pub net_cents: i64,
    pub cents_per_day: f64,
    /// The UTC date the remaining cents run out at this rate (`null`: they do not, the rate is 0).
    pub runs_out_on: Option<String>,
}

/// A reserve with its own burn and forecast.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReserveForecastOut {
    pub reserve: String,
    pub share_cents: i64,
    pub granted_cents: i64,
    pub remaining_cents: i64,
    pub burn: Vec<BurnOut>,
}

/// The whole report.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreditReportOut {
    pub pool: PoolOut,
    /// The pool's burn over the last 7 and 30 days (of the grants the caller may see).
    pub burn: Vec<BurnOut>,
    pub reserves: Vec<ReserveForecastOut>,
    pub by_state: Vec<CreditFiguresOut>,
    pub by_organization: Vec<CreditFiguresOut>,
    pub generated_at: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

fn add(f: &mut CreditFiguresOut, g: &GrantFact) {
    if g.status == GrantStatus::Active {
        f.granted_count += 1;
        f.granted_cents += g.amount_cents;
        if g.redeemed_at.is_some() {
            f.redeemed_count += 1;
            f.redeemed_cents += g.amount_cents;
        }
    }
}

/// The burn of `facts` (optionally one reserve's) over `days` before `at`, and when `remaining`
/// runs out at it.
pub fn burn(facts: &[GrantFact], reserve: Option<&str>, days: i64, at: NaiveDateTime, remaining: i64) -> BurnOut {
    let since = at - Duration::days(days);
    let mine = facts.iter().filter(|g| reserve.is_none_or(|r| g.reserve == r));
    let mut net = 0i64;
    for g in mine {
        if g.granted_at >= since {
            net += g.amount_cents;
        }
        if g.ended_at.is_some_and(|e| e >= since) {
            net -= g.amount_cents;
        }
    }
    let per_day = net as f64 / days as f64;
    let runs_out_on = (per_day > 0.0).then(|| {
        let days_left = (remaining as f64 / per_day).ceil() as i64;
        (at + Duration::days(days_left.min(365 * 100))).date().format("%Y-%m-%d").to_string()
    });
    BurnOut { days, net_cents: net, cents_per_day: (per_day * 100.0).round() / 100.0, runs_out_on }
}

/// Builds the report for the grants `facts` (the caller's), with `hosts` (event → organizations
/// the caller may see) and the organizations' names.
pub fn build(
    pool: queries::Pool,
    reserves: Vec<queries::Reserve>,
    facts: &[GrantFact],
    hosts: &[(String, String)],
    names: &BTreeMap<String, String>,
    at: NaiveDateTime,
) -> CreditReportOut {
    let remaining = pool.total_cents - pool.granted_cents;
    let burns = |reserve: Option<&str>, remaining: i64| {
        vec![burn(facts, reserve, 7, at, remaining), burn(facts, reserve, 30, at, remaining)]
    };
    let mut states: BTreeMap<Option<String>, CreditFiguresOut> = BTreeMap::new();
    let mut orgs: BTreeMap<String, CreditFiguresOut> = BTreeMap::new();
    let mut by_event: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (event, org) in hosts {
        by_event.entry(event.as_str()).or_default().push(org.as_str());
    }
    for g in facts {
        let s = states
            .entry(g.state_code.clone())
            .or_insert_with(|| CreditFiguresOut { key: g.state_code.clone(), ..Default::default() });
        add(s, g);
        if let Some(event) = &g.event_id {
            for org in by_event.get(event.as_str()).into_iter().flatten() {
                let o = orgs.entry(org.to_string()).or_insert_with(|| CreditFiguresOut {
                    key: Some(org.to_string()),
                    name: names.get(*org).cloned(),
                    ..Default::default()
                });
                add(o, g);
            }
        }
    }
    let mut by_state: Vec<CreditFiguresOut> = states.into_values().collect();
    // States first, the state-less last.
    by_state.sort_by_key(|f| (f.key.is_none(), f.key.clone()));
    CreditReportOut {
        burn: burns(None, remaining),
        reserves: reserves
            .into_iter()
            .map(|r| ReserveForecastOut {
                burn: burns(Some(&r.reserve), r.share_cents - r.granted_cents),
                remaining_cents: r.share_cents - r.granted_cents,
                reserve: r.reserve,
                share_cents: r.share_cents,
                granted_cents: r.granted_cents,
            })
            .collect(),
        pool: PoolOut::from(pool),
        by_state,
        by_organization: orgs.into_values().collect(),
        generated_at: crate::time::utc_string(crate::db::from_db_time(at)),
    }
}

/// The report as CSV: one line per pool, reserve, state and organization.
pub fn to_csv(r: &CreditReportOut) -> String {
    use crate::registrations::staff::csv_field;
    let mut out = String::from(
        "section,key,name,granted_count,granted_cents,redeemed_count,redeemed_cents,remaining_cents,\
         burn_7d_cents_per_day,burn_30d_cents_per_day,runs_out_7d,runs_out_30d\r\n",
    );
    let burn_cols = |b: &[BurnOut]| -> String {
        let get = |i: usize| b.get(i);
        format!(
            "{},{},{},{}",
            get(0).map_or(String::new(), |b| b.cents_per_day.to_string()),
            get(1).map_or(String::new(), |b| b.cents_per_day.to_string()),
            get(0).and_then(|b| b.runs_out_on.clone()).unwrap_or_default(),
            get(1).and_then(|b| b.runs_out_on.clone()).unwrap_or_default(),
        )
    };
    out.push_str(&format!(
        "pool,,,{},{},,,{},{}\r\n",
        r.pool.grant_count,
        r.pool.granted_cents,
        r.pool.remaining_cents,
        burn_cols(&r.burn)
    ));
    for v in &r.reserves {
        out.push_str(&format!(
            "reserve,{},,,{},,,{},{}\r\n",
            csv_field(&v.reserve),
            v.granted_cents,
            v.remaining_cents,
            burn_cols(&v.burn)
        ));
    }
    for (section, rows) in [("state", &r.by_state), ("organization", &r.by_organization)] {
        for f in rows {
            out.push_str(&format!(
                "{section},{},{},{},{},{},{},,,,,\r\n",
                csv_field(f.key.as_deref().unwrap_or("")),
                csv_field(f.name.as_deref().unwrap_or("")),
                f.granted_count,
                f.granted_cents,
                f.redeemed_count,
                f.redeemed_cents,
            ));
        }
    }
    out
}

/// Ad credits for the funders: pool, reserves, by state and organization, burn rate, forecast.
///
/// Admins see every grant; an organizer the grants earned at events its organization hosts (the
/// pool's and reserves' national figures are the same for everyone). Experts: 403. `?format=csv`
/// answers `text/csv`: one line per pool, reserve, state and organization.
#[utoipa::path(
    get,
    path = "/api/v1/admin/reports/credits",
    tag = "reports",
    params(ReportQuery),
    security(("staff_token" = [])),
    responses(
        (status = 200, description = "The report", body = CreditReportOut,
         content(
             (CreditReportOut = "application/json"),
             (String = "text/csv")
         )),
        Staff
    )
)]
pub(crate) async fn credit_report(
    actor: Actor,
    db: web::Data<Db>,
    QueryParams(q): QueryParams<ReportQuery>,
) -> Result<HttpResponse, AppError> {
    actor.require_staff_manager()?;
    let csv = match q.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(AppError::bad_field("format", "must be \"json\" or \"csv\"")),
    };
    let report = db
        .read(move |c| {
            let facts = queries::grant_facts(c, &actor)?;
            let hosts: Vec<(String, String)> = event_hosts::table
                .filter(crate::auth::scope::event_hosts_filter(&actor))
                .select((event_hosts::event_id, event_hosts::organization_id))
                .load(c)?;
            let names: BTreeMap<String, String> =
                organizations::table.select((organizations::id, organizations::name)).load(c)?.into_iter().collect();
            Ok(build(queries::pool(c)?, queries::reserves(c)?, &facts, &hosts, &names, now()))
        })
        .await?;
    if csv {
        return Ok(HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
            .insert_header((header::CONTENT_DISPOSITION, "attachment; filename=\"credits.csv\""))
            .body(to_csv(&report)));
    }
    Ok(HttpResponse::Ok().json(report))
}

#[cfg(test)]
mod tests {
    use super::burn;
    use crate::credits::queries::GrantFact;
    use crate::domain::GrantStatus;

    fn fact(days_ago: i64, ended_days_ago: Option<i64>, at: chrono::NaiveDateTime) -> GrantFact {
        GrantFact {
            reserve: "national".into(),
            status: if ended_days_ago.is_some() { GrantStatus::Revoked } else { GrantStatus::Active },
            amount_cents: 5000,
            state_code: Some("TX".into()),
            event_id: None,
            granted_at: at - chrono::Duration::days(days_ago),
            ended_at: ended_days_ago.map(|d| at - chrono::Duration::days(d)),
            redeemed_at: None,
        }
    }

    #[test]
    fn burn_counts_grants_less_returns_in_the_window_and_forecasts_the_day_money_runs_out() {
        let at = chrono::NaiveDate::from_ymd_opt(2027, 3, 1).unwrap().and_hms_opt(12, 0, 0).unwrap();
        // 14 grants in the last 7 days, one of them revoked since; 6 more 20 days ago.
        let mut facts: Vec<GrantFact> = (0..14).map(|i| fact(i % 7, None, at)).collect();
        facts[0] = fact(1, Some(0), at);
        facts.extend((0..6).map(|_| fact(20, None, at)));
        let week = burn(&facts, None, 7, at, 70_000);
        // The revoked one was granted and returned inside the week: it counts for nothing.
        assert_eq!(week.net_cents, 13 * 5000);
        assert_eq!(week.runs_out_on.as_deref(), Some("2027-03-09"), "70,000 at 9,285.71/day: 8 days");
        let month = burn(&facts, None, 30, at, 70_000);
        assert_eq!(month.net_cents, 19 * 5000);
        assert_eq!(burn(&facts, Some("TX"), 7, at, 1).runs_out_on, None, "no grants in that reserve");
    }
}
