//! The one place where errors become HTTP statuses.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    /// Seconds a client must wait before retrying (Retry-After of a 429 or
    /// 503); None: a second.
    pub retry_after_secs: Option<u64>,
}

impl ApiError {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code: "invalid",
            message: message.into(),
            field: Some(field.to_owned()),
            retry_after_secs: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "bad_request",
            message: message.into(),
            field: None,
            retry_after_secs: None,
        }
    }

    /// A query parameter that cannot be honoured (not a number, out of
    /// range): 400, naming the parameter.
    pub fn bad_param(field: &str, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "bad_request",
            message: message.into(),
            field: Some(field.to_owned()),
            retry_after_secs: None,
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            message: message.into(),
            field: None,
            retry_after_secs: None,
        }
    }

    /// The one answer for a ticket the caller cannot have, whether no such
    /// ticket exists or it is another district's: nothing tells them apart.
    pub fn ticket_not_found(id: impl std::fmt::Display) -> Self {
        ApiError::not_found(format!("ticket {id} not found"))
    }

    /// No token, or an unknown or revoked one.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            code: "unauthorized",
            message: message.into(),
            field: None,
            retry_after_secs: None,
        }
    }

    /// A valid token whose role (or district) does not allow the request.
    pub fn conflict(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::CONFLICT,
            code: "conflict",
            message: message.into(),
            field: None,
            retry_after_secs: None,
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::FORBIDDEN,
            code: "forbidden",
            message: message.into(),
            field: None,
            retry_after_secs: None,
        }
    }

    /// The request's body did not arrive within `server.body_read_timeout_ms`.
    pub fn body_timeout(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::REQUEST_TIMEOUT,
            code: "body_timeout",
            message: message.into(),
            field: None,
            retry_after_secs: None,
        }
    }

    /// A token holds its whole share of the server (`server.max_in_flight_per_token`).
    pub fn too_many(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: "too_many_requests",
            message: message.into(),
            field: None,
            retry_after_secs: None,
        }
    }

    /// A token used up its quota of submissions with a phone or an external
    /// id (`server.phone_submissions_per_minute`); it may submit again after `wait`.
    pub fn quota(message: impl Into<String>, wait: std::time::Duration) -> Self {
        ApiError {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: "quota_exceeded",
            message: message.into(),
            field: None,
            retry_after_secs: Some(wait.as_secs_f64().ceil().max(1.0) as u64),
        }
    }

    pub fn too_large(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "too_large",
            message: message.into(),
            field: None,
            retry_after_secs: None,
        }
    }

    pub fn internal(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message: message.into(),
            field: None,
            retry_after_secs: None,
        }
    }
}

impl From<hotline_store::Error> for ApiError {
    fn from(e: hotline_store::Error) -> Self {
        use hotline_store::Error as E;
        match e {
            E::NotFound(id) => ApiError::ticket_not_found(id),
            E::Invalid { field, message } => ApiError::invalid(field, message),
            E::Conflict(m) => ApiError {
                status: StatusCode::CONFLICT,
                code: "conflict",
                message: m,
                field: None,
                retry_after_secs: None,
            },
            E::Forbidden(m) => ApiError::forbidden(m),
            E::Closed => ApiError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "unavailable",
                message: "the store is shutting down".into(),
                field: None,
                retry_after_secs: None,
            },
            other if other.is_unreadable() => {
                tracing::error!(error = %other, "store damage");
                ApiError::internal(
                    "the stored record is damaged and cannot be read; an administrator runs `hotline verify`, which names where",
                )
            }
            other => {
                tracing::error!(error = %other, "store failure");
                ApiError::internal("internal storage error")
            }
        }
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(e: tokio::task::JoinError) -> Self {
        tracing::error!(error = %e, "blocking task failed");
        ApiError::internal("internal error")
    }
}

/// The field a body's or query's deserialisation error names: the path
/// serde_path_to_error puts before the message (`pii: invalid type …`,
/// `events[0].at: …`), else the field in backticks of a missing, unknown
/// or duplicated field.
fn field_of(message: &str) -> Option<String> {
    let detail = message
        .split_once("target type: ")
        .or_else(|| message.split_once("query string: "))
        .map_or(message, |(_, rest)| rest);
    if let Some((path, _)) = detail.split_once(": ") {
        let is_path = !path.is_empty()
            && path != "."
            && path
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '[' | ']'));
        if is_path {
            return Some(path.to_owned());
        }
    }
    ["missing field `", "unknown field `", "duplicate field `"]
        .iter()
        .find_map(|marker| {
            let rest = detail.split_once(marker)?.1;
            Some(rest.split_once('`')?.0.to_owned())
        })
}

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(e: axum::extract::rejection::JsonRejection) -> Self {
        let status = e.status();
        let message = e.body_text();
        ApiError {
            status,
            code: "bad_request",
            field: field_of(&message),
            retry_after_secs: None,
            message,
        }
    }
}

impl From<axum::extract::rejection::QueryRejection> for ApiError {
    fn from(e: axum::extract::rejection::QueryRejection) -> Self {
        let message = e.body_text();
        let mut error = ApiError::bad_request(message.clone());
        error.field = field_of(&message);
        error
    }
}

impl From<axum::extract::rejection::PathRejection> for ApiError {
    fn from(e: axum::extract::rejection::PathRejection) -> Self {
        ApiError::bad_param("id", e.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body =
            json!({ "error": { "code": self.code, "message": self.message, "field": self.field } });
        use axum::http::header;
        match self.status {
            StatusCode::UNAUTHORIZED => {
                let challenge = [(header::WWW_AUTHENTICATE, "Bearer")];
                return (self.status, challenge, Json(body)).into_response();
            }
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => {
                let wait = self.retry_after_secs.unwrap_or(1).to_string();
                return (self.status, [(header::RETRY_AFTER, wait)], Json(body)).into_response();
            }
            // The rest of the body is not read: the connection cannot be reused.
            StatusCode::REQUEST_TIMEOUT | StatusCode::PAYLOAD_TOO_LARGE => {
                return (self.status, [(header::CONNECTION, "close")], Json(body)).into_response();
            }
            _ => {}
        }
        (self.status, Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    //! Which store errors are the caller's (4xx) and which are ours (5xx).
    use super::*;

    #[test]
    fn a_write_the_store_could_not_make_durable_is_ours_not_a_conflict() {
        let status = |e: hotline_store::Error| ApiError::from(e).status;
        assert_eq!(
            status(hotline_store::Error::NotStored("sled: io error".into())),
            StatusCode::INTERNAL_SERVER_ERROR
        );
        let io = hotline_store::Error::Io {
            path: "journal.log".into(),
            source: std::io::Error::other("disk full"),
        };
        assert_eq!(status(io), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            status(hotline_store::Error::Conflict("ticket x is closed".into())),
            StatusCode::CONFLICT
        );
        assert!(!hotline_store::Error::NotStored(String::new()).is_user_error());
    }

    #[test]
    fn the_field_is_read_from_serdes_messages() {
        for (message, field) in [
            ("Failed to deserialize the JSON body into the target type: pii: invalid type: string \"true\", expected a boolean at line 1 column 29", Some("pii")),
            ("Failed to deserialize the JSON body into the target type: missing field `resolved` at line 1 column 20", Some("resolved")),
            ("Failed to deserialize the JSON body into the target type: satisfaction: unknown variant `xx`, expected one of `satisfied` at line 1 column 40", Some("satisfaction")),
            ("Failed to deserialize the JSON body into the target type: unknown field `colour`, expected one of `text`", Some("colour")),
            ("Failed to deserialize query string: unknown field `dist`, expected `district`", Some("dist")),
            ("Failed to deserialize query string: duplicate field `district`", Some("district")),
            ("Failed to parse the request body as JSON: expected value at line 1 column 1", None),
        ] {
            assert_eq!(field_of(message).as_deref(), field, "{message}");
        }
    }
}
