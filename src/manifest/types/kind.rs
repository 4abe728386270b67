//! [`Kind`], the object kinds rekon accepts, and the keys objects are found by: [`ObjectId`]
//! (kind, namespace, name) and [`NamespacedName`].

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// A kind of object rekon accepts, e.g. `Deployment`.
///
/// Ordered by name, so maps keyed by kind list kinds alphabetically, as the string keys of
/// earlier versions did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `v1` Pod.
    Pod,
    /// `v1` ConfigMap.
    ConfigMap,
    /// `v1` Secret.
    Secret,
    /// `v1` ServiceAccount.
    ServiceAccount,
    /// `v1` Service.
    Service,
    /// `v1` PersistentVolumeClaim.
    PersistentVolumeClaim,
    /// `v1` PersistentVolume (cluster-scoped).
    PersistentVolume,
    /// `storage.k8s.io/v1` StorageClass (cluster-scoped).
    StorageClass,
    /// `v1` Node (cluster-scoped).
    Node,
    /// `v1` Namespace (cluster-scoped).
    Namespace,
    /// `v1` ReplicationController.
    ReplicationController,
    /// `apps/v1` Deployment.
    Deployment,
    /// `apps/v1` ReplicaSet.
    ReplicaSet,
    /// `apps/v1` StatefulSet.
    StatefulSet,
    /// `apps/v1` DaemonSet.
    DaemonSet,
    /// `batch/v1` Job.
    Job,
}

impl Kind {
    /// Every kind, in the order manifests' kinds are listed in messages.
    pub const ALL: [Kind; 16] = [
        Kind::Pod,
        Kind::ConfigMap,
        Kind::Secret,
        Kind::ServiceAccount,
        Kind::Service,
        Kind::PersistentVolumeClaim,
        Kind::PersistentVolume,
        Kind::StorageClass,
        Kind::Node,
        Kind::Namespace,
        Kind::ReplicationController,
        Kind::Deployment,
        Kind::ReplicaSet,
        Kind::StatefulSet,
        Kind::DaemonSet,
        Kind::Job,
    ];

    /// The kind as manifests spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Pod => "Pod",
            Kind::ConfigMap => "ConfigMap",
            Kind::Secret => "Secret",
            Kind::ServiceAccount => "ServiceAccount",
            Kind::Service => "Service",
            Kind::PersistentVolumeClaim => "PersistentVolumeClaim",
            Kind::PersistentVolume => "PersistentVolume",
            Kind::StorageClass => "StorageClass",
            Kind::Node => "Node",
            Kind::Namespace => "Namespace",
            Kind::ReplicationController => "ReplicationController",
            Kind::Deployment => "Deployment",
            Kind::ReplicaSet => "ReplicaSet",
            Kind::StatefulSet => "StatefulSet",
            Kind::DaemonSet => "DaemonSet",
            Kind::Job => "Job",
        }
    }

    /// The kind spelled `name` exactly (manifests' kinds are case-sensitive).
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The apiVersion the kind is served at (`v1`, `apps/v1`, `batch/v1`, `storage.k8s.io/v1`).
    pub fn api_version(self) -> &'static str {
        match self {
            Kind::Deployment | Kind::ReplicaSet | Kind::StatefulSet | Kind::DaemonSet => "apps/v1",
            Kind::Job => "batch/v1",
            Kind::StorageClass => "storage.k8s.io/v1",
            _ => "v1",
        }
    }

    /// Whether objects of the kind live in a namespace.
    pub fn is_namespaced(self) -> bool {
        !matches!(
            self,
            Kind::PersistentVolume | Kind::StorageClass | Kind::Node | Kind::Namespace
        )
    }
}

impl PartialOrd for Kind {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Kind {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Kind {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Kind::parse(&name).ok_or_else(|| serde::de::Error::custom(format!("unknown kind {name:?}")))
    }
}

/// Identity of an object: kind, namespace (None for cluster-scoped kinds) and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ObjectId {
    /// The object's kind.
    pub kind: Kind,
    /// Its namespace; None for a cluster-scoped kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Its `metadata.name`.
    pub name: String,
}

impl ObjectId {
    /// The id of the object of `kind` named `name` in `namespace`.
    pub fn new(kind: Kind, namespace: Option<&str>, name: &str) -> Self {
        ObjectId {
            kind,
            namespace: namespace.map(str::to_string),
            name: name.to_string(),
        }
    }

    /// The id of a namespaced object.
    pub fn namespaced(kind: Kind, key: &NamespacedName) -> Self {
        ObjectId {
            kind,
            namespace: Some(key.namespace.clone()),
            name: key.name.clone(),
        }
    }

    /// The kubectl-style short reference, `deployment/web`.
    pub fn kubectl_ref(&self) -> String {
        format!("{}/{}", self.kind.as_str().to_lowercase(), self.name)
    }

    /// Namespace and name, for a namespaced object (`None` for a cluster-scoped one).
    pub fn key(&self) -> Option<NamespacedName> {
        Some(NamespacedName::new(self.namespace.as_deref()?, &self.name))
    }

    /// Whether this is the object of `kind` named `name` in `namespace`.
    pub fn is(&self, kind: Kind, namespace: &str, name: &str) -> bool {
        self.kind == kind && self.namespace.as_deref() == Some(namespace) && self.name == name
    }
}

impl fmt::Display for ObjectId {
    /// `Deployment default/web`, or `Namespace prod` for cluster-scoped objects.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.kind, ns, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

impl FromStr for ObjectId {
    type Err = String;

    /// Reads the [`Display`](fmt::Display) form back: names and namespaces hold neither
    /// spaces nor slashes, so the form is unambiguous.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not an object id (`Kind namespace/name` or `Kind name`)");
        let (kind, rest) = s.split_once(' ').ok_or_else(bad)?;
        let kind = Kind::parse(kind).ok_or_else(bad)?;
        let (namespace, name) = match rest.split_once('/') {
            Some((ns, name)) => (Some(ns), name),
            None => (None, rest),
        };
        if name.is_empty() || namespace.is_some_and(str::is_empty) || namespace.is_some() != kind.is_namespaced() {
            return Err(bad());
        }
        Ok(ObjectId::new(kind, namespace, name))
    }
}

/// Namespace and name of a namespaced object, `default/web`: how the state keys the records
/// of one kind.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NamespacedName {
    /// The object's namespace.
    pub namespace: String,
    /// The object's name.
    pub name: String,
}

impl NamespacedName {
    /// The key of `name` in `namespace`.
    pub fn new(namespace: &str, name: &str) -> Self {
        NamespacedName {
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }
}

impl fmt::Display for NamespacedName {
    /// `default/web`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

impl FromStr for NamespacedName {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.split_once('/') {
            Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains('/') => {
                Ok(NamespacedName::new(ns, name))
            }
            _ => Err(format!("{s:?} is not `namespace/name`")),
        }
    }
}

/// Serde for maps keyed by [`ObjectId`] or [`NamespacedName`]: JSON object keys are strings,
/// so keys are written in their display form and parsed back.
pub mod string_keys {
    use serde::de::{Error, MapAccess, Visitor};
    use serde::{Deserialize, Deserializer, Serializer};
    use std::collections::BTreeMap;
    use std::fmt::{self, Display};
    use std::marker::PhantomData;
    use std::str::FromStr;

    /// Writes the map with its keys' display forms as keys.
    pub fn serialize<K: Display, V: serde::Serialize, S: Serializer>(
        map: &BTreeMap<K, V>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_map(map.iter().map(|(k, v)| (k.to_string(), v)))
    }

    /// Reads a map whose keys parse with [`FromStr`]; a key that does not is an error.
    pub fn deserialize<'de, K, V, D>(d: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        K: FromStr<Err = String> + Ord,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        struct Keyed<K, V>(PhantomData<(K, V)>);
        impl<'de, K: FromStr<Err = String> + Ord, V: Deserialize<'de>> Visitor<'de> for Keyed<K, V> {
            type Value = BTreeMap<K, V>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map keyed by object ids")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
                let mut map = BTreeMap::new();
                while let Some(key) = access.next_key::<std::borrow::Cow<'de, str>>()? {
                    let key = K::from_str(&key).map_err(A::Error::custom)?;
                    map.insert(key, access.next_value()?);
                }
                Ok(map)
            }
        }
        d.deserialize_map(Keyed(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_back_from_their_display_form() {
        for id in [
            ObjectId::new(Kind::Deployment, Some("default"), "web"),
            ObjectId::new(Kind::Namespace, None, "prod"),
            ObjectId::new(Kind::PersistentVolume, None, "pv-1"),
        ] {
            assert_eq!(id.to_string().parse::<ObjectId>(), Ok(id));
        }
        for bad in [
            "Deployment",
            "Deployment web",
            "Gadget default/web",
            "Node a/b",
            "Pod /x",
            "Pod default/",
        ] {
            assert!(bad.parse::<ObjectId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn kinds_order_by_name_as_string_keys_did() {
        let mut kinds = Kind::ALL.to_vec();
        kinds.sort();
        let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert_eq!(Kind::ALL.iter().filter(|k| !k.is_namespaced()).count(), 4);
    }

    #[test]
    fn maps_keyed_by_id_are_json_objects_keyed_by_display_form() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct S {
            #[serde(with = "string_keys")]
            m: std::collections::BTreeMap<NamespacedName, u32>,
        }
        let s = S {
            m: [(NamespacedName::new("default", "web"), 1)].into(),
        };
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, r#"{"m":{"default/web":1}}"#);
        assert_eq!(serde_json::from_str::<S>(&json).unwrap(), s);
        let err = serde_json::from_str::<S>(r#"{"m":{"web":1}}"#).unwrap_err().to_string();
        assert!(err.contains("\"web\" is not `namespace/name`"), "{err}");
    }
}
