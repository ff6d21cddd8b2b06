//! The façade's public feed: the alerts and the faults they are about, made
//! public items (`shared::feed`). Reality's items, and in an exercise its
//! layer's items (marked `Exercise`) with them.

use shared::api::ApiError;
use shared::exercise::Exercise;
use shared::feed::{items, newest_first, Item, Sources, FEED_LEN};
use shared::resilience::Region;

use super::Registry;

/// How many of the newest alerts a feed looks through for its public items
/// (ship and stall alerts are not public, so more than the feed shows).
const ALERTS_READ: i64 = (FEED_LEN as i64) * 4;

impl Registry {
    /// The feed's items, newest first: reality's, and with `exercise` its
    /// layer's too; only those about `region` when one is named.
    pub async fn feed(
        &self,
        exercise: Option<&Exercise>,
        region: Option<Region>,
    ) -> Result<Vec<Item>, ApiError> {
        let alerts = self.alerts(false, ALERTS_READ).await?;
        let faults = self.faults(true).await?;
        let src = Sources {
            faults: &faults,
            cables: self.cables(),
            stations: self.stations(),
        };
        let mut out = items(&alerts, &src, None, region);
        if let Some(ex) = exercise {
            let layer = self.layer(ex).await?;
            let faults = layer.overlay_faults(faults.clone(), true);
            let src = Sources {
                faults: &faults,
                ..src
            };
            out.extend(items(
                &layer.alert_list(false),
                &src,
                Some((ex.id, ex.name.clone())),
                region,
            ));
            newest_first(&mut out);
        }
        Ok(out)
    }
}
