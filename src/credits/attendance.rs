//! Webinar attendance: the webinar platform's export (one row per attendee: email, minutes
//! attended) uploaded by staff as CSV. Each row is matched to the webinar's registrations by the
//! attendee's address; an attendee who watched at least `ROADSHOW_WEBINAR_ATTENDANCE_MINUTES` is
//! marked attended and granted the credit, in one transaction per row (a long upload never holds
//! the pool row for long, and uploading the same file again changes nothing more).

use actix_web::{web, HttpResponse};
use diesel::prelude::*;

use super::queries::{self, GrantOutcome, Participation};
use super::wire::{AttendanceOut, AttendanceRowOut};
use crate::auth::Actor;
use crate::config::Config;
use crate::db::schema::{events, registrations};
use crate::db::{now, write_tx, Db, DbConnection};
use crate::domain::{EventKind, EventStatus, GrantSource, RegistrationStatus};
use crate::error::AppError;
use crate::http::{csv_fields, parse_id, CsvBody};
use crate::mail::MailContext;
use crate::openapi::problems::Staff;

/// The most rows one upload may have.
pub const MAX_ROWS: usize = 50_000;

/// One readable row: the address and the minutes.
#[derive(Debug, Clone, PartialEq)]
pub enum Row {
    Ok { email: String, minutes: f64 },
    Bad { email: String, detail: String },
}

/// Reads the export: `email,minutes` (a header line naming the columns is allowed, and then the
/// columns may come in any order among others, found by the names `email` and `minutes` /
/// `attended minutes` / `duration`). Returns (line number, row).
pub fn parse(body: &str) -> Result<Vec<(usize, Row)>, AppError> {
    let mut lines = body.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()).peekable();
    let (mut email_col, mut minutes_col) = (0usize, 1usize);
    if let Some((_, first)) = lines.peek() {
        let fields = csv_fields(first).unwrap_or_default();
        let lower: Vec<String> = fields.iter().map(|f| f.to_lowercase()).collect();
        if !lower.iter().any(|f| f.contains('@')) {
            email_col = lower
                .iter()
                .position(|f| f.contains("email"))
                .ok_or_else(|| AppError::field("body", "the header names no `email` column"))?;
            minutes_col = lower
                .iter()
                .position(|f| f.contains("minute") || f.contains("duration"))
                .ok_or_else(|| AppError::field("body", "the header names no `minutes` column"))?;
            lines.next();
        }
    }
    let mut out = Vec::new();
    for (n, line) in lines {
        if out.len() == MAX_ROWS {
            return Err(AppError::field("body", format!("has more than {MAX_ROWS} rows: split the file")));
        }
        let line_no = n + 1;
        let Some(fields) = csv_fields(line) else {
            out.push((line_no, Row::Bad { email: String::new(), detail: "has an unclosed quote".into() }));
            continue;
        };
        let email = fields.get(email_col).cloned().unwrap_or_default();
        let row = match (crate::domain::EmailAddress::parse(&email), fields.get(minutes_col)) {
            (Err(_), _) => Row::Bad { email, detail: "the email is not an address".into() },
            (_, None) => Row::Bad { email, detail: "has no minutes".into() },
            (Ok(addr), Some(m)) => match m.trim().parse::<f64>() {
                Ok(minutes) if minutes.is_finite() && minutes >= 0.0 => Row::Ok { email: addr.to_string(), minutes },
                _ => Row::Bad { email, detail: format!("{m:?} is not a number of minutes") },
            },
        };
        out.push((line_no, row));
    }
    if out.is_empty() {
        return Err(AppError::field("body", "has no rows"));
    }
    Ok(out)
}

/// Upload a webinar's attendance export (`text/csv`), mark attendees and grant their credits.
///
/// Rows: `email,minutes` (or a header naming an `email` and a `minutes`/`duration` column). Each
/// row's `result`: `granted`, `already_granted`, `pool_empty`, `not_open` (the attendee is
/// marked attended in all four), `not_registered` (no confirmed or attended registration of that
/// address), `below_threshold`, `duplicate` (an earlier row had the address) or `bad_row`. Only
/// after the webinar started; organizers for webinars their organization hosts. Uploading the same
/// file again is harmless.
#[utoipa::path(
    post,
    path = "/api/v1/admin/events/{id}/webinar-attendance",
    tag = "credits",
    params(("id" = uuid::Uuid, Path, description = "The webinar.")),
    request_body(content = String, content_type = "text/csv", example = "email,minutes\nrosa@tacogarage.example,52\n"),
    security(("staff_token" = [])),
    responses((status = 200, description = "A result per row", body = AttendanceOut), Staff)
)]
pub(crate) async fn upload(
    actor: Actor,
    db: web::Data<Db>,
    config: web::Data<Config>,
    path: web::Path<String>,
    req: actix_web::HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    actor.require_staff_manager()?;
    let event_id = parse_id("id", &path)?;
    let (scope_actor, scope_event) = (actor.clone(), event_id.clone());
    db.read(move |c| check_webinar(c, &scope_actor, &scope_event)).await?;
    let CsvBody(body) = CsvBody::read(&req, payload).await?;
    let rows = parse(&body)?;
    let threshold = config.webinar_attendance_minutes;
    let ctx = MailContext::from_config(&config);
    let out = db
        .run(move |conn| {
            check_webinar(conn, &actor, &event_id)?;
            let mut seen = std::collections::HashSet::new();
            let mut results = Vec::with_capacity(rows.len());
            for (line, row) in rows {
                let result = match row {
                    Row::Bad { email, detail } => result(line, email, "bad_row", Some(detail)),
                    Row::Ok { email, .. } if !seen.insert(email.clone()) => result(line, email, "duplicate", None),
                    Row::Ok { email, minutes } if minutes < f64::from(threshold) => {
                        result(line, email, "below_threshold", None)
                    }
                    // A row that fails (a lock conflict, say) is reported and the upload goes on;
                    // uploading the file again settles it.
                    Row::Ok { email, .. } => match write_tx(conn, |c| attend(c, &ctx, &actor, &event_id, line, &email))
                    {
                        Ok(r) => r,
                        Err(AppError::Unavailable(_)) => {
                            result(line, email, "retry", Some("the database was busy; upload the file again".into()))
                        }
                        Err(e) => return Err(e),
                    },
                };
                results.push(result);
            }
            Ok(results)
        })
        .await?;
    let mut totals = std::collections::BTreeMap::new();
    for r in &out {
        *totals.entry(r.result.clone()).or_insert(0) += 1;
        crate::metrics::grant(&r.result);
    }
    Ok(HttpResponse::Ok().json(AttendanceOut { threshold_minutes: threshold, rows: out, totals }))
}

fn result(line: usize, email: String, result: &str, detail: Option<String>) -> AttendanceRowOut {
    AttendanceRowOut { line, email, result: result.into(), detail, registration_id: None, grant_id: None }
}

/// The event must be a webinar the actor manages, and have started.
fn check_webinar(conn: &mut DbConnection, actor: &Actor, event_id: &str) -> Result<(), AppError> {
    if !crate::auth::scope::may_manage_event(conn, actor, event_id)? {
        return Err(AppError::not_found("no such event"));
    }
    let (kind, status, starts_at): (EventKind, EventStatus, chrono::NaiveDateTime) =
        events::table.find(event_id).select((events::kind, events::status, events::starts_at)).first(conn)?;
    if kind != EventKind::Webinar {
        return Err(AppError::conflict("attendance uploads are for webinars; stops check people in at the door"));
    }
    if status == EventStatus::Cancelled || status == EventStatus::Draft {
        return Err(AppError::conflict(format!("this webinar is {status}")));
    }
    if now() < starts_at {
        return Err(AppError::conflict("this webinar has not started yet"));
    }
    Ok(())
}

/// One attendee over the threshold: marked attended (if confirmed) and granted.
fn attend(
    conn: &mut DbConnection,
    ctx: &MailContext,
    actor: &Actor,
    event_id: &str,
    line: usize,
    email: &str,
) -> Result<AttendanceRowOut, AppError> {
    let reg: Option<(String, String, RegistrationStatus)> = registrations::table
        .filter(registrations::event_id.eq(event_id))
        .filter(registrations::attendee_email.eq(email))
        .filter(registrations::status.eq_any([RegistrationStatus::Confirmed, RegistrationStatus::Attended]))
        .select((registrations::id, registrations::business_id, registrations::status))
        .first(conn)
        .optional()?;
    let Some((reg_id, business_id, status)) = reg else {
        return Ok(result(line, email.to_string(), "not_registered", None));
    };
    if status == RegistrationStatus::Confirmed {
        let ts = now();
        diesel::update(
            registrations::table.find(&reg_id).filter(registrations::status.eq(RegistrationStatus::Confirmed)),
        )
        .set((
            registrations::status.eq(RegistrationStatus::Attended),
            registrations::checked_in_at.eq(Some(ts)),
            registrations::updated_at.eq(ts),
        ))
        .execute(conn)?;
        crate::audit::record(
            conn,
            actor,
            "webinar_attendance",
            "registration",
            &reg_id,
            crate::audit::Changes::fields(&["status", "checked_in_at"]),
        )?;
    }
    let p = Participation {
        business_id,
        source: GrantSource::Webinar,
        registration_id: Some(reg_id.clone()),
        booking_id: None,
        event_id: Some(event_id.to_string()),
    };
    let outcome = queries::grant_for_taking_part(conn, ctx, &p)?;
    let (grant_id, detail) = match &outcome {
        GrantOutcome::Granted { grant_id, .. } => (Some(grant_id.clone()), None),
        GrantOutcome::PoolEmpty { reserve } => (None, Some(reserve.clone())),
        _ => (None, None),
    };
    Ok(AttendanceRowOut {
        line,
        email: email.to_string(),
        result: outcome.as_str().into(),
        detail,
        registration_id: Some(reg_id),
        grant_id,
    })
}

#[cfg(test)]
mod tests {
    use super::{parse, Row};

    #[test]
    fn exports_are_read_with_or_without_a_header_and_bad_rows_are_named() {
        let rows = parse(
            "Name,Email Address,Attended Minutes\nRosa,rosa@a.example,52\nX,not-an-email,10\nY,y@a.example,abc\n",
        )
        .unwrap();
        assert_eq!(rows[0], (2, Row::Ok { email: "rosa@a.example".into(), minutes: 52.0 }));
        assert!(matches!(&rows[1], (3, Row::Bad { .. })));
        assert!(matches!(&rows[2], (4, Row::Bad { detail, .. }) if detail.contains("abc")));
        let bare = parse("rosa@a.example,52.5\n\n\"b@a.example\",\"7\"\n").unwrap();
        assert_eq!(bare.len(), 2);
        assert_eq!(bare[1], (3, Row::Ok { email: "b@a.example".into(), minutes: 7.0 }));
        assert!(parse("name,phone\nx,1\n").is_err());
        assert!(parse("\n\n").is_err());
        assert!(matches!(&parse("a@b.example,-3\n").unwrap()[0].1, Row::Bad { .. }));
    }
}
