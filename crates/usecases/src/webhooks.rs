//! Channels are told: registering webhooks and reading their deliveries. The deliveries
//! themselves are made by `rendan-webhooks` from the outbox the store writes with every
//! status change.

use crate::fingerprint::Fingerprint;
use crate::{Error, UseCases, forbidden, idem};
use rendan_domain::Invalid;
use rendan_domain::access::{Principal, PrincipalName, Role};
use rendan_domain::idempotency::Key;
use rendan_domain::webhook::{NewWebhook, Webhook};
use rendan_store::{CreateWebhook, DeliveryAttempt, Outcome, StoreError};

/// Most attempts one page of deliveries holds.
pub const MAX_DELIVERIES_PAGE: u32 = 500;

impl UseCases {
    /// Registers a webhook on the status changes of a channel's orders: a channel's own, or
    /// (an admin's request) those of the channel named.
    pub async fn create_webhook(
        &self,
        caller: &Principal,
        key: Key,
        hook: NewWebhook,
        channel: Option<PrincipalName>,
    ) -> Result<Outcome<Webhook>, Error> {
        let target = match (&caller.role, channel) {
            (Role::Channel, None) => Ok(caller.id),
            (Role::Channel, Some(name)) if name.as_str() == caller.name => Ok(caller.id),
            (Role::Channel, Some(_)) => {
                return Err(Error::Forbidden {
                    message: "a channel registers webhooks for its own orders only".into(),
                    field: Some("channel".into()),
                });
            }
            (Role::Admin, Some(name)) => Err(name),
            (Role::Admin, None) => {
                return Err(Invalid::new("channel", "an admin names the channel").into());
            }
            _ => return Err(forbidden("only channel and admin tokens register webhooks")),
        };
        let mut f = Fingerprint::new("create_webhook");
        f.text(&hook.url).text(&hook.secret);
        for e in &hook.events {
            f.text(e.as_str());
        }
        match &target {
            Ok(id) => f.int(*id),
            Err(name) => f.text(name.as_str()),
        };
        Ok(self
            .inner
            .store
            .create_webhook(CreateWebhook {
                channel: target,
                hook,
                now: self.now(),
                idem: Some(idem(caller, &key, f.finish())),
            })
            .await?)
    }

    /// The webhooks the caller may see: a channel's own, every one for an admin.
    pub async fn webhooks(&self, caller: &Principal) -> Result<Vec<Webhook>, Error> {
        let channel = match caller.role {
            Role::Admin => None,
            Role::Channel => Some(caller.id),
            _ => return Err(forbidden("only channel and admin tokens read webhooks")),
        };
        Ok(self.inner.store.webhooks(channel).await?)
    }

    /// A page of a webhook's delivery attempts, oldest first, after attempt id `after`.
    pub async fn deliveries(
        &self,
        caller: &Principal,
        webhook: i64,
        after: i64,
        limit: u32,
    ) -> Result<Vec<(i64, DeliveryAttempt)>, Error> {
        if !self.webhooks(caller).await?.iter().any(|w| w.id == webhook) {
            return Err(StoreError::NotFound(format!("webhook {webhook}")).into());
        }
        Ok(self
            .inner
            .store
            .delivery_attempts(webhook, after, limit.min(MAX_DELIVERIES_PAGE))
            .await?)
    }
}
