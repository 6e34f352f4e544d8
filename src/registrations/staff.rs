//! Staff views of registrations (`/api/v1/admin`, behind the staff gate): an event's registrants
//! as a page of JSON or a CSV export, and check-in at the door. Scoped: an organizer reaches only
//! the events its organization hosts ([`crate::auth::scope`]); anything else is a 404.

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use super::model::Registrant;
use super::queries;
use super::wire::{CheckInOut, RegistrantOut, RegistrantsFormat, RegistrantsQuery};
use crate::auth::Actor;
use crate::db::{from_db_time, Db};
use crate::domain::RegistrationStatus;
use crate::error::AppError;
use crate::http::{decode_cursor, next_page, page_limit, parse_id, Page, QueryParams};
use crate::openapi::problems::Staff;
use crate::time::utc_string;

/// An event's registrants, oldest first: a page of JSON, or every one as CSV (`?format=csv`).
///
/// The CSV is defused against spreadsheet formulas (see [`csv_field`]).
#[utoipa::path(
    get,
    path = "/api/v1/admin/events/{id}/registrations",
    tag = "registrations",
    params(("id" = uuid::Uuid, Path, description = "The event."), RegistrantsQuery),
    security(("staff_token" = [])),
    responses(
        (status = 200, description = "The registrants",
         content(
             (Page<RegistrantOut> = "application/json"),
             (String = "text/csv"),
         ),
         headers(("Content-Disposition" = String, description = "CSV only: `attachment; filename=\"registrants-….csv\"`."))),
        Staff
    )
)]
pub(crate) async fn list_registrants(
    actor: Actor,
    db: web::Data<Db>,
    path: web::Path<String>,
    QueryParams(q): QueryParams<RegistrantsQuery>,
) -> Result<HttpResponse, AppError> {
    let event_id = parse_id("id", &path)?;
    let csv = q.format.unwrap_or_default() == RegistrantsFormat::Csv;
    let limit = if csv { CSV_CHUNK } else { page_limit(q.limit)? };
    let after: Option<(chrono::NaiveDateTime, String)> =
        if csv { None } else { q.cursor.as_deref().map(decode_cursor).transpose()? };
    let status = q.status;
    let id = event_id.clone();
    let reader = actor.clone();
    let (event_title, mut rows, tickets, mut needs) = db
        .read(move |c| {
            let e = crate::events::queries::find_for_actor(c, &reader, &id)?
                .ok_or_else(|| AppError::not_found("no such event"))?;
            let rows = queries::registrants(c, &id, status, after, limit.saturating_add(1))?;
            let needs = accommodations_of(c, &reader, &rows)?;
            Ok((e.title, rows, queries::waitlist_tickets(c, &id)?, needs))
        })
        .await?;
    if csv {
        // The file leaves the service with people's details and what they need to take part:
        // who took it is recorded before it goes (no export without its audit entry).
        let (who, event) = (actor.clone(), event_id.clone());
        db.write(move |c| {
            crate::audit::record(c, &who, "export_registrants", "event", &event, crate::audit::Changes::none())
        })
        .await?;
        return Ok(csv_answer(db, actor, event_id, status, &event_title, (rows, needs), tickets));
    }
    // A waitlisted registrant's place is the rank of its ticket.
    let position = |r: &Registrant| waitlist_position(&tickets, r);
    let next_cursor = next_page(&mut rows, limit, |r| (r.created_at, r.id.clone()));
    let items: Vec<RegistrantOut> = rows
        .into_iter()
        .map(|r| {
            let p = position(&r);
            let accommodation = needs.remove(&r.id);
            RegistrantOut { accommodation, ..RegistrantOut::new(r, p) }
        })
        .collect();
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(&Page { items, next_cursor }))
}

/// The accommodation requests of these registrants that `actor` may see (scoped in the query:
/// admins and the event's host organizers).
fn accommodations_of(c: &mut crate::db::DbConnection, actor: &Actor, rows: &[Registrant]) -> Result<Needs, AppError> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    crate::accommodations::queries::visible_for_registrations(c, actor, &ids)
}

type Needs = std::collections::HashMap<String, crate::accommodations::wire::AccommodationOut>;

/// Rows of the CSV export read at a time.
const CSV_CHUNK: i64 = 1000;

/// A waitlisted registrant's place: the rank of its ticket among the event's waitlist tickets.
fn waitlist_position(tickets: &[i64], r: &Registrant) -> Option<i64> {
    match (r.status, r.waitlist_ticket) {
        (RegistrationStatus::Waitlisted, Some(t)) => tickets.binary_search(&t).ok().map(|i| i as i64 + 1),
        _ => None,
    }
}

/// The CSV export: one line per registrant, named after the event, streamed: read and sent
/// `CSV_CHUNK` rows at a time (each chunk a read of its own, in list order from where the last one
/// ended, by `registrations_event_created_idx`), so the server's memory stays flat whatever the
/// number of registrants. `first` is the first chunk (up to `CSV_CHUNK + 1` rows, read with the
/// scope check); the rest is read while it is sent. A registrant whose status changes while the
/// export runs shows the status of when its chunk was read.
fn csv_answer(
    db: web::Data<Db>,
    actor: Actor,
    event_id: String,
    status: Option<RegistrationStatus>,
    event_title: &str,
    (first, first_needs): (Vec<Registrant>, Needs),
    tickets: Vec<i64>,
) -> HttpResponse {
    const HEADER: &str = "registration_id,status,waitlist_position,attendee_name,attendee_email,business_name,business_state,industry,employees,registered_at,checked_in_at,accommodation_categories,accommodation_note\r\n";
    struct State {
        db: web::Data<Db>,
        actor: Actor,
        /// The accommodation requests of `rows` (as the actor may see them).
        needs: Needs,
        event_id: String,
        status: Option<RegistrationStatus>,
        tickets: Vec<i64>,
        /// Rows read but not sent yet; `more`: whether rows may follow them.
        rows: Vec<Registrant>,
        more: bool,
        /// Where the rows sent so far end (the keyset of the next read).
        last_key: Option<(chrono::NaiveDateTime, String)>,
        header: bool,
    }
    let mut rows = first;
    let more = rows.len() as i64 > CSV_CHUNK;
    rows.truncate(CSV_CHUNK as usize);
    let state =
        State { db, actor, needs: first_needs, event_id, status, tickets, rows, more, last_key: None, header: true };
    let body = futures_util::stream::unfold(Some(state), |state| async move {
        let mut st = state?;
        if st.rows.is_empty() && st.more {
            let last = st.last_key.clone();
            let (event_id, status, actor) = (st.event_id.clone(), st.status, st.actor.clone());
            let chunk = st
                .db
                .read(move |c| {
                    let rows = queries::registrants(c, &event_id, status, last, CSV_CHUNK + 1)?;
                    let needs = accommodations_of(c, &actor, &rows)?;
                    Ok((rows, needs))
                })
                .await;
            match chunk {
                Ok((mut rows, needs)) => {
                    st.more = rows.len() as i64 > CSV_CHUNK;
                    rows.truncate(CSV_CHUNK as usize);
                    st.rows = rows;
                    st.needs = needs;
                }
                // The status line is gone: cut the answer short rather than end it as if complete.
                Err(e) => return Some((Err(std::io::Error::other(e.to_string())), None)),
            }
        }
        if st.rows.is_empty() && !st.header {
            return None;
        }
        let mut out = String::with_capacity(st.rows.len() * 160 + HEADER.len());
        if std::mem::take(&mut st.header) {
            out.push_str(HEADER);
        }
        for r in std::mem::take(&mut st.rows) {
            st.last_key = Some((r.created_at, r.id.clone()));
            let position = waitlist_position(&st.tickets, &r);
            let accommodation = st.needs.remove(&r.id);
            csv_line(&mut out, RegistrantOut { accommodation, ..RegistrantOut::new(r, position) });
        }
        Some((Ok::<_, std::io::Error>(web::Bytes::from(out)), Some(st)))
    });
    let filename: String =
        event_title.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"registrants-{filename}.csv\"")))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(body)
}

/// One registrant's CSV line.
fn csv_line(out: &mut String, r: RegistrantOut) {
    let fields = [
        r.id,
        r.status.to_string(),
        r.waitlist_position.map(|p| p.to_string()).unwrap_or_default(),
        r.attendee_name.unwrap_or_default(),
        r.attendee_email.unwrap_or_default(),
        r.business_name,
        r.business_state.unwrap_or_default(),
        r.industry.unwrap_or_default(),
        r.employees.unwrap_or_default(),
        r.registered_at,
        r.checked_in_at.unwrap_or_default(),
        r.accommodation
            .as_ref()
            .map(|a| a.categories.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(" "))
            .unwrap_or_default(),
        r.accommodation.and_then(|a| a.note).unwrap_or_default(),
    ];
    let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
    out.push_str(&line.join(","));
    out.push_str("\r\n");
}

/// One CSV field (RFC 4180 quoting), defused against formula injection.
///
/// A cell gets a leading apostrophe (which spreadsheets show as "text follows") when it:
/// - starts with `=`, `+`, `-`, `@`, a tab or a carriage return (Excel, LibreOffice and Google
///   Sheets may run such a cell as a formula), or
/// - contains `;` followed by one of those characters, or contains a tab or a carriage return
///   anywhere: a spreadsheet opened with `;` (or tab) as the separator splits the cell there, and
///   the piece after the separator would start with a formula character.
///
/// Stored text holds no control characters (`validate`), so tabs and CRs come only from older data.
pub(crate) fn csv_field(value: &str) -> String {
    const FORMULA: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];
    let risky = value.starts_with(FORMULA)
        || value.contains(['\t', '\r'])
        || value.split(';').skip(1).any(|piece| piece.trim_start_matches(' ').starts_with(FORMULA));
    let v = if risky { format!("'{value}") } else { value.to_string() };
    if v.contains([',', '"', '\r', '\n', '\t', ';']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

/// Check a registrant in at the door (confirmed → attended; audited), and grant the business its
/// ad credit.
///
/// Taking part earns the business its one $50 grant, in the same transaction, when it never had
/// one and the pool (and the reserve it draws on) has room; the voucher is emailed to the
/// business's contact address, and `credit` says what happened. Checking in an attended
/// registration changes nothing; a cancelled or waitlisted one, or one of a cancelled event, is a
/// 409. So is a check-in outside the door hours: from two hours before the event starts to seven
/// days after it ends (a check-in grants money; staff cannot spend the pool ahead of the event).
#[utoipa::path(
    post,
    path = "/api/v1/admin/registrations/{id}/check-in",
    tag = "registrations",
    params(("id" = uuid::Uuid, Path, description = "The registration.")),
    security(("staff_token" = [])),
    responses((status = 200, description = "Checked in", body = CheckInOut), Staff)
)]
pub(crate) async fn check_in(
    actor: Actor,
    db: web::Data<Db>,
    config: web::Data<crate::config::Config>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id("id", &path)?;
    let ctx = crate::mail::MailContext::from_config(&config);
    let (reg, outcome) = db.write(move |c| queries::check_in(c, &ctx, &actor, &id)).await?;
    crate::metrics::grant(outcome.as_str());
    Ok(HttpResponse::Ok().json(&CheckInOut {
        id: reg.id,
        status: reg.status,
        checked_in_at: reg.checked_in_at.map(|t| utc_string(from_db_time(t))),
        credit: crate::credits::wire::CreditOutcomeOut::from(&outcome),
    }))
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=SUM(A1)"), "'=SUM(A1)");
        for lead in ["+1", "-1+2", "@SUM(A1)", "\tx", "\rx"] {
            assert!(csv_field(lead).starts_with("'") || csv_field(lead).starts_with("\"'"), "{lead:?}");
        }
    }

    #[test]
    fn csv_fields_that_become_formulas_after_a_semicolon_split_are_defused() {
        // Opened with `;` as the separator, these cells split and a piece starts a formula.
        assert_eq!(csv_field("Tacos;=HYPERLINK(\"http://x\")"), "\"'Tacos;=HYPERLINK(\"\"http://x\"\")\"");
        for risky in ["a;+1", "a;-1", "a;@x", "a; =1", "a;b;=c", "a\tb", "a\rb"] {
            assert!(csv_field(risky).starts_with("\"'"), "{risky:?} -> {}", csv_field(risky));
        }
        // A semicolon followed by ordinary text is left alone (quoted, so it stays one cell).
        assert_eq!(csv_field("Smith; Jones & Co"), "\"Smith; Jones & Co\"");
        assert_eq!(csv_field("2-9"), "2-9", "a dash inside is no formula");
    }
}
