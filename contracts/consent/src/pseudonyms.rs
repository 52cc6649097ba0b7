//! Binding a pseudonym to a wallet, with proof. A `psn:` subject is the hash of a key its
//! subject holds (given by the controller's app, or made by the subject); the key signs which
//! wallet may act for it. A stranger who learns the pseudonym holds no key, so it can neither
//! give consent in its name nor keep the subject from binding and withdrawing; a new binding
//! replaces the old one, so the key's holder always has the last word.

use cosmwasm_std::{Binary, DepsMut, Env, MessageInfo, Response};
use datapact_types::consent::SignedAction;
use datapact_types::events::{action, key, response};

use crate::error::ContractError;
use crate::signed::{verify_and_consume, SignedAs};
use crate::state::{PseudonymBinding, PSEUDONYM_BINDINGS};

pub fn execute_bind_pseudonym(
    mut deps: DepsMut,
    env: Env,
    info: MessageInfo,
    nonce: u64,
    public_key: Binary,
    signature: Binary,
) -> Result<Response, ContractError> {
    let subject = verify_and_consume(
        &mut deps,
        &env,
        SignedAction::BindWallet {
            wallet: info.sender.to_string(),
        },
        nonce,
        &public_key,
        &signature,
        SignedAs::Pseudonym,
    )?;
    PSEUDONYM_BINDINGS.save(
        deps.storage,
        &subject,
        &PseudonymBinding {
            wallet: info.sender.clone(),
            proven: true,
            height: env.block.height,
        },
    )?;
    Ok(response(action::BIND_PSEUDONYM, &info.sender)
        .add_attribute(key::SUBJECT, subject)
        .add_attribute(key::WALLET, info.sender.as_str())
        .add_attribute(key::NONCE, nonce.to_string()))
}
