//! ServiceAccounts in real pods: the `kube-api-access-*` volume the admission plugin adds,
//! well-formed tokens signed with the state's key, automount settings, a projected token of
//! another audience, and `rekon create token`.

use super::LinuxHost;
use base64::Engine;
use serde_json::Value;

const PODS: &str = "apiVersion: v1
kind: ServiceAccount
metadata:
  name: robot
automountServiceAccountToken: false
---
apiVersion: v1
kind: Pod
metadata:
  name: plain
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: main, image: busybox, command: [sleep, \"3600\"]}
---
apiVersion: v1
kind: Pod
metadata:
  name: robot-off
spec:
  serviceAccountName: robot
  terminationGracePeriodSeconds: 1
  containers:
  - {name: main, image: busybox, command: [sleep, \"3600\"]}
---
apiVersion: v1
kind: Pod
metadata:
  name: robot-on
spec:
  serviceAccountName: robot
  automountServiceAccountToken: true
  terminationGracePeriodSeconds: 1
  containers:
  - {name: main, image: busybox, command: [sleep, \"3600\"]}
  volumes:
  - name: vault
    projected:
      sources:
      - serviceAccountToken: {audience: vault, expirationSeconds: 600, path: token}
";

/// The header and claims of a JWT, after checking its ES256 signature with the state's key.
fn verified(host: &LinuxHost, token: &str, audience: &str) -> (Value, Value) {
    let der = std::fs::read(host.state_dir().join("serviceaccount/key.der")).unwrap();
    let pair = rcgen::KeyPair::try_from(der.as_slice()).unwrap();
    let key = jsonwebtoken::DecodingKey::from_ec_pem(pair.public_key_pem().as_bytes()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.set_audience(&[audience]);
    validation.set_issuer(&["https://kubernetes.default.svc.cluster.local"]);
    let claims = jsonwebtoken::decode::<Value>(token, &key, &validation).unwrap().claims;
    let header = token.split('.').next().unwrap();
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).unwrap();
    (serde_json::from_slice(&header).unwrap(), claims)
}

#[test]
fn pods_get_the_api_access_volume_unless_automount_is_off_and_tokens_are_well_formed() {
    let Some(host) = LinuxHost::new() else { return };
    host.example_images();
    host.apply(&PODS.replace("- {name: main, image: busybox, command: [sleep, \"3600\"]}\n  volumes:", "- name: main\n    image: busybox\n    command: [sleep, \"3600\"]\n    volumeMounts: [{name: vault, mountPath: /var/run/vault}]\n  volumes:")).expect(0);
    let cat = |pod: &str, path: &str| host.run(&["exec", pod, "--", "cat", path]);
    let dir = "/var/run/secrets/kubernetes.io/serviceaccount";
    assert_eq!(cat("plain", &format!("{dir}/namespace")).expect(0).stdout, "default");
    let ca = std::fs::read_to_string(host.state_dir().join("serviceaccount/ca.crt")).unwrap();
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----\n"), "{ca}");
    assert_eq!(cat("plain", &format!("{dir}/ca.crt")).expect(0).stdout, ca);
    // The ConfigMap the volume takes it from, in every namespace, as the root-CA publisher's.
    let cm = host
        .run(&["get", "cm", "kube-root-ca.crt", "-o", "json"])
        .expect(0)
        .stdout;
    let cm: Value = serde_json::from_str(&cm).unwrap();
    assert_eq!(cm["data"]["ca.crt"], ca.as_str());
    assert!(
        cm["metadata"]["annotations"]["kubernetes.io/description"]
            .as_str()
            .is_some_and(|d| d.starts_with("Contains a CA bundle")),
        "{cm}"
    );
    let token = cat("plain", &format!("{dir}/token")).expect(0).stdout;
    let (header, claims) = verified(&host, &token, "https://kubernetes.default.svc.cluster.local");
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["kid"].as_str().map(str::len), Some(43));
    let uid = host.uid("plain");
    assert_eq!(claims["sub"], "system:serviceaccount:default:default");
    assert_eq!(claims["kubernetes.io"]["pod"]["name"], "plain");
    assert_eq!(claims["kubernetes.io"]["pod"]["uid"], uid.as_str());
    assert_eq!(claims["kubernetes.io"]["serviceaccount"]["name"], "default");
    let iat = claims["iat"].as_i64().unwrap();
    assert_eq!(claims["nbf"].as_i64(), Some(iat));
    assert_eq!(claims["kubernetes.io"]["warnafter"].as_i64(), Some(iat + 3607));
    assert_eq!(claims["exp"].as_i64(), Some(iat + 365 * 24 * 3600));
    // The files are the atomic writer's, read-only.
    let ls = host.run(&["exec", "plain", "--", "ls", "-la", dir]).expect(0).stdout;
    assert!(ls.contains("token -> ..data/token"), "{ls}");
    let write = host.run(&["exec", "plain", "--", "sh", "-c", &format!("echo x > {dir}/new")]);
    assert_ne!(write.code, Some(0));

    // The account turns automounting off; a pod may turn it on again.
    let none = host.run(&["exec", "robot-off", "--", "ls", dir]);
    assert_ne!(none.code, Some(0), "{}", none.stdout);
    let token = cat("robot-on", &format!("{dir}/token")).expect(0).stdout;
    let (_, claims) = verified(&host, &token, "https://kubernetes.default.svc.cluster.local");
    assert_eq!(claims["sub"], "system:serviceaccount:default:robot");
    let uid_of_robot = claims["kubernetes.io"]["serviceaccount"]["uid"].clone();
    let yaml = host
        .run(&["get", "sa", "robot", "-o", "jsonpath={.metadata.uid}"])
        .expect(0)
        .stdout;
    assert_eq!(Value::String(yaml), uid_of_robot);
    // A projected token of another audience and an hour's tenth: no extension, no warnafter.
    let vault = cat("robot-on", "/var/run/vault/token").expect(0).stdout;
    let (_, claims) = verified(&host, &vault, "vault");
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 600);
    assert_eq!(claims["kubernetes.io"].get("warnafter"), None);

    let get = host.run(&["get", "sa"]).expect(0).stdout;
    let rows: Vec<Vec<&str>> = get.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows[0], ["NAME", "SECRETS", "AGE"]);
    let names: Vec<(&str, &str)> = rows[1..].iter().map(|r| (r[0], r[1])).collect();
    assert_eq!(names, [("default", "0"), ("robot", "0")], "{get}");

    // `create token` as kubectl's: audiences and duration, for an account that exists.
    let printed = host
        .run(&["create", "token", "robot", "--audience", "vault", "--duration", "10m"])
        .expect(0)
        .stdout;
    let (_, claims) = verified(&host, printed.trim_end(), "vault");
    assert_eq!(claims["sub"], "system:serviceaccount:default:robot");
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 600);
    assert_eq!(claims["kubernetes.io"].get("pod"), None);
    let missing = host.run(&["create", "token", "nobody"]).expect(1);
    assert_eq!(
        missing.stderr,
        "Error: failed to create token: serviceaccounts \"nobody\" not found\n"
    );
    host.finish();
}
