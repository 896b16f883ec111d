//! Partner accounts, the clients their organisations own, and their notifications.
//!
//! Every read of an owned resource takes the organisation it must belong to, so a query can
//! never return another organisation's row: ownership is part of the `WHERE` clause, not a
//! check after the fact.

use portcullis_core::client::Client;
use portcullis_core::partner::{Invitation, Notification, Partner, PartnerClient, PartnerStatus};
use portcullis_core::store::StoreResult;
use portcullis_core::UnixTime;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::clients::insert_client_in;
use crate::{corrupt, map_err, SqlStore};

const PARTNER_COLUMNS: &str = "id, email, name, organisation, organisation_id, password_hash, \
                               status, decision_reason, created_at, updated_at, invited_by";
const OWNER_COLUMNS: &str = "client_id, organisation_id, description, justification, \
                             max_overlap_hours, decision_reason, secret_revealed_at, requested_at";
const NOTIFICATION_COLUMNS: &str = "id, organisation_id, at, kind, target, message, read_at";

fn partner_from_row(row: &AnyRow) -> StoreResult<Partner> {
    let status: String = row.try_get("status").map_err(map_err)?;
    Ok(Partner {
        id: row.try_get("id").map_err(map_err)?,
        email: row.try_get("email").map_err(map_err)?,
        name: row.try_get("name").map_err(map_err)?,
        organisation: row.try_get("organisation").map_err(map_err)?,
        organisation_id: row.try_get("organisation_id").map_err(map_err)?,
        password_hash: row.try_get("password_hash").map_err(map_err)?,
        status: status.parse::<PartnerStatus>().map_err(corrupt)?,
        decision_reason: row.try_get("decision_reason").map_err(map_err)?,
        created_at: row.try_get("created_at").map_err(map_err)?,
        updated_at: row.try_get("updated_at").map_err(map_err)?,
        invited_by: row.try_get("invited_by").map_err(map_err)?,
    })
}

fn owner_from_row(row: &AnyRow) -> StoreResult<PartnerClient> {
    let overlap: Option<i64> = row.try_get("max_overlap_hours").map_err(map_err)?;
    Ok(PartnerClient {
        client_id: row.try_get("client_id").map_err(map_err)?,
        organisation_id: row.try_get("organisation_id").map_err(map_err)?,
        description: row.try_get("description").map_err(map_err)?,
        justification: row.try_get("justification").map_err(map_err)?,
        max_overlap_hours: overlap.map(u32::try_from).transpose().map_err(corrupt)?,
        decision_reason: row.try_get("decision_reason").map_err(map_err)?,
        secret_revealed_at: row.try_get("secret_revealed_at").map_err(map_err)?,
        requested_at: row.try_get("requested_at").map_err(map_err)?,
    })
}

fn notification_from_row(row: &AnyRow) -> StoreResult<Notification> {
    Ok(Notification {
        id: row.try_get("id").map_err(map_err)?,
        organisation_id: row.try_get("organisation_id").map_err(map_err)?,
        at: row.try_get("at").map_err(map_err)?,
        kind: row.try_get("kind").map_err(map_err)?,
        target: row.try_get("target").map_err(map_err)?,
        message: row.try_get("message").map_err(map_err)?,
        read_at: row.try_get("read_at").map_err(map_err)?,
    })
}

/// What a sign-up with an invitation code did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvitedSignUp {
    /// The account was created in the inviting organisation.
    Joined(Box<Partner>),
    InvalidInvitation,
    EmailTaken,
}

/// Inserts an account on the given connection; an email already taken is a `Conflict`.
async fn insert_partner_on(conn: &mut sqlx::AnyConnection, partner: &Partner) -> StoreResult<()> {
    let sql = format!(
        "INSERT INTO partners ({PARTNER_COLUMNS}) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    );
    sqlx::query(&sql)
        .bind(&partner.id)
        .bind(&partner.email)
        .bind(&partner.name)
        .bind(&partner.organisation)
        .bind(&partner.organisation_id)
        .bind(&partner.password_hash)
        .bind(partner.status.as_str())
        .bind(&partner.decision_reason)
        .bind(partner.created_at)
        .bind(partner.updated_at)
        .bind(&partner.invited_by)
        .execute(&mut *conn)
        .await
        .map_err(map_err)?;
    Ok(())
}

impl SqlStore {
    /// Adds an account; an email already taken is a `Conflict`.
    pub async fn insert_partner(&self, partner: &Partner) -> StoreResult<()> {
        let mut conn = self.writer.acquire().await.map_err(map_err)?;
        insert_partner_on(&mut conn, partner).await
    }

    /// Stores an invitation; the caller keeps the code.
    pub async fn insert_invitation(&self, invitation: &Invitation) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO partner_invitations (code_hash, organisation_id, organisation, \
             invited_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&invitation.code_hash)
        .bind(&invitation.organisation_id)
        .bind(&invitation.organisation)
        .bind(&invitation.invited_by)
        .bind(invitation.created_at)
        .bind(invitation.expires_at)
        .execute(&self.writer)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    /// Creates `partner` in the organisation of the invitation whose code hashes to
    /// `code_hash`, spending the invitation in the same transaction: an unknown, used or
    /// expired code creates nothing, and an email already taken leaves the invitation unspent.
    pub async fn insert_invited_partner(
        &self,
        partner: &Partner,
        code_hash: &[u8],
        now: UnixTime,
    ) -> StoreResult<InvitedSignUp> {
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        let spent = sqlx::query(
            "UPDATE partner_invitations SET used_at = $2, used_by = $3 \
             WHERE code_hash = $1 AND used_at IS NULL AND expires_at > $2 \
             RETURNING organisation_id, organisation, invited_by",
        )
        .bind(code_hash)
        .bind(now)
        .bind(&partner.email)
        .fetch_optional(&mut *tx)
        .await
        .map_err(map_err)?;
        let Some(row) = spent else { return Ok(InvitedSignUp::InvalidInvitation) };
        let joined = Partner {
            organisation_id: row.try_get("organisation_id").map_err(map_err)?,
            organisation: row.try_get("organisation").map_err(map_err)?,
            invited_by: Some(row.try_get("invited_by").map_err(map_err)?),
            ..partner.clone()
        };
        match insert_partner_on(&mut tx, &joined).await {
            Ok(()) => {}
            Err(portcullis_core::store::StoreError::Conflict(_)) => {
                return Ok(InvitedSignUp::EmailTaken);
            }
            Err(err) => return Err(err),
        }
        tx.commit().await.map_err(map_err)?;
        Ok(InvitedSignUp::Joined(Box::new(joined)))
    }

    /// Every account of an organisation, oldest first.
    pub async fn organisation_members(&self, organisation_id: &str) -> StoreResult<Vec<Partner>> {
        let sql = format!(
            "SELECT {PARTNER_COLUMNS} FROM partners WHERE organisation_id = $1 \
             ORDER BY created_at, email"
        );
        let rows =
            sqlx::query(&sql).bind(organisation_id).fetch_all(&self.pool).await.map_err(map_err)?;
        rows.iter().map(partner_from_row).collect()
    }

    /// How many accounts of an organisation other than `except` are active.
    pub async fn other_active_members(
        &self,
        organisation_id: &str,
        except: &str,
    ) -> StoreResult<u64> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM partners WHERE organisation_id = $1 AND id <> $2 \
             AND status = 'active'",
        )
        .bind(organisation_id)
        .bind(except)
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    pub async fn get_partner(&self, id: &str) -> StoreResult<Option<Partner>> {
        let sql = format!("SELECT {PARTNER_COLUMNS} FROM partners WHERE id = $1");
        let row = sqlx::query(&sql).bind(id).fetch_optional(&self.pool).await.map_err(map_err)?;
        row.as_ref().map(partner_from_row).transpose()
    }

    pub async fn find_partner(&self, email: &str) -> StoreResult<Option<Partner>> {
        let sql = format!("SELECT {PARTNER_COLUMNS} FROM partners WHERE email = $1");
        let row =
            sqlx::query(&sql).bind(email).fetch_optional(&self.pool).await.map_err(map_err)?;
        row.as_ref().map(partner_from_row).transpose()
    }

    /// Accounts, oldest first; only those with `status` when given.
    pub async fn list_partners(&self, status: Option<PartnerStatus>) -> StoreResult<Vec<Partner>> {
        let sql = format!(
            "SELECT {PARTNER_COLUMNS} FROM partners WHERE ($1 IS NULL OR status = $1) \
             ORDER BY created_at, email"
        );
        let rows = sqlx::query(&sql)
            .bind(status.map(|s| s.as_str()))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(partner_from_row).collect()
    }

    /// The name an organisation gave itself at sign-up.
    pub async fn organisation_name(&self, organisation_id: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT organisation FROM partners WHERE organisation_id = $1")
            .bind(organisation_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.map(|r| r.try_get("organisation").map_err(map_err)).transpose()
    }

    /// Moves an account from `from` to `to` with the admin's reason; false when it was no
    /// longer in `from` (another decision came first).
    pub async fn set_partner_status(
        &self,
        id: &str,
        from: PartnerStatus,
        to: PartnerStatus,
        reason: Option<&str>,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE partners SET status = $1, decision_reason = $2, updated_at = $3 \
             WHERE id = $4 AND status = $5",
        )
        .bind(to.as_str())
        .bind(reason)
        .bind(now)
        .bind(id)
        .bind(from.as_str())
        .execute(&self.writer)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    /// Registers a client a partner organisation requested and records who owns it, in one
    /// transaction: there is never a partner's client without its owner.
    pub async fn insert_partner_client(
        &self,
        client: &Client,
        owner: &PartnerClient,
    ) -> StoreResult<()> {
        let mut tx = self.writer.begin().await.map_err(map_err)?;
        insert_client_in(&mut tx, client).await?;
        let sql = format!(
            "INSERT INTO partner_clients ({OWNER_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        );
        sqlx::query(&sql)
            .bind(&owner.client_id)
            .bind(&owner.organisation_id)
            .bind(&owner.description)
            .bind(&owner.justification)
            .bind(owner.max_overlap_hours.map(i64::from))
            .bind(&owner.decision_reason)
            .bind(owner.secret_revealed_at)
            .bind(owner.requested_at)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)
    }

    /// Who owns a client and what was said about it; `None` for clients no partner requested.
    pub async fn client_owner(&self, client_id: &str) -> StoreResult<Option<PartnerClient>> {
        let sql = format!("SELECT {OWNER_COLUMNS} FROM partner_clients WHERE client_id = $1");
        let row =
            sqlx::query(&sql).bind(client_id).fetch_optional(&self.pool).await.map_err(map_err)?;
        row.as_ref().map(owner_from_row).transpose()
    }

    /// The clients an organisation owns, newest request first.
    pub async fn organisation_clients(
        &self,
        organisation_id: &str,
    ) -> StoreResult<Vec<PartnerClient>> {
        let sql = format!(
            "SELECT {OWNER_COLUMNS} FROM partner_clients WHERE organisation_id = $1 \
             ORDER BY requested_at DESC, client_id"
        );
        let rows =
            sqlx::query(&sql).bind(organisation_id).fetch_all(&self.pool).await.map_err(map_err)?;
        rows.iter().map(owner_from_row).collect()
    }

    /// Records the admin's decision beside the client: the reason, and at approval the
    /// longest rotation overlap the partner may choose.
    pub async fn record_client_decision(
        &self,
        client_id: &str,
        reason: &str,
        max_overlap_hours: Option<u32>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE partner_clients SET decision_reason = $1, max_overlap_hours = $2 \
             WHERE client_id = $3",
        )
        .bind(reason)
        .bind(max_overlap_hours.map(i64::from))
        .bind(client_id)
        .execute(&self.writer)
        .await
        .map_err(map_err)?;
        Ok(())
    }

    /// Marks the client's first secret as shown; false when it already was (shown once).
    pub async fn mark_secret_revealed(&self, client_id: &str, now: UnixTime) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE partner_clients SET secret_revealed_at = $1 \
             WHERE client_id = $2 AND secret_revealed_at IS NULL",
        )
        .bind(now)
        .bind(client_id)
        .execute(&self.writer)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn insert_notification(&self, notification: &Notification) -> StoreResult<()> {
        let sql = format!(
            "INSERT INTO partner_notifications ({NOTIFICATION_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)"
        );
        sqlx::query(&sql)
            .bind(&notification.id)
            .bind(&notification.organisation_id)
            .bind(notification.at)
            .bind(&notification.kind)
            .bind(&notification.target)
            .bind(&notification.message)
            .bind(notification.read_at)
            .execute(&self.writer)
            .await
            .map_err(map_err)?;
        Ok(())
    }

    /// An organisation's notifications, newest first.
    pub async fn notifications(
        &self,
        organisation_id: &str,
        limit: u32,
    ) -> StoreResult<Vec<Notification>> {
        let sql = format!(
            "SELECT {NOTIFICATION_COLUMNS} FROM partner_notifications \
             WHERE organisation_id = $1 ORDER BY at DESC, id LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(organisation_id)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(notification_from_row).collect()
    }

    /// How many of the organisation's notifications are unread (every console page shows it).
    pub async fn unread_notifications(&self, organisation_id: &str) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM partner_notifications \
             WHERE organisation_id = $1 AND read_at IS NULL",
        )
        .bind(organisation_id)
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Marks every unread notification of the organisation read.
    pub async fn mark_notifications_read(
        &self,
        organisation_id: &str,
        now: UnixTime,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE partner_notifications SET read_at = $1 \
             WHERE organisation_id = $2 AND read_at IS NULL",
        )
        .bind(now)
        .bind(organisation_id)
        .execute(&self.writer)
        .await
        .map_err(map_err)?;
        Ok(())
    }
}
