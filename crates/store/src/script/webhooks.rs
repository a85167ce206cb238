//! Registering webhooks and recording delivery attempts.

use super::recalled;
use crate::tx::{Fail, Remembered, Tx};
use crate::{CreateWebhook, DeliveryAttempt, Outcome, StoreError};
use rendan_domain::Invalid;
use rendan_domain::access::Role;
use rendan_domain::webhook::Webhook;

/// Registers a webhook for a channel; a retry with the command's key answers the same one.
pub async fn create_webhook(
    tx: &mut dyn Tx,
    cmd: &CreateWebhook,
) -> Result<Outcome<Webhook>, Fail> {
    if let Some(seen) = recalled(tx, "create_webhook", cmd.idem.as_ref()).await? {
        return Ok(Outcome::Replayed(webhook_of(tx, seen.ref_id).await?));
    }
    let channel = match &cmd.channel {
        Ok(id) => *id,
        Err(name) => match tx.principal_named(name).await? {
            Some((id, Role::Channel)) => id,
            Some(_) => {
                return Err(StoreError::Invalid(Invalid::new(
                    "channel",
                    format!("{name} is not a channel"),
                ))
                .into());
            }
            None => {
                return Err(StoreError::Invalid(Invalid::new(
                    "channel",
                    format!("unknown channel {name}"),
                ))
                .into());
            }
        },
    };
    let id = tx.insert_webhook(channel, &cmd.hook, cmd.now).await?;
    if let Some(idem) = &cmd.idem {
        tx.remember("create_webhook", idem, &Remembered::of(id), cmd.now)
            .await?;
    }
    Ok(Outcome::Created(webhook_of(tx, id).await?))
}

async fn webhook_of(tx: &mut dyn Tx, id: i64) -> Result<Webhook, Fail> {
    tx.webhook(id)
        .await?
        .ok_or_else(|| StoreError::Backend(format!("webhook {id} vanished")).into())
}

/// Records a delivery attempt and moves its outbox row on (delivered, retried later or given
/// up). Recording an attempt of a row no longer pending (a crash lost the first record and
/// the delivery was made again) keeps the log and changes nothing else.
pub async fn record_attempt(tx: &mut dyn Tx, attempt: &DeliveryAttempt) -> Result<(), Fail> {
    tx.record_attempt(attempt).await
}
