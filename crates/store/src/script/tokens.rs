//! Tokens and their principals.

use super::recalled;
use crate::tx::{Fail, Remembered, Tx};
use crate::{Idem, NewTokenRecord, Outcome, StoreError, TokenInfo};
use jiff::Timestamp;
use rendan_domain::access::check_new_token;

/// Stores a token for its principal, creating the principal on first use; a principal's
/// tokens share its role. A retry with `idem` answers the token the first request created.
pub async fn create_token(
    tx: &mut dyn Tx,
    token: &NewTokenRecord,
    idem: Option<&Idem>,
) -> Result<Outcome<TokenInfo>, Fail> {
    if let Some(seen) = recalled(tx, "create_token", idem).await? {
        let info = tx
            .token(seen.ref_id)
            .await?
            .ok_or_else(|| StoreError::Backend(format!("token {} vanished", seen.ref_id)))?;
        return Ok(Outcome::Replayed(info));
    }
    if let Some(crew) = token.role.crew()
        && tx.crew(crew).await?.is_none()
    {
        return Err(StoreError::Invalid(rendan_domain::Invalid::new(
            "crew",
            format!("unknown crew {crew}"),
        ))
        .into());
    }
    let existing = tx.principal_named(&token.principal).await?;
    check_new_token(
        &token.principal,
        existing.as_ref().map(|(_, role)| role),
        &token.role,
    )?;
    let principal_id = match existing {
        Some((id, _)) => id,
        None => {
            tx.insert_principal(&token.principal, &token.role, token.now)
                .await?
        }
    };
    let id = tx.insert_token(token, principal_id).await?;
    if let Some(idem) = idem {
        tx.remember("create_token", idem, &Remembered::of(id), token.now)
            .await?;
    }
    Ok(Outcome::Created(TokenInfo {
        id,
        principal_id,
        principal: token.principal.to_string(),
        role: token.role.clone(),
        label: token.label.clone(),
        created_at: token.now,
        revoked_at: None,
    }))
}

/// Revokes a token; a revoked token stays revoked at its first revocation time, and its
/// principal keeps its orders.
pub async fn revoke_token(tx: &mut dyn Tx, id: i64, now: Timestamp) -> Result<TokenInfo, Fail> {
    tx.revoke_token(id, now).await?;
    Ok(tx
        .token(id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("token {id}")))?)
}
