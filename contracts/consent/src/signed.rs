//! Off-chain signatures: the subject's key signs the canonical `ConsentSignDoc`, bound to the
//! chain id, this contract's address and the subject's next nonce, so no signature is ever
//! good twice, on another chain, or on another deployment.

use cosmwasm_std::{Binary, DepsMut, Env};
use datapact_types::consent::{key_subject_id, pseudonym_id, ConsentSignDoc, SignedAction};

use crate::error::ContractError;
use crate::state::NONCES;

/// Which subject id of its key a signature speaks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignedAs {
    /// `key:` — a subject who signs every message itself.
    Key,
    /// `psn:` — a pseudonym, whose key binds the wallet that acts for it.
    Pseudonym,
}

impl SignedAs {
    /// The subject id this key has in this role.
    pub fn subject(self, public_key: &[u8]) -> String {
        match self {
            SignedAs::Key => key_subject_id(public_key),
            SignedAs::Pseudonym => pseudonym_id(public_key),
        }
    }
}

/// Verifies the signature over the sign doc of `action`, consumes the nonce of the key's
/// subject id in role `role`, and returns that id.
pub fn verify_and_consume(
    deps: &mut DepsMut,
    env: &Env,
    action: SignedAction,
    nonce: u64,
    public_key: &Binary,
    signature: &Binary,
    role: SignedAs,
) -> Result<String, ContractError> {
    if public_key.len() != 33 || !matches!(public_key[0], 2 | 3) {
        return Err(ContractError::InvalidPublicKey {
            len: public_key.len(),
        });
    }
    let subject = role.subject(public_key);
    let expected = NONCES.may_load(deps.storage, &subject)?.unwrap_or_default();
    if nonce != expected {
        return Err(ContractError::NonceMismatch {
            subject,
            expected,
            got: nonce,
        });
    }
    let doc = ConsentSignDoc {
        chain_id: env.block.chain_id.clone(),
        contract: env.contract.address.to_string(),
        nonce,
        action,
    };
    let digest = doc.digest()?;
    // a malformed signature is an invalid signature, not an internal error
    let ok = deps
        .api
        .secp256k1_verify(&digest, signature, public_key)
        .unwrap_or(false);
    if !ok {
        return Err(ContractError::InvalidSignature { subject });
    }
    NONCES.save(deps.storage, &subject, &(expected + 1))?;
    Ok(subject)
}
