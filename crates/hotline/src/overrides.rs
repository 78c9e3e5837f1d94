//! How often operators override the router, per model version and topic:
//! the first place a supervisor sees that routing has drifted.

use std::collections::BTreeMap;

use hotline_store::DecisionRow;
use serde::Serialize;

/// The router's decisions of one model for one topic, and how many an
/// operator changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OverrideCount {
    pub routed: u64,
    pub overridden: u64,
}

impl OverrideCount {
    pub fn rate(&self) -> f64 {
        if self.routed == 0 {
            0.0
        } else {
            self.overridden as f64 / self.routed as f64
        }
    }
}

/// model version → topic the router chose → counts. Tickets whose topic a
/// person gave from the start (at intake or from an imported file) are not
/// router decisions and are left out; so are decisions of models too old to
/// record their version (`unversioned`). Built from the store's counted rows
/// (`Store::router_decisions`), never from a scan of the tickets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OverrideReport {
    pub by_model: BTreeMap<String, BTreeMap<String, OverrideCount>>,
}

impl OverrideReport {
    /// Sums the rows of the districts `district_allowed` accepts.
    pub fn from_rows(
        rows: &[DecisionRow],
        district_allowed: impl Fn(Option<&str>) -> bool,
    ) -> Self {
        let mut report = OverrideReport::default();
        for row in rows
            .iter()
            .filter(|r| district_allowed(r.district.as_deref()))
        {
            let count = report
                .by_model
                .entry(row.model.clone())
                .or_default()
                .entry(row.topic.clone())
                .or_default();
            count.routed += row.routed;
            count.overridden += row.overridden;
        }
        report
    }

    /// All topics of one model together.
    pub fn total(&self, model: &str) -> OverrideCount {
        let mut total = OverrideCount::default();
        for count in self
            .by_model
            .get(model)
            .into_iter()
            .flat_map(|t| t.values())
        {
            total.routed += count.routed;
            total.overridden += count.overridden;
        }
        total
    }
}

#[cfg(test)]
mod tests {
    //! Sums over districts and the district filter.
    use super::*;

    fn row(
        model: &str,
        topic: &str,
        district: Option<&str>,
        routed: u64,
        overridden: u64,
    ) -> DecisionRow {
        DecisionRow {
            model: model.into(),
            topic: topic.into(),
            district: district.map(str::to_owned),
            routed,
            overridden,
        }
    }

    #[test]
    fn rows_sum_per_model_and_topic_within_the_allowed_districts() {
        let rows = [
            row("m-a", "parks", Some("朝阳区"), 2, 1),
            row("m-a", "parks", Some("海淀区"), 1, 0),
            row("m-a", "parks", None, 3, 3),
            row("m-b", "other", Some("朝阳区"), 1, 0),
        ];
        let all = OverrideReport::from_rows(&rows, |_| true);
        let parks = &all.by_model["m-a"]["parks"];
        assert_eq!((parks.routed, parks.overridden), (6, 4));
        assert!((parks.rate() - 4.0 / 6.0).abs() < 1e-12);
        assert_eq!(
            all.total("m-b"),
            OverrideCount {
                routed: 1,
                overridden: 0
            }
        );
        let chaoyang = OverrideReport::from_rows(&rows, |d| d == Some("朝阳区"));
        assert_eq!(
            chaoyang.total("m-a"),
            OverrideCount {
                routed: 2,
                overridden: 1
            }
        );
        assert_eq!(OverrideCount::default().rate(), 0.0);
    }
}
