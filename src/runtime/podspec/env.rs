//! A container's environment (`makeEnvironmentVariables`, `spec/k8s-semantics.md` §9.6) and
//! Kubernetes' `$(VAR)` expansion (third_party/forked/golang/expansion).

use crate::manifest::types::container::Container;
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

/// The environment of `container`: the image's (with a default `PATH`), `HOSTNAME`, then the
/// container's `env` with `$(VAR)` expanded against what is already defined. Errors are
/// `CreateContainerConfigError` messages.
pub fn build(req: &PodRequest, container: &Container, image_env: &[String], facts: &PodFacts) -> Result<Env, String> {
    let mut env = Env::default();
    for entry in image_env {
        let (k, v) = entry.split_once('=').unwrap_or((entry, ""));
        env.set(k, v.to_string());
    }
    if env.get("PATH").is_none() {
        env.set("PATH", DEFAULT_PATH.to_string());
    }
    env.set("HOSTNAME", facts.hostname.clone());
    if let Some(from) = container.env_from.first() {
        let kind = if from.config_map_ref.is_some() {
            "ConfigMap"
        } else {
            "Secret"
        };
        return Err(format!(
            "container {}: envFrom a {kind} is not supported: rekon's runtime does not pass ConfigMap or Secret data to containers yet",
            container.name
        ));
    }
    for var in &container.env {
        let value = match &var.value_from {
            None => expand(var.value.as_deref().unwrap_or(""), &|n| env.get(n).map(String::from)),
            Some(source) => {
                if let Some(field) = &source.field_ref {
                    field_value(req, facts, &field.field_path).ok_or_else(|| {
                        format!(
                            "env {}: fieldRef {} is not supported by rekon's runtime yet",
                            var.name, field.field_path
                        )
                    })?
                } else if source.config_map_key_ref.is_some() || source.secret_key_ref.is_some() {
                    return Err(format!(
                        "env {}: rekon's runtime does not pass ConfigMap or Secret data to containers yet",
                        var.name
                    ));
                } else {
                    return Err(format!(
                        "env {}: this valueFrom source is not supported by rekon's runtime yet",
                        var.name
                    ));
                }
            }
        };
        env.set(&var.name, value);
    }
    Ok(env)
}

/// A downward-API field (`podFieldSelectorRuntimeValue`).
fn field_value(req: &PodRequest, facts: &PodFacts, path: &str) -> Option<String> {
    let quoted_key = |prefix: &str| path.strip_prefix(prefix)?.strip_suffix("']").map(str::to_string);
    Some(match path {
        "metadata.name" => req.name.clone(),
        "metadata.namespace" => req.namespace.clone(),
        "metadata.uid" => req.uid.clone(),
        "spec.nodeName" => req.node.clone(),
        "spec.serviceAccountName" => req
            .spec
            .service_account_name
            .clone()
            .unwrap_or_else(|| "default".into()),
        "status.podIP" | "status.podIPs" => facts.pod_ip.clone().unwrap_or_default(),
        "status.hostIP" | "status.hostIPs" => facts.host_ip.clone().unwrap_or_default(),
        _ => {
            if let Some(key) = quoted_key("metadata.labels['") {
                return Some(req.labels.get(&key).cloned().unwrap_or_default());
            }
            let key = quoted_key("metadata.annotations['")?;
            req.annotations.get(&key).cloned().unwrap_or_default()
        }
    })
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
    use crate::manifest::types::container::{EnvVar, EnvVarSource, KeySelector, ObjectFieldSelector};

    fn req() -> PodRequest {
        PodRequest {
            uid: "u-1".into(),
            namespace: "ns".into(),
            name: "web".into(),
            node: "node1".into(),
            labels: [("app".to_string(), "x".to_string())].into(),
            annotations: Default::default(),
            spec: Default::default(),
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
                var("MSG", "$(GREETING) from $(POD)"),
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
        let env = build(&req(), &c, &["USER=root".into()], &facts).unwrap();
        assert_eq!(
            env.to_strings(),
            [
                "USER=bob",
                &format!("PATH={DEFAULT_PATH}"),
                "HOSTNAME=web",
                "GREETING=hi root",
                "MSG=hi root from $(POD)",
                "POD=web",
                "APP=x",
                "NODE=node1"
            ]
        );
    }

    #[test]
    fn config_map_references_are_config_errors() {
        let mut v = var("X", "");
        v.value_from = Some(EnvVarSource {
            config_map_key_ref: Some(KeySelector {
                name: "cm".into(),
                key: "k".into(),
                optional: None,
            }),
            ..Default::default()
        });
        let c = Container {
            name: "c".into(),
            env: vec![v],
            ..Container::default()
        };
        assert_eq!(
            build(&req(), &c, &[], &PodFacts::default()).unwrap_err(),
            "env X: rekon's runtime does not pass ConfigMap or Secret data to containers yet"
        );
    }
}
