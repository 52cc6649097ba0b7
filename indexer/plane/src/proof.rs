//! The proof a consumer shows the gateway: an [`AccessRequest`] signed with the consumer's
//! chain key as an ADR-036 "arbitrary data" sign doc, the format Cosmos wallets (Keplr's
//! `signArbitrary`, `wasmd tx sign --offline` tooling) already produce, so a browser wallet can
//! sign one as well as `datapact consumer fetch`.
//!
//! The request names the gateway it is for (a proof for one gateway is refused by another),
//! the chain, the agreement and asset, the version, the `record_access` transaction that
//! recorded this access on chain, a random nonce and an expiry. The gateway checks the
//! signature and these fields here, then the transaction and `CanAccess` on chain, then redeems
//! the transaction at most once.
//!
//! Sign doc (amino JSON, keys sorted, no spaces), signed as SHA-256 + secp256k1 ECDSA with a
//! low-S signature, as the SDK verifies transactions:
//! `{"account_number":"0","chain_id":"","fee":{"amount":[],"gas":"0"},"memo":"","msgs":[{"type":"sign/MsgSignData","value":{"data":"<base64 request JSON>","signer":"<bech32 address>"}}],"sequence":"0"}`

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use cosmrs::crypto::secp256k1::{Signature, SigningKey, VerifyingKey};
use k256::ecdsa::signature::Verifier;
use serde::{Deserialize, Serialize};

use crate::error::PlaneError;

/// What the consumer asks for, and on which grounds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessRequest {
    /// The gateway this proof is for (its `--gateway-id`).
    pub gateway: String,
    pub chain_id: String,
    pub agreement_id: u64,
    pub asset_id: u64,
    pub version: u32,
    /// The hash (hex) of the `record_access` transaction this delivery redeems.
    pub record_tx: String,
    /// 16 random bytes, hex: no two proofs are alike.
    pub nonce: String,
    /// Unix seconds after which the gateway refuses the proof.
    pub expires: u64,
}

/// A signed [`AccessRequest`], as sent to the gateway (JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessProof {
    /// The request's JSON, base64: exactly the bytes that were signed.
    pub data: String,
    /// The signer's compressed secp256k1 public key (33 bytes), base64.
    pub public_key: String,
    /// r‖s (64 bytes, low S), base64.
    pub signature: String,
}

/// A proof whose signature and fields checked out: who signed it, and what it asks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedRequest {
    /// The signer's chain address.
    pub signer: String,
    pub request: AccessRequest,
}

/// The ADR-036 sign doc of `data` signed by `signer`.
pub fn sign_doc(signer: &str, data: &[u8]) -> Vec<u8> {
    format!(
        "{{\"account_number\":\"0\",\"chain_id\":\"\",\"fee\":{{\"amount\":[],\"gas\":\"0\"}},\
         \"memo\":\"\",\"msgs\":[{{\"type\":\"sign/MsgSignData\",\"value\":{{\"data\":\"{}\",\
         \"signer\":\"{}\"}}}}],\"sequence\":\"0\"}}",
        B64.encode(data),
        signer
    )
    .into_bytes()
}

/// A fresh nonce (16 random bytes, hex).
pub fn nonce() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// The scheme of the `Authorization` header a proof travels in:
/// `Authorization: DataPact <base64 of the proof's JSON>`.
pub const AUTH_SCHEME: &str = "DataPact";

impl AccessProof {
    /// Signs `request` with the consumer's chain key; `prefix` is the chain's address prefix.
    pub fn sign(
        request: &AccessRequest,
        key: &SigningKey,
        prefix: &str,
    ) -> Result<Self, PlaneError> {
        let data =
            serde_json::to_vec(request).map_err(|e| PlaneError::MalformedProof(e.to_string()))?;
        let public = key.public_key();
        let signer = public
            .account_id(prefix)
            .map_err(|e| PlaneError::MalformedProof(e.to_string()))?;
        let signature: Signature = key
            .sign(&sign_doc(signer.as_ref(), &data))
            .map_err(|e| PlaneError::MalformedProof(e.to_string()))?;
        let signature = signature.normalize_s().unwrap_or(signature);
        Ok(AccessProof {
            data: B64.encode(&data),
            public_key: B64.encode(public.to_bytes()),
            signature: B64.encode(signature.to_bytes()),
        })
    }

    /// The `Authorization` header value that carries this proof.
    pub fn to_header(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        format!("{AUTH_SCHEME} {}", B64.encode(json))
    }

    /// The proof in an `Authorization` header value; `None` when the value is not of the
    /// `DataPact` scheme (no proof was sent).
    pub fn from_header(value: &str) -> Option<Result<Self, PlaneError>> {
        let encoded = value.strip_prefix(AUTH_SCHEME)?.strip_prefix(' ')?.trim();
        Some(
            B64.decode(encoded)
                .map_err(|_| {
                    PlaneError::MalformedProof("the Authorization value is not base64".into())
                })
                .and_then(|json| {
                    serde_json::from_slice(&json)
                        .map_err(|e| PlaneError::MalformedProof(format!("not an AccessProof: {e}")))
                }),
        )
    }

    /// Checks the signature and the fields a gateway can check without the chain: for
    /// `gateway` on `chain_id`, not expired at `now`, expiring at most `max_lifetime` seconds
    /// after it.
    pub fn verify(
        &self,
        prefix: &str,
        gateway: &str,
        chain_id: &str,
        now: u64,
        max_lifetime: u64,
    ) -> Result<VerifiedRequest, PlaneError> {
        let bad = |what: &str| PlaneError::MalformedProof(what.to_string());
        let data = B64
            .decode(&self.data)
            .map_err(|_| bad("data is not base64"))?;
        let public = B64
            .decode(&self.public_key)
            .map_err(|_| bad("public_key is not base64"))?;
        let signature = B64
            .decode(&self.signature)
            .map_err(|_| bad("signature is not base64"))?;
        let key = VerifyingKey::from_sec1_bytes(&public)
            .map_err(|_| bad("public_key is not a secp256k1 public key"))?;
        let signature =
            Signature::from_slice(&signature).map_err(|_| bad("signature is not 64 bytes r‖s"))?;
        if signature.normalize_s().is_some() {
            // the SDK accepts only low-S signatures: a high-S twin is a malleated copy
            return Err(PlaneError::BadSignature);
        }
        let signer = cosmrs::crypto::PublicKey::from(&key)
            .account_id(prefix)
            .map_err(|e| bad(&e.to_string()))?
            .to_string();
        key.verify(&sign_doc(&signer, &data), &signature)
            .map_err(|_| PlaneError::BadSignature)?;
        let request: AccessRequest = serde_json::from_slice(&data)
            .map_err(|e| PlaneError::MalformedProof(format!("the request: {e}")))?;
        if request.gateway != gateway {
            return Err(PlaneError::WrongGateway {
                got: request.gateway,
                want: gateway.to_string(),
            });
        }
        if request.chain_id != chain_id {
            return Err(PlaneError::WrongChain {
                got: request.chain_id,
                want: chain_id.to_string(),
            });
        }
        if request.expires <= now {
            return Err(PlaneError::Expired {
                expires: request.expires,
                now,
            });
        }
        if request.expires > now.saturating_add(max_lifetime) {
            return Err(PlaneError::TooLongLived {
                expires: request.expires,
                now,
                max_seconds: max_lifetime,
            });
        }
        let hexlen = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
        if !hexlen(&request.record_tx, 64) {
            return Err(bad("record_tx is not a transaction hash (64 hex digits)"));
        }
        if !hexlen(&request.nonce, 32) {
            return Err(bad("nonce is not 16 bytes of hex"));
        }
        Ok(VerifiedRequest { signer, request })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PREFIX: &str = "wasm";

    fn key(b: u8) -> SigningKey {
        SigningKey::from_slice(&[b; 32]).unwrap()
    }

    fn request() -> AccessRequest {
        AccessRequest {
            gateway: "gw-1".into(),
            chain_id: "datapact-local".into(),
            agreement_id: 7,
            asset_id: 3,
            version: 1,
            record_tx: "AB".repeat(32),
            nonce: nonce(),
            expires: 1_000,
        }
    }

    fn verify(p: &AccessProof, gateway: &str, now: u64) -> Result<VerifiedRequest, PlaneError> {
        p.verify(PREFIX, gateway, "datapact-local", now, 600)
    }

    #[test]
    fn a_proof_travels_in_its_header_unchanged_and_other_schemes_carry_none() {
        let p = AccessProof::sign(&request(), &key(1), "wasm").unwrap();
        let header = p.to_header();
        assert!(header.starts_with("DataPact "), "{header}");
        assert_eq!(AccessProof::from_header(&header).unwrap().unwrap(), p);
        assert!(AccessProof::from_header("Bearer abc").is_none());
        assert!(AccessProof::from_header("DataPactX abc").is_none());
        assert!(matches!(
            AccessProof::from_header("DataPact %%%"),
            Some(Err(PlaneError::MalformedProof(_)))
        ));
    }

    #[test]
    fn a_signed_request_verifies_and_names_its_signer() {
        let k = key(1);
        let p = AccessProof::sign(&request(), &k, PREFIX).unwrap();
        let v = verify(&p, "gw-1", 900).unwrap();
        assert_eq!(
            v.request,
            serde_json::from_slice(&B64.decode(&p.data).unwrap()).unwrap()
        );
        assert_eq!(
            v.signer,
            k.public_key().account_id(PREFIX).unwrap().to_string()
        );
    }

    #[test]
    fn a_proof_for_another_gateway_chain_or_past_its_expiry_is_refused() {
        let p = AccessProof::sign(&request(), &key(1), PREFIX).unwrap();
        assert!(matches!(
            verify(&p, "gw-2", 900),
            Err(PlaneError::WrongGateway { .. })
        ));
        assert!(matches!(
            p.verify(PREFIX, "gw-1", "other-chain", 900, 600),
            Err(PlaneError::WrongChain { .. })
        ));
        assert!(matches!(
            verify(&p, "gw-1", 1_000),
            Err(PlaneError::Expired { .. })
        ));
        assert!(matches!(
            verify(&p, "gw-1", 10),
            Err(PlaneError::TooLongLived { .. })
        ));
    }

    #[test]
    fn a_request_altered_after_signing_or_signed_by_another_key_is_refused() {
        let k = key(1);
        let mut p = AccessProof::sign(&request(), &k, PREFIX).unwrap();
        let mut r = request();
        r.agreement_id = 8;
        p.data = B64.encode(serde_json::to_vec(&r).unwrap());
        assert!(matches!(
            verify(&p, "gw-1", 900),
            Err(PlaneError::BadSignature)
        ));
        let mut q = AccessProof::sign(&request(), &k, PREFIX).unwrap();
        q.public_key = B64.encode(key(2).public_key().to_bytes());
        assert!(matches!(
            verify(&q, "gw-1", 900),
            Err(PlaneError::BadSignature)
        ));
    }

    #[test]
    fn a_high_s_twin_of_a_valid_signature_is_refused() {
        let p = AccessProof::sign(&request(), &key(1), PREFIX).unwrap();
        let sig = Signature::from_slice(&B64.decode(&p.signature).unwrap()).unwrap();
        let (r, s) = sig.split_scalars();
        let twin = Signature::from_scalars(r, -*s).unwrap();
        let mut q = p.clone();
        q.signature = B64.encode(twin.to_bytes());
        assert!(matches!(
            verify(&q, "gw-1", 900),
            Err(PlaneError::BadSignature)
        ));
    }

    #[test]
    fn garbage_in_any_field_is_a_malformed_proof_not_a_panic() {
        let p = AccessProof::sign(&request(), &key(1), PREFIX).unwrap();
        for mutate in [
            |p: &mut AccessProof| p.data = "%%%".into(),
            |p: &mut AccessProof| p.public_key = B64.encode([2u8; 5]),
            |p: &mut AccessProof| p.signature = B64.encode([1u8; 10]),
        ] {
            let mut q = p.clone();
            mutate(&mut q);
            assert!(matches!(
                verify(&q, "gw-1", 900),
                Err(PlaneError::MalformedProof(_))
            ));
        }
    }

    #[test]
    fn the_sign_doc_is_the_adr036_amino_json() {
        let doc = String::from_utf8(sign_doc("wasm1x", b"hi")).unwrap();
        assert_eq!(
            doc,
            r#"{"account_number":"0","chain_id":"","fee":{"amount":[],"gas":"0"},"memo":"","msgs":[{"type":"sign/MsgSignData","value":{"data":"aGk=","signer":"wasm1x"}}],"sequence":"0"}"#
        );
    }
}
