//! One error type for the whole service, answered as RFC 9457 `application/problem+json`.
//!
//! Validation problems list every bad field (`errors: [{field, message}]`). Internal errors give the
//! client no detail; their cause is logged once, here, with the request's span.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// One bad input, named by its JSON path (`business.email`), query parameter or path segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError { field: field.into(), message: message.into() }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400: the request could not be read (malformed JSON, bad path id, bad cursor…).
    #[error("bad request: {detail}")]
    BadRequest { detail: String, errors: Vec<FieldError> },
    /// 422: the request was read but its values break the rules.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// 401: no or an invalid credential.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// 403: a valid credential that may not do this.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// 404: no such object, or one the caller may not know exists.
    #[error("not found: {0}")]
    NotFound(String),
    /// 405 with `Allow`: the path is a resource, but not for this method.
    #[error("method not allowed")]
    MethodNotAllowed { allowed: Vec<actix_web::http::Method> },
    /// 409: conflicts with the current state; `existing_id` names the object it collides with.
    #[error("conflict: {detail}")]
    Conflict { detail: String, existing_id: Option<String> },
    /// 413: the body is larger than allowed.
    #[error("payload too large")]
    PayloadTooLarge { limit: usize },
    /// 415: the body is not JSON.
    #[error("unsupported media type")]
    UnsupportedMediaType(String),
    /// 429 with `Retry-After`.
    #[error("too many requests")]
    TooManyRequests { retry_after_secs: u64 },
    /// 503: the database is busy or unreachable; safe to retry.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// 500: a bug or an unexpected failure. The message is logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn internal(msg: impl Into<String>) -> Self {
        AppError::Internal(msg.into())
    }

    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Validation(vec![FieldError::new(field, message)])
    }

    pub fn bad_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        let message = message.into();
        AppError::BadRequest { detail: format!("`{field}` {message}"), errors: vec![FieldError::new(field, message)] }
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        AppError::NotFound(what.into())
    }

    pub fn conflict(detail: impl Into<String>) -> Self {
        AppError::Conflict { detail: detail.into(), existing_id: None }
    }

    fn kind(&self) -> (&'static str, &'static str) {
        match self {
            AppError::BadRequest { .. } => ("/problems/bad-request", "Bad Request"),
            AppError::Validation(_) => ("/problems/validation", "Invalid request"),
            AppError::Unauthorized(_) => ("/problems/unauthorized", "Unauthorized"),
            AppError::Forbidden(_) => ("/problems/forbidden", "Forbidden"),
            AppError::NotFound(_) => ("/problems/not-found", "Not Found"),
            AppError::MethodNotAllowed { .. } => ("/problems/method-not-allowed", "Method Not Allowed"),
            AppError::Conflict { .. } => ("/problems/conflict", "Conflict"),
            AppError::PayloadTooLarge { .. } => ("/problems/payload-too-large", "Payload Too Large"),
            AppError::UnsupportedMediaType(_) => ("/problems/unsupported-media-type", "Unsupported Media Type"),
            AppError::TooManyRequests { .. } => ("/problems/rate-limited", "Too Many Requests"),
            AppError::Unavailable(_) => ("/problems/unavailable", "Service Unavailable"),
            AppError::Internal(_) => ("/problems/internal", "Internal Server Error"),
        }
    }
}

/// An RFC 9457 problem document (`application/problem+json`): every error answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"type": "/problems/validation", "title": "Invalid request", "status": 422,
    "detail": "1 field is invalid", "errors": [{"field": "business.email", "message": "is not a valid email address"}]}))]
pub struct Problem {
    /// A URI reference naming the kind of problem (`/problems/validation`, `/problems/not-found`, …).
    #[serde(rename = "type")]
    pub type_: &'static str,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    /// Every bad field (400 and 422 only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// The object a 409 collides with, where the caller may know it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub existing_id: Option<String>,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let (type_, title) = self.kind();
        let mut errors = Vec::new();
        let mut existing_id = None;
        let detail = match self {
            AppError::BadRequest { detail, errors: e } => {
                errors = e.clone();
                detail.clone()
            }
            AppError::Validation(e) => {
                errors = e.clone();
                let fields: Vec<&str> = e.iter().map(|f| f.field.as_str()).collect();
                format!("invalid value for {}", fields.join(", "))
            }
            AppError::Unauthorized(d) | AppError::Forbidden(d) | AppError::NotFound(d) => d.clone(),
            AppError::UnsupportedMediaType(d) => d.clone(),
            AppError::MethodNotAllowed { allowed } => format!("this resource answers {}", allow_list(allowed)),
            AppError::Conflict { detail, existing_id: id } => {
                existing_id = id.clone();
                detail.clone()
            }
            AppError::PayloadTooLarge { limit } => {
                errors.push(FieldError::new("body", format!("must be at most {limit} bytes")));
                format!("the request body is larger than {limit} bytes")
            }
            AppError::TooManyRequests { retry_after_secs } => {
                format!("too many requests from this address; retry in {retry_after_secs} s")
            }
            AppError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "service unavailable");
                "the service is busy; retry shortly".to_string()
            }
            AppError::Internal(cause) => {
                tracing::error!(error = %cause, "internal error");
                "an unexpected error occurred".to_string()
            }
        };
        let mut builder = HttpResponse::build(status);
        builder.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        match self {
            AppError::TooManyRequests { retry_after_secs } => {
                builder.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            AppError::Unauthorized(_) => {
                builder.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            AppError::MethodNotAllowed { allowed } => {
                builder.insert_header((header::ALLOW, allow_list(allowed)));
            }
            AppError::Unavailable(_) => {
                builder.insert_header((header::RETRY_AFTER, "1"));
            }
            _ => {}
        }
        let body = Problem { type_, title, status: status.as_u16(), detail, errors, existing_id };
        builder.body(serde_json::to_string(&body).unwrap_or_else(|_| "{}".into()))
    }
}

/// `GET, POST`: the methods of an `Allow` header.
fn allow_list(methods: &[actix_web::http::Method]) -> String {
    methods.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", ")
}

/// How a lost database connection's message starts (matched by `db::is_connection_lost`).
pub const CONNECTION_LOST: &str = "database connection lost";

/// Database errors, classified once: a broken unique rule is a conflict, a busy or unreachable
/// database (or a lost connection) is a 503, the rest is internal.
impl From<diesel::result::Error> for AppError {
    fn from(err: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind as K, Error as E};
        match &err {
            E::NotFound => AppError::NotFound("not found".into()),
            E::DatabaseError(K::UniqueViolation, _) => AppError::conflict("this conflicts with an existing record"),
            E::DatabaseError(K::SerializationFailure, info) => AppError::Unavailable(info.message().to_string()),
            // The server is gone (restarted, or ended the session): a 503, and retryable on another
            // connection (see `db::is_connection_lost`).
            E::DatabaseError(K::ClosedConnection | K::UnableToSendCommand, info) => {
                AppError::Unavailable(format!("{CONNECTION_LOST}: {}", info.message()))
            }
            E::DatabaseError(_, info) if info.message().contains("deadlock detected") => {
                AppError::Unavailable(info.message().to_string())
            }
            E::DatabaseError(_, info)
                if info.message().contains("database is locked") || info.message().contains("database is busy") =>
            {
                AppError::Unavailable(info.message().to_string())
            }
            _ => AppError::Internal(format!("database error: {err}")),
        }
    }
}

impl From<r2d2_error::PoolError> for AppError {
    fn from(err: r2d2_error::PoolError) -> Self {
        AppError::Unavailable(format!("database pool: {err}"))
    }
}

mod r2d2_error {
    pub type PoolError = diesel::r2d2::PoolError;
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(err: actix_web::error::BlockingError) -> Self {
        AppError::Internal(format!("blocking task failed: {err}"))
    }
}

pub type AppResult<T> = Result<T, AppError>;
