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
    let limit = if csv { i64::MAX / 2 } else { page_limit(q.limit)? };
    let after: Option<(chrono::NaiveDateTime, String)> =
        if csv { None } else { q.cursor.as_deref().map(decode_cursor).transpose()? };
    let status = q.status;
    let (event_title, mut rows, tickets) = db
        .read(move |c| {
            let e = crate::events::queries::find_for_actor(c, &actor, &event_id)?
                .ok_or_else(|| AppError::not_found("no such event"))?;
            let rows = queries::registrants(c, &event_id, status, after, limit.saturating_add(1))?;
            Ok((e.title, rows, queries::waitlist_tickets(c, &event_id)?))
        })
        .await?;
    // A waitlisted registrant's place is the rank of its ticket.
    let position = |r: &Registrant| match (r.status, r.waitlist_ticket) {
        (RegistrationStatus::Waitlisted, Some(t)) => tickets.binary_search(&t).ok().map(|i| i as i64 + 1),
        _ => None,
    };
    if csv {
        return Ok(csv_answer(&event_title, rows.iter().map(|r| RegistrantOut::new(r.clone(), position(r)))));
    }
    let next_cursor = next_page(&mut rows, limit, |r| (r.created_at, r.id.clone()));
    let items: Vec<RegistrantOut> = rows
        .into_iter()
        .map(|r| {
            let p = position(&r);
            RegistrantOut::new(r, p)
        })
        .collect();
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(&Page { items, next_cursor }))
}

/// The CSV export: one line per registrant, named after the event.
fn csv_answer(event_title: &str, rows: impl Iterator<Item = RegistrantOut>) -> HttpResponse {
    let mut out = String::from(
        "registration_id,status,waitlist_position,attendee_name,attendee_email,business_name,business_state,industry,employees,registered_at,checked_in_at\r\n",
    );
    for r in rows {
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
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    let filename: String =
        event_title.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"registrants-{filename}.csv\"")))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(out)
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
/// 409.
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
