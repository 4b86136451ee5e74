//! Sweeps run on a cluster: the Kubernetes objects of `tierplan whatif --emit-job`.
//!
//! One Indexed Job runs N pods, pod I planning shard I/N of the sweep (`--shard`) from the
//! inputs, scenarios and baseline plan that a ConfigMap mounts at [`INPUTS_DIR`], and printing
//! its shard's `whatif.json` to its log; `tierplan whatif merge` joins the N logs. The baseline
//! is planned once, before the Job, so that every shard compares against the same plan.
//!
//! Every object is a typed k8s-openapi value; [`yaml`] serialises them in a fixed order, so
//! the same inputs always give the same bytes. Nothing here needs a cluster.

use super::sweep::Failure;
use super::{Baseline, Scenario};
use crate::input::Documents;
use crate::model::names;
use k8s_openapi::api::batch::v1::{
    Job, JobSpec, PodFailurePolicy, PodFailurePolicyOnExitCodesRequirement,
    PodFailurePolicyOnPodConditionsPattern, PodFailurePolicyRule,
};
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMap, ConfigMapVolumeSource, Container, Namespace, PodSecurityContext,
    PodSpec, PodTemplateSpec, ResourceRequirements, SeccompProfile, SecurityContext,
    ServiceAccount, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use std::collections::BTreeMap;

/// Where the pods mount the ConfigMap.
pub const INPUTS_DIR: &str = "/inputs";
/// The ConfigMap key of the baseline's input documents (`Documents::to_yaml`).
pub const INPUTS_FILE: &str = "inputs.yaml";
/// The ConfigMap key of the Scenario documents given with `--scenario`.
pub const SCENARIOS_FILE: &str = "scenarios.yaml";
/// The ConfigMap key of the baseline plan.
pub const BASELINE_FILE: &str = "baseline.json";
/// The ConfigMap key of the NodeType documents given with `--what-to-buy`.
pub const CATALOG_FILE: &str = "what-to-buy.yaml";
/// The file `--emit-job` writes: every object, in the order `kubectl apply` needs them.
pub const JOB_FILE: &str = "whatif-job.yaml";
/// The default namespace of the objects.
pub const DEFAULT_NAMESPACE: &str = "tierplan-whatif";
/// The name of the Job, its ServiceAccount and (with `-inputs`) its ConfigMap.
pub const NAME: &str = "tierplan-whatif";
/// The most bytes a ConfigMap's values may hold: `MaxSecretSize` (1 MiB, kubernetes
/// `pkg/apis/core/types.go`), which `ValidateConfigMap` (`pkg/apis/core/validation/
/// validation.go`) compares with the summed length of `data` and `binaryData` values (keys
/// and metadata not counted).
pub const MAX_CONFIGMAP_BYTES: usize = 1024 * 1024;
/// Indexed Jobs take at most this `parallelism` (the `completionMode` field's API docs).
pub const MAX_SHARDS: u32 = 100_000;
/// Retries of the whole Job for pods that fail for other reasons than their exit code
/// (killed for memory, lost node); evictions do not count (see [`job`]).
pub const BACKOFF_LIMIT: i32 = 3;
/// The Job, its pods and their logs are deleted this long after it finishes: collect the
/// logs before.
pub const TTL_SECONDS_AFTER_FINISHED: i32 = 86_400;
/// The user and group the container runs as (the `nonroot` user of distroless images).
pub const RUN_AS: i64 = 65_532;

/// The image the Job runs unless `--image` says otherwise.
pub fn default_image() -> String {
    format!("ghcr.io/tierplan/tierplan:{}", env!("CARGO_PKG_VERSION"))
}

/// The sweep flags of the run, which every shard repeats.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sweeps {
    /// `--failures`.
    pub failures: Option<Failure>,
    /// `--max-failures`, when not the default.
    pub max_failures: Option<usize>,
    /// `--cost-of-isolation`.
    pub cost_of_isolation: bool,
    /// `--compaction --seeds N`: the seeds.
    pub compaction: Option<u64>,
    /// `--growth`.
    pub growth: bool,
    /// `--time-limit`.
    pub time_limit: Option<f64>,
    /// `--work-limit`.
    pub work_limit: Option<u64>,
}

impl Sweeps {
    /// The flags as command-line arguments, in a fixed order.
    pub fn args(&self) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(f) = self.failures {
            let (what, k) = match f {
                Failure::Nodes(k) => ("node", k),
                Failure::Zones(k) => ("zone", k),
            };
            let text = match k {
                1 => what.to_string(),
                k => format!("{what}:{k}"),
            };
            args.extend(["--failures".to_string(), text]);
        }
        if let Some(n) = self.max_failures {
            args.extend(["--max-failures".to_string(), n.to_string()]);
        }
        if self.cost_of_isolation {
            args.push("--cost-of-isolation".into());
        }
        if let Some(seeds) = self.compaction {
            args.extend(["--compaction".into(), "--seeds".into(), seeds.to_string()]);
        }
        if self.growth {
            args.push("--growth".into());
        }
        if let Some(t) = self.time_limit {
            args.extend(["--time-limit".to_string(), t.to_string()]);
        }
        if let Some(w) = self.work_limit {
            args.extend(["--work-limit".to_string(), w.to_string()]);
        }
        args
    }
}

/// The files the ConfigMap holds, by key.
#[derive(Debug, Clone, PartialEq)]
pub struct Inputs {
    files: BTreeMap<String, String>,
}

impl Inputs {
    /// The baseline's documents and plan, the scenarios given (not those the sweeps make: each
    /// shard makes them again from its flags) and the NodeTypes of `--what-to-buy`, if any.
    pub fn new(baseline: &Baseline, scenarios: &[Scenario], catalog: Option<&Documents>) -> Self {
        let mut files = BTreeMap::new();
        files.insert(INPUTS_FILE.to_string(), baseline.docs.to_yaml());
        files.insert(BASELINE_FILE.to_string(), baseline.plan.to_json());
        if !scenarios.is_empty() {
            let docs: Vec<String> = scenarios
                .iter()
                .map(|s| serde_yaml::to_string(&s.to_document()).expect("scenarios serialise"))
                .collect();
            files.insert(SCENARIOS_FILE.to_string(), docs.join("---\n"));
        }
        if let Some(catalog) = catalog.filter(|c| !c.node_types.is_empty()) {
            files.insert(CATALOG_FILE.to_string(), catalog.to_yaml());
        }
        Inputs { files }
    }

    /// The files, by key.
    pub fn files(&self) -> &BTreeMap<String, String> {
        &self.files
    }

    /// The bytes Kubernetes counts against [`MAX_CONFIGMAP_BYTES`]: the values' lengths.
    pub fn bytes(&self) -> usize {
        self.files.values().map(String::len).sum()
    }
}

/// Where the Job runs and with what.
#[derive(Debug, Clone, PartialEq)]
pub struct JobOptions {
    /// How many shards (pods, completions).
    pub shards: u32,
    /// The container image holding `tierplan`.
    pub image: String,
    /// The namespace of every object.
    pub namespace: String,
}

/// Why the Job cannot be written.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum JobError {
    /// The ConfigMap would be refused by the API server.
    #[error("the ConfigMap `{NAME}-inputs` would hold {bytes} bytes ({detail}), over Kubernetes' limit of {MAX_CONFIGMAP_BYTES} bytes per ConfigMap (MaxSecretSize)\n  fix: run the shards by hand instead, on machines that have the inputs: `tierplan whatif PATH... --baseline plan.json [the same flags] --shard I/N --output json > shard-I.json` for I from 0 to N-1, then `tierplan whatif merge shard-*.json`")]
    TooLarge {
        /// The bytes the ConfigMap's values would hold.
        bytes: usize,
        /// Each file's size.
        detail: String,
    },
    /// `--shards` is out of range.
    #[error("--shards {0}: an Indexed Job runs from 1 to {MAX_SHARDS} shards\n  fix: pass --shards N with 1 ≤ N ≤ {MAX_SHARDS}")]
    Shards(u32),
    /// `--namespace` is not a namespace name.
    #[error(
        "--namespace `{value}`: {problem}\n  fix: pass a DNS-1123 label, e.g. {DEFAULT_NAMESPACE}"
    )]
    Namespace {
        /// The name given.
        value: String,
        /// Why it is not valid.
        problem: String,
    },
    /// `--image` is not an image reference.
    #[error("--image `{0}`: an image reference is not empty and holds no whitespace\n  fix: pass e.g. {image}", image = default_image())]
    Image(String),
}

/// The objects of the run, in the order they are applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Objects {
    /// The namespace.
    pub namespace: Namespace,
    /// The pods' identity, with no API permissions and no token.
    pub service_account: ServiceAccount,
    /// The inputs.
    pub config_map: ConfigMap,
    /// The Indexed Job.
    pub job: Job,
}

/// Builds the objects of a run of `options.shards` shards of `sweeps` over `inputs`; refuses
/// a ConfigMap over Kubernetes' size limit and options no cluster would take.
pub fn objects(
    inputs: &Inputs,
    sweeps: &Sweeps,
    options: &JobOptions,
) -> Result<Objects, JobError> {
    if !(1..=MAX_SHARDS).contains(&options.shards) {
        return Err(JobError::Shards(options.shards));
    }
    if let Some(problem) = names::dns_label_problem(&options.namespace) {
        return Err(JobError::Namespace {
            value: options.namespace.clone(),
            problem,
        });
    }
    if options.image.is_empty() || options.image.contains(char::is_whitespace) {
        return Err(JobError::Image(options.image.clone()));
    }
    if inputs.bytes() > MAX_CONFIGMAP_BYTES {
        let detail = inputs
            .files
            .iter()
            .map(|(k, v)| format!("{k} {}", v.len()))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(JobError::TooLarge {
            bytes: inputs.bytes(),
            detail,
        });
    }
    let meta = |name: String| ObjectMeta {
        name: Some(name),
        namespace: Some(options.namespace.clone()),
        labels: Some(labels()),
        ..Default::default()
    };
    Ok(Objects {
        namespace: Namespace {
            metadata: ObjectMeta {
                name: Some(options.namespace.clone()),
                labels: Some(labels()),
                ..Default::default()
            },
            ..Default::default()
        },
        service_account: ServiceAccount {
            metadata: meta(NAME.to_string()),
            automount_service_account_token: Some(false),
            ..Default::default()
        },
        config_map: ConfigMap {
            metadata: meta(config_map_name()),
            data: Some(inputs.files.clone()),
            immutable: Some(true),
            ..Default::default()
        },
        job: job(meta(NAME.to_string()), inputs, sweeps, options),
    })
}

fn config_map_name() -> String {
    format!("{NAME}-inputs")
}

fn labels() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_string(), "tierplan".to_string()),
        (
            "app.kubernetes.io/component".to_string(),
            "whatif".to_string(),
        ),
    ])
}

/// The arguments of shard `index` (a number, or `$(JOB_COMPLETION_INDEX)`, which the kubelet
/// expands): `whatif` over the mounted inputs with the run's sweep flags, the shard's JSON on
/// standard output, and exit 0 for infeasible scenarios too (a result, not a failure: `whatif
/// merge` gives the verdict).
pub fn args(inputs: &Inputs, sweeps: &Sweeps, shards: u32, index: &str) -> Vec<String> {
    let file = |key: &str| format!("{INPUTS_DIR}/{key}");
    let mut args: Vec<String> = vec!["whatif".into(), file(INPUTS_FILE)];
    args.extend(["--baseline".into(), file(BASELINE_FILE)]);
    if inputs.files.contains_key(SCENARIOS_FILE) {
        args.extend(["--scenario".into(), file(SCENARIOS_FILE)]);
    }
    args.extend(sweeps.args());
    if inputs.files.contains_key(CATALOG_FILE) {
        args.extend(["--what-to-buy".into(), file(CATALOG_FILE)]);
    }
    args.extend(["--shard".into(), format!("{index}/{shards}")]);
    args.extend(["--output", "json", "--quiet", "--infeasible-ok"].map(String::from));
    args
}

/// The Indexed Job: one pod per shard, all at once, hardened, without API access.
fn job(metadata: ObjectMeta, inputs: &Inputs, sweeps: &Sweeps, options: &JobOptions) -> Job {
    let n = options.shards;
    let container = Container {
        name: "whatif".into(),
        image: Some(options.image.clone()),
        command: Some(vec!["tierplan".into()]),
        args: Some(args(inputs, sweeps, n, "$(JOB_COMPLETION_INDEX)")),
        resources: Some(resources()),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".into()]),
                ..Default::default()
            }),
            privileged: Some(false),
            read_only_root_filesystem: Some(true),
            run_as_non_root: Some(true),
            ..Default::default()
        }),
        volume_mounts: Some(vec![VolumeMount {
            name: "inputs".into(),
            mount_path: INPUTS_DIR.into(),
            read_only: Some(true),
            ..Default::default()
        }]),
        ..Default::default()
    };
    let pod = PodSpec {
        automount_service_account_token: Some(false),
        containers: vec![container],
        enable_service_links: Some(false),
        restart_policy: Some("Never".into()),
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(RUN_AS),
            run_as_group: Some(RUN_AS),
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".into(),
                ..Default::default()
            }),
            ..Default::default()
        }),
        service_account_name: Some(NAME.into()),
        volumes: Some(vec![Volume {
            name: "inputs".into(),
            config_map: Some(ConfigMapVolumeSource {
                name: config_map_name(),
                ..Default::default()
            }),
            ..Default::default()
        }]),
        ..Default::default()
    };
    Job {
        metadata: metadata.clone(),
        spec: Some(JobSpec {
            backoff_limit: Some(BACKOFF_LIMIT),
            completion_mode: Some("Indexed".into()),
            completions: Some(n as i32),
            parallelism: Some(n as i32),
            pod_failure_policy: Some(failure_policy()),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: metadata.labels,
                    ..Default::default()
                }),
                spec: Some(pod),
            },
            ttl_seconds_after_finished: Some(TTL_SECONDS_AFTER_FINISHED),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Exit codes 2 (invalid input) and 3 (a plan the checker refuses) come back on every retry,
/// so they fail the Job at once; a pod evicted or preempted (`DisruptionTarget`) is retried
/// without counting against [`BACKOFF_LIMIT`].
fn failure_policy() -> PodFailurePolicy {
    PodFailurePolicy {
        rules: vec![
            PodFailurePolicyRule {
                action: "FailJob".into(),
                on_exit_codes: Some(PodFailurePolicyOnExitCodesRequirement {
                    container_name: Some("whatif".into()),
                    operator: "In".into(),
                    values: vec![2, 3],
                }),
                ..Default::default()
            },
            PodFailurePolicyRule {
                action: "Ignore".into(),
                on_pod_conditions: Some(vec![PodFailurePolicyOnPodConditionsPattern {
                    status: "True".into(),
                    type_: "DisruptionTarget".into(),
                }]),
                ..Default::default()
            },
        ],
    }
}

/// Requests and limits of each shard's pod: one core and 1 GiB requested, two cores and
/// 2 GiB at most.
fn resources() -> ResourceRequirements {
    let amounts = |cpu: &str, memory: &str| {
        BTreeMap::from([
            ("cpu".to_string(), Quantity(cpu.into())),
            ("memory".to_string(), Quantity(memory.into())),
        ])
    };
    ResourceRequirements {
        requests: Some(amounts("1", "1Gi")),
        limits: Some(amounts("2", "2Gi")),
        ..Default::default()
    }
}

/// The objects as one multi-document YAML file, after a header saying what they are and how
/// to run them.
pub fn yaml(objects: &Objects) -> String {
    let ns = objects
        .namespace
        .metadata
        .name
        .as_deref()
        .unwrap_or_default();
    let n = objects
        .job
        .spec
        .as_ref()
        .and_then(|s| s.completions)
        .unwrap_or_default();
    let header = format!(
        "\
# Written by `tierplan whatif --emit-job`: an Indexed Job of {n} pods, pod I planning shard I/{n}
# of the what-if sweep from the inputs in the ConfigMap and printing its whatif.json to its log.
# The ServiceAccount `{NAME}` has no Role or RoleBinding, and no token is mounted:
# tierplan reads only its mounted inputs and calls no Kubernetes API, so it needs no API
# permissions.
# Run:     kubectl apply --server-side -f {JOB_FILE}
#          (to run again, `kubectl delete -f {JOB_FILE}` first: the Job's pod template and
#          the immutable ConfigMap cannot be changed in place)
# Collect (each I from 0 to {last}; the Job and its logs are deleted {TTL_SECONDS_AFTER_FINISHED} s after it ends):
#   pod=$(kubectl get pods -n {ns} -o name --field-selector=status.phase=Succeeded \\
#         -l batch.kubernetes.io/job-name={NAME},batch.kubernetes.io/job-completion-index=I)
#   kubectl logs -n {ns} \"$pod\" > shard-I.json
# Merge:   tierplan whatif merge shard-*.json --out whatif-out
",
        last = n.saturating_sub(1)
    );
    let docs = [
        to_yaml(&objects.namespace),
        to_yaml(&objects.service_account),
        to_yaml(&objects.config_map),
        to_yaml(&objects.job),
    ];
    format!("{header}{}", docs.join("---\n"))
}

fn to_yaml<T: serde::Serialize>(object: &T) -> String {
    serde_yaml::to_string(object).expect("Kubernetes objects always serialise")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solve::SolveOptions;

    fn baseline() -> Baseline {
        let (docs, diags) = crate::input::read_paths(&["examples/nist-800-190".into()]);
        assert!(diags.is_empty(), "{diags:?}");
        Baseline::plan(docs, &SolveOptions::default()).expect("the example is valid")
    }

    fn options(shards: u32) -> JobOptions {
        JobOptions {
            shards,
            image: default_image(),
            namespace: DEFAULT_NAMESPACE.into(),
        }
    }

    #[test]
    fn inputs_keep_the_baseline_fingerprint() {
        let b = baseline();
        let inputs = Inputs::new(&b, &[], None);
        let text = &inputs.files()[INPUTS_FILE];
        let (read, diags) = crate::input::read_bytes(INPUTS_FILE.as_ref(), text.as_bytes());
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(read.fingerprint(), b.docs.fingerprint());
        assert!(!inputs.files().contains_key(SCENARIOS_FILE));
    }

    #[test]
    fn the_job_is_indexed_hardened_and_without_api_access() {
        let b = baseline();
        let sweeps = Sweeps {
            failures: Some(Failure::Nodes(1)),
            ..Default::default()
        };
        let o = objects(&Inputs::new(&b, &[], None), &sweeps, &options(3)).unwrap();
        assert_eq!(
            o.service_account.automount_service_account_token,
            Some(false)
        );
        let spec = o.job.spec.as_ref().unwrap();
        assert_eq!(spec.completion_mode.as_deref(), Some("Indexed"));
        assert_eq!((spec.completions, spec.parallelism), (Some(3), Some(3)));
        let pod = spec.template.spec.as_ref().unwrap();
        assert_eq!(pod.automount_service_account_token, Some(false));
        let c = &pod.containers[0];
        let sc = c.security_context.as_ref().unwrap();
        assert_eq!(sc.read_only_root_filesystem, Some(true));
        assert_eq!(sc.allow_privilege_escalation, Some(false));
        let args = c.args.as_ref().unwrap();
        assert!(args.windows(2).any(|w| w == ["--failures", "node"]));
        assert!(args
            .windows(2)
            .any(|w| w == ["--shard", "$(JOB_COMPLETION_INDEX)/3"]));
        // Same input, same bytes.
        let again = objects(&Inputs::new(&b, &[], None), &sweeps, &options(3)).unwrap();
        assert_eq!(yaml(&o), yaml(&again));
        assert!(yaml(&o).contains("no Role or RoleBinding"));
    }

    #[test]
    fn a_configmap_over_one_mib_is_refused_with_the_fix() {
        let b = baseline();
        let mut inputs = Inputs::new(&b, &[], None);
        let room = MAX_CONFIGMAP_BYTES - inputs.bytes();
        inputs.files.insert("pad".into(), "x".repeat(room));
        assert!(objects(&inputs, &Sweeps::default(), &options(2)).is_ok());
        inputs.files.insert("pad".into(), "x".repeat(room + 1));
        let e = objects(&inputs, &Sweeps::default(), &options(2)).unwrap_err();
        assert!(matches!(e, JobError::TooLarge { bytes, .. } if bytes == MAX_CONFIGMAP_BYTES + 1));
        assert!(e.to_string().contains("--shard I/N"), "{e}");
    }

    #[test]
    fn bad_options_are_refused() {
        let inputs = Inputs::new(&baseline(), &[], None);
        let s = Sweeps::default();
        let mut o = options(0);
        assert_eq!(objects(&inputs, &s, &o), Err(JobError::Shards(0)));
        o.shards = 2;
        o.namespace = "Not_A_Name".into();
        assert!(matches!(
            objects(&inputs, &s, &o),
            Err(JobError::Namespace { .. })
        ));
        o.namespace = DEFAULT_NAMESPACE.into();
        o.image = "a b".into();
        assert!(matches!(objects(&inputs, &s, &o), Err(JobError::Image(_))));
    }
}
