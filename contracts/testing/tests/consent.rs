//! Consent: grant and withdraw by wallet, pseudonyms, signed payloads, status at any instant.

use cosmwasm_std::{Binary, Timestamp};
use datapact_consent::msg::{ExecuteMsg as C, HistoryResponse, NonceResponse, QueryMsg as Q};
use datapact_consent::state::ConsentState;
use datapact_consent::ContractError;
use datapact_testing::{assert_fails_with, attr_u64, key_subject, sign, Suite, Which};
use datapact_types::consent::{AssetScope, ConsentSignDoc, ConsentStatusResponse, SignedAction};
use datapact_types::events::key;
use k256::ecdsa::SigningKey;

fn signing_key(seed: u8) -> SigningKey {
    SigningKey::from_slice(&[seed; 32]).unwrap()
}

#[test]
fn a_withdrawal_denies_from_its_own_block_on_and_history_keeps_both_states() {
    let mut s = Suite::new();
    let (subj, p) = (s.addr("subject1"), s.addr("provider1"));
    let id = s.grant(&subj, Suite::terms(&p, 7, "research")).unwrap();
    assert!(
        s.consent_status(subj.as_str(), &p, 7, "research")
            .unwrap()
            .granted
    );
    assert!(
        !s.consent_status(subj.as_str(), &p, 7, "marketing")
            .unwrap()
            .granted
    );
    assert!(
        !s.consent_status(subj.as_str(), &p, 8, "research")
            .unwrap()
            .granted
    );
    let granted_at = s.now();
    s.advance(1, 5);
    s.withdraw(&subj, id).unwrap();
    let now = s.consent_status(subj.as_str(), &p, 7, "research").unwrap();
    assert!(!now.granted, "denied in the withdrawal's own block");
    assert_eq!(now.record.unwrap().id, id, "the withdrawn record decides");
    let past: ConsentStatusResponse = s
        .query(
            Which::Consent,
            &Q::ConsentStatus {
                subject: subj.to_string(),
                controller: p.to_string(),
                asset_id: 7,
                purpose: "research".into(),
                at: Some(granted_at),
            },
        )
        .unwrap();
    assert!(past.granted, "still granted at the earlier instant");
    let h: HistoryResponse = s
        .query(
            Which::Consent,
            &Q::History {
                consent_id: id,
                start_after: None,
                limit: None,
            },
        )
        .unwrap();
    assert_eq!(
        h.changes.iter().map(|c| c.state).collect::<Vec<_>>(),
        vec![ConsentState::Given, ConsentState::Withdrawn]
    );
    assert_fails_with(
        s.withdraw(&subj, id),
        ContractError::AlreadyWithdrawn { id },
    );
}

#[test]
fn only_the_subject_may_withdraw() {
    let mut s = Suite::new();
    let (subj, p, x) = (s.addr("subject1"), s.addr("provider1"), s.addr("stranger"));
    let id = s.grant(&subj, Suite::terms(&p, 7, "research")).unwrap();
    assert_fails_with(s.withdraw(&x, id), "needs the subject of consent 1");
    assert_fails_with(s.withdraw(&p, id), "needs the subject of consent 1");
    assert_fails_with(
        s.withdraw(&subj, 99),
        ContractError::ConsentNotFound { id: 99 },
    );
}

#[test]
fn expiry_ends_consent_and_must_be_in_the_future() {
    let mut s = Suite::new();
    let (subj, p) = (s.addr("subject1"), s.addr("provider1"));
    let mut terms = Suite::terms(&p, 7, "research");
    terms.expires_at = Some(s.now());
    assert_fails_with(
        s.grant(&subj, terms.clone()),
        "is not after the current block time",
    );
    terms.expires_at = Some(s.now().plus_seconds(60));
    s.grant(&subj, terms).unwrap();
    assert!(
        s.consent_status(subj.as_str(), &p, 7, "research")
            .unwrap()
            .granted
    );
    s.advance(12, 60);
    assert!(
        !s.consent_status(subj.as_str(), &p, 7, "research")
            .unwrap()
            .granted
    );
}

#[test]
fn controller_wide_scope_covers_every_asset() {
    let mut s = Suite::new();
    let (subj, p) = (s.addr("subject1"), s.addr("provider1"));
    let mut terms = Suite::terms(&p, 0, "research");
    terms.scope = AssetScope::AllOfController {};
    s.grant(&subj, terms).unwrap();
    assert!(
        s.consent_status(subj.as_str(), &p, 1, "research")
            .unwrap()
            .granted
    );
    assert!(
        s.consent_status(subj.as_str(), &p, 999, "research")
            .unwrap()
            .granted
    );
    let other = s.addr("provider2");
    assert!(
        !s.consent_status(subj.as_str(), &other, 1, "research")
            .unwrap()
            .granted
    );
}

#[test]
fn a_wallet_grants_for_itself_or_a_bound_pseudonym_and_nothing_else() {
    let mut s = Suite::new();
    let (w1, w2, p) = (s.addr("subject1"), s.addr("subject2"), s.addr("provider1"));
    let grant = |subject: &str| C::Grant {
        subject: Some(subject.to_string()),
        terms: Suite::terms(&p, 7, "research"),
    };
    let unbound = format!("psn:{}", "ab".repeat(32));
    assert_fails_with(
        s.exec(&w1, Which::Consent, &grant(&unbound), &[]),
        ContractError::PseudonymNotBound {
            subject: unbound.clone(),
            sender: w1.to_string(),
        },
    );
    assert_fails_with(
        s.exec(&w1, Which::Consent, &grant("psn:short"), &[]),
        "must be \"psn:\" or \"key:\"",
    );
    assert_fails_with(
        s.exec(&w1, Which::Consent, &grant(w2.as_str()), &[]),
        "must be the sender",
    );
    let key_subject = format!("key:{}", "cd".repeat(32));
    assert_fails_with(
        s.exec(&w1, Which::Consent, &grant(&key_subject), &[]),
        ContractError::KeySubjectNeedsSignature {
            subject: key_subject.clone(),
        },
    );
}

#[test]
fn a_signed_consent_is_relayed_once_and_never_replayed() {
    let mut s = Suite::new();
    let (relayer, p) = (s.addr("relayer"), s.addr("provider1"));
    let key = signing_key(11);
    let subject = key_subject(&key);
    let terms = Suite::terms(&p, 7, "research");
    let (pk, sig) = s.sign_doc(
        &key,
        0,
        SignedAction::Grant {
            terms: terms.clone(),
        },
    );
    let msg = C::GrantSigned {
        terms: terms.clone(),
        nonce: 0,
        public_key: pk.clone(),
        signature: sig.clone(),
    };
    let res = s.exec(&relayer, Which::Consent, &msg, &[]).unwrap();
    let id = attr_u64(&res, key::CONSENT_ID).unwrap();
    assert!(
        s.consent_status(&subject, &p, 7, "research")
            .unwrap()
            .granted
    );
    // the same bytes again: the nonce is spent
    assert_fails_with(
        s.exec(&relayer, Which::Consent, &msg, &[]),
        ContractError::NonceMismatch {
            subject: subject.clone(),
            expected: 1,
            got: 0,
        },
    );
    // a fresh nonce with the old signature does not verify
    let bumped = C::GrantSigned {
        terms,
        nonce: 1,
        public_key: pk.clone(),
        signature: sig,
    };
    assert_fails_with(
        s.exec(&relayer, Which::Consent, &bumped, &[]),
        ContractError::InvalidSignature {
            subject: subject.clone(),
        },
    );
    let n: NonceResponse = s
        .query(
            Which::Consent,
            &Q::Nonce {
                subject: subject.clone(),
            },
        )
        .unwrap();
    assert_eq!(n.next_nonce, 1);
    // withdrawal by signature, equally easy
    let (_, wsig) = s.sign_doc(&key, 1, SignedAction::Withdraw { consent_id: id });
    s.exec(
        &relayer,
        Which::Consent,
        &C::WithdrawSigned {
            consent_id: id,
            nonce: 1,
            public_key: pk,
            signature: wsig,
        },
        &[],
    )
    .unwrap();
    assert!(
        !s.consent_status(&subject, &p, 7, "research")
            .unwrap()
            .granted
    );
}

#[test]
fn a_signature_for_another_chain_or_contract_or_terms_is_rejected() {
    let mut s = Suite::new();
    let (relayer, p) = (s.addr("relayer"), s.addr("provider1"));
    let key = signing_key(12);
    let subject = key_subject(&key);
    let terms = Suite::terms(&p, 7, "research");
    for doc in [
        ConsentSignDoc {
            chain_id: "other-chain".into(),
            contract: s.consent.to_string(),
            nonce: 0,
            action: SignedAction::Grant {
                terms: terms.clone(),
            },
        },
        ConsentSignDoc {
            chain_id: s.app.block_info().chain_id,
            contract: s.registry.to_string(),
            nonce: 0,
            action: SignedAction::Grant {
                terms: terms.clone(),
            },
        },
    ] {
        let (pk, sig) = sign(&key, &doc);
        let res = s.exec(
            &relayer,
            Which::Consent,
            &C::GrantSigned {
                terms: terms.clone(),
                nonce: 0,
                public_key: pk,
                signature: sig,
            },
            &[],
        );
        assert_fails_with(
            res,
            ContractError::InvalidSignature {
                subject: subject.clone(),
            },
        );
    }
    // signed for research, relayed as marketing
    let (pk, sig) = s.sign_doc(
        &key,
        0,
        SignedAction::Grant {
            terms: terms.clone(),
        },
    );
    let tampered = Suite::terms(&p, 7, "marketing");
    let res = s.exec(
        &relayer,
        Which::Consent,
        &C::GrantSigned {
            terms: tampered,
            nonce: 0,
            public_key: pk,
            signature: sig.clone(),
        },
        &[],
    );
    assert_fails_with(res, ContractError::InvalidSignature { subject });
    let res = s.exec(
        &relayer,
        Which::Consent,
        &C::GrantSigned {
            terms,
            nonce: 0,
            public_key: Binary::from(vec![1u8; 20]),
            signature: sig,
        },
        &[],
    );
    assert_fails_with(res, ContractError::InvalidPublicKey { len: 20 });
}

#[test]
fn another_key_cannot_withdraw_a_signed_consent() {
    let mut s = Suite::new();
    let (relayer, p) = (s.addr("relayer"), s.addr("provider1"));
    let (k1, k2) = (signing_key(21), signing_key(22));
    let terms = Suite::terms(&p, 7, "research");
    let (pk, sig) = s.sign_doc(
        &k1,
        0,
        SignedAction::Grant {
            terms: terms.clone(),
        },
    );
    let res = s
        .exec(
            &relayer,
            Which::Consent,
            &C::GrantSigned {
                terms,
                nonce: 0,
                public_key: pk,
                signature: sig,
            },
            &[],
        )
        .unwrap();
    let id = attr_u64(&res, key::CONSENT_ID).unwrap();
    let (pk2, sig2) = s.sign_doc(&k2, 0, SignedAction::Withdraw { consent_id: id });
    let res = s.exec(
        &relayer,
        Which::Consent,
        &C::WithdrawSigned {
            consent_id: id,
            nonce: 0,
            public_key: pk2,
            signature: sig2,
        },
        &[],
    );
    assert_fails_with(res, "signing key of consent 1's subject");
    // and a wallet cannot withdraw it either
    assert_fails_with(s.withdraw(&relayer, id), "needs the subject of consent 1");
}

#[test]
fn status_at_a_past_instant_reads_history() {
    let mut s = Suite::new();
    let (subj, p) = (s.addr("subject1"), s.addr("provider1"));
    let t0 = s.now();
    s.advance(1, 10);
    let id = s.grant(&subj, Suite::terms(&p, 7, "research")).unwrap();
    s.advance(1, 10);
    s.withdraw(&subj, id).unwrap();
    let at = |t: Timestamp| Q::ConsentStatus {
        subject: subj.to_string(),
        controller: p.to_string(),
        asset_id: 7,
        purpose: "research".into(),
        at: Some(t),
    };
    let before: ConsentStatusResponse = s.query(Which::Consent, &at(t0)).unwrap();
    let during: ConsentStatusResponse = s.query(Which::Consent, &at(t0.plus_seconds(15))).unwrap();
    let after: ConsentStatusResponse = s.query(Which::Consent, &at(t0.plus_seconds(20))).unwrap();
    assert_eq!(
        (before.granted, during.granted, after.granted),
        (false, true, false)
    );
}
