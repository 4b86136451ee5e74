//! A pod's requests exactly as Kubernetes computes them for scheduling.
//!
//! The order is the API server's: defaulting on decode (`SetDefaults_Pod` in
//! `pkg/apis/core/v1/defaults.go`: a container's limits without requests become its
//! requests), then admission (the LimitRanger plugin fills a container's missing limits and
//! requests from the namespace's LimitRanges, `plugin/pkg/admission/limitranger`; the
//! RuntimeClass plugin sets `spec.overhead`), then the sum the scheduler takes (`PodRequests`
//! in `k8s.io/component-helpers/resource/helpers.go`): the larger of the app containers plus
//! the restartable init containers (sidecars), and each init container plus the sidecars
//! started before it; pod-level `spec.resources.requests` replace the sum for cpu, memory and
//! hugepages; `spec.overhead` is added.
//!
//! The API server defaults requests from limits only for Pods, not for pod templates; the
//! pods a template makes get it when created, so templates are read as the pods they make
//! (Karpenter learnt this after a provisioning loop, karpenter-provider-aws#1573).
//!
//! Amounts are exact integers (cpu in millicores, everything else in whole units), each
//! container's rounded up as the scheduler rounds the pod's sum.

use crate::quantity::{self, Amount, Unit};
use k8s_openapi::api::core::v1::{Container, LimitRange, PodSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use std::collections::BTreeMap;

/// Resource → amount (cpu in millicores, the rest in whole units).
pub type Amounts = BTreeMap<String, Amount>;

/// A pod's requests and how they were found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodRequests {
    /// The requests the scheduler counts, zero amounts left out.
    pub total: Amounts,
    /// `(container name, resource)` of each container running as long as the pod that
    /// requests no cpu or no memory after every default: counted as zero.
    pub missing: Vec<(String, &'static str)>,
    /// What else was applied or left out, for people (`limits taken as requests`, …).
    pub notes: Vec<String>,
}

/// A quantity that is not one: its field path (from the pod spec) and the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadQuantity {
    /// E.g. `containers[0].resources.requests.cpu`.
    pub path: String,
    /// What is wrong with it.
    pub problem: String,
}

/// Resources a pod may request at pod level (`IsSupportedPodLevelResource`).
fn pod_level(resource: &str) -> bool {
    matches!(resource, "cpu" | "memory") || resource.starts_with("hugepages-")
}

/// Resources whose pod-level request defaults from the containers' (`IsOvercommitAllowed`:
/// not hugepages).
fn overcommittable(resource: &str) -> bool {
    !resource.starts_with("hugepages-")
}

fn amounts(path: &str, list: Option<&BTreeMap<String, Quantity>>) -> Result<Amounts, BadQuantity> {
    let mut out = Amounts::new();
    for (resource, q) in list.into_iter().flatten() {
        let amount =
            quantity::parse(&q.0, Unit::for_resource(resource)).map_err(|e| BadQuantity {
                path: format!("{path}.{resource}"),
                problem: e.to_string(),
            })?;
        out.insert(resource.clone(), amount);
    }
    Ok(out)
}

/// Adds `from` to `into`, resource by resource.
pub fn add(into: &mut Amounts, from: &Amounts) {
    for (r, a) in from {
        let e = into.entry(r.clone()).or_default();
        *e = e.saturating_add(*a);
    }
}

fn max_into(into: &mut Amounts, from: &Amounts) {
    for (r, a) in from {
        let e = into.entry(r.clone()).or_default();
        *e = (*e).max(*a);
    }
}

/// The container-level defaults of the namespace's LimitRanges, as the LimitRanger merges
/// them: `(defaultRequest, default)`, each LimitRange's `Container` items in order, later
/// items overriding (`defaultContainerResourceRequirements`). Each item is first defaulted
/// as the API server stores it (`SetDefaults_LimitRangeItem`): a missing default limit is the
/// max, a missing default request the default limit, else the min.
fn limit_range_defaults(ranges: &[&LimitRange]) -> Result<(Amounts, Amounts), BadQuantity> {
    let mut requests = Amounts::new();
    let mut limits = Amounts::new();
    for range in ranges {
        let items = range
            .spec
            .as_ref()
            .map(|s| s.limits.as_slice())
            .unwrap_or_default();
        for (i, item) in items.iter().enumerate() {
            if item.type_ != "Container" {
                continue;
            }
            let at = |f: &str| {
                format!(
                    "LimitRange {}: spec.limits[{i}].{f}",
                    range.metadata.name.as_deref().unwrap_or_default()
                )
            };
            let max = amounts(&at("max"), item.max.as_ref())?;
            let min = amounts(&at("min"), item.min.as_ref())?;
            let mut default = amounts(&at("default"), item.default.as_ref())?;
            let mut default_request =
                amounts(&at("defaultRequest"), item.default_request.as_ref())?;
            for (r, a) in &max {
                default.entry(r.clone()).or_insert(*a);
            }
            for (r, a) in default.iter().chain(&min) {
                default_request.entry(r.clone()).or_insert(*a);
            }
            limits.extend(default);
            requests.extend(default_request);
        }
    }
    Ok((requests, limits))
}

/// One container's requests after defaulting and the LimitRanger.
fn container_requests(
    path: &str,
    c: &Container,
    lr_requests: &Amounts,
    lr_limits: &Amounts,
    notes: &mut Vec<String>,
) -> Result<Amounts, BadQuantity> {
    let res = c.resources.as_ref();
    let mut requests = amounts(
        &format!("{path}.resources.requests"),
        res.and_then(|r| r.requests.as_ref()),
    )?;
    let mut limits = amounts(
        &format!("{path}.resources.limits"),
        res.and_then(|r| r.limits.as_ref()),
    )?;
    let mut from_limits = Vec::new();
    for (r, a) in &limits {
        if !requests.contains_key(r) {
            requests.insert(r.clone(), *a);
            from_limits.push(r.as_str());
        }
    }
    if !from_limits.is_empty() {
        notes.push(format!(
            "{path}: limits taken as requests for {}",
            from_limits.join(", ")
        ));
    }
    let mut from_range = Vec::new();
    for (r, a) in lr_limits {
        limits.entry(r.clone()).or_insert(*a);
    }
    for (r, a) in lr_requests {
        if !requests.contains_key(r) {
            requests.insert(r.clone(), *a);
            from_range.push(r.as_str());
        }
    }
    if !from_range.is_empty() {
        notes.push(format!(
            "{path}: LimitRange default requests for {}",
            from_range.join(", ")
        ));
    }
    Ok(requests)
}

/// The requests of a pod with `spec` (`at` the spec's field path, e.g. `spec.template.spec`)
/// in a namespace with `limit_ranges`; `runtime_overhead` is the overhead of the pod's
/// RuntimeClass when the spec names one and sets no overhead itself.
pub fn pod_requests(
    at: &str,
    spec: &PodSpec,
    limit_ranges: &[&LimitRange],
    runtime_overhead: Option<&BTreeMap<String, Quantity>>,
) -> Result<PodRequests, BadQuantity> {
    let (lr_requests, lr_limits) = limit_range_defaults(limit_ranges)?;
    let mut out = PodRequests::default();
    let prefix = if at.is_empty() {
        String::new()
    } else {
        format!("{at}.")
    };
    // Containers that run as long as the pod (app containers and sidecars) and request no
    // cpu or memory are reported; an init container that runs to completion is not.
    let each = |list: &str, i: usize, c: &Container, out: &mut PodRequests| {
        let path = format!("{prefix}{list}[{i}]");
        let r = container_requests(&path, c, &lr_requests, &lr_limits, &mut out.notes)?;
        let long_lived = list == "containers" || c.restart_policy.as_deref() == Some("Always");
        for resource in ["cpu", "memory"] {
            if long_lived && !r.contains_key(resource) {
                out.missing.push((c.name.clone(), resource));
            }
        }
        Ok::<_, BadQuantity>(r)
    };
    // App containers, summed.
    let mut sum = Amounts::new();
    for (i, c) in spec.containers.iter().enumerate() {
        let r = each("containers", i, c, &mut out)?;
        add(&mut sum, &r);
    }
    // Init containers: sidecars run beside the app and are summed with it; each other init
    // container runs alone with the sidecars started before it.
    let mut sidecars = Amounts::new();
    let mut init_peak = Amounts::new();
    for (i, c) in spec.init_containers.iter().flatten().enumerate() {
        let r = each("initContainers", i, c, &mut out)?;
        let use_now = if c.restart_policy.as_deref() == Some("Always") {
            add(&mut sum, &r);
            add(&mut sidecars, &r);
            sidecars.clone()
        } else {
            let mut combined = r.clone();
            add(&mut combined, &sidecars);
            combined
        };
        max_into(&mut init_peak, &use_now);
    }
    max_into(&mut sum, &init_peak);
    pod_level_requests(&prefix, spec, &mut sum, &mut out.notes)?;
    let overhead = match (&spec.overhead, runtime_overhead) {
        (Some(o), _) => Some((format!("{prefix}overhead"), o)),
        (None, Some(o)) => {
            out.notes.push(format!(
                "overhead of RuntimeClass `{}` added",
                spec.runtime_class_name.as_deref().unwrap_or_default()
            ));
            Some(("RuntimeClass overhead.podFixed".to_string(), o))
        }
        (None, None) => None,
    };
    if let Some((path, o)) = overhead {
        add(&mut sum, &amounts(&path, Some(o))?);
    }
    sum.retain(|_, a| *a > 0);
    out.total = sum;
    Ok(out)
}

/// Pod-level `spec.resources`: requests replace the containers' sum for the resources that
/// may be set at pod level; a pod-level limit without a request defaults it
/// (`defaultPodRequests`): to the containers' sum where they request the resource and it
/// may be overcommitted, else to the limit.
fn pod_level_requests(
    prefix: &str,
    spec: &PodSpec,
    sum: &mut Amounts,
    notes: &mut Vec<String>,
) -> Result<(), BadQuantity> {
    let Some(res) = &spec.resources else {
        return Ok(());
    };
    let requests = amounts(
        &format!("{prefix}resources.requests"),
        res.requests.as_ref(),
    )?;
    let limits = amounts(&format!("{prefix}resources.limits"), res.limits.as_ref())?;
    for (r, a) in &limits {
        if pod_level(r) && !requests.contains_key(r) && !(sum.contains_key(r) && overcommittable(r))
        {
            sum.insert(r.clone(), *a);
            notes.push(format!(
                "{prefix}resources: pod-level limit taken as request for {r}"
            ));
        }
    }
    for (r, a) in &requests {
        if pod_level(r) {
            sum.insert(r.clone(), *a);
        }
    }
    if requests.keys().any(|r| pod_level(r)) {
        notes.push(format!("{prefix}resources: pod-level requests used"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! Worked examples, one per rule; the figures follow the sources the module cites.
    use super::*;

    fn spec(yaml: &str) -> PodSpec {
        serde_yaml::from_str(yaml).unwrap()
    }

    fn total(yaml: &str) -> Amounts {
        pod_requests("spec", &spec(yaml), &[], None).unwrap().total
    }

    fn amounts_of(pairs: &[(&str, Amount)]) -> Amounts {
        pairs.iter().map(|(r, a)| (r.to_string(), *a)).collect()
    }

    #[test]
    fn app_containers_are_summed() {
        let t = total("containers:\n- {name: a, resources: {requests: {cpu: 100m, memory: 64Mi}}}\n- {name: b, resources: {requests: {cpu: 250m, memory: 1Gi}}}\n");
        assert_eq!(
            t,
            amounts_of(&[("cpu", 350), ("memory", (64 << 20) + (1 << 30))])
        );
    }

    #[test]
    fn an_init_container_counts_when_it_is_larger_than_the_apps() {
        // init 2 cpu alone > app 500m; memory: app 1Gi > init 256Mi.
        let t = total("initContainers:\n- {name: i, resources: {requests: {cpu: '2', memory: 256Mi}}}\ncontainers:\n- {name: a, resources: {requests: {cpu: 500m, memory: 1Gi}}}\n");
        assert_eq!(t, amounts_of(&[("cpu", 2000), ("memory", 1 << 30)]));
    }

    #[test]
    fn sidecars_are_summed_with_the_apps_and_with_later_init_containers() {
        // KEP-753: sidecar s (restartPolicy Always, 200m) runs beside app (300m): 500m. The
        // init container after it runs with it: 600m + 200m = 800m, the larger.
        let t = total("initContainers:\n- {name: s, restartPolicy: Always, resources: {requests: {cpu: 200m}}}\n- {name: i, resources: {requests: {cpu: 600m}}}\ncontainers:\n- {name: a, resources: {requests: {cpu: 300m}}}\n");
        assert_eq!(t["cpu"], 800);
        // An init container *before* the sidecar runs without it: max(600, 300 + 200) = 600.
        let t = total("initContainers:\n- {name: i, resources: {requests: {cpu: 600m}}}\n- {name: s, restartPolicy: Always, resources: {requests: {cpu: 200m}}}\ncontainers:\n- {name: a, resources: {requests: {cpu: 300m}}}\n");
        assert_eq!(t["cpu"], 600);
    }

    #[test]
    fn limits_without_requests_become_requests() {
        // SetDefaults_Pod; the gpu-nvidia example of Karpenter sets nvidia.com/gpu only as a
        // limit.
        let r = pod_requests("spec", &spec("containers:\n- {name: a, resources: {requests: {cpu: '1'}, limits: {cpu: '2', nvidia.com/gpu: '1'}}}\n"), &[], None).unwrap();
        assert_eq!(r.total, amounts_of(&[("cpu", 1000), ("nvidia.com/gpu", 1)]));
        assert_eq!(
            r.missing,
            [("spec.containers[0] (a)".to_string(), "memory")]
        );
        assert!(
            r.notes[0].contains("limits taken as requests for nvidia.com/gpu"),
            "{:?}",
            r.notes
        );
    }

    #[test]
    fn pod_level_requests_replace_the_sum_for_cpu_and_memory_only() {
        let t = total("resources: {requests: {cpu: '1', memory: 2Gi}}\ncontainers:\n- {name: a, resources: {requests: {cpu: 100m, memory: 1Gi, example.com/x: '3'}}}\n");
        assert_eq!(
            t,
            amounts_of(&[("cpu", 1000), ("memory", 2 << 30), ("example.com/x", 3)])
        );
        // A pod-level limit defaults the request only where no container requests it.
        let t = total("resources: {limits: {cpu: '4', memory: 8Gi}}\ncontainers:\n- {name: a, resources: {requests: {cpu: 100m}}}\n");
        assert_eq!(t, amounts_of(&[("cpu", 100), ("memory", 8 << 30)]));
    }

    #[test]
    fn overhead_is_added_from_the_pod_or_its_runtime_class() {
        let t = total("overhead: {cpu: 250m, memory: 120Mi}\ncontainers:\n- {name: a, resources: {requests: {cpu: 100m, memory: 100Mi}}}\n");
        assert_eq!(t, amounts_of(&[("cpu", 350), ("memory", 220 << 20)]));
        let kata: BTreeMap<String, Quantity> =
            [("cpu".to_string(), Quantity("250m".into()))].into();
        let s = spec("runtimeClassName: kata\ncontainers:\n- {name: a, resources: {requests: {cpu: 100m, memory: 1Mi}}}\n");
        let r = pod_requests("spec", &s, &[], Some(&kata)).unwrap();
        assert_eq!(r.total["cpu"], 350);
    }

    #[test]
    fn limit_range_defaults_fill_what_containers_leave_unset() {
        // default request 100m given; memory: default limit 512Mi, no defaultRequest, so the
        // request defaults to the limit (SetDefaults_LimitRangeItem). A container's own
        // limit wins over the range's default request.
        let lr: LimitRange = serde_yaml::from_str("metadata: {name: lr}\nspec:\n  limits:\n  - {type: Container, defaultRequest: {cpu: 100m}, default: {memory: 512Mi}}\n").unwrap();
        let s = spec("containers:\n- {name: a}\n- {name: b, resources: {limits: {cpu: 300m}}}\n");
        let r = pod_requests("spec", &s, &[&lr], None).unwrap();
        assert_eq!(r.total, amounts_of(&[("cpu", 400), ("memory", 1 << 30)]));
        assert!(r.missing.is_empty());
        // A max alone becomes the default limit and then the default request.
        let lr: LimitRange = serde_yaml::from_str(
            "metadata: {name: lr}\nspec:\n  limits:\n  - {type: Container, max: {cpu: '2'}}\n",
        )
        .unwrap();
        let r = pod_requests("spec", &spec("containers:\n- {name: a}\n"), &[&lr], None).unwrap();
        assert_eq!(r.total["cpu"], 2000);
    }

    #[test]
    fn missing_requests_are_zero_and_reported() {
        let r = pod_requests(
            "spec.template.spec",
            &spec("containers:\n- {name: app}\n"),
            &[],
            None,
        )
        .unwrap();
        assert!(r.total.is_empty());
        assert_eq!(
            r.missing,
            [
                ("spec.template.spec.containers[0] (app)".to_string(), "cpu"),
                (
                    "spec.template.spec.containers[0] (app)".to_string(),
                    "memory"
                )
            ]
        );
    }

    #[test]
    fn a_bad_quantity_names_its_field() {
        let e = pod_requests(
            "spec",
            &spec("containers:\n- {name: a, resources: {requests: {cpu: lots}}}\n"),
            &[],
            None,
        )
        .unwrap_err();
        assert_eq!(e.path, "spec.containers[0].resources.requests.cpu");
    }
}
