//! A container's environment (`makeEnvironmentVariables`, `spec/k8s-semantics.md` §9.6) and
//! Kubernetes' `$(VAR)` expansion (third_party/forked/golang/expansion).

use super::data::{PodData, RefKind};
use super::payload;
use crate::manifest::types::container::{Container, EnvVarSource, KeySelector};
use crate::runtime::PodRequest;
use crate::runtime::linux::DEFAULT_PATH;

/// What the environment may refer to besides the spec: `status.podIP`.
#[derive(Debug, Clone, Default)]
pub struct PodFacts {
    /// The pod's IP for `status.podIP` references; they get the empty string when None.
    pub pod_ip: Option<String>,
    /// The node's IP for `status.hostIP` references; they get the empty string when None.
    pub host_ip: Option<String>,
    /// The hostname containerd puts in `HOSTNAME`.
    pub hostname: String,
}

/// The ordered environment: `NAME=value` entries with later names replacing earlier ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Env(Vec<(String, String)>);

impl Env {
    /// Sets `name`, replacing an earlier value in place.
    pub fn set(&mut self, name: &str, value: String) {
        match self.0.iter_mut().find(|(k, _)| k == name) {
            Some(entry) => entry.1 = value,
            None => self.0.push((name.to_string(), value)),
        }
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// `NAME=value` strings, in order.
    pub fn to_strings(&self) -> Vec<String> {
        self.0.iter().map(|(k, v)| format!("{k}={v}")).collect()
    }
}

/// A container's environment as [`build`] makes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Built {
    /// What the process gets: the image's variables (with a default `PATH`), `HOSTNAME`, then
    /// the container's own.
    pub env: Env,
    /// Only the container's own (`envFrom`, then `env`): what `$(VAR)` in `command` and
    /// `args` expands against (`ExpandContainerCommandAndArgs`).
    pub declared: Env,
    /// The kubelet's `InvalidEnvironmentVariableNames` warnings for `envFrom` keys skipped.
    pub warnings: Vec<String>,
}

/// The environment of `container` (`makeEnvironmentVariables`): `envFrom` first, in order,
/// then `env`, whose `value`s expand `$(VAR)` against what the container declared before
/// them. Errors are `CreateContainerConfigError` messages, in the kubelet's words.
pub fn build(
    req: &PodRequest,
    container: &Container,
    image_env: &[String],
    facts: &PodFacts,
    data: Option<&PodData>,
) -> Result<Built, String> {
    // A pod without config data reads only its own metadata.
    let own;
    let data = match data {
        Some(d) => d,
        None => {
            own = PodData {
                labels: req.labels.clone(),
                annotations: req.annotations.clone(),
                ..PodData::default()
            };
            &own
        }
    };
    let mut declared = Env::default();
    let mut warnings = Vec::new();
    for from in &container.env_from {
        let (kind, reference) = match (&from.config_map_ref, &from.secret_ref) {
            (Some(r), _) => (RefKind::ConfigMap, r),
            (None, Some(r)) => (RefKind::Secret, r),
            (None, None) => continue,
        };
        let object = match data.object(kind, &reference.name) {
            Ok(o) => o,
            Err(_) if reference.optional.unwrap_or(false) => continue,
            Err(e) => return Err(e),
        };
        let prefix = from.prefix.as_deref().unwrap_or("");
        let mut invalid = Vec::new();
        for (key, value) in object.env_values(kind) {
            let name = format!("{prefix}{key}");
            if !crate::manifest::names::env_var_name(&name).is_empty() {
                invalid.push(name);
                continue;
            }
            declared.set(&name, value);
        }
        if !invalid.is_empty() {
            invalid.sort();
            let what = match kind {
                RefKind::ConfigMap => "configMap",
                RefKind::Secret => "secret",
            };
            warnings.push(format!(
                "Keys [{}] from the EnvFrom {what} {}/{} were skipped since they are considered invalid environment variable names.",
                invalid.join(", "),
                req.namespace,
                reference.name
            ));
        }
    }
    for var in &container.env {
        let value = match &var.value_from {
            None => {
                let defined = declared.clone();
                expand(var.value.as_deref().unwrap_or(""), &|n| {
                    defined.get(n).map(String::from)
                })
            }
            Some(source) => {
                if let Some(field) = &source.field_ref {
                    payload::pod_field(
                        req,
                        data,
                        &field.field_path,
                        facts.pod_ip.as_deref(),
                        facts.host_ip.as_deref(),
                    )
                    .ok_or_else(|| format!("env {}: unsupported fieldPath: {}", var.name, field.field_path))?
                } else if let Some(resource) = &source.resource_field_ref {
                    // In env, containerName defaults to the container itself.
                    let target = match resource.container_name.as_deref().filter(|n| !n.is_empty()) {
                        Some(name) => payload::container_named(&req.spec, name)?,
                        None => container,
                    };
                    payload::resource_value(resource, target, &data.allocatable)?
                } else if let Some((kind, key_ref)) = key_selector(source) {
                    let optional = key_ref.optional.unwrap_or(false);
                    let value = match data.object(kind, &key_ref.name) {
                        Ok(o) => o.env_value(kind, &key_ref.key),
                        Err(_) if optional => continue,
                        Err(e) => return Err(e),
                    };
                    match value {
                        Some(v) => v,
                        None if optional => continue,
                        None => {
                            return Err(format!(
                                "couldn't find key {} in {} {}/{}",
                                key_ref.key,
                                kind.title(),
                                req.namespace,
                                key_ref.name
                            ));
                        }
                    }
                } else {
                    return Err(format!("env {}: this valueFrom source is not supported", var.name));
                }
            }
        };
        declared.set(&var.name, value);
    }
    let mut env = Env::default();
    for entry in image_env {
        let (k, v) = entry.split_once('=').unwrap_or((entry, ""));
        env.set(k, v.to_string());
    }
    if env.get("PATH").is_none() {
        env.set("PATH", DEFAULT_PATH.to_string());
    }
    env.set("HOSTNAME", facts.hostname.clone());
    for (k, v) in &declared.0 {
        env.set(k, v.clone());
    }
    Ok(Built {
        env,
        declared,
        warnings,
    })
}

/// The ConfigMap or Secret key an env var reads, with the kind.
fn key_selector(source: &EnvVarSource) -> Option<(RefKind, &KeySelector)> {
    match (&source.config_map_key_ref, &source.secret_key_ref) {
        (Some(r), _) => Some((RefKind::ConfigMap, r)),
        (None, Some(r)) => Some((RefKind::Secret, r)),
        (None, None) => None,
    }
}

/// Expands `$(NAME)` with `lookup`; `$$` is a literal `$`; unknown or unterminated references
/// stay as written (`expansion.Expand`).
pub fn expand(input: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('(')
            && let Some(end) = body.find(')')
        {
            let name = &body[..end];
            match lookup(name) {
                Some(value) => out.push_str(&value),
                None => {
                    out.push_str("$(");
                    out.push_str(name);
                    out.push(')');
                }
            }
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::types::container::{
        EnvFromSource, EnvVar, EnvVarSource, KeySelector, LocalObjectReference, ObjectFieldSelector,
    };
    use crate::runtime::podspec::data::ObjectData;

    fn req() -> PodRequest {
        PodRequest {
            uid: "u-1".into(),
            namespace: "ns".into(),
            name: "web".into(),
            node: "node1".into(),
            labels: [("app".to_string(), "x".to_string())].into(),
            annotations: Default::default(),
            spec: Default::default(),
            data: None,
            claims: Default::default(),
        }
    }

    fn var(name: &str, value: &str) -> EnvVar {
        EnvVar {
            name: name.into(),
            value: Some(value.into()),
            value_from: None,
        }
    }

    fn field(name: &str, path: &str) -> EnvVar {
        EnvVar {
            name: name.into(),
            value: None,
            value_from: Some(EnvVarSource {
                field_ref: Some(ObjectFieldSelector {
                    api_version: None,
                    field_path: path.into(),
                }),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn expansion_follows_kubernetes() {
        let lookup = |n: &str| (n == "A").then(|| "1".to_string());
        assert_eq!(expand("x$(A)y", &lookup), "x1y");
        assert_eq!(expand("$$(A) $(B) $(A", &lookup), "$(A) $(B) $(A");
        assert_eq!(expand("cost $5 $$", &lookup), "cost $5 $");
    }

    #[test]
    fn env_layers_image_defaults_and_spec() {
        let c = Container {
            name: "c".into(),
            env: vec![
                var("GREETING", "hi $(USER)"),
                var("USER", "bob"),
                var("MSG", "$(GREETING) from $(POD) on $(HOSTNAME)"),
                field("POD", "metadata.name"),
                field("APP", "metadata.labels['app']"),
                field("NODE", "spec.nodeName"),
            ],
            ..Container::default()
        };
        let facts = PodFacts {
            hostname: "web".into(),
            ..Default::default()
        };
        let built = build(&req(), &c, &["USER=root".into()], &facts, None).unwrap();
        // $(VAR) sees only what the container declared before: not the image's USER, not
        // HOSTNAME, not a later POD.
        assert_eq!(
            built.env.to_strings(),
            [
                "USER=bob",
                &format!("PATH={DEFAULT_PATH}"),
                "HOSTNAME=web",
                "GREETING=hi $(USER)",
                "MSG=hi $(USER) from $(POD) on $(HOSTNAME)",
                "POD=web",
                "APP=x",
                "NODE=node1"
            ]
        );
        assert_eq!(built.declared.get("PATH"), None);
    }

    fn key_ref(name: &str, key: &str, optional: Option<bool>) -> Option<KeySelector> {
        Some(KeySelector {
            name: name.into(),
            key: key.into(),
            optional,
        })
    }

    fn data() -> PodData {
        let mut d = PodData::default();
        d.config_maps.insert(
            "cfg".into(),
            ObjectData {
                strings: [
                    ("a".to_string(), "1".to_string()),
                    ("bad key".to_string(), "x".to_string()),
                ]
                .into(),
                binary: Default::default(),
            },
        );
        d.secrets.insert(
            "s".into(),
            ObjectData {
                strings: Default::default(),
                binary: [("pw".to_string(), "czNjcjN0".to_string())].into(),
            },
        );
        d
    }

    fn from_ref(cm: &str, key: &str, optional: Option<bool>, secret: bool) -> EnvVar {
        EnvVar {
            name: "X".into(),
            value: None,
            value_from: Some(EnvVarSource {
                config_map_key_ref: (!secret).then(|| key_ref(cm, key, optional)).flatten(),
                secret_key_ref: secret.then(|| key_ref(cm, key, optional)).flatten(),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn config_map_and_secret_references_resolve_or_give_the_kubelets_errors() {
        let run = |env: Vec<EnvVar>, env_from: Vec<EnvFromSource>| {
            let c = Container {
                name: "c".into(),
                env,
                env_from,
                ..Container::default()
            };
            build(&req(), &c, &[], &PodFacts::default(), Some(&data())).map(|b| (b.declared.to_strings(), b.warnings))
        };
        assert_eq!(run(vec![from_ref("cfg", "a", None, false)], vec![]).unwrap().0, ["X=1"]);
        assert_eq!(
            run(vec![from_ref("s", "pw", None, true)], vec![]).unwrap().0,
            ["X=s3cr3t"]
        );
        assert_eq!(
            run(vec![from_ref("nope", "a", None, false)], vec![]).unwrap_err(),
            "configmap \"nope\" not found"
        );
        assert_eq!(
            run(vec![from_ref("cfg", "zz", None, false)], vec![]).unwrap_err(),
            "couldn't find key zz in ConfigMap ns/cfg"
        );
        assert_eq!(
            run(vec![from_ref("s", "zz", None, true)], vec![]).unwrap_err(),
            "couldn't find key zz in Secret ns/s"
        );
        assert!(
            run(vec![from_ref("nope", "a", Some(true), true)], vec![])
                .unwrap()
                .0
                .is_empty()
        );
        let from = |cm: Option<&str>, secret: Option<&str>, prefix: Option<&str>| EnvFromSource {
            prefix: prefix.map(String::from),
            config_map_ref: cm.map(|n| LocalObjectReference {
                name: n.into(),
                optional: None,
            }),
            secret_ref: secret.map(|n| LocalObjectReference {
                name: n.into(),
                optional: None,
            }),
        };
        // envFrom first, env over it; invalid names skipped with the kubelet's warning.
        let (env, warnings) = run(
            vec![var("a", "mine $(P_pw)")],
            vec![from(Some("cfg"), None, None), from(None, Some("s"), Some("P_"))],
        )
        .unwrap();
        assert_eq!(env, ["a=mine s3cr3t", "P_pw=s3cr3t"]);
        assert_eq!(
            warnings,
            [
                "Keys [bad key] from the EnvFrom configMap ns/cfg were skipped since they are considered invalid environment variable names."
            ]
        );
        assert_eq!(
            run(vec![], vec![from(None, Some("gone"), None)]).unwrap_err(),
            "secret \"gone\" not found"
        );
    }
}
