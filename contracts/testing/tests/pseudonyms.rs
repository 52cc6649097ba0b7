//! Pseudonyms are bound with proof: a `psn:` subject is the hash of a key its subject holds,
//! and a wallet acts for it only once that key has named the wallet. A stranger who learns a
//! pseudonym can neither give consent in its name nor lock its subject out.

use datapact_consent::msg::{ExecuteMsg as C, PseudonymResponse, QueryMsg as Q};
use datapact_consent::ContractError;
use datapact_testing::{assert_fails_with, attr_u64, Suite, Which};
use datapact_types::consent::SignedAction;
use datapact_types::events::key;
use k256::ecdsa::SigningKey;
use sha2::{Digest, Sha256};

fn pseudonym_of(key: &SigningKey) -> String {
    let pk = key.verifying_key().to_encoded_point(true);
    format!("psn:{}", hex::encode(Sha256::digest(pk.as_bytes())))
}

#[test]
fn a_stranger_cannot_give_consent_in_the_name_of_a_pseudonym_it_holds_no_key_for() {
    let mut s = Suite::new();
    let (stranger, p) = (s.addr("stranger"), s.addr("provider1"));
    let key = SigningKey::from_slice(&[42u8; 32]).unwrap();
    let psn = pseudonym_of(&key);
    let squat = s.exec(
        &stranger,
        Which::Consent,
        &C::Grant {
            subject: Some(psn.clone()),
            terms: Suite::terms(&p, 7, "research"),
        },
        &[],
    );
    assert!(
        squat.is_err(),
        "the stranger's grant for someone else's pseudonym must be refused"
    );
    assert!(
        !s.consent_status(&psn, &p, 7, "research").unwrap().granted,
        "no consent is in force on the stranger's word"
    );
}

fn bind(
    s: &mut Suite,
    wallet: &cosmwasm_std::Addr,
    key: &SigningKey,
    nonce: u64,
) -> anyhow::Result<()> {
    let (pk, sig) = s.sign_doc(
        key,
        nonce,
        SignedAction::BindWallet {
            wallet: wallet.to_string(),
        },
    );
    s.exec(
        wallet,
        Which::Consent,
        &C::BindPseudonym {
            nonce,
            public_key: pk,
            signature: sig,
        },
        &[],
    )?;
    Ok(())
}

#[test]
fn the_pseudonyms_key_binds_a_wallet_which_then_grants_and_withdraws_for_it() {
    let mut s = Suite::new();
    let (w1, w2, p) = (s.addr("subject1"), s.addr("subject2"), s.addr("provider1"));
    let key = SigningKey::from_slice(&[42u8; 32]).unwrap();
    let psn = pseudonym_of(&key);
    bind(&mut s, &w1, &key, 0).unwrap();
    let binding: PseudonymResponse = s
        .query(
            Which::Consent,
            &Q::Pseudonym {
                subject: psn.clone(),
            },
        )
        .unwrap();
    assert_eq!(
        binding.binding.map(|b| (b.wallet, b.proven)),
        Some((w1.clone(), true))
    );
    let grant = C::Grant {
        subject: Some(psn.clone()),
        terms: Suite::terms(&p, 7, "research"),
    };
    let res = s.exec(&w1, Which::Consent, &grant, &[]).unwrap();
    let id = attr_u64(&res, key::CONSENT_ID).unwrap();
    assert!(s.consent_status(&psn, &p, 7, "research").unwrap().granted);
    // another wallet cannot act for it ...
    assert_fails_with(
        s.exec(&w2, Which::Consent, &grant, &[]),
        ContractError::PseudonymNotBound {
            subject: psn.clone(),
            sender: w2.to_string(),
        },
    );
    assert_fails_with(s.withdraw(&w2, id), "needs the subject of consent");
    // ... until the key binds it instead: the key's holder has the last word
    bind(&mut s, &w2, &key, 1).unwrap();
    assert_fails_with(s.exec(&w1, Which::Consent, &grant, &[]), "may not act for");
    s.withdraw(&w2, id).unwrap();
    assert!(!s.consent_status(&psn, &p, 7, "research").unwrap().granted);
}

#[test]
fn a_binding_is_good_for_the_wallet_it_names_only_and_never_twice() {
    let mut s = Suite::new();
    let (w1, stranger) = (s.addr("subject1"), s.addr("stranger"));
    let key = SigningKey::from_slice(&[43u8; 32]).unwrap();
    // the subject signed a binding for w1; a stranger sending it binds nothing
    let (pk, sig) = s.sign_doc(
        &key,
        0,
        SignedAction::BindWallet {
            wallet: w1.to_string(),
        },
    );
    let msg = C::BindPseudonym {
        nonce: 0,
        public_key: pk,
        signature: sig,
    };
    assert_fails_with(
        s.exec(&stranger, Which::Consent, &msg, &[]),
        "signature does not verify",
    );
    s.exec(&w1, Which::Consent, &msg, &[]).unwrap();
    assert_fails_with(s.exec(&w1, Which::Consent, &msg, &[]), "wrong nonce");
}

#[test]
fn the_pseudonyms_key_withdraws_a_consent_whichever_wallet_gave_it() {
    let mut s = Suite::new();
    let (w1, relayer, p) = (s.addr("subject1"), s.addr("relayer"), s.addr("provider1"));
    let key = SigningKey::from_slice(&[44u8; 32]).unwrap();
    let psn = pseudonym_of(&key);
    bind(&mut s, &w1, &key, 0).unwrap();
    let res = s
        .exec(
            &w1,
            Which::Consent,
            &C::Grant {
                subject: Some(psn.clone()),
                terms: Suite::terms(&p, 7, "research"),
            },
            &[],
        )
        .unwrap();
    let id = attr_u64(&res, key::CONSENT_ID).unwrap();
    let (pk, sig) = s.sign_doc(&key, 1, SignedAction::Withdraw { consent_id: id });
    s.exec(
        &relayer,
        Which::Consent,
        &C::WithdrawSigned {
            consent_id: id,
            nonce: 1,
            public_key: pk,
            signature: sig,
        },
        &[],
    )
    .unwrap();
    assert!(!s.consent_status(&psn, &p, 7, "research").unwrap().granted);
}
