//! What makes one plan better than another: one type, used wherever the search compares
//! packed pools, groupings or whole plans, so that every comparison means the same.

use crate::plan::Disruption;
use std::ops::Add;

/// The quality of a plan or of one packed pool, compared field by field in order: fewer
/// unplaced replicas, then fewer unmet pool rules, then lower cost, then less disruption
/// (replicas moved, then nodes relabelled, against the plan the cluster runs), then fewer
/// nodes. Placing everything always beats saving money.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Score {
    pub unplaced: u64,
    pub unmet: usize,
    /// Cost per hour in millionths, plus the price of disruption where one is set (see
    /// [`Score::with_disruption`]).
    pub cost: u64,
    pub moved: u64,
    pub relabelled: u64,
    pub nodes: usize,
}

impl Score {
    /// Nothing unplaced, every pool rule met.
    pub fn complete(&self) -> bool {
        self.unplaced == 0 && self.unmet == 0
    }

    /// This score with the disruption of applying the plan over a previous one, each moved
    /// replica priced at `per_move` (millionths per hour) on top of the cost: a cheaper plan
    /// wins only when it saves more than it disturbs.
    pub fn with_disruption(self, disruption: Disruption, per_move: u64) -> Score {
        Score {
            cost: per_move
                .saturating_mul(disruption.moved_replicas)
                .saturating_add(self.cost),
            moved: disruption.moved_replicas,
            relabelled: disruption.relabelled_nodes,
            ..self
        }
    }
}

impl Add for Score {
    type Output = Score;

    fn add(self, o: Score) -> Score {
        Score {
            unplaced: self.unplaced + o.unplaced,
            unmet: self.unmet + o.unmet,
            cost: self.cost + o.cost,
            moved: self.moved + o.moved,
            relabelled: self.relabelled + o.relabelled,
            nodes: self.nodes + o.nodes,
        }
    }
}

impl std::iter::Sum for Score {
    fn sum<I: Iterator<Item = Score>>(iter: I) -> Score {
        iter.fold(Score::default(), Add::add)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placing_beats_meeting_rules_beats_cost_beats_disruption_beats_nodes() {
        let base = Score {
            unplaced: 1,
            unmet: 1,
            cost: 100,
            moved: 1,
            relabelled: 1,
            nodes: 1,
        };
        let better = [
            Score {
                unplaced: 0,
                unmet: 9,
                cost: 900,
                moved: 9,
                relabelled: 9,
                nodes: 9,
            },
            Score {
                unmet: 0,
                cost: 900,
                moved: 9,
                relabelled: 9,
                nodes: 9,
                ..base
            },
            Score {
                cost: 99,
                moved: 9,
                relabelled: 9,
                nodes: 9,
                ..base
            },
            Score {
                moved: 0,
                relabelled: 9,
                nodes: 9,
                ..base
            },
            Score {
                relabelled: 0,
                nodes: 9,
                ..base
            },
            Score { nodes: 0, ..base },
        ];
        for b in better {
            assert!(b < base, "{b:?}");
        }
    }

    #[test]
    fn disruption_is_priced_into_the_cost() {
        let s = Score {
            cost: 1_000,
            nodes: 2,
            ..Score::default()
        }
        .with_disruption(
            Disruption {
                moved_replicas: 3,
                relabelled_nodes: 1,
            },
            200,
        );
        assert_eq!((s.cost, s.moved, s.relabelled, s.nodes), (1_600, 3, 1, 2));
        let total: Score = [s, s].into_iter().sum();
        assert_eq!((total.cost, total.moved, total.nodes), (3_200, 6, 4));
    }
}
