//! Service account tokens: JWTs with upstream's bound-token claims (`pkg/serviceaccount/
//! claims.go`; spec §21), signed ES256 by the state's key. rekon has no API server, so
//! nothing accepts them; they are there for workloads that read a well-formed token at start.
//!
//! The supervisor mints the tokens of a pod's `serviceAccountToken` projections and mints
//! them again at 80 % of their lifetime, as the kubelet's token manager does; `rekon create
//! token` mints one bound to no pod.

use crate::time::Time;
use serde::{Deserialize, Serialize};

/// `--service-account-issuer` of a kubeadm cluster; also the default audience.
pub const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";
/// The `expirationSeconds` of the `kube-api-access-*` volume's token.
pub const API_ACCESS_SECONDS: i64 = 3607;
/// How long a pod-bound token of [`API_ACCESS_SECONDS`] really lives
/// (`ExpirationExtensionSeconds`: a year), its `warnafter` staying at the requested time.
pub const EXTENDED_SECONDS: i64 = 365 * 24 * 3600;
/// The shortest lifetime a token may be asked for.
pub use crate::manifest::types::volume::MIN_TOKEN_SECONDS as MIN_SECONDS;

/// What the tokens of a pod are signed with and say about it. Travels in the pod's data on
/// its tmpfs, never in `pod.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenIssuer {
    /// The state's signing key, PKCS#8 DER in base64.
    pub key: String,
    /// `kid` of the header: base64url of the SHA-256 of the public key's DER, as upstream.
    pub kid: String,
    /// The service account's name.
    pub service_account: String,
    /// The service account's uid.
    pub service_account_uid: String,
    /// The uid of the pod's node.
    pub node_uid: String,
}

/// One token to mint.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRequest<'a> {
    /// The service account's namespace.
    pub namespace: &'a str,
    /// `aud`; empty means the issuer.
    pub audiences: Vec<String>,
    /// `expirationSeconds`.
    pub expiration_seconds: i64,
    /// The pod (name, uid) and node (name) it is bound to, if any.
    pub pod: Option<(&'a str, &'a str, &'a str)>,
    /// `iat` and `nbf`.
    pub now: Time,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Claims {
    aud: Vec<String>,
    exp: i64,
    iat: i64,
    iss: String,
    jti: String,
    #[serde(rename = "kubernetes.io")]
    kubernetes: Private,
    nbf: i64,
    sub: String,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Private {
    namespace: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    node: Option<Ref>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pod: Option<Ref>,
    serviceaccount: Ref,
    #[serde(skip_serializing_if = "Option::is_none")]
    warnafter: Option<i64>,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Ref {
    name: String,
    uid: String,
}

/// A random UUID (version 4), for `jti`.
fn uuid() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

/// Mints the token `req` asks for with `issuer`'s key.
pub fn mint(issuer: &TokenIssuer, req: &TokenRequest<'_>) -> Result<String, String> {
    use base64::Engine;
    let key = base64::engine::general_purpose::STANDARD
        .decode(&issuer.key)
        .map_err(|e| format!("the service account key is not base64: {e}"))?;
    let iat = req.now.timestamp();
    // A pod-bound token of the API access volume lives a year; it still warns after 3607 s.
    let extended = req.pod.is_some() && req.expiration_seconds == API_ACCESS_SECONDS;
    let exp = iat
        + if extended {
            EXTENDED_SECONDS
        } else {
            req.expiration_seconds
        };
    let audiences = if req.audiences.is_empty() {
        vec![ISSUER.to_string()]
    } else {
        req.audiences.clone()
    };
    let claims = Claims {
        aud: audiences,
        exp,
        iat,
        iss: ISSUER.into(),
        jti: uuid(),
        kubernetes: Private {
            namespace: req.namespace.into(),
            node: req.pod.map(|(_, _, node)| Ref {
                name: node.into(),
                uid: issuer.node_uid.clone(),
            }),
            pod: req.pod.map(|(name, uid, _)| Ref {
                name: name.into(),
                uid: uid.into(),
            }),
            serviceaccount: Ref {
                name: issuer.service_account.clone(),
                uid: issuer.service_account_uid.clone(),
            },
            warnafter: extended.then_some(iat + API_ACCESS_SECONDS),
        },
        nbf: iat,
        sub: format!("system:serviceaccount:{}:{}", req.namespace, issuer.service_account),
    };
    let header = jsonwebtoken::Header {
        kid: Some(issuer.kid.clone()),
        ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256)
    };
    jsonwebtoken::encode(&header, &claims, &jsonwebtoken::EncodingKey::from_ec_der(&key))
        .map_err(|e| format!("cannot sign the service account token: {e}"))
}

/// When the kubelet fetches a new token (`requiresRefresh`): after 80 % of the requested
/// lifetime.
pub fn refresh_at(minted: Time, expiration_seconds: i64) -> Time {
    minted + chrono::Duration::milliseconds(expiration_seconds * 800)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issuer() -> (TokenIssuer, String) {
        use base64::Engine;
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let issuer = TokenIssuer {
            key: base64::engine::general_purpose::STANDARD.encode(key.serialize_der()),
            kid: "kid-1".into(),
            service_account: "default".into(),
            service_account_uid: "sa-uid".into(),
            node_uid: "node-uid".into(),
        };
        (issuer, key.public_key_pem())
    }

    fn decode(token: &str, public: &str, audience: &str) -> (jsonwebtoken::Header, Claims) {
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
        validation.set_audience(&[audience]);
        validation.set_issuer(&[ISSUER]);
        let key = jsonwebtoken::DecodingKey::from_ec_pem(public.as_bytes()).unwrap();
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation).unwrap();
        (data.header, data.claims)
    }

    #[test]
    fn a_pod_bound_api_access_token_has_upstreams_claims_and_a_years_life() {
        let (issuer, public) = issuer();
        let now = crate::time::now();
        let token = mint(
            &issuer,
            &TokenRequest {
                namespace: "shop",
                audiences: vec![],
                expiration_seconds: API_ACCESS_SECONDS,
                pod: Some(("web", "pod-uid", "node-a")),
                now,
            },
        )
        .unwrap();
        let (header, claims) = decode(&token, &public, ISSUER);
        assert_eq!(header.kid.as_deref(), Some("kid-1"));
        assert_eq!(header.alg, jsonwebtoken::Algorithm::ES256);
        let iat = now.timestamp();
        assert_eq!(claims.sub, "system:serviceaccount:shop:default");
        assert_eq!(claims.aud, [ISSUER]);
        assert_eq!((claims.iat, claims.nbf, claims.exp), (iat, iat, iat + EXTENDED_SECONDS));
        assert_eq!(claims.jti.len(), 36);
        assert_eq!(
            claims.kubernetes,
            Private {
                namespace: "shop".into(),
                node: Some(Ref {
                    name: "node-a".into(),
                    uid: "node-uid".into()
                }),
                pod: Some(Ref {
                    name: "web".into(),
                    uid: "pod-uid".into()
                }),
                serviceaccount: Ref {
                    name: "default".into(),
                    uid: "sa-uid".into()
                },
                warnafter: Some(iat + API_ACCESS_SECONDS),
            }
        );
        // The payload's keys as upstream writes them.
        let payload = token.split('.').nth(1).unwrap();
        use base64::Engine;
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap();
        let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
        let keys: Vec<&String> = value.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["aud", "exp", "iat", "iss", "jti", "kubernetes.io", "nbf", "sub"]);
    }

    #[test]
    fn an_unbound_token_has_its_audiences_and_lifetime_and_refreshes_at_eighty_percent() {
        let (issuer, public) = issuer();
        let now = crate::time::now();
        let token = mint(
            &issuer,
            &TokenRequest {
                namespace: "default",
                audiences: vec!["vault".into()],
                expiration_seconds: 600,
                pod: None,
                now,
            },
        )
        .unwrap();
        let (_, claims) = decode(&token, &public, "vault");
        assert_eq!(claims.exp - claims.iat, 600);
        assert_eq!(
            (
                claims.kubernetes.pod,
                claims.kubernetes.node,
                claims.kubernetes.warnafter
            ),
            (None, None, None)
        );
        assert_eq!(refresh_at(now, 3607), now + chrono::Duration::milliseconds(2_885_600));
    }
}
