//! Who may call what: bearer tokens, roles and the groups of them the route
//! list (`server::ROUTES`) grants, the district a token is limited to, and
//! the middleware that checks each request against the route list.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hotline_store::{AuditAction, AuditEntry, Issuer, Role, Ticket, TokenRecord};

use crate::app::AppState;
use crate::error::ApiError;
use crate::server::ROUTES;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No token needed.
    Public,
    /// Any valid token.
    AnyRole,
    /// A valid token of one of these roles.
    Roles(&'static [Role]),
    /// A valid token of one of these roles that is not limited to a
    /// district: the route acts on, or reports about, the whole city.
    CityRoles(&'static [Role]),
}

impl Access {
    pub fn allows(self, role: Role) -> bool {
        match self {
            Access::Public | Access::AnyRole => true,
            Access::Roles(roles) | Access::CityRoles(roles) => roles.contains(&role),
        }
    }

    /// A token limited to a district may not call the route, whatever its role.
    pub fn city_wide(self) -> bool {
        matches!(self, Access::CityRoles(_))
    }
}

use Role::{Admin, Operator, Supervisor};

/// Takes calls and works tickets.
pub const OPERATORS: Access = Access::Roles(&[Operator, Admin]);
/// Reads tickets and searches them.
pub const READERS: Access = Access::Roles(&[Operator, Supervisor, Admin]);
/// Figures and exports.
pub const SUPERVISORS: Access = Access::Roles(&[Supervisor, Admin]);
pub const ADMINS: Access = Access::Roles(&[Admin]);
/// Admins of the whole city: the router model, which serves every district.
pub const CITY_ADMINS: Access = Access::CityRoles(&[Admin]);

/// Who may call `method path` (a declared route); None when the table does not list it.
pub fn access(method: &Method, path: &str) -> Option<Access> {
    let method = if method == Method::HEAD {
        "GET"
    } else {
        method.as_str()
    };
    ROUTES
        .iter()
        .find(|r| r.method == method && r.path == path)
        .map(|r| r.access)
}

/// The token behind a request, put in the request's extensions by [`require_token`].
#[derive(Debug, Clone)]
pub struct Caller {
    pub token: TokenRecord,
}

impl Caller {
    pub fn role(&self) -> Role {
        self.token.role
    }

    /// May see personal data unmasked.
    pub fn pii(&self) -> bool {
        self.token.pii
    }

    /// The district filter of a search, statistics or export: the token's
    /// district when it has one (asking for another is forbidden), otherwise
    /// what was asked.
    pub fn district_filter(&self, asked: Option<String>) -> Result<Option<String>, ApiError> {
        let asked = asked.map(|d| d.trim().to_owned()).filter(|d| !d.is_empty());
        match (&self.token.district, asked) {
            (None, asked) => Ok(asked),
            (Some(own), None) => Ok(Some(own.clone())),
            (Some(own), Some(asked)) if *own == asked => Ok(Some(asked)),
            (Some(own), Some(_)) => Err(ApiError::forbidden(format!(
                "this token is limited to {own}"
            ))),
        }
    }

    /// A ticket of another district does not exist for a district-limited
    /// token: the same 404 as an unknown id, so that its answer never tells
    /// which ids are other districts' tickets.
    pub fn check_ticket(&self, ticket: &Ticket) -> Result<(), ApiError> {
        match &self.token.district {
            Some(own) if ticket.district.as_deref() != Some(own.as_str()) => {
                Err(ApiError::ticket_not_found(ticket.id))
            }
            _ => Ok(()),
        }
    }

    /// An audit entry of this caller, about its own district (None: every
    /// district) until told otherwise with [`AuditEntry::in_district`].
    pub fn audit(&self, action: AuditAction, target: impl Into<String>) -> AuditEntry {
        AuditEntry::new(Some(self.token.id), &self.token.name, action, target)
            .in_district(self.token.district.as_deref())
    }

    /// The caller as the issuer of tokens: it grants and manages only what
    /// it holds (checked by the token store).
    pub fn issuer(&self) -> Issuer<'_> {
        Issuer::Token(&self.token)
    }

    /// May read this audit entry: a district-limited reader sees only its
    /// district's entries, and one without `pii` not those about tokens
    /// with it (beyond its limits, as the token list hides them).
    pub fn may_read(&self, entry: &AuditEntry) -> bool {
        (self.pii() || !entry.about_pii_token)
            && self
                .token
                .district
                .as_deref()
                .is_none_or(|own| entry.district.as_deref() == Some(own))
    }

    /// An audit entry as this caller reads it: masked without `pii`, and
    /// without the id and name of the token that acted when that token is
    /// beyond the caller's limits (`actor_covered` false): the token list
    /// hides such a token, so the log must not name it either.
    pub fn audit_view(&self, mut entry: AuditEntry, actor_covered: bool) -> AuditEntry {
        if !self.pii() {
            crate::pii::mask_audit(&mut entry);
        }
        if !actor_covered {
            entry.token_id = None;
            entry.token_name = BEYOND_LIMITS.to_owned();
        }
        entry
    }
}

/// The name an audit entry shows for a token beyond its reader's limits.
pub const BEYOND_LIMITS: &str = "(a token beyond your limits)";

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|t| !t.is_empty())
}

/// A route served but missing from [`ROUTES`] (impossible while the router
/// is built from it; fail closed anyway): warned about at most once a
/// minute, with a count, since any client can call it.
static UNLISTED: crate::throttle::Throttle = crate::throttle::Throttle::per_seconds(60);

/// The middleware on every /api/v1 route: looks the route up in
/// [`ROUTES`], checks the bearer token (401 when missing, unknown or
/// revoked), its role and, on a city-wide route, that it is not limited to
/// a district (403), and hands the [`Caller`] to the handler.
pub async fn require_token(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let Some(access) = access(req.method(), &path) else {
        if ROUTES.iter().any(|r| r.path == path) {
            // OPTIONS, TRACE and the like on a listed route: a client's
            // doing, not ours, so no warning a client could repeat.
            tracing::debug!(route = %path, method = %req.method(), "method not in the permission table");
        } else if let Some(count) = UNLISTED.hit() {
            tracing::warn!(route = %path, method = %req.method(), count, "route missing from the permission table");
        }
        return ApiError::forbidden("this route is not open to any token").into_response();
    };
    if access == Access::Public {
        return next.run(req).await;
    }
    let Some(secret) = bearer(req.headers()) else {
        return ApiError::unauthorized("a bearer token is required (Authorization: Bearer hl_…)")
            .into_response();
    };
    // A token seen before is checked in memory; a new one reads sled, off
    // the async threads.
    let record = match state.tokens.verify_cached(&secret) {
        Some(record) => Some(record),
        None => {
            let tokens = state.tokens.clone();
            match tokio::task::spawn_blocking(move || tokens.verify(&secret)).await {
                Ok(Ok(record)) => record,
                Ok(Err(e)) => return ApiError::from(e).into_response(),
                Err(e) => return ApiError::from(e).into_response(),
            }
        }
    };
    let Some(token) = record else {
        tracing::debug!(route = %path, "unknown or revoked token");
        return ApiError::unauthorized("unknown or revoked token").into_response();
    };
    if !access.allows(token.role) {
        tracing::debug!(route = %path, token = %token.id, role = %token.role, "role not allowed");
        return ApiError::forbidden(format!(
            "the {} role may not call {} {path}",
            token.role,
            req.method()
        ))
        .into_response();
    }
    if let (true, Some(own)) = (access.city_wide(), &token.district) {
        tracing::debug!(route = %path, token = %token.id, "district-limited token on a city-wide route");
        return ApiError::forbidden(format!(
            "a token limited to {own} may not call {} {path}: it acts on the whole city",
            req.method()
        ))
        .into_response();
    }
    req.extensions_mut().insert(Caller { token });
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_answers_for_each_role() {
        let can =
            |role, method: Method, path| access(&method, path).is_some_and(|a| a.allows(role));
        assert!(can(Operator, Method::POST, "/api/v1/tickets"));
        assert!(!can(Supervisor, Method::POST, "/api/v1/tickets"));
        assert!(!can(Operator, Method::GET, "/api/v1/stats"));
        assert!(can(Supervisor, Method::GET, "/api/v1/export/search"));
        assert!(can(Supervisor, Method::HEAD, "/api/v1/stats"));
        assert!(!can(Supervisor, Method::GET, "/api/v1/audit"));
        assert!(can(Admin, Method::DELETE, "/api/v1/tokens/{id}"));
        assert_eq!(access(&Method::GET, "/api/v1/nowhere"), None);
        // Admin may call every listed route.
        assert!(ROUTES.iter().all(|r| r.access.allows(Admin)));
        // The router model serves every district: whatever changes it is
        // closed to a district-limited token.
        for r in ROUTES
            .iter()
            .filter(|r| r.method == "POST" && r.path.starts_with("/api/v1/model/"))
        {
            assert!(r.access.city_wide(), "{} {}", r.method, r.path);
        }
    }

    #[test]
    fn bearer_is_read_case_insensitively() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            "bearer  hl_abc ".parse().expect("a header value"),
        );
        assert_eq!(bearer(&h).as_deref(), Some("hl_abc"));
        h.insert(
            header::AUTHORIZATION,
            "Basic abc".parse().expect("a header value"),
        );
        assert_eq!(bearer(&h), None);
    }
}
