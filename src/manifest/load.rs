//! From source files to validated, defaulted objects: parse, dispatch on kind, deserialize
//! strictly, default, validate, then check the objects against each other.

use super::de::{self, FieldIssue};
use super::defaults::apply_defaults;
use super::types::{Kind, Resource};
use super::validate::validate;
use super::yaml::{self, Mark, Node, NodeValue, Resolved, ScalarStyle};
use super::{ManifestError, ManifestErrors, ObjectId, SourceFile};
use serde::de::DeserializeOwned;
use std::collections::{BTreeSet, HashMap};

/// Files larger than this are refused before parsing.
pub const MAX_FILE_BYTES: usize = 4 * 1024 * 1024;

/// One object with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// The object, defaulted and validated; shared with the plan's desired objects (a
    /// typed object is kilobytes: copying 10,000 of them showed in every plan).
    pub resource: std::sync::Arc<Resource>,
    /// `file:line` of the document.
    pub origin: String,
}

/// The desired objects of one source, in file order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Manifests {
    /// Every object of every file, in file order.
    pub objects: Vec<Loaded>,
    /// Namespaces used by objects but not defined by a Namespace object.
    pub implicit_namespaces: Vec<String>,
}

/// Parses, defaults and validates every file; returns all errors of all files together.
pub fn load(files: &[SourceFile]) -> Result<Manifests, ManifestErrors> {
    let parts = crate::par::chunks(files, |chunk| {
        let mut loader = Loader::default();
        for file in chunk {
            loader.file(file);
        }
        loader
    });
    let mut loader = Loader::default();
    for part in parts {
        loader.found.extend(part.found);
        loader.errors.extend(part.errors);
    }
    loader.finish()
}

/// An object and the position of its `metadata.name` (where duplicates are reported).
struct Found {
    loaded: Loaded,
    file: String,
    /// `items[i]` for an object of a List.
    prefix: String,
    name_mark: Mark,
    /// The ServiceAccount its pods run as, other than `default`: the field's path and mark,
    /// and the account's name.
    account: Option<(String, Mark, String)>,
}

#[derive(Default)]
struct Loader {
    found: Vec<Found>,
    errors: Vec<ManifestError>,
}

impl Loader {
    fn error(&mut self, file: &str, mark: Mark, path: &str, message: impl Into<String>) {
        self.errors.push(ManifestError {
            file: file.to_string(),
            line: mark.line,
            column: mark.column,
            path: path.to_string(),
            message: message.into(),
        });
    }

    fn file(&mut self, file: &SourceFile) {
        let start = Mark { line: 1, column: 1 };
        if file.text.len() > MAX_FILE_BYTES {
            let msg = format!("file is {} bytes, more than the limit of 4 MiB", file.text.len());
            self.error(&file.path, start, "", msg);
            return;
        }
        match yaml::parse_documents(&file.text) {
            Ok(docs) => {
                for doc in &docs {
                    self.document(&file.path, doc, "");
                }
            }
            Err(e) => self.error(&file.path, e.mark, "", e.message),
        }
    }

    /// One document (or one `items[i]` of a List, with `prefix` = `items[i]`).
    fn document(&mut self, file: &str, doc: &Node, prefix: &str) {
        if !matches!(doc.value, NodeValue::Map(_)) {
            let msg = format!(
                "a manifest must be a mapping with apiVersion and kind, not {}",
                doc.describe()
            );
            self.error(file, doc.mark, prefix, msg);
            return;
        }
        let (Some(api_version), Some(kind)) = (
            self.string_field(file, doc, prefix, "apiVersion"),
            self.string_field(file, doc, prefix, "kind"),
        ) else {
            return;
        };
        if (api_version.as_str(), kind.as_str()) == ("v1", "List") {
            self.list(file, doc, prefix);
            return;
        }
        let resource = match (api_version.as_str(), kind.as_str()) {
            ("v1", "Pod") => self.typed(file, doc, prefix, Resource::Pod),
            ("v1", "ConfigMap") => self.typed(file, doc, prefix, Resource::ConfigMap),
            ("v1", "Secret") => self.typed(file, doc, prefix, Resource::Secret),
            ("v1", "ServiceAccount") => self.typed(file, doc, prefix, Resource::ServiceAccount),
            ("v1", "Service") => self.typed(file, doc, prefix, Resource::Service),
            ("v1", "PersistentVolumeClaim") => self.typed(file, doc, prefix, Resource::PersistentVolumeClaim),
            ("v1", "PersistentVolume") => self.typed(file, doc, prefix, Resource::PersistentVolume),
            ("storage.k8s.io/v1", "StorageClass") => self.typed(file, doc, prefix, Resource::StorageClass),
            ("v1", "Node") => self.typed(file, doc, prefix, Resource::Node),
            ("v1", "Namespace") => self.typed(file, doc, prefix, Resource::Namespace),
            ("v1", "ReplicationController") => self.typed(file, doc, prefix, Resource::ReplicationController),
            ("apps/v1", "Deployment") => self.typed(file, doc, prefix, Resource::Deployment),
            ("apps/v1", "ReplicaSet") => self.typed(file, doc, prefix, Resource::ReplicaSet),
            ("apps/v1", "StatefulSet") => self.typed(file, doc, prefix, Resource::StatefulSet),
            ("apps/v1", "DaemonSet") => self.typed(file, doc, prefix, Resource::DaemonSet),
            ("batch/v1", "Job") => self.typed(file, doc, prefix, Resource::Job),
            _ => {
                let mut msg = format!("kind {kind} (apiVersion {api_version}) is not supported by rekon");
                if let Some(k) = Kind::parse(&kind) {
                    msg.push_str(&format!("; use apiVersion {}", k.api_version()));
                }
                self.error(file, doc.locate("kind").mark, prefix, msg);
                None
            }
        };
        let Some((mut resource, issue_paths)) = resource else {
            return;
        };
        apply_defaults(&mut resource);
        let spec = resource.pod_spec().or(resource.pod_template().map(|t| &t.spec));
        let account = spec.and_then(|spec| {
            let (field, name) = [
                ("serviceAccountName", &spec.service_account_name),
                ("serviceAccount", &spec.service_account),
            ]
            .into_iter()
            .find_map(|(f, n)| n.as_deref().filter(|n| !n.is_empty()).map(|n| (f, n.to_string())))?;
            let base = if resource.kind() == Kind::Pod {
                "spec"
            } else {
                "spec.template.spec"
            };
            let path = format!("{base}.{field}");
            (name != "default").then(|| (join(prefix, &path), doc.locate(&path).mark, name))
        });
        for e in validate(&resource) {
            // A field that failed to deserialize was skipped; do not also call it missing.
            if issue_paths.iter().any(|p| within(&e.path, p)) {
                continue;
            }
            self.error(file, doc.locate(&e.path).mark, &join(prefix, &e.path), e.message);
        }
        self.found.push(Found {
            loaded: Loaded {
                resource: std::sync::Arc::new(resource),
                origin: format!("{file}:{}", doc.mark.line),
            },
            file: file.to_string(),
            prefix: prefix.to_string(),
            name_mark: doc.locate("metadata.name").mark,
            account,
        });
    }

    /// A `kind: List`: each of its `items` is a document of its own.
    fn list(&mut self, file: &str, doc: &Node, prefix: &str) {
        let NodeValue::Map(entries) = &doc.value else {
            return;
        };
        for (key, value) in entries {
            match key.scalar_text() {
                Some("apiVersion" | "kind" | "metadata") => {}
                Some("items") => match &value.value {
                    NodeValue::Seq(items) => {
                        for (i, item) in items.iter().enumerate() {
                            self.document(file, item, &join(prefix, &format!("items[{i}]")));
                        }
                    }
                    NodeValue::Null => {}
                    _ => self.error(
                        file,
                        value.mark,
                        &join(prefix, "items"),
                        format!("must be a sequence, not {}", value.describe()),
                    ),
                },
                other => {
                    let path = yaml::format_key(prefix, other.unwrap_or(""));
                    self.error(file, key.mark, &path, "unknown field");
                }
            }
        }
    }

    /// `apiVersion` or `kind`: a required string.
    fn string_field(&mut self, file: &str, doc: &Node, prefix: &str, field: &str) -> Option<String> {
        let node = doc.locate(field);
        let path = join(prefix, field);
        if std::ptr::eq(node, doc) {
            self.error(file, doc.mark, &path, "required");
            return None;
        }
        match &node.value {
            NodeValue::Scalar { text, style }
                if *style != ScalarStyle::Plain || yaml::resolve_plain(text) == Resolved::Str =>
            {
                if text.is_empty() {
                    self.error(file, node.mark, &path, "required");
                    return None;
                }
                Some(text.clone())
            }
            NodeValue::Null => {
                self.error(file, node.mark, &path, "required");
                None
            }
            _ => {
                self.error(
                    file,
                    node.mark,
                    &path,
                    format!("must be a string, not {}", node.describe()),
                );
                None
            }
        }
    }

    /// Strict deserialization of one kind; every issue becomes an error. Returns the object
    /// (when serde could build it) and the paths that had issues.
    fn typed<T: DeserializeOwned>(
        &mut self,
        file: &str,
        doc: &Node,
        prefix: &str,
        wrap: fn(T) -> Resource,
    ) -> Option<(Resource, Vec<String>)> {
        let (value, issues) = de::from_node::<T>(doc);
        let mut paths = Vec::new();
        for FieldIssue { path, mark, message } in issues {
            self.error(file, mark, &join(prefix, &path), message);
            paths.push(path);
        }
        value.map(|v| (wrap(v), paths))
    }

    /// Cross-object checks, then the result.
    fn finish(mut self) -> Result<Manifests, ManifestErrors> {
        let mut first: HashMap<ObjectId, String> = HashMap::new();
        let mut duplicates = Vec::new();
        for f in &self.found {
            let id = f.loaded.resource.id();
            match first.get(&id) {
                Some(origin) => {
                    let msg = format!("duplicate object {id} (first defined at {origin})");
                    duplicates.push((f.file.clone(), join(&f.prefix, "metadata.name"), f.name_mark, msg));
                }
                None => {
                    first.insert(id, f.loaded.origin.clone());
                }
            }
        }
        for (file, path, mark, msg) in duplicates {
            self.error(&file, mark, &path, msg);
        }
        // The ServiceAccount admission plugin refuses a pod whose account does not exist.
        let accounts: BTreeSet<ObjectId> = self
            .found
            .iter()
            .map(|f| f.loaded.resource.id())
            .filter(|id| id.kind == Kind::ServiceAccount)
            .collect();
        let mut missing = Vec::new();
        for f in &self.found {
            let Some((path, mark, name)) = &f.account else { continue };
            let resource = &f.loaded.resource;
            let ns = resource.metadata().namespace_or_default();
            if accounts.contains(&ObjectId::new(Kind::ServiceAccount, Some(ns), name)) {
                continue;
            }
            let lookup = format!("error looking up service account {ns}/{name}: serviceaccount \"{name}\" not found");
            let msg = match resource.kind() {
                Kind::Pod => format!("pods \"{}\" is forbidden: {lookup}", resource.metadata().name),
                _ => lookup,
            };
            missing.push((f.file.clone(), path.clone(), *mark, msg));
        }
        for (file, path, mark, msg) in missing {
            self.error(&file, mark, &path, msg);
        }
        if !self.errors.is_empty() {
            // Stable: errors at the same position keep the order they were found in.
            self.errors
                .sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
            return Err(ManifestErrors(self.errors));
        }
        let defined: BTreeSet<&str> = self
            .found
            .iter()
            .filter_map(|f| match &*f.loaded.resource {
                Resource::Namespace(ns) => Some(ns.metadata.name.as_str()),
                _ => None,
            })
            .collect();
        let implicit: BTreeSet<String> = self
            .found
            .iter()
            .filter_map(|f| f.loaded.resource.id().namespace)
            .filter(|ns| ns != "default" && !defined.contains(ns.as_str()))
            .collect();
        Ok(Manifests {
            objects: self.found.into_iter().map(|f| f.loaded).collect(),
            implicit_namespaces: implicit.into_iter().collect(),
        })
    }
}

/// Whether `path` is `parent` or a field below it.
fn within(path: &str, parent: &str) -> bool {
    path.strip_prefix(parent)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
}

/// Joins a List item prefix and a path inside the item.
fn join(prefix: &str, path: &str) -> String {
    match (prefix.is_empty(), path.is_empty()) {
        (true, _) => path.to_string(),
        (false, true) => prefix.to_string(),
        (false, false) if path.starts_with('[') => format!("{prefix}{path}"),
        (false, false) => format!("{prefix}.{path}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const CORPUS: &str = "/work/shared/k8s-examples";
    const OUT_OF_SCOPE: &[(&str, &str)] = &[
        ("pods/pod-with-pod-affinity.yaml", "spec.affinity"),
        ("pods/pod-with-toleration.yaml", "spec.tolerations[0]"),
        (
            "pods/security/seccomp/ga/audit-pod.yaml",
            "spec.securityContext.seccompProfile.type",
        ),
    ];

    fn load_one(path: &str, text: &str) -> Result<Manifests, ManifestErrors> {
        load(&[SourceFile {
            path: path.to_string(),
            text: text.to_string(),
        }])
    }

    /// Loads `text` and returns the error lines.
    fn errors(text: &str) -> Vec<String> {
        match load_one("web.yaml", text) {
            Ok(_) => Vec::new(),
            Err(e) => e.0.iter().map(ToString::to_string).collect(),
        }
    }

    const DEPLOY: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.25
";

    #[test]
    fn missing_image_is_reported_at_the_container() {
        let text = DEPLOY.replace("        image: nginx:1.25\n", "        ports: [{containerPort: 80}]\n");
        assert_eq!(
            errors(&text),
            vec!["web.yaml:13:9: spec.template.spec.containers[0].image: required"]
        );
    }

    #[test]
    fn bad_manifests_give_exact_errors() {
        let table: &[(&str, &str, &str)] = &[
            (
                "name: web",
                "name: Web",
                "web.yaml:4:9: metadata.name: invalid value \"Web\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
            ),
            (
                "  name: web\n",
                "  generateName: web-\n",
                "web.yaml:4:17: metadata.generateName: not supported by rekon: a GitOps source needs fixed names to compare with what runs; set metadata.name",
            ),
            (
                "spec:\n",
                "spec:\n  strategy: {rollingUpdate: {maxSurge: 0, maxUnavailable: 0}}\n",
                "web.yaml:6:59: spec.strategy.rollingUpdate.maxUnavailable: invalid value 0: may not be 0 when `maxSurge` is 0",
            ),
            (
                "spec:\n",
                "spec:\n  strategy: {rollingUpdate: {maxUnavailable: 120%}}\n",
                "web.yaml:6:46: spec.strategy.rollingUpdate.maxUnavailable: invalid value \"120%\": must not be greater than 100%",
            ),
            (
                "spec:\n",
                "spec:\n  strategy: {type: Recreate, rollingUpdate: {maxSurge: 1}}\n",
                "web.yaml:6:45: spec.strategy.rollingUpdate: forbidden: may not be specified when strategy `type` is 'Recreate'",
            ),
            (
                "spec:\n",
                "spec:\n  replicas: -1\n",
                "web.yaml:6:13: spec.replicas: invalid value -1: must be greater than or equal to 0",
            ),
            (
                "spec:\n",
                "spec:\n  minReadySeconds: 700\n",
                "web.yaml:6:3: spec.progressDeadlineSeconds: invalid value 600: must be greater than minReadySeconds",
            ),
            (
                "      labels: {app: web}",
                "      labels: {app: api}",
                "web.yaml:10:15: spec.template.metadata.labels: invalid value \"app=api\": `selector` does not match template `labels`",
            ),
            (
                "    spec:\n",
                "    spec:\n      restartPolicy: OnFailure\n",
                "web.yaml:12:22: spec.template.spec.restartPolicy: unsupported value \"OnFailure\": supported values: \"Always\"",
            ),
            (
                "      - name: web\n",
                "      - name: web\n        volumeMounts: [{name: data, mountPath: /data}]\n",
                "web.yaml:14:31: spec.template.spec.containers[0].volumeMounts[0].name: not found: \"data\"",
            ),
            (
                "      - name: web\n",
                "      - name: web\n        resources: {limits: {cpu: 1}, requests: {cpu: 2}}\n",
                "web.yaml:14:55: spec.template.spec.containers[0].resources.requests.cpu: invalid value \"2\": must be less than or equal to cpu limit of 1",
            ),
            (
                "      - name: web\n",
                "      - name: web\n        ports: [{containerPort: 70000}]\n",
                "web.yaml:14:33: spec.template.spec.containers[0].ports[0].containerPort: invalid value 70000: must be between 1 and 65535, inclusive",
            ),
            (
                "      - name: web\n",
                "      - name: web\n        livenessProbe: {exec: {command: [ls]}, tcpSocket: {port: 80}}\n",
                "web.yaml:14:24: spec.template.spec.containers[0].livenessProbe: forbidden: may not specify more than 1 handler type",
            ),
            (
                "    spec:\n",
                "    spec:\n      initContainers: [{name: web, image: busybox}]\n",
                "web.yaml:14:15: spec.template.spec.containers[0].name: duplicate value \"web\"",
            ),
            (
                "    spec:\n",
                "    spec:\n      affinity: {}\n",
                "web.yaml:12:17: spec.template.spec.affinity: not supported by rekon: rekon's scheduler places pods on the virtual nodes of one host by nodeName and nodeSelector only",
            ),
            (
                "      - name: web\n",
                "      - name: web\n        imagePullPolicy: Sometimes\n",
                "web.yaml:14:26: spec.template.spec.containers[0].imagePullPolicy: unsupported value \"Sometimes\": supported values: \"Always\", \"IfNotPresent\", \"Never\"",
            ),
            (
                "      - name: web\n",
                "      - name: web\n        securityContext: {capabilities: {add: [NET_ADMIN, cap_sys_time, ALL], drop: [NET_FLY]}}\n",
                "web.yaml:14:86: spec.template.spec.containers[0].securityContext.capabilities.drop[0]: invalid value \"NET_FLY\": not a Linux capability",
            ),
            (
                "apiVersion: apps/v1",
                "apiVersion: extensions/v1beta1",
                "web.yaml:2:7: kind Deployment (apiVersion extensions/v1beta1) is not supported by rekon; use apiVersion apps/v1",
            ),
        ];
        let mut mismatches = Vec::new();
        for (from, to, want) in table {
            assert!(DEPLOY.contains(from), "{from}");
            let got = errors(&DEPLOY.replacen(from, to, 1));
            if got != vec![want.to_string()] {
                mismatches.push(format!(
                    "replacing {from:?} with {to:?}:\n  got  {got:?}\n  want {want:?}"
                ));
            }
        }
        assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    }

    #[test]
    fn other_kinds_give_exact_errors() {
        let table: &[(&str, &str)] = &[
            (
                "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {pw: not-base64!}\n",
                "web.yaml:4:12: data.pw: invalid value \"<secret value>\": illegal base64 data at input byte 3",
            ),
            (
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: x}\nbinaryData: {a: eA==}\n",
                "web.yaml:5:17: binaryData.a: invalid value \"a\": duplicate of key \"a\" present in data",
            ),
            (
                "apiVersion: v1\nkind: Service\nmetadata: {name: 1web}\nspec: {ports: [{port: 80}]}\n",
                "web.yaml:3:18: metadata.name: invalid value \"1web\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character",
            ),
            (
                "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostAliases: [{ip: 10.0.0, hostnames: [a]}]\n  containers: [{name: c, image: x}]\n",
                "web.yaml:5:22: spec.hostAliases[0].ip: invalid value \"10.0.0\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
            ),
            (
                "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  volumes: [{name: h, hostPath: {path: var/log}}]\n  containers: [{name: c, image: x}]\n",
                "web.yaml:5:40: spec.volumes[0].hostPath.path: invalid value \"var/log\": must be an absolute path",
            ),
            (
                "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  template:\n    spec:\n      containers: [{name: c, image: x}]\n",
                "web.yaml:7:7: spec.template.spec.restartPolicy: unsupported value \"Always\": supported values: \"OnFailure\", \"Never\"",
            ),
            (
                "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: x, volumeMounts: [{name: v, mountPath: /a, subPath: ../x}]}]\n  volumes: [{name: v}]\n",
                "web.yaml:5:85: spec.containers[0].volumeMounts[0].subPath: invalid value \"../x\": must not contain '..'",
            ),
            (
                "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: fast}\nreclaimPolicy: Recycle\nprovisioner: x.example/p\n",
                "web.yaml:4:16: reclaimPolicy: unsupported value \"Recycle\": supported values: \"Delete\", \"Retain\"",
            ),
            (
                "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: fast}\n",
                "web.yaml:1:1: provisioner: required",
            ),
            (
                "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: local}\nprovisioner: rekon.dev/local-path\nparameters: {size: 10Gi}\n",
                "web.yaml:5:20: parameters.size: not supported by rekon: rekon's provisioner takes no parameters: it makes a directory per claim",
            ),
            (
                "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: late}\nprovisioner: x.example/p\nvolumeBindingMode: Later\n",
                "web.yaml:5:20: volumeBindingMode: unsupported value \"Later\": supported values: \"Immediate\", \"WaitForFirstConsumer\"",
            ),
            (
                "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  serviceAccountName: robot\n  containers: [{name: c, image: x}]\n",
                "web.yaml:5:23: spec.serviceAccountName: pods \"p\" is forbidden: error looking up service account default/robot: serviceaccount \"robot\" not found",
            ),
            (
                "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec:\n      serviceAccount: robot\n      containers: [{name: c, image: x}]\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: robot, namespace: other}\n",
                "web.yaml:9:23: spec.template.spec.serviceAccount: error looking up service account default/robot: serviceaccount \"robot\" not found",
            ),
            (
                "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  volumes: [{name: t, projected: {sources: [{serviceAccountToken: {path: t, expirationSeconds: 60}}]}}]\n  containers: [{name: c, image: x}]\n",
                "web.yaml:5:96: spec.volumes[0].projected.sources[0].serviceAccountToken.expirationSeconds: invalid value \"60\": may not specify a duration less than 10 minutes",
            ),
            (
                "apiVersion: v1\nkind: Frob\nmetadata: {name: p}\n",
                "web.yaml:2:7: kind Frob (apiVersion v1) is not supported by rekon",
            ),
            ("kind: Pod\nmetadata: {name: p}\n", "web.yaml:1:1: apiVersion: required"),
        ];
        let mut mismatches = Vec::new();
        for (text, want) in table {
            let got = errors(text);
            if got != vec![want.to_string()] {
                mismatches.push(format!("{text:?}:\n  got  {got:?}\n  want {want:?}"));
            }
        }
        assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    }

    #[test]
    fn unknown_fields_and_type_errors_come_from_the_deserializer() {
        let text = DEPLOY.replace(
            "        image: nginx:1.25\n",
            "        image: nginx:1.25\n        imagePolicy: Always\n        tty: maybe\n",
        );
        let got = errors(&text);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(
            got[0].starts_with("web.yaml:15:9: spec.template.spec.containers[0].imagePolicy: "),
            "{got:?}"
        );
        assert!(
            got[1].starts_with("web.yaml:16:14: spec.template.spec.containers[0].tty: "),
            "{got:?}"
        );
    }

    #[test]
    fn lists_duplicates_namespaces_and_ordering() {
        let a = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: c, namespace: prod}\n- apiVersion: v1\n  kind: Namespace\n  metadata: {name: staging}\n";
        let b = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: d, namespace: staging}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {pw: hunter2}\n";
        let m = load(&[
            SourceFile {
                path: "b.yaml".into(),
                text: b.into(),
            },
            SourceFile {
                path: "a.yaml".into(),
                text: a.into(),
            },
        ])
        .unwrap();
        let origins: Vec<&str> = m.objects.iter().map(|o| o.origin.as_str()).collect();
        assert_eq!(origins, ["b.yaml:1", "b.yaml:5", "a.yaml:4", "a.yaml:7"]);
        assert_eq!(m.implicit_namespaces, ["prod"]);
        let Resource::Secret(s) = &*m.objects[1].resource else {
            panic!()
        };
        assert_eq!(s.data_bytes()["pw"], b"hunter2");
        assert!(s.string_data.is_empty());

        let dup = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: prod}\n";
        let bad = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: C}\n";
        let err = load(&[
            SourceFile {
                path: "z.yaml".into(),
                text: bad.into(),
            },
            SourceFile {
                path: "b.yaml".into(),
                text: dup.into(),
            },
            SourceFile {
                path: "a.yaml".into(),
                text: a.into(),
            },
        ])
        .unwrap_err();
        let lines: Vec<String> = err.0.iter().map(ToString::to_string).collect();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(
            lines[0],
            "a.yaml:6:20: items[0].metadata.name: duplicate object ConfigMap prod/c (first defined at b.yaml:1)"
        );
        assert!(
            lines[1].starts_with("z.yaml:3:18: metadata.name: invalid value \"C\""),
            "{lines:?}"
        );
    }

    #[test]
    fn nulls_read_as_absent_and_kubectl_timestamps_are_accepted() {
        let text = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  labels:\n  creationTimestamp: null\nspec:\n  volumes: ~\n  containers:\n  - name: c\n    image: busybox:1\n    args:\n";
        let m = load_one("p.yaml", text).unwrap();
        assert_eq!(
            m.objects[0].resource.id(),
            ObjectId::new(crate::manifest::types::Kind::Pod, Some("default"), "p")
        );
        let err = load_one("p.yaml", &text.replace("null", "2024-01-01T00:00:00Z")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "p.yaml:6:22: metadata.creationTimestamp: not supported by rekon: it is set by the cluster, not by a manifest"
        );
    }

    #[test]
    fn oversized_files_are_refused() {
        let text = format!("# {}\n", "x".repeat(MAX_FILE_BYTES));
        let err = load_one("big.yaml", &text).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "big.yaml:1:1: file is {} bytes, more than the limit of 4 MiB",
                text.len()
            )
        );
    }

    fn corpus_files(dir: &Path, root: &Path, out: &mut Vec<SourceFile>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                corpus_files(&p, root, out);
            } else if p.extension().is_some_and(|e| e == "yaml") {
                let path = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.push(SourceFile {
                    path,
                    text: std::fs::read_to_string(&p).unwrap(),
                });
            }
        }
    }

    #[test]
    fn corpus_loads_and_out_of_scope_files_fail_at_the_field() {
        let root = Path::new(CORPUS);
        let mut files = Vec::new();
        corpus_files(root, root, &mut files);
        assert_eq!(files.len(), 49);
        let mut failures = Vec::new();
        for f in &files {
            let result = load(std::slice::from_ref(f));
            match OUT_OF_SCOPE.iter().find(|(p, _)| *p == f.path) {
                Some((_, field)) => {
                    let errs = result.expect_err(&f.path).0;
                    assert!(
                        errs.iter()
                            .any(|e| e.path == *field && e.message.starts_with("not supported by rekon") && e.line > 1),
                        "{}: {errs:?}",
                        f.path
                    );
                }
                None => {
                    if let Err(e) = result {
                        failures.push(e.to_string());
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}
