//! The token service: a token request checked, a token created or revoked with its audit entry.
//!
//! For the API, the command line and the demo alike.

use hotline_store::{
    AuditAction, AuditEntry, AuditLog, Issuer, NewToken, Role, TokenRecord, TokenStore,
};
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::ApiError;

/// Who creates or revokes a token: the issuer whose rights the token store
/// checks (see [`Issuer`]), and who the audit log names.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    /// An API token.
    Caller(&'a Caller),
    /// The command line or the demo, named so in the audit log.
    Local(&'static str),
}

impl Actor<'_> {
    fn issuer(&self) -> Issuer<'_> {
        match self {
            Actor::Caller(caller) => caller.issuer(),
            Actor::Local(_) => Issuer::Local,
        }
    }

    /// The audit entry of `action` on `record`, about the token's district.
    fn entry(&self, action: AuditAction, record: &TokenRecord) -> AuditEntry {
        let target = describe_token(record);
        match self {
            Actor::Caller(caller) => caller.audit(action, target),
            Actor::Local(name) => AuditEntry::new(None, name, action, target),
        }
        .in_district(record.district.as_deref())
        .about_token_with_pii(record.pii)
    }
}

/// Creates a token (the token store checks that `by` may grant it) and
/// records it in the audit log; returns the record and the secret, which
/// exists nowhere else. Blocking.
pub fn create(
    tokens: &TokenStore,
    audit: &AuditLog,
    new: NewToken,
    by: Actor<'_>,
) -> hotline_store::Result<(TokenRecord, String)> {
    let (record, secret) = tokens.create(new, by.issuer())?;
    audit.record(&[by.entry(AuditAction::TokenCreated, &record)])?;
    Ok((record, secret))
}

/// Revokes a token within `by`'s limits and records it in the audit log;
/// None when there is no such token. Blocking.
pub fn revoke(
    tokens: &TokenStore,
    audit: &AuditLog,
    id: Uuid,
    by: Actor<'_>,
) -> hotline_store::Result<Option<TokenRecord>> {
    let Some(record) = tokens.revoke(id, by.issuer())? else {
        return Ok(None);
    };
    audit.record(&[by.entry(AuditAction::TokenRevoked, &record)])?;
    Ok(Some(record))
}

/// A token request checked: a known role, a district of the gazetteer (a
/// short form reads as the district it names), a
/// name (the role's when none is given). Shared by the command line and the API.
pub fn new_token(
    role: &str,
    pii: bool,
    district: Option<String>,
    name: Option<String>,
    gazetteer: &hotline_classifier::Gazetteer,
) -> Result<NewToken, ApiError> {
    let role = Role::parse(role).ok_or_else(|| {
        ApiError::invalid(
            "role",
            format!("'{role}': use operator, supervisor or admin"),
        )
    })?;
    let district = match district.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        None => None,
        Some(d) => Some(
            gazetteer
                .canonical(d)
                .ok_or_else(|| {
                    ApiError::invalid(
                        "district",
                        format!("'{d}' is not a district (e.g. 朝阳区 or 朝阳)"),
                    )
                })?
                .to_owned(),
        ),
    };
    let name = name
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| role.as_str().to_owned());
    if name.chars().count() > 100 {
        return Err(ApiError::invalid("name", "at most 100 characters"));
    }
    Ok(NewToken {
        name,
        role,
        pii,
        district,
    })
}

/// A token in one line, for the audit log (never its secret).
pub fn describe_token(t: &TokenRecord) -> String {
    format!(
        "token {} name={} role={}{}{}",
        t.id,
        t.name,
        t.role,
        if t.pii { " pii" } else { "" },
        t.district
            .as_deref()
            .map(|d| format!(" district={d}"))
            .unwrap_or_default()
    )
}
