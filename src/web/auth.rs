//! Who a browser is and what it may do (issue 12): signed tokens (JWT) with channel
//! grants, ACL users with passwords, or the `default` user when it needs no password,
//! exactly as for RESP clients. Also the `Origin` allow-list.
//!
//! # Token format
//!
//! A JWT (HS256 with `jwt-secret`; RS256/384/512 or ES256/384 with a PEM public key or a
//! JWKS file in `jwt-key-file`, the key picked by the header's `kid` when the JWKS has
//! several) with these claims:
//!
//! - `sub` (string, required): the user name the client shows (CLIENT LIST `user=`);
//! - `exp` (number, required): expiry, seconds since the epoch; the connection is closed
//!   when it passes;
//! - `subscribe` (list of globs, default none): channels the client may SUBSCRIBE to,
//!   and patterns it may PSUBSCRIBE to, compared literally (the ACL `&` rule);
//! - `publish` (list of globs, default none): channels it may PUBLISH to.
//!
//! The globs use the same matcher and the same literal rule as ACL channel rules
//! (`crate::acl::rules::User::may_access_channel`).

use crate::acl::rules::User;
use crate::config::WebConfig;
use bytes::Bytes;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use std::sync::Arc;

/// Seconds of clock skew allowed on `exp`.
const LEEWAY_SECS: u64 = 5;

/// The keys tokens are verified with.
pub struct Jwt {
    keys: Vec<Key>,
}

struct Key {
    kid: Option<String>,
    key: DecodingKey,
    algorithms: Vec<Algorithm>,
}

impl std::fmt::Debug for Jwt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwt")
            .field("keys", &self.keys.len())
            .finish()
    }
}

#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    exp: u64,
    #[serde(default)]
    subscribe: Vec<String>,
    #[serde(default)]
    publish: Vec<String>,
}

/// What a valid token grants.
#[derive(Debug, Clone)]
pub struct Grants {
    pub user: Bytes,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    pub subscribe: Vec<Bytes>,
    pub publish: Vec<Bytes>,
}

fn granted(list: &[Bytes], channel: &[u8], literal: bool) -> bool {
    list.iter().any(|p| {
        if literal {
            p[..] == *channel
        } else {
            crate::glob::matches(p, channel)
        }
    })
}

impl Grants {
    pub fn may_subscribe(&self, channel: &[u8], literal: bool) -> bool {
        granted(&self.subscribe, channel, literal)
    }

    pub fn may_publish(&self, channel: &[u8]) -> bool {
        granted(&self.publish, channel, false)
    }
}

/// Why a token was refused; `text` is what the client is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    /// No `jwt-secret` / `jwt-key-file` configured.
    NotConfigured,
    Expired,
    BadSignature,
    /// Not a JWT, an algorithm the keys don't take, a missing claim, an unknown `kid`.
    Invalid,
}

impl TokenError {
    pub fn text(self) -> &'static str {
        match self {
            TokenError::NotConfigured => crate::error::TOKEN_NOT_CONFIGURED,
            TokenError::Expired => crate::error::TOKEN_EXPIRED,
            TokenError::BadSignature => crate::error::TOKEN_BAD_SIGNATURE,
            TokenError::Invalid => crate::error::TOKEN_INVALID,
        }
    }
}

impl Jwt {
    /// The keys from the settings; `None` when neither is set. A bad key file stops
    /// the start.
    pub fn from_config(c: &WebConfig) -> Result<Option<Jwt>, String> {
        let mut keys = Vec::new();
        if !c.jwt_secret.is_empty() {
            keys.push(Key {
                kid: None,
                key: DecodingKey::from_secret(c.jwt_secret.as_bytes()),
                algorithms: vec![Algorithm::HS256],
            });
        }
        if !c.jwt_key_file.is_empty() {
            let path = &c.jwt_key_file;
            let text = std::fs::read(path).map_err(|e| format!("jwt-key-file {path}: {e}"))?;
            keys.extend(parse_key_file(&text).map_err(|e| format!("jwt-key-file {path}: {e}"))?);
        }
        Ok((!keys.is_empty()).then_some(Jwt { keys }))
    }

    pub fn verify(&self, token: &str) -> Result<Grants, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
        let key = self
            .keys
            .iter()
            .filter(|k| k.algorithms.contains(&header.alg))
            .find(|k| match (&k.kid, &header.kid) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            })
            .ok_or(TokenError::Invalid)?;
        let mut v = Validation::new(header.alg);
        v.leeway = LEEWAY_SECS;
        v.validate_aud = false;
        v.set_required_spec_claims(&["exp", "sub"]);
        let data = jsonwebtoken::decode::<Claims>(token, &key.key, &v).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            match e.kind() {
                K::ExpiredSignature => TokenError::Expired,
                K::InvalidSignature => TokenError::BadSignature,
                _ => TokenError::Invalid,
            }
        })?;
        let c = data.claims;
        let to_bytes = |v: Vec<String>| v.into_iter().map(Bytes::from).collect();
        Ok(Grants {
            user: Bytes::from(c.sub),
            exp: c.exp,
            subscribe: to_bytes(c.subscribe),
            publish: to_bytes(c.publish),
        })
    }
}

/// A PEM public key (RSA or EC), or a JWKS document.
fn parse_key_file(text: &[u8]) -> Result<Vec<Key>, String> {
    let trimmed = text.trim_ascii_start();
    if trimmed.starts_with(b"{") {
        let set: jsonwebtoken::jwk::JwkSet =
            serde_json::from_slice(text).map_err(|e| format!("not a JWKS document: {e}"))?;
        let mut keys = Vec::new();
        for jwk in &set.keys {
            let key = DecodingKey::from_jwk(jwk).map_err(|e| format!("JWKS key: {e}"))?;
            let algorithms = match jwk.common.key_algorithm {
                Some(a) => vec![a
                    .to_string()
                    .parse::<Algorithm>()
                    .map_err(|e| format!("JWKS key algorithm: {e}"))?],
                None => match &jwk.algorithm {
                    jsonwebtoken::jwk::AlgorithmParameters::RSA(_) => RSA.to_vec(),
                    jsonwebtoken::jwk::AlgorithmParameters::EllipticCurve(_) => EC.to_vec(),
                    _ => return Err("JWKS key of an unsupported type".into()),
                },
            };
            keys.push(Key {
                kid: jwk.common.key_id.clone(),
                key,
                algorithms,
            });
        }
        if keys.is_empty() {
            return Err("JWKS document without keys".into());
        }
        return Ok(keys);
    }
    if let Ok(key) = DecodingKey::from_rsa_pem(text) {
        return Ok(vec![Key {
            kid: None,
            key,
            algorithms: RSA.to_vec(),
        }]);
    }
    if let Ok(key) = DecodingKey::from_ec_pem(text) {
        return Ok(vec![Key {
            kid: None,
            key,
            algorithms: EC.to_vec(),
        }]);
    }
    Err("neither a PEM public key (RSA, EC) nor a JWKS document".into())
}

const RSA: [Algorithm; 3] = [Algorithm::RS256, Algorithm::RS384, Algorithm::RS512];
const EC: [Algorithm; 2] = [Algorithm::ES256, Algorithm::ES384];

/// Who a browser client is.
#[derive(Debug, Clone)]
pub enum Principal {
    /// An ACL user (password checked, or the `default` user without one).
    User(Arc<User>),
    /// A token's grants.
    Token(Grants),
}

impl Principal {
    pub fn name(&self) -> Bytes {
        match self {
            Principal::User(u) => u.name.clone(),
            Principal::Token(g) => g.user.clone(),
        }
    }

    /// Whether the principal may (p)subscribe to `name` (a pattern is compared literally).
    pub fn may_subscribe(&self, name: &[u8], pattern: bool) -> bool {
        match self {
            Principal::User(u) => {
                let cmd = if pattern { "psubscribe" } else { "subscribe" };
                may_run(u, cmd) && u.may_access_channel(name, pattern)
            }
            Principal::Token(g) => g.may_subscribe(name, pattern),
        }
    }

    pub fn may_publish(&self, channel: &[u8]) -> bool {
        match self {
            Principal::User(u) => may_run(u, "publish") && u.may_access_channel(channel, false),
            Principal::Token(g) => g.may_publish(channel),
        }
    }

    /// Token expiry, seconds since the epoch.
    pub fn expires(&self) -> Option<u64> {
        match self {
            Principal::User(_) => None,
            Principal::Token(g) => Some(g.exp),
        }
    }
}

fn may_run(u: &User, command: &str) -> bool {
    match crate::cmd::table::find(None, command.as_bytes()) {
        Some(spec) => u.may_run(spec, &[]),
        None => false,
    }
}

/// The `Origin` check: no header (not a browser) passes; otherwise the origin must be
/// listed, or with an empty list be the page's own (its host:port equals `Host`).
pub fn origin_allowed(allowed: &[String], origin: Option<&str>, host: Option<&str>) -> bool {
    let Some(origin) = origin else {
        return true;
    };
    if allowed.is_empty() {
        let authority = origin
            .split_once("://")
            .map_or(origin, |(_, rest)| rest)
            .trim_end_matches('/');
        return host.is_some_and(|h| h.eq_ignore_ascii_case(authority));
    }
    allowed
        .iter()
        .any(|a| a == "*" || a.trim_end_matches('/').eq_ignore_ascii_case(origin))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_origin_is_the_default() {
        assert!(origin_allowed(&[], None, Some("a:1")));
        assert!(origin_allowed(
            &[],
            Some("http://127.0.0.1:9736"),
            Some("127.0.0.1:9736")
        ));
        assert!(!origin_allowed(
            &[],
            Some("http://evil.example"),
            Some("127.0.0.1:9736")
        ));
        let list = vec!["https://app.example".to_string()];
        assert!(origin_allowed(&list, Some("https://app.example"), None));
        assert!(!origin_allowed(
            &list,
            Some("https://app.example.evil"),
            None
        ));
        assert!(origin_allowed(&["*".to_string()], Some("http://x"), None));
    }

    #[test]
    fn token_patterns_are_literal_like_acl_rules() {
        let g = Grants {
            user: Bytes::from_static(b"u"),
            exp: 0,
            subscribe: vec![Bytes::from_static(b"chat.*")],
            publish: vec![],
        };
        assert!(g.may_subscribe(b"chat.1", false));
        assert!(g.may_subscribe(b"chat.*", true));
        assert!(!g.may_subscribe(b"chat.1*", true));
        assert!(!g.may_subscribe(b"*", true));
        assert!(!g.may_publish(b"chat.1"));
    }

    #[test]
    fn hs256_tokens_verify_and_expire() {
        use jsonwebtoken::{encode, EncodingKey, Header};
        let jwt = Jwt::from_config(&WebConfig {
            jwt_secret: "s3cret".into(),
            ..WebConfig::default()
        })
        .unwrap()
        .unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let claims = |exp: u64| serde_json::json!({"sub": "ann", "exp": exp, "subscribe": ["a.*"], "publish": ["a.x"]});
        let sign = |c: &serde_json::Value, k: &[u8]| {
            encode(&Header::default(), c, &EncodingKey::from_secret(k)).unwrap()
        };
        let g = jwt.verify(&sign(&claims(now + 60), b"s3cret")).unwrap();
        assert_eq!(&g.user[..], b"ann");
        assert!(g.may_publish(b"a.x") && !g.may_publish(b"a.y"));
        assert_eq!(
            jwt.verify(&sign(&claims(now - 60), b"s3cret")).unwrap_err(),
            TokenError::Expired
        );
        assert_eq!(
            jwt.verify(&sign(&claims(now + 60), b"other")).unwrap_err(),
            TokenError::BadSignature
        );
        assert_eq!(jwt.verify("nonsense").unwrap_err(), TokenError::Invalid);
    }
}
