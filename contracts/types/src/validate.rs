//! Input rules shared by every contract. Each returns a [`ValidationError`] naming the field.

use thiserror::Error;

/// Longest purpose, claim, kind or tag slug.
pub const MAX_SLUG_LEN: usize = 64;
/// Longest free-text field (asset name, description, resolution note).
pub const MAX_TEXT_LEN: usize = 1024;
/// Longest URI.
pub const MAX_URI_LEN: usize = 512;
/// Most purposes in one consent or offer, most tags on an asset.
pub const MAX_LIST_LEN: usize = 16;

/// Why an input field was refused.
#[derive(Error, Debug, PartialEq, Eq, Clone)]
pub enum ValidationError {
    #[error(
        "{field} must be a lowercase slug of 1 to {max} characters [a-z0-9_.-], got {value:?}"
    )]
    InvalidSlug {
        field: &'static str,
        value: String,
        max: usize,
    },
    #[error("{field} must be 64 lowercase hex characters (a SHA-256 digest), got {value:?}")]
    InvalidHash { field: &'static str, value: String },
    #[error("{field} is {len} characters long; the limit is {max}")]
    TooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
    #[error("{field} must not be empty")]
    Empty { field: &'static str },
    #[error("{field} has {len} entries; the limit is {max}")]
    TooMany {
        field: &'static str,
        len: usize,
        max: usize,
    },
    #[error("{field} lists {value:?} twice")]
    Duplicate { field: &'static str, value: String },
    #[error("{field} must be \"psn:\" or \"key:\" followed by 64 lowercase hex characters, got {value:?}")]
    InvalidPseudonym { field: &'static str, value: String },
}

/// A purpose, claim, alert kind or tag: lowercase letters, digits, `_`, `.`, `-`.
pub fn slug(field: &'static str, value: &str) -> Result<(), ValidationError> {
    let ok = !value.is_empty()
        && value.len() <= MAX_SLUG_LEN
        && value.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(ValidationError::InvalidSlug {
            field,
            value: truncate(value),
            max: MAX_SLUG_LEN,
        })
    }
}

/// A non-empty list of distinct slugs of bounded length.
pub fn slug_list(field: &'static str, values: &[String]) -> Result<(), ValidationError> {
    if values.is_empty() {
        return Err(ValidationError::Empty { field });
    }
    bounded_slug_list(field, values)
}

/// A possibly empty list of distinct slugs of bounded length.
pub fn bounded_slug_list(field: &'static str, values: &[String]) -> Result<(), ValidationError> {
    if values.len() > MAX_LIST_LEN {
        return Err(ValidationError::TooMany {
            field,
            len: values.len(),
            max: MAX_LIST_LEN,
        });
    }
    for (i, v) in values.iter().enumerate() {
        slug(field, v)?;
        if values[..i].contains(v) {
            return Err(ValidationError::Duplicate {
                field,
                value: v.clone(),
            });
        }
    }
    Ok(())
}

/// A SHA-256 digest in lowercase hex.
pub fn hash(field: &'static str, value: &str) -> Result<(), ValidationError> {
    if value.len() == 64
        && value
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        Ok(())
    } else {
        Err(ValidationError::InvalidHash {
            field,
            value: truncate(value),
        })
    }
}

/// Free text of bounded length.
pub fn text(field: &'static str, value: &str, max: usize) -> Result<(), ValidationError> {
    if value.len() > max {
        Err(ValidationError::TooLong {
            field,
            len: value.len(),
            max,
        })
    } else {
        Ok(())
    }
}

/// Non-empty free text of bounded length.
pub fn required_text(field: &'static str, value: &str, max: usize) -> Result<(), ValidationError> {
    if value.trim().is_empty() {
        return Err(ValidationError::Empty { field });
    }
    text(field, value, max)
}

/// Prefix of pseudonymous subject ids.
pub const PSEUDONYM_PREFIX: &str = "psn:";

/// Prefix of subject ids derived from a secp256k1 public key (subjects who sign off chain).
pub const KEY_SUBJECT_PREFIX: &str = "key:";

/// Whether a subject string is a pseudonymous id (`psn:` + 64 hex) rather than an address.
pub fn is_pseudonym(value: &str) -> bool {
    value.starts_with(PSEUDONYM_PREFIX)
}

/// Whether a subject string is a key-derived id (`key:` + 64 hex) rather than an address.
pub fn is_key_subject(value: &str) -> bool {
    value.starts_with(KEY_SUBJECT_PREFIX)
}

/// A pseudonymous subject id: `psn:` or `key:` followed by a lowercase hex SHA-256 digest.
pub fn pseudonym(field: &'static str, value: &str) -> Result<(), ValidationError> {
    match value
        .strip_prefix(PSEUDONYM_PREFIX)
        .or_else(|| value.strip_prefix(KEY_SUBJECT_PREFIX))
    {
        Some(rest) if hash(field, rest).is_ok() => Ok(()),
        _ => Err(ValidationError::InvalidPseudonym {
            field,
            value: truncate(value),
        }),
    }
}

/// Keeps error messages bounded when the offending input is huge.
fn truncate(value: &str) -> String {
    value.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_accepts_lowercase_and_rejects_others() {
        assert!(slug("purpose", "research.medical-v2_x").is_ok());
        assert!(slug("purpose", "").is_err());
        assert!(slug("purpose", "Marketing").is_err());
        assert!(slug("purpose", "a b").is_err());
        assert!(slug("purpose", &"a".repeat(65)).is_err());
    }

    #[test]
    fn slug_list_rejects_empty_duplicates_and_overlong() {
        assert_eq!(
            slug_list("purposes", &[]),
            Err(ValidationError::Empty { field: "purposes" })
        );
        let dup = vec!["a".to_string(), "a".to_string()];
        assert!(matches!(
            slug_list("purposes", &dup),
            Err(ValidationError::Duplicate { .. })
        ));
        let many: Vec<String> = (0..17).map(|i| format!("p{i}")).collect();
        assert!(matches!(
            slug_list("purposes", &many),
            Err(ValidationError::TooMany { .. })
        ));
    }

    #[test]
    fn hash_requires_64_lowercase_hex() {
        assert!(hash("content_hash", &"ab".repeat(32)).is_ok());
        assert!(hash("content_hash", &"AB".repeat(32)).is_err());
        assert!(hash("content_hash", "abc").is_err());
    }

    #[test]
    fn pseudonym_requires_prefix_and_digest() {
        assert!(pseudonym("subject", &format!("psn:{}", "0f".repeat(32))).is_ok());
        assert!(pseudonym("subject", "psn:xyz").is_err());
        assert!(pseudonym("subject", &"0f".repeat(32)).is_err());
    }
}
