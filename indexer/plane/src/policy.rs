//! The sensitivity of an asset decides how its data moves: written once here, enforced by the
//! provider's commands and by the gateway.
//!
//! | sensitivity | stored and served | consent | offers |
//! |---|---|---|---|
//! | public | may be stored and served in clear | — | any |
//! | internal | encrypted (age, a fresh data key per version) | — | any |
//! | personal | encrypted, one segment per subject | only the segments of subjects whose consent is in force at the moment of delivery leave the gateway | any |
//! | special category | as personal | as personal | must require consent, so every access names its subject on chain |
//!
//! Every sensitivity but public: a version's data key is wrapped only to agreements in good
//! standing when the version is published, so a suspended consumer or an ended agreement gets
//! no key for any later version. What cannot be undone: a key already delivered, and the bytes
//! a consumer already fetched.

use datapact_types::Sensitivity;

use crate::error::PlaneError;

/// How data of one sensitivity moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Policy {
    /// The version is encrypted at rest and in transit.
    pub encrypt: bool,
    /// Rows are split per subject and each delivery is filtered by consent in force.
    pub per_subject: bool,
    /// Offers must set `consent_required`, so the chain checks each access's subject.
    pub offers_require_consent: bool,
}

/// The policy of a sensitivity (see the module's table).
pub fn policy(s: Sensitivity) -> Policy {
    match s {
        Sensitivity::Public => Policy {
            encrypt: false,
            per_subject: false,
            offers_require_consent: false,
        },
        Sensitivity::Internal => Policy {
            encrypt: true,
            per_subject: false,
            offers_require_consent: false,
        },
        Sensitivity::Personal => Policy {
            encrypt: true,
            per_subject: true,
            offers_require_consent: false,
        },
        Sensitivity::SpecialCategory => Policy {
            encrypt: true,
            per_subject: true,
            offers_require_consent: true,
        },
    }
}

/// Refuses an offer the policy forbids, saying how to fix it.
pub fn check_offer(s: Sensitivity, consent_required: bool) -> Result<(), PlaneError> {
    if policy(s).offers_require_consent && !consent_required {
        return Err(PlaneError::Policy(format!(
            "a {} asset may only be offered with consent required (--consent-required): \
             each access must name the subject whose consent the chain checks",
            name(s)
        )));
    }
    Ok(())
}

/// Refuses a publication the policy forbids: personal data needs the column that names each
/// row's subject.
pub fn check_publish(s: Sensitivity, subject_column: Option<&str>) -> Result<(), PlaneError> {
    if policy(s).per_subject && subject_column.is_none() {
        return Err(PlaneError::Policy(format!(
            "a {} asset is published one segment per subject: name the column that holds each \
             row's subject id (--subject-column)",
            name(s)
        )));
    }
    Ok(())
}

/// The sensitivity's name as the contracts and the command line spell it.
pub fn name(s: Sensitivity) -> &'static str {
    match s {
        Sensitivity::Public => "public",
        Sensitivity::Internal => "internal",
        Sensitivity::Personal => "personal",
        Sensitivity::SpecialCategory => "special_category",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Sensitivity; 4] = [
        Sensitivity::Public,
        Sensitivity::Internal,
        Sensitivity::Personal,
        Sensitivity::SpecialCategory,
    ];

    #[test]
    fn only_public_data_may_move_in_clear_and_personal_data_is_split_per_subject() {
        for s in ALL {
            let p = policy(s);
            assert_eq!(p.encrypt, s != Sensitivity::Public, "{s:?}");
            assert_eq!(p.per_subject, s.is_personal(), "{s:?}");
        }
    }

    #[test]
    fn special_category_offers_without_consent_are_refused_with_the_fix() {
        let err = check_offer(Sensitivity::SpecialCategory, false).unwrap_err();
        assert!(err.to_string().contains("--consent-required"), "{err}");
        assert!(check_offer(Sensitivity::SpecialCategory, true).is_ok());
        assert!(check_offer(Sensitivity::Personal, false).is_ok());
    }

    #[test]
    fn personal_data_without_a_subject_column_is_refused_with_the_fix() {
        let err = check_publish(Sensitivity::Personal, None).unwrap_err();
        assert!(err.to_string().contains("--subject-column"), "{err}");
        assert!(check_publish(Sensitivity::Personal, Some("subject")).is_ok());
        assert!(check_publish(Sensitivity::Internal, None).is_ok());
    }
}
