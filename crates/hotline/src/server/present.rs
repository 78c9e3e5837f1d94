//! What leaves the server: tickets and hits masked or audited for the caller, and export files.

use hotline_store::{AuditAction, SearchHit, Ticket};
use uuid::Uuid;

use super::ApiResult;
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::export::{self, Format};
use crate::pii;

/// The width of search snippets, in characters (as the store cuts them).
pub(super) const SNIPPET_WIDTH: usize = 60;

/// A ticket as the caller may see it: masked for a token without `pii`;
/// for one with it, shown whole and the read written to the audit log when
/// the ticket holds personal data (no audit entry, no data). Blocking.
pub(super) fn present(state: &AppState, caller: &Caller, mut ticket: Ticket) -> ApiResult<Ticket> {
    hide_foreign_link(state, caller, &mut ticket)?;
    hide_city_count(caller, &mut ticket);
    if !caller.pii() {
        pii::mask_ticket(&mut ticket);
    } else if pii::has_personal_data(&ticket) {
        state.audit.record(&[caller
            .audit(AuditAction::ReadPii, ticket.id.to_string())
            .in_district(ticket.district.as_deref())])?;
    }
    Ok(ticket)
}

/// A repeat link names another ticket: a district-limited reader sees it
/// only when it may read that ticket (links made by earlier versions could
/// cross districts). Blocking.
pub(super) fn hide_foreign_link(
    state: &AppState,
    caller: &Caller,
    ticket: &mut Ticket,
) -> ApiResult<()> {
    let (Some(_), Some(linked)) = (&caller.token.district, ticket.repeat_of) else {
        return Ok(());
    };
    let visible = match state.store.get(linked) {
        Ok(found) => found.is_some_and(|t| caller.check_ticket(&t).is_ok()),
        Err(e) if e.is_unreadable() => false,
        Err(e) => return Err(e.into()),
    };
    if !visible {
        ticket.repeat_of = None;
    }
    Ok(())
}

/// A ticket's `seq` is its change's place in the whole store's history:
/// between two of its own tickets, a district-limited reader would count the
/// other districts' changes. It reads 0.
fn hide_city_count(caller: &Caller, ticket: &mut Ticket) {
    if caller.token.district.is_some() {
        ticket.seq = 0;
    }
}

/// Search hits as the caller may see them (see [`present`]); for a
/// district-limited token without their scores, which weigh each word by
/// how many tickets of the whole city hold it (and so move with other
/// districts' tickets): the hits keep their order. Blocking.
pub(super) fn present_hits(
    state: &AppState,
    caller: &Caller,
    hits: &mut [SearchHit],
    words: &[String],
) -> ApiResult<()> {
    for hit in hits.iter_mut() {
        hide_foreign_link(state, caller, &mut hit.ticket)?;
        hide_city_count(caller, &mut hit.ticket);
        if caller.token.district.is_some() {
            hit.score = 0.0;
        }
    }
    if caller.pii() {
        let reads: Vec<_> = hits
            .iter()
            .filter(|h| pii::has_personal_data(&h.ticket))
            .map(|h| {
                caller
                    .audit(AuditAction::ReadPii, h.ticket.id.to_string())
                    .in_district(h.ticket.district.as_deref())
            })
            .collect();
        state.audit.record(&reads)?;
    } else {
        for hit in hits {
            pii::mask_hit(hit, words, SNIPPET_WIDTH);
        }
    }
    Ok(())
}

/// For a district-limited token, the ticket must be of its district. Blocking.
pub(super) fn check_ticket_district(state: &AppState, caller: &Caller, id: Uuid) -> ApiResult<()> {
    if caller.token.district.is_some() {
        let ticket = state
            .store
            .get(id)?
            .ok_or_else(|| ApiError::ticket_not_found(id))?;
        caller.check_ticket(&ticket)?;
    }
    Ok(())
}

pub(super) fn export_format(format: Option<&str>) -> ApiResult<Format> {
    Format::parse(format).ok_or_else(|| ApiError::invalid("format", "use csv or xlsx"))
}

pub(super) fn render(table: &export::Table, format: Format) -> ApiResult<Vec<u8>> {
    export::render(table, format).map_err(|e| {
        tracing::error!(error = %e, "export failed");
        ApiError::internal("the export could not be written")
    })
}
