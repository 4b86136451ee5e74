//! Sweeps split over machines: `--shard I/N` plans one contiguous slice of the scenario
//! list, and `merge` joins the shards' `whatif.json` documents back into one, in the order an
//! unsharded run gives.

use super::compare::WhatIf;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The I-th (from 0, as a Job's completion index counts) of N slices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Shard {
    /// From 0.
    pub index: u32,
    /// How many slices.
    pub count: u32,
}

impl std::str::FromStr for Shard {
    type Err = String;

    /// `I/N` with 0 ≤ I < N.
    fn from_str(s: &str) -> Result<Shard, String> {
        let parsed = s
            .split_once('/')
            .and_then(|(i, n)| Some((i.parse::<u32>().ok()?, n.parse::<u32>().ok()?)));
        match parsed {
            Some((index, count)) if index < count => Ok(Shard { index, count }),
            _ => Err(format!(
                "`{s}`: write I/N with 0 ≤ I < N (I counts from 0, as a Job's completion index)"
            )),
        }
    }
}

impl Shard {
    /// The range of `len` items this shard takes: slices differ in length by at most one,
    /// the longer ones first.
    pub fn range(self, len: usize) -> std::ops::Range<usize> {
        let (i, n) = (self.index as usize, self.count as usize);
        let (base, extra) = (len / n, len % n);
        let start = i * base + i.min(extra);
        start..start + base + usize::from(i < extra)
    }
}

/// Why shards cannot be merged.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MergeError {
    /// Nothing to merge.
    #[error("no what-if results to merge")]
    Empty,
    /// A document is not a shard of a run with the others' count.
    #[error("result {0}: {1}")]
    Mismatch(usize, String),
}

/// Joins the results of the shards of one run: same baseline, every shard exactly once.
pub fn merge(mut parts: Vec<WhatIf>) -> Result<WhatIf, MergeError> {
    let first = parts.first().ok_or(MergeError::Empty)?;
    let count = first.shard.map_or(1, |s| s.count);
    if parts.len() != count as usize {
        return Err(MergeError::Mismatch(
            0,
            format!(
                "the run has {count} shards, {} results were given",
                parts.len()
            ),
        ));
    }
    let baseline = first.baseline.clone();
    for (i, p) in parts.iter().enumerate() {
        if p.shard.map_or(1, |s| s.count) != count {
            return Err(MergeError::Mismatch(
                i + 1,
                "a shard of a run with another number of shards".into(),
            ));
        }
        if p.baseline != baseline {
            return Err(MergeError::Mismatch(
                i + 1,
                "planned from another baseline than the first".into(),
            ));
        }
    }
    parts.sort_by_key(|p| p.shard.map_or(0, |s| s.index));
    if let Some(i) = parts
        .iter()
        .enumerate()
        .position(|(k, p)| p.shard.map_or(0, |s| s.index) as usize != k)
    {
        return Err(MergeError::Mismatch(
            i + 1,
            "shard indices repeat or leave a gap".into(),
        ));
    }
    let mut merged = WhatIf::new(baseline, Vec::new());
    for p in parts {
        merged.scenarios.extend(p.scenarios);
        merged.compaction = merged.compaction.or(p.compaction);
        if merged.growth.is_empty() {
            merged.growth = p.growth;
        }
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_cover_the_list_once_in_order() {
        for len in 0..20 {
            for n in 1..7 {
                let all: Vec<usize> = (0..n)
                    .flat_map(|i| Shard { index: i, count: n }.range(len))
                    .collect();
                assert_eq!(all, (0..len).collect::<Vec<_>>(), "{len} in {n}");
            }
        }
    }

    #[test]
    fn shards_parse() {
        assert_eq!("0/4".parse(), Ok(Shard { index: 0, count: 4 }));
        assert!("4/4".parse::<Shard>().is_err());
        assert!("1".parse::<Shard>().is_err());
    }
}
