//! Pool names, shared by the solver and the baselines. A pool's name is its node label and
//! taint value, so a name that changes relabels and re-taints every node of the pool and rolls
//! every workload in it; names therefore never depend on a pool's position among the others.
//!
//! A pool is named, in this order of precedence:
//! 0. the pool of platform workloads is `platform`, a name no other pool takes;
//! 1. by the Policy (`spec.pools`): a class matches an entry when every workload of the class
//!    does, and the first matching entry wins; a pool takes the first entry any of its
//!    classes matches. When one entry's classes end up in several pools, the pool holding the
//!    most sensitive of them (see `ClassKey`) takes the name and the others are named as if
//!    no entry matched them (a name is one label value, so it can name one pool only);
//! 2. after the pool of a previous plan (`plan --previous`) it shares the most workloads with,
//!    so that a re-plan relabels no node of a pool that persists (see [`match_previous`]);
//! 3. from its most sensitive class: the class's `separateBy` values as a DNS label
//!    (`restricted-internal-first-party`, or `dedicated-ci-ci-runner` for a dedicated
//!    workload), which no other class can change. A slug that is empty, longer than 63
//!    characters, already taken, or the slug of another pool too, ends in a short hash of the
//!    class name instead.

use crate::model::names::dns_label_problem;
use crate::model::Model;
use crate::model::PLATFORM_CLASS;
use crate::plan::PLATFORM_POOL;
use crate::plan::{Plan, Pool};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};

/// Characters of the hash suffix (hex); with the dash before it, what a hashed name gives up
/// of the 63 a DNS label may have.
const HASH_CHARS: usize = 8;

/// The names of `pools`, where `pools[i]` lists the workloads (model indices) of pool i.
pub fn pool_names(model: &Model, pools: &[Vec<usize>], previous: Option<&Plan>) -> Vec<String> {
    let classes: Vec<BTreeMap<String, Vec<usize>>> =
        pools.iter().map(|ws| classes_of(model, ws)).collect();
    // 0. The platform pool is always `platform`, and no other pool may take that name.
    let mut names: Vec<Option<String>> = classes
        .iter()
        .map(|cs| {
            cs.contains_key(PLATFORM_CLASS)
                .then(|| PLATFORM_POOL.to_string())
        })
        .collect();
    let mut taken: BTreeSet<String> = BTreeSet::from([PLATFORM_POOL.to_string()]);

    // 1. The Policy: per entry, the pool holding its most sensitive matched class.
    let mut claims: BTreeMap<usize, (ClassKey, usize)> = BTreeMap::new();
    for (p, cs) in classes.iter().enumerate() {
        if names[p].is_some() {
            continue;
        }
        let first = cs
            .iter()
            .filter_map(|(name, ws)| Some((entry_of(model, ws)?, class_key(model, name, ws))))
            .min();
        if let Some((entry, key)) = first {
            let claim = claims.entry(entry).or_insert((key.clone(), p));
            if key < claim.0 {
                *claim = (key, p);
            }
        }
    }
    for (entry, (_, p)) in claims {
        let name = model.policy.pools[entry].name.clone();
        taken.insert(name.clone());
        names[p] = Some(name);
    }

    // 2. The previous plan's names, for pools that persist.
    if let Some(previous) = previous {
        let ids: Vec<Vec<&str>> = pools
            .iter()
            .map(|ws| ws.iter().map(|&w| model.workloads[w].id.as_str()).collect())
            .collect();
        let unnamed: Vec<bool> = names.iter().map(Option::is_none).collect();
        for (p, old) in match_previous(&ids, previous, |p, old| {
            unnamed[p] && dns_label_problem(old).is_none() && !taken.contains(old)
        })
        .into_iter()
        .enumerate()
        {
            if let Some(old) = old {
                let name = previous.pools[old].name.clone();
                taken.insert(name.clone());
                names[p] = Some(name);
            }
        }
    }

    // 3. Derived from the most sensitive class.
    let top: Vec<Option<(String, String)>> = classes
        .iter()
        .zip(&names)
        .map(|(cs, name)| {
            if name.is_some() {
                return None;
            }
            let (class, ws) = cs
                .iter()
                .min_by_key(|(name, ws)| class_key(model, name, ws))
                .map_or(("", &[][..]), |(c, ws)| (c.as_str(), ws.as_slice()));
            Some((class.to_string(), slug(model, class, ws)))
        })
        .collect();
    let mut uses: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, s) in top.iter().flatten() {
        *uses.entry(s.as_str()).or_default() += 1;
    }
    let plain = |s: &str| uses[s] == 1 && !s.is_empty() && dns_label_problem(s).is_none();
    for (p, t) in top.iter().enumerate() {
        if let Some((_, s)) = t.as_ref().filter(|(_, s)| plain(s) && !taken.contains(s)) {
            taken.insert(s.clone());
            names[p] = Some(s.clone());
        }
    }
    for (p, t) in top.iter().enumerate() {
        if let (None, Some((class, s))) = (&names[p], t) {
            let name = hashed(s, class, &taken);
            taken.insert(name.clone());
            names[p] = Some(name);
        }
    }
    names
        .into_iter()
        .map(|n| n.expect("every pool named"))
        .collect()
}

/// For each new pool (`pools[i]`: its workload ids), the index of the previous plan's pool it
/// persists as: pairs are taken by the number of workloads they share, largest first (ties by
/// new pool, then previous pool, in order), each pool on either side at most once, and only
/// pairs sharing a workload and passing `allowed(new pool, previous name)`.
pub fn match_previous(
    pools: &[Vec<&str>],
    previous: &Plan,
    allowed: impl Fn(usize, &str) -> bool,
) -> Vec<Option<usize>> {
    let mut pool_of: BTreeMap<&str, usize> = BTreeMap::new();
    for (o, pool) in previous.pools.iter().enumerate() {
        for w in &pool.workloads {
            pool_of.entry(w).or_insert(o);
        }
    }
    let mut overlap: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for (p, ws) in pools.iter().enumerate() {
        for w in ws {
            if let Some(&o) = pool_of.get(w) {
                *overlap.entry((p, o)).or_default() += 1;
            }
        }
    }
    let mut pairs: Vec<(Reverse<usize>, usize, usize)> = overlap
        .into_iter()
        .map(|((p, o), n)| (Reverse(n), p, o))
        .collect();
    pairs.sort_unstable();
    let mut matched = vec![None; pools.len()];
    let mut used = vec![false; previous.pools.len()];
    for (_, p, o) in pairs {
        if matched[p].is_none() && !used[o] && allowed(p, &previous.pools[o].name) {
            matched[p] = Some(o);
            used[o] = true;
        }
    }
    matched
}

/// Gives every pool of `plan` its name by [`pool_names`] (without a previous plan): for plans
/// built under provisional names, such as the baselines'.
pub fn name_plan(model: &Model, plan: &mut Plan) {
    let pools: Vec<Vec<usize>> = plan.pools.iter().map(|p| workloads_in(model, p)).collect();
    let names = pool_names(model, &pools, None);
    plan.rename_pools(&names);
}

/// The Policy's `pools` entries whose classes `plan` puts in several pools, as (entry name,
/// those pools' names, sorted): only one of them can carry the name (see the module docs).
pub fn split_entries(model: &Model, plan: &Plan) -> Vec<(String, Vec<String>)> {
    let mut pools_of: BTreeMap<usize, BTreeSet<&str>> = BTreeMap::new();
    for pool in &plan.pools {
        for ws in classes_of(model, &workloads_in(model, pool)).values() {
            if let Some(entry) = entry_of(model, ws) {
                pools_of.entry(entry).or_default().insert(&pool.name);
            }
        }
    }
    pools_of
        .into_iter()
        .filter(|(_, pools)| pools.len() > 1)
        .map(|(e, pools)| {
            (
                model.policy.pools[e].name.clone(),
                pools.into_iter().map(String::from).collect(),
            )
        })
        .collect()
}

/// The model indices of a plan pool's workloads (unknown ids left out).
fn workloads_in(model: &Model, pool: &Pool) -> Vec<usize> {
    pool.workloads
        .iter()
        .filter_map(|id| model.workload_index(id))
        .collect()
}

/// A pool's workloads by class name.
fn classes_of(model: &Model, workloads: &[usize]) -> BTreeMap<String, Vec<usize>> {
    let mut out: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for &w in workloads {
        out.entry(model.class_name(&model.workloads[w]))
            .or_default()
            .push(w);
    }
    out
}

/// Orders classes most sensitive first (the highest `sensitivityLevels` index of any of its
/// workloads), then by class name.
type ClassKey = (Reverse<usize>, String);

fn class_key(model: &Model, name: &str, workloads: &[usize]) -> ClassKey {
    let levels = &model.policy.sensitivity_levels;
    let level = workloads
        .iter()
        .filter_map(|&w| {
            let s = model.workloads[w].attribute("sensitivity");
            levels.iter().position(|l| l == s)
        })
        .max()
        .unwrap_or(0);
    (Reverse(level), name.to_string())
}

/// The first `spec.pools` entry every workload of a class matches.
fn entry_of(model: &Model, workloads: &[usize]) -> Option<usize> {
    model.policy.pools.iter().position(|e| {
        workloads
            .iter()
            .all(|&w| model.workloads[w].matches(&e.matches))
    })
}

/// The readable name of a class: its `separateBy` values (empty ones left out), or
/// `dedicated-` and the workload id, lower-cased, every other character a dash.
fn slug(model: &Model, class: &str, workloads: &[usize]) -> String {
    let Some(&w) = workloads.first() else {
        return String::new();
    };
    let w = &model.workloads[w];
    let raw = if w.dedicated {
        format!("dedicated-{}", w.id)
    } else if model.policy.separate_by.is_empty() {
        class.to_string()
    } else {
        model
            .policy
            .separate_by
            .iter()
            .map(|a| w.attribute(a))
            .filter(|v| !v.is_empty())
            .collect::<Vec<_>>()
            .join("-")
    };
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// `slug` cut to fit, then `-` and a hash of the class name, salted until no name in `taken`
/// equals it.
fn hashed(slug: &str, class: &str, taken: &BTreeSet<String>) -> String {
    let room = 63 - HASH_CHARS - 1;
    let base: String = slug.chars().take(room).collect();
    let base = match base.trim_end_matches('-') {
        "" => "pool",
        b => b,
    };
    (0u32..)
        .map(|salt| {
            let key = if salt == 0 {
                class.to_string()
            } else {
                format!("{class}#{salt}")
            };
            format!("{base}-{:0width$x}", fnv1a(&key), width = HASH_CHARS)
        })
        .find(|name| !taken.contains(name))
        .expect("some salt is free")
}

/// FNV-1a, folded to 32 bits: stable across platforms and releases, unlike `std`'s hasher.
fn fnv1a(s: &str) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (h ^ (h >> 32)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{model, node, policy, workload};

    fn names_of(m: &Model, pools: &[&[&str]]) -> Vec<String> {
        let pools: Vec<Vec<usize>> = pools
            .iter()
            .map(|ids| {
                ids.iter()
                    .map(|id| m.workload_index(&format!("default/{id}")).unwrap())
                    .collect()
            })
            .collect();
        pool_names(m, &pools, None)
    }

    #[test]
    fn a_pool_is_named_after_its_most_sensitive_class() {
        let m = model(&[
            &policy("shareWhen: [{sensitivity: [public, internal]}]"),
            &workload("web", "sensitivity: public, exposure: internet"),
            &workload(
                "api",
                "sensitivity: internal, exposure: internet, trust: first-party",
            ),
            &workload("ci", "sensitivity: internal, dedicated: true"),
            &node("a", "", ""),
        ]);
        assert_eq!(
            names_of(&m, &[&["web", "api"], &["ci"]]),
            ["internal-internet-first-party", "dedicated-default-ci"]
        );
    }

    #[test]
    fn names_do_not_depend_on_other_pools() {
        let base = [
            &workload("db", "sensitivity: confidential, exposure: internal") as &str,
            &workload("web", "sensitivity: public, exposure: internet"),
            &node("a", "", ""),
        ];
        let m = model(&base);
        let before = names_of(&m, &[&["db"], &["web"]]);
        let mut more = base.to_vec();
        let extra = workload("aaa", "sensitivity: internal, exposure: partner");
        more.push(&extra);
        let m = model(&more);
        let after = names_of(&m, &[&["aaa"], &["db"], &["web"]]);
        assert_eq!(after[1..], before[..]);
    }

    #[test]
    fn slugs_that_collide_or_run_long_get_a_hash() {
        let long = "x".repeat(70);
        let m = model(&[
            &policy("separateBy: [sensitivity, purpose]"),
            &workload("a", "sensitivity: public, purpose: a-b"),
            &workload("b", "sensitivity: public, purpose: a_b"),
            &workload("c", &format!("sensitivity: public, purpose: {long}")),
            &node("a", "", ""),
        ]);
        let names = names_of(&m, &[&["a"], &["b"], &["c"]]);
        assert!(names[0].starts_with("public-a-b-"), "{names:?}");
        assert!(names[1].starts_with("public-a-b-"), "{names:?}");
        assert_ne!(names[0], names[1]);
        for n in &names {
            assert_eq!(dns_label_problem(n), None, "{n}");
        }
        assert_eq!(names[2].len(), 63);
        assert_eq!(names, names_of(&m, &[&["a"], &["b"], &["c"]]), "stable");
    }

    #[test]
    fn the_policy_names_pools_first_match_wins() {
        let m = model(&[
            &policy(
                "pools: [{name: web, match: {sensitivity: [public]}}, {name: data, match: {sensitivity: [public, confidential]}}]",
            ),
            &workload("web", "sensitivity: public"),
            &workload("db", "sensitivity: confidential"),
            &workload("cache", "sensitivity: confidential, exposure: internal"),
            &node("a", "", ""),
        ]);
        // `data` matches both confidential classes; the pool holding the first by name
        // (`…exposure=,…` sorts before `…exposure=internal,…`) takes it.
        assert_eq!(
            names_of(&m, &[&["web"], &["cache"], &["db"]]),
            ["web", "confidential-internal", "data"]
        );
        let plan = crate::baseline::ffd_one_pool_per_class(&m);
        assert_eq!(
            split_entries(&m, &plan),
            [(
                "data".to_string(),
                vec!["confidential-internal".to_string(), "data".to_string()]
            )]
        );
    }

    #[test]
    fn previous_names_persist_and_the_policy_wins_over_them() {
        let m = model(&[
            &policy("pools: [{name: db, match: {sensitivity: [confidential]}}]"),
            &workload("web", "sensitivity: public"),
            &workload("web2", "sensitivity: public"),
            &workload("api", "sensitivity: public, exposure: x"),
            &workload("db", "sensitivity: confidential"),
            &node("a", "", ""),
        ]);
        let mut previous = crate::baseline::ffd_one_pool_per_class(&m);
        let old: Vec<String> = previous
            .pools
            .iter()
            .map(|p| format!("old-{}", p.workloads[0].trim_start_matches("default/")))
            .collect();
        previous.rename_pools(&old);
        let ws = |ids: &[&str]| -> Vec<usize> {
            ids.iter()
                .map(|id| m.workload_index(&format!("default/{id}")).unwrap())
                .collect()
        };
        // web and api now share a pool: it persists as web's, with which it shares two
        // workloads; the Policy's name beats `old-db`.
        let pools = [ws(&["api", "web", "web2"]), ws(&["db"])];
        assert_eq!(pool_names(&m, &pools, Some(&previous)), ["old-web", "db"]);
        // Without the previous plan, the names are derived.
        assert_eq!(pool_names(&m, &pools, None), ["public", "db"]);
    }
}
