//! Reads the node scripts (`nodes/label.sh`, then `nodes/taint.sh`) as the proof's evidence
//! of what the nodes carry, and applies their commands to a node the way kubectl does.
//!
//! The grammar is the few command forms tierplan writes, on the pool label and taint key
//! only; any other line is refused, so an edited script cannot say one thing to the proof
//! and do another on the cluster. The semantics are kubectl's (k8s.io/kubectl
//! `pkg/cmd/taint/utils.go`, `reorganizeTaints`): `KEY=VALUE:EFFECT --overwrite` replaces
//! the taints of the same key and effect, `KEY:EFFECT-` removes them, `KEY-` removes every
//! taint of the key (written `KEY- || true`, since kubectl fails when there is none); `kubectl label KEY=VALUE --overwrite` sets, `KEY-` removes.

use super::read::{ProofError, Source, MAX_FILE_BYTES};
use k8s_openapi::api::core::v1::Taint;
use std::collections::BTreeMap;
use std::path::Path;

/// The scripts, in the order ROLLOUT.md runs them.
pub const FILES: [&str; 2] = ["nodes/label.sh", "nodes/taint.sh"];

/// One node command, and where it was read (`doc` is the line number).
#[derive(Debug, Clone, PartialEq)]
pub struct NodeCommand {
    /// Where the command was read.
    pub source: Source,
    /// The node it changes.
    pub node: String,
    /// What it does.
    pub action: Action,
}

#[derive(Debug, Clone, PartialEq, Eq)]
/// What a node command does.
pub enum Action {
    /// Sets label key to value.
    SetLabel(String, String),
    /// Removes the label.
    RemoveLabel(String),
    /// Key, value, effect.
    SetTaint(String, String, String),
    /// Key, and the effect when only that one goes.
    RemoveTaint(String, Option<String>),
}

impl NodeCommand {
    /// The node's labels and taints after this command.
    pub fn apply(&self, labels: &mut BTreeMap<String, String>, taints: &mut Vec<Taint>) {
        match &self.action {
            Action::SetLabel(k, v) => {
                labels.insert(k.clone(), v.clone());
            }
            Action::RemoveLabel(k) => {
                labels.remove(k);
            }
            Action::SetTaint(k, v, e) => {
                taints.retain(|t| !(&t.key == k && &t.effect == e));
                taints.push(Taint {
                    key: k.clone(),
                    value: (!v.is_empty()).then(|| v.clone()),
                    effect: e.clone(),
                    time_added: None,
                });
            }
            Action::RemoveTaint(k, effect) => {
                taints.retain(|t| !(&t.key == k && effect.as_ref().is_none_or(|e| &t.effect == e)))
            }
        }
    }
}

/// The commands of the scripts under `dir`, in order; a missing script is no commands.
pub fn read(dir: &Path, key: &str) -> Result<Vec<NodeCommand>, ProofError> {
    let mut out = Vec::new();
    for name in FILES {
        let path = dir.join(name);
        if !path.is_file() {
            continue;
        }
        let text = super::read::read_limited(&path, MAX_FILE_BYTES)?;
        out.extend(parse(&path, &text, key)?);
    }
    Ok(out)
}

/// The commands of one script's `text`.
pub fn parse(path: &Path, text: &str, key: &str) -> Result<Vec<NodeCommand>, ProofError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line == "set -eu" {
            continue;
        }
        let words: Vec<&str> = line.split(' ').collect();
        let action = match words.as_slice() {
            ["kubectl", verb @ ("label" | "taint"), "node", node, arg, rest @ ..] => {
                command(verb, arg, rest, key).map(|a| (node.to_string(), a))
            }
            _ => None,
        };
        let Some((node, action)) = action else {
            return Err(ProofError::Command {
                path: path.into(),
                line: i + 1,
                text: line.into(),
            });
        };
        out.push(NodeCommand {
            source: Source {
                file: path.into(),
                doc: i + 1,
            },
            node,
            action,
        });
    }
    Ok(out)
}

fn command(verb: &str, arg: &str, rest: &[&str], key: &str) -> Option<Action> {
    // `|| true` only after a taint removal, which fails when the taint is already gone.
    let (overwrite, or_true) = match rest {
        [] => (false, false),
        ["--overwrite"] => (true, false),
        ["||", "true"] => (false, true),
        _ => return None,
    };
    if let Some(removed) = arg.strip_suffix('-') {
        if overwrite || (or_true && verb != "taint") {
            return None;
        }
        let (k, effect) = match removed.split_once(':') {
            Some((k, e)) if verb == "taint" && effect(e) => (k, Some(e.to_string())),
            Some(_) => return None,
            None => (removed, None),
        };
        return (k == key).then(|| match verb {
            "label" => Action::RemoveLabel(k.into()),
            _ => Action::RemoveTaint(k.into(), effect),
        });
    }
    // Without --overwrite kubectl refuses to change an existing value and the script stops.
    if !overwrite || or_true {
        return None;
    }
    let (k, value) = arg.split_once('=')?;
    if k != key {
        return None;
    }
    match verb {
        "label" => (!value.contains(':')).then(|| Action::SetLabel(k.into(), value.into())),
        _ => {
            let (v, e) = value.split_once(':')?;
            effect(e).then(|| Action::SetTaint(k.into(), v.into(), e.into()))
        }
    }
}

fn effect(e: &str) -> bool {
    matches!(e, "NoSchedule" | "PreferNoSchedule" | "NoExecute")
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "node-restriction.kubernetes.io/tierplan-pool";

    fn run(script: &str) -> Result<Vec<NodeCommand>, ProofError> {
        parse(Path::new("nodes/taint.sh"), script, KEY)
    }

    fn taint(k: &str, v: &str, e: &str) -> Taint {
        Taint {
            key: k.into(),
            value: Some(v.into()),
            effect: e.into(),
            time_added: None,
        }
    }

    #[test]
    fn overwrite_replaces_the_same_key_and_effect_and_keeps_other_taints() {
        let cmds = run(&format!(
            "#!/bin/sh\n# comment\nset -eu\nkubectl taint node n1 {KEY}=web:NoSchedule --overwrite\n"
        ))
        .unwrap();
        let mut labels = BTreeMap::new();
        let mut taints = vec![
            taint("nvidia.com/gpu", "present", "NoSchedule"),
            taint(KEY, "db", "NoSchedule"),
            taint(KEY, "db", "NoExecute"),
        ];
        cmds[0].apply(&mut labels, &mut taints);
        assert_eq!(
            taints,
            [
                taint("nvidia.com/gpu", "present", "NoSchedule"),
                taint(KEY, "db", "NoExecute"),
                taint(KEY, "web", "NoSchedule"),
            ]
        );
        let remove_all = run(&format!("kubectl taint node n1 {KEY}- || true")).unwrap();
        remove_all[0].apply(&mut labels, &mut taints);
        assert_eq!(taints, [taint("nvidia.com/gpu", "present", "NoSchedule")]);
    }

    #[test]
    fn anything_but_tierplans_forms_is_refused_with_its_line() {
        for line in [
            format!("kubectl taint node n1 {KEY}=web:NoSchedule"),
            format!("kubectl taint node n1 {KEY}=web:NoSchedule --overwrite; kubectl taint node n1 {KEY}-"),
            "kubectl taint node n1 other=web:NoSchedule --overwrite".to_string(),
            format!("kubectl taint node n1 {KEY}=web:Sometimes --overwrite"),
            format!("kubectl label node n1 {KEY}=web:NoSchedule --overwrite"),
            format!("kubectl  label node n1 {KEY}=web --overwrite"),
            format!("kubectl label nodes --all {KEY}=web --overwrite"),
            "true".to_string(),
            format!("kubectl label node n1 {KEY}- || true"),
            format!("kubectl taint node n1 {KEY}=web:NoSchedule --overwrite || true"),
            format!("kubectl taint node n1 {KEY}- || false"),
            "set +e".to_string(),
        ] {
            let err = run(&format!("set -eu\n{line}\n")).unwrap_err();
            assert!(err.to_string().contains("line 2"), "{line}: {err}");
        }
    }
}
