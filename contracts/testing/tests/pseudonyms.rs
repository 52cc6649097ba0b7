//! Pseudonyms are bound with proof: a `psn:` subject is the hash of a key its subject holds,
//! and a wallet acts for it only once that key has named the wallet. A stranger who learns a
//! pseudonym can neither give consent in its name nor lock its subject out.

use datapact_consent::msg::ExecuteMsg as C;
use datapact_testing::{Suite, Which};
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
