//! Where a version's ciphertext lives: `<store>/<asset>/<version>.age` for a whole file, or
//! `<store>/<asset>/<version>.segments/` (an `index.json` and one `<n>.age` per subject) for
//! personal data; written by the provider's `publish`, read by the gateway, deleted with the
//! asset's tombstone.

use std::path::{Path, PathBuf};

/// A directory of ciphertexts.
#[derive(Clone, Debug)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Store { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn asset_dir(&self, asset: u64) -> PathBuf {
        self.root.join(asset.to_string())
    }

    /// The file of one version's ciphertext.
    pub fn path(&self, asset: u64, version: u32) -> PathBuf {
        self.asset_dir(asset).join(format!("{version}.age"))
    }

    /// A version's data key wrapped to one agreement's key (written by `deliver-keys`, handed
    /// out with that agreement's deliveries).
    pub fn version_key(&self, asset: u64, version: u32, agreement: u64) -> PathBuf {
        self.asset_dir(asset)
            .join(format!("{version}.keys"))
            .join(format!("{agreement}.age"))
    }

    /// The folder of a segmented version (personal data: one ciphertext per subject).
    pub fn segments_dir(&self, asset: u64, version: u32) -> PathBuf {
        self.asset_dir(asset).join(format!("{version}.segments"))
    }

    /// The index of a segmented version, if it is stored.
    pub fn segment_index(
        &self,
        asset: u64,
        version: u32,
    ) -> std::io::Result<Option<datapact_plane::segments::SegmentIndex>> {
        let path = self.segments_dir(asset, version).join("index.json");
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: {e}", path.display()),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Deletes every stored version of `asset` (after its tombstone); true when there was
    /// something to delete.
    pub fn erase(&self, asset: u64) -> std::io::Result<bool> {
        match std::fs::remove_dir_all(self.asset_dir(asset)) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erasing_an_asset_removes_its_versions_and_only_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::new(dir.path());
        for (a, v) in [(1, 1), (1, 2), (2, 1)] {
            std::fs::create_dir_all(s.asset_dir(a)).unwrap();
            std::fs::write(s.path(a, v), b"x").unwrap();
        }
        std::fs::create_dir_all(s.segments_dir(1, 3)).unwrap();
        std::fs::write(
            s.segments_dir(1, 3).join("index.json"),
            b"{\"segments\":[]}",
        )
        .unwrap();
        assert!(s.segment_index(1, 3).unwrap().is_some());
        assert!(s.erase(1).unwrap());
        assert!(!s.path(1, 1).exists() && !s.path(1, 2).exists());
        assert!(
            s.segment_index(1, 3).unwrap().is_none(),
            "segments erased too"
        );
        assert!(s.path(2, 1).exists());
        assert!(!s.erase(1).unwrap(), "erasing twice finds nothing");
    }
}
