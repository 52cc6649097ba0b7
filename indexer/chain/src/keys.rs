//! Keys: a wallet from a BIP-39 mnemonic (Cosmos HD path m/44'/118'/0'/0/index) or a raw hex
//! secp256k1 secret, and the named accounts of the local chain.

use std::fmt;
use std::path::Path;

use anyhow::Context;
use cosmrs::crypto::secp256k1::SigningKey;
use cosmrs::AccountId;

/// The local chain's accounts derive from a mnemonic made from this public seed text. It is
/// public: never fund its addresses anywhere real.
const LOCALNET_SEED_TEXT: &str =
    "datapact localnet test accounts: public, never fund on a real chain";

/// The local chain's mnemonic (24 words), for importing its accounts into `wasmd keys add --recover`.
pub fn localnet_mnemonic() -> String {
    use sha2::Digest;
    let entropy: [u8; 32] = sha2::Sha256::digest(LOCALNET_SEED_TEXT.as_bytes()).into();
    bip32::Mnemonic::from_entropy(entropy, bip32::Language::English)
        .phrase()
        .to_string()
}

pub const ADDRESS_PREFIX: &str = "wasm";

/// A signing key and its address. The key is never printed: `Debug` shows the address only.
pub struct Wallet {
    pub name: String,
    key: SigningKey,
    pub address: AccountId,
}

impl fmt::Debug for Wallet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wallet")
            .field("name", &self.name)
            .field("address", &self.address.to_string())
            .finish_non_exhaustive()
    }
}

impl Wallet {
    pub fn from_mnemonic(name: &str, phrase: &str, index: u32) -> anyhow::Result<Self> {
        let mnemonic = bip32::Mnemonic::new(phrase.trim(), bip32::Language::English)
            .map_err(|_| anyhow::anyhow!("the mnemonic is not a valid BIP-39 English phrase"))?;
        let seed = mnemonic.to_seed("");
        let path: bip32::DerivationPath = format!("m/44'/118'/0'/0/{index}")
            .parse()
            .map_err(|e| anyhow::anyhow!("derivation path: {e}"))?;
        let key = SigningKey::derive_from_path(seed, &path)
            .map_err(|e| anyhow::anyhow!("cannot derive key {index}: {e}"))?;
        Self::from_key(name, key)
    }

    pub fn from_hex(name: &str, secret_hex: &str) -> anyhow::Result<Self> {
        let bytes = hex::decode(secret_hex.trim())
            .map_err(|_| anyhow::anyhow!("the key is not hex (expected 64 hex characters)"))?;
        anyhow::ensure!(
            bytes.len() == 32,
            "the key has {} bytes, expected 32",
            bytes.len()
        );
        let key = SigningKey::from_slice(&bytes)
            .map_err(|_| anyhow::anyhow!("the key is not a valid secp256k1 secret"))?;
        Self::from_key(name, key)
    }

    /// Reads a key: a file holding either a mnemonic or a hex secret. The contents never reach
    /// an error message.
    pub fn from_file(name: &str, path: &Path, index: u32) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the key file {}", path.display()))?;
        Self::from_secret(name, &text, index)
            .with_context(|| format!("the key file {} holds no usable key", path.display()))
    }

    /// A mnemonic (words separated by spaces) or a 64-character hex secret.
    pub fn from_secret(name: &str, secret: &str, index: u32) -> anyhow::Result<Self> {
        if secret.trim().contains(' ') {
            Self::from_mnemonic(name, secret, index)
        } else {
            Self::from_hex(name, secret)
        }
    }

    fn from_key(name: &str, key: SigningKey) -> anyhow::Result<Self> {
        let address = key
            .public_key()
            .account_id(ADDRESS_PREFIX)
            .map_err(|e| anyhow::anyhow!("address: {e}"))?;
        Ok(Self {
            name: name.to_string(),
            key,
            address,
        })
    }

    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    pub fn addr(&self) -> String {
        self.address.to_string()
    }

    /// The compressed public key (33 bytes).
    pub fn public_key_bytes(&self) -> Vec<u8> {
        self.key.public_key().to_bytes()
    }
}

/// What a local account is for; the workload picks senders by role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Sentinel,
    Responder,
    Relayer,
    Provider,
    Consumer,
    Subject,
    Attestor,
    /// anchors analysis runs' manifests (`datapact analyze --anchor`)
    Analyst,
}

/// How many local accounts of each role exist, in HD-index order.
pub const LOCALNET_ROLES: &[(Role, u32)] = &[
    (Role::Admin, 1),
    (Role::Sentinel, 1),
    (Role::Responder, 1),
    (Role::Relayer, 2),
    (Role::Provider, 8),
    (Role::Consumer, 16),
    (Role::Subject, 32),
    (Role::Attestor, 6),
    (Role::Analyst, 1),
];

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct NamedAccount {
    pub name: String,
    pub role: Role,
    pub index: u32,
    pub address: String,
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Admin => "admin",
        Role::Sentinel => "sentinel",
        Role::Responder => "responder",
        Role::Relayer => "relayer",
        Role::Provider => "provider",
        Role::Consumer => "consumer",
        Role::Subject => "subject",
        Role::Attestor => "attestor",
        Role::Analyst => "analyst",
    }
}

/// The local chain's accounts: `admin`, `sentinel`, `responder`, `relayer-0`, `provider-3`, ...
pub fn localnet_accounts() -> Vec<(String, Role, u32)> {
    let mut out = Vec::new();
    let mut index = 0;
    for &(role, n) in LOCALNET_ROLES {
        for i in 0..n {
            let name = if n == 1 {
                role_name(role).to_string()
            } else {
                format!("{}-{i}", role_name(role))
            };
            out.push((name, role, index));
            index += 1;
        }
    }
    out
}

pub fn localnet_wallet(name: &str) -> anyhow::Result<Wallet> {
    let (_, _, index) = localnet_accounts()
        .into_iter()
        .find(|(n, _, _)| n == name)
        .ok_or_else(|| anyhow::anyhow!("no local account named {name:?}"))?;
    Wallet::from_mnemonic(name, &localnet_mnemonic(), index)
}

pub fn localnet_wallets() -> anyhow::Result<Vec<(Role, Wallet)>> {
    let phrase = localnet_mnemonic();
    localnet_accounts()
        .into_iter()
        .map(|(name, role, index)| Ok((role, Wallet::from_mnemonic(&name, &phrase, index)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mnemonic_derivation_matches_wasmd_keys_add_recover() {
        // `wasmd keys add probe --recover --index 3` (wasmd v0.61.14) with this mnemonic
        let w = Wallet::from_mnemonic("relayer-0", &localnet_mnemonic(), 3).unwrap();
        assert_eq!(w.addr(), "wasm1fgflgp9an7tgmcqp277udcr0rd9zvvpu9gc2xc");
        assert_eq!(localnet_wallet("relayer-0").unwrap().addr(), w.addr());
        let other = Wallet::from_mnemonic("c", &localnet_mnemonic(), 4).unwrap();
        assert_ne!(w.addr(), other.addr());
    }

    #[test]
    fn a_bad_secret_is_a_clear_error_that_does_not_echo_it() {
        let err = Wallet::from_secret("x", "not a real mnemonic phrase at all", 0).unwrap_err();
        assert!(err.to_string().contains("not a valid BIP-39"), "{err}");
        let err = Wallet::from_secret("x", "zz11", 0).unwrap_err();
        assert!(!err.to_string().contains("zz11"), "{err}");
    }

    #[test]
    fn debug_output_never_shows_the_key() {
        let w = Wallet::from_hex("k", &"11".repeat(32)).unwrap();
        let shown = format!("{w:?}");
        assert!(!shown.contains(&"11".repeat(8)), "{shown}");
        assert!(shown.contains(&w.addr()));
    }

    #[test]
    fn local_account_names_are_unique_and_indexes_dense() {
        let accts = localnet_accounts();
        let names: std::collections::HashSet<_> = accts.iter().map(|a| a.0.clone()).collect();
        assert_eq!(names.len(), accts.len());
        assert!(accts.iter().enumerate().all(|(i, a)| a.2 as usize == i));
    }
}
