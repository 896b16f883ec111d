//! `/developers/team`: the partner's organisation, its members and invitations for colleagues.
//! The organisation is always the signed-in partner's own, read from the account on the
//! server; nothing in the request names it (SECURITY.md I-04, I-05).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use portcullis_app::developers::team::MemberLine;
use portcullis_app::developers::{PartnerHeader, ShownOnce};
use portcullis_app::pages::Page;
use portcullis_core::partner::Partner;
use tower_sessions::Session;

use super::{acting, partner_form, require};
use crate::http::form::FormBody;
use crate::http::interaction::page;
use crate::http::peer::PeerAddr;
use crate::http::portal::refusal;
use crate::http::AppState;

/// `GET /developers/team`.
pub async fn team_page(State(state): State<AppState>, session: Session) -> Response {
    match require(&state, &session).await {
        Ok((partner, header)) => render(&state, &partner, header, None).await,
        Err(response) => response,
    }
}

/// `POST /developers/team/invitations`: a new invitation code, shown once.
pub async fn invite(
    State(state): State<AppState>,
    session: Session,
    peer: PeerAddr,
    headers: HeaderMap,
    FormBody(body): FormBody,
) -> Response {
    let (_, partner, header) = match partner_form(&state, &session, &headers, &body).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let operator = state.operator().acting_as(acting(&partner, &peer));
    let code = match operator.invite_colleague(&partner).await {
        Ok(code) => code,
        Err(err) => return refusal(err),
    };
    let shown = ShownOnce {
        what: "invitation code".into(),
        value: code.expose().to_owned(),
        note: "Send it to your colleague over a channel you trust; it works once, for seven days."
            .into(),
    };
    render(&state, &partner, header, Some(shown)).await
}

async fn render(
    state: &AppState,
    partner: &Partner,
    header: PartnerHeader,
    shown_once: Option<ShownOnce>,
) -> Response {
    let members = match state.operator().colleagues(partner).await {
        Ok(members) => members,
        Err(err) => return refusal(err),
    };
    let members = members
        .into_iter()
        .map(|m| MemberLine {
            email: m.email,
            name: m.name,
            status: m.status.to_string(),
            invited_by: m.invited_by.unwrap_or_default(),
        })
        .collect();
    page("Your organisation", Page::DevTeam { header, members, shown_once })
}
