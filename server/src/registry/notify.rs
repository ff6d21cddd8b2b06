//! The façade's notifications: subscriptions, planning alerts into the
//! outbox (with the public item each message carries) and the delivery log.

use shared::api::ApiError;
use shared::feed::{item_of_any, Sources};
use shared::notify::{Message, Subscription, SubscriptionDraft};

use super::Registry;
use crate::notify::{self, Planned};

/// How many alerts one planning pass takes.
const PLAN_BATCH: i64 = 200;

impl Registry {
    pub async fn create_subscription(
        &self,
        actor: &str,
        user_id: i64,
        d: &SubscriptionDraft,
    ) -> Result<(Subscription, Option<String>), ApiError> {
        notify::create(&self.log, actor, user_id, d).await
    }

    /// A user's subscriptions, or every one (`None`).
    pub async fn subscriptions(&self, user_id: Option<i64>) -> Result<Vec<Subscription>, ApiError> {
        notify::list(&self.log, user_id).await
    }

    pub async fn remove_subscription(
        &self,
        actor: &str,
        user_id: i64,
        id: i64,
    ) -> Result<(), ApiError> {
        notify::remove(&self.log, actor, user_id, id).await
    }

    /// Outbox messages with their delivery logs, newest first.
    pub async fn outbox(
        &self,
        user_id: Option<i64>,
        subscription_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<Message>, ApiError> {
        notify::messages(&self.log, user_id, subscription_id, limit).await
    }

    /// Plans the alerts raised since the last pass into the outbox: one
    /// message per alert and subscription that takes it. Reads only, when
    /// there is no new alert. Returns how many messages were added.
    pub async fn plan_notifications(&self) -> Result<usize, ApiError> {
        let from = notify::cursor(&self.log).await?;
        let alerts = crate::watch::alerts_after(&self.log, from, PLAN_BATCH).await?;
        let Some(to) = alerts.last().map(|a| a.id) else {
            return Ok(0);
        };
        let subs = notify::list(&self.log, None).await?;
        let mut planned = Vec::new();
        if !subs.is_empty() {
            let faults = self.faults(true).await?;
            let src = Sources {
                faults: &faults,
                cables: self.cables(),
                stations: self.stations(),
            };
            for a in &alerts {
                let Some(item) = item_of_any(a, &src, None) else {
                    continue;
                };
                for s in subs.iter().filter(|s| s.takes(&item)) {
                    planned.push(Planned {
                        alert_id: a.id,
                        subscription: s.clone(),
                        item: item.clone(),
                    });
                }
            }
        }
        notify::enqueue(&self.log, from, to, &planned).await
    }
}
