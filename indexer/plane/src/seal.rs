//! Encryption with `age` (X25519 recipients; the payload in STREAM chunks of 64 KiB, each
//! sealed with ChaCha20-Poly1305): nothing here is hand-rolled.
//!
//! Two kinds of key, both age X25519 key pairs:
//! - a **data key** per version: the provider encrypts the version's file (or each subject's
//!   segment) to it, and keeps its secret in the provider's key store;
//! - a **consumer key**: the consumer makes it, registers its public half (`age1…`) when it signs
//!   an agreement, and keeps its secret.
//!
//! Delivering a key is [`wrap`]: the data key's secret encrypted to the consumer's public key,
//! which the provider deposits on chain (`DepositKey`) and only the consumer can [`unwrap`].

use std::io::{Read, Write};
use std::str::FromStr;

use age::secrecy::ExposeSecret;

use crate::error::PlaneError;

/// A secret key (age X25519 identity): a version's data key or a consumer's key. Its secret is
/// never printed: `Debug` shows the public half only.
pub struct DataKey(age::x25519::Identity);

/// The public half of a [`DataKey`] (`age1…`).
#[derive(Clone)]
pub struct PublicKey(age::x25519::Recipient);

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("DataKey")
            .field(&self.public().to_string())
            .finish()
    }
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.to_string())
    }
}

impl std::fmt::Display for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.to_string())
    }
}

impl DataKey {
    /// A fresh key from the operating system's randomness.
    pub fn generate() -> Self {
        DataKey(age::x25519::Identity::generate())
    }

    /// Reads a key from its secret text (`AGE-SECRET-KEY-1…`, surrounding space ignored, lines
    /// starting with `#` skipped as age's key files write them).
    pub fn from_secret(text: &str) -> Result<Self, PlaneError> {
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .ok_or(PlaneError::BadSecretKey)?;
        age::x25519::Identity::from_str(line)
            .map(DataKey)
            .map_err(|_| PlaneError::BadSecretKey)
    }

    /// The secret text, for the key store. Handle it as a secret.
    pub fn secret(&self) -> String {
        self.0.to_string().expose_secret().to_string()
    }

    /// The key file as age writes one: a comment with the public key, then the secret.
    pub fn key_file(&self) -> String {
        format!(
            "# public key: {}\n{}\n",
            self.public(),
            self.0.to_string().expose_secret()
        )
    }

    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.to_public())
    }
}

impl PublicKey {
    /// Reads `age1…` text, or the same text as bytes (as the agreement stores it).
    pub fn parse(bytes: &[u8]) -> Result<Self, PlaneError> {
        let text = std::str::from_utf8(bytes)
            .map_err(|_| PlaneError::BadPublicKey { got: bytes.len() })?;
        age::x25519::Recipient::from_str(text.trim())
            .map(PublicKey)
            .map_err(|_| PlaneError::BadPublicKey { got: bytes.len() })
    }

    /// The bytes an agreement registers as `consumer_public_key`.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_string().into_bytes()
    }
}

/// Encrypts everything `input` yields to `to`, writing the age file to `output` in constant
/// memory. Returns the plaintext's length.
pub fn seal<R: Read, W: Write>(to: &PublicKey, mut input: R, output: W) -> Result<u64, PlaneError> {
    let encryptor = age::Encryptor::with_recipients(std::iter::once(&to.0 as &dyn age::Recipient))
        .map_err(|e| PlaneError::Encrypt(e.to_string()))?;
    let mut writer = encryptor
        .wrap_output(output)
        .map_err(|e| PlaneError::io("the ciphertext", e))?;
    let n =
        std::io::copy(&mut input, &mut writer).map_err(|e| PlaneError::io("the plaintext", e))?;
    writer
        .finish()
        .map_err(|e| PlaneError::io("the ciphertext", e))?;
    Ok(n)
}

/// A reader of the plaintext of the age file `input`, decrypted with `key`. Every chunk is
/// authenticated as it is read: an altered ciphertext is an error, never wrong bytes.
pub fn open<R: Read>(key: &DataKey, input: R) -> Result<impl Read, PlaneError> {
    let decryptor = age::Decryptor::new(input).map_err(|e| PlaneError::Decrypt(e.to_string()))?;
    decryptor
        .decrypt(std::iter::once(&key.0 as &dyn age::Identity))
        .map_err(|e| PlaneError::Decrypt(e.to_string()))
}

/// The response header in which a gateway hands out the version's data key wrapped to the
/// requesting agreement's key (base64 of the age file).
pub const VERSION_KEY_HEADER: &str = "x-datapact-version-key";

/// Delivers `key` to `to`: its secret encrypted to the recipient (an age file of about 300
/// bytes, what `DepositKey` carries).
pub fn wrap(key: &DataKey, to: &PublicKey) -> Result<Vec<u8>, PlaneError> {
    let mut out = Vec::new();
    seal(to, key.secret().as_bytes(), &mut out)?;
    Ok(out)
}

/// Opens a key [`wrap`]ped to `me`.
pub fn unwrap(wrapped: &[u8], me: &DataKey) -> Result<DataKey, PlaneError> {
    let mut text = String::new();
    open(me, wrapped)?
        .read_to_string(&mut text)
        .map_err(|e| PlaneError::Decrypt(e.to_string()))?;
    DataKey::from_secret(&text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn roundtrip(data: &[u8]) -> Vec<u8> {
        let key = DataKey::generate();
        let mut sealed = Vec::new();
        assert_eq!(
            seal(&key.public(), data, &mut sealed).unwrap(),
            data.len() as u64
        );
        let mut back = Vec::new();
        open(&key, sealed.as_slice())
            .unwrap()
            .read_to_end(&mut back)
            .unwrap();
        back
    }

    #[test]
    fn a_sealed_file_opens_to_the_same_bytes_across_chunk_boundaries() {
        for len in [0, 1, 65_535, 65_536, 65_537, 200_000] {
            let data: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            assert_eq!(roundtrip(&data), data, "{len} bytes");
        }
    }

    #[test]
    fn an_altered_ciphertext_is_an_error_never_other_bytes() {
        let key = DataKey::generate();
        let data = vec![7u8; 100_000];
        let mut sealed = Vec::new();
        seal(&key.public(), data.as_slice(), &mut sealed).unwrap();
        let last = sealed.len() - 10;
        sealed[last] ^= 1;
        let mut back = Vec::new();
        let res = open(&key, sealed.as_slice()).and_then(|mut r| {
            r.read_to_end(&mut back)
                .map_err(|e| PlaneError::Decrypt(e.to_string()))
        });
        assert!(res.is_err(), "a flipped bit went unnoticed");
    }

    #[test]
    fn only_the_consumer_unwraps_the_delivered_key() {
        let (data_key, consumer, stranger) = (
            DataKey::generate(),
            DataKey::generate(),
            DataKey::generate(),
        );
        let wrapped = wrap(&data_key, &consumer.public()).unwrap();
        assert!(
            wrapped.len() < 1024,
            "fits DepositKey: {} bytes",
            wrapped.len()
        );
        let opened = unwrap(&wrapped, &consumer).unwrap();
        assert_eq!(opened.secret(), data_key.secret());
        assert!(unwrap(&wrapped, &stranger).is_err());
    }

    #[test]
    fn keys_read_back_from_their_files_and_never_show_their_secret() {
        let key = DataKey::generate();
        let again = DataKey::from_secret(&key.key_file()).unwrap();
        assert_eq!(again.secret(), key.secret());
        assert!(!format!("{key:?}").contains(&key.secret()));
        let public = PublicKey::parse(&key.public().to_bytes()).unwrap();
        assert!(public.to_bytes().len() <= 128, "fits consumer_public_key");
        assert!(matches!(
            DataKey::from_secret("age1notasecret"),
            Err(PlaneError::BadSecretKey)
        ));
        assert!(PublicKey::parse(&[0xff, 0x00]).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        #[test]
        fn any_bytes_roundtrip(data in proptest::collection::vec(any::<u8>(), 0..150_000)) {
            prop_assert_eq!(roundtrip(&data), data);
        }
    }
}
