//! The registry's tables: assets, their changes, versions, lineage and attestations.

table! {
    /// An asset was registered.
    "assets" => Asset at {
        asset_id: i64,
        owner: String,
        sensitivity: String,
    }
}

table! {
    /// Stewards, ownership transfers and tombstones (`change` is the action).
    "asset_changes" => AssetChange at {
        asset_id: i64,
        change: String,
        actor: String,
        /// the steward or new/previous owner the change names
        party: Option<String>,
    }
}

table! {
    /// An immutable version was published.
    "versions" => Version at {
        asset_id: i64,
        version: i32,
        publisher: String,
        content_hash: String,
        schema_hash: Option<String>,
    }
}

table! {
    /// One parent of a published version.
    "lineage_edges" => LineageEdge at {
        parent_asset: i64,
        parent_version: i32,
        child_asset: i64,
        child_version: i32,
    }
}

table! {
    /// An attestation, or its revocation (`revoked`).
    "attestations" => Attestation at {
        asset_id: i64,
        version: i32,
        attestor: String,
        claim: String,
        evidence_hash: Option<String>,
        revoked: bool,
    }
}
