//! Registry: assets, versions, lineage, attestations, stewards, ownership, tombstone.

use datapact_registry::msg::{
    AssetResponse, AttestationsResponse, ExecuteMsg as R, LineageDirection, LineageResponse,
    QueryMsg as Q, VersionResponse,
};
use datapact_registry::ContractError;
use datapact_testing::{assert_fails_with, hash_of, Suite, Which};
use datapact_types::{Sensitivity, ValidationError, VersionRef};

fn v(asset_id: u64, version: u32) -> VersionRef {
    VersionRef { asset_id, version }
}

#[test]
fn versions_number_from_one_and_keep_lineage_both_ways() {
    let mut s = Suite::new();
    let p = s.addr("provider1");
    let a = s.register_asset(&p, Sensitivity::Personal).unwrap();
    let b = s.register_asset(&p, Sensitivity::Internal).unwrap();
    assert_eq!(s.publish(&p, a, vec![]).unwrap(), 1);
    assert_eq!(s.publish(&p, a, vec![v(a, 1)]).unwrap(), 2);
    assert_eq!(s.publish(&p, b, vec![v(a, 2), v(a, 1)]).unwrap(), 1);

    let anc: LineageResponse = s
        .query(
            Which::Registry,
            &Q::Lineage {
                asset_id: b,
                version: 1,
                direction: LineageDirection::Ancestors,
                max_depth: None,
            },
        )
        .unwrap();
    let nodes: Vec<_> = anc.nodes.iter().map(|n| (n.version, n.depth)).collect();
    assert_eq!(nodes, vec![(v(a, 2), 1), (v(a, 1), 1)]);
    assert_eq!(anc.edges.len(), 3, "b1<-a2, b1<-a1, a2<-a1");
    assert!(!anc.truncated);

    let desc: LineageResponse = s
        .query(
            Which::Registry,
            &Q::Lineage {
                asset_id: a,
                version: 1,
                direction: LineageDirection::Descendants,
                max_depth: Some(1),
            },
        )
        .unwrap();
    let mut got: Vec<_> = desc.nodes.iter().map(|n| n.version).collect();
    got.sort();
    assert_eq!(got, vec![v(a, 2), v(b, 1)]);
    assert!(desc.truncated, "a2 has a child beyond depth 1");
}

#[test]
fn a_version_cannot_name_a_missing_or_duplicate_parent() {
    let mut s = Suite::new();
    let p = s.addr("provider1");
    let a = s.register_asset(&p, Sensitivity::Public).unwrap();
    assert_fails_with(
        s.publish(&p, a, vec![v(a, 1)]),
        ContractError::ParentNotFound {
            asset_id: a,
            version: 1,
        },
    );
    s.publish(&p, a, vec![]).unwrap();
    assert_fails_with(
        s.publish(&p, a, vec![v(a, 1), v(a, 1)]),
        ContractError::DuplicateParent {
            asset_id: a,
            version: 1,
        },
    );
}

#[test]
fn bad_hashes_and_names_are_typed_errors() {
    let mut s = Suite::new();
    let p = s.addr("provider1");
    let a = s.register_asset(&p, Sensitivity::Public).unwrap();
    let res = s.exec(
        &p,
        Which::Registry,
        &R::PublishVersion {
            asset_id: a,
            content_hash: "nothex".into(),
            schema_hash: None,
            uri: None,
            parents: vec![],
        },
        &[],
    );
    assert_fails_with(
        res,
        ValidationError::InvalidHash {
            field: "content_hash",
            value: "nothex".into(),
        },
    );
    let res = s.exec(
        &p,
        Which::Registry,
        &R::RegisterAsset {
            name: " ".into(),
            description: None,
            sensitivity: Sensitivity::Public,
            tags: vec![],
        },
        &[],
    );
    assert_fails_with(res, ValidationError::Empty { field: "name" });
    let res = s.exec(
        &p,
        Which::Registry,
        &R::RegisterAsset {
            name: "x".into(),
            description: None,
            sensitivity: Sensitivity::Public,
            tags: vec!["Bad Tag".into()],
        },
        &[],
    );
    assert_fails_with(res, "tags must be a lowercase slug");
}

#[test]
fn stewards_publish_but_only_the_owner_manages_stewards() {
    let mut s = Suite::new();
    let (p, st, x) = (s.addr("provider1"), s.addr("steward1"), s.addr("stranger"));
    let a = s.register_asset(&p, Sensitivity::Public).unwrap();
    assert_fails_with(
        s.publish(&st, a, vec![]),
        "needs the owner or a steward of asset 1",
    );
    s.exec(
        &p,
        Which::Registry,
        &R::AddSteward {
            asset_id: a,
            steward: st.to_string(),
        },
        &[],
    )
    .unwrap();
    assert_eq!(s.publish(&st, a, vec![]).unwrap(), 1);
    let res = s.exec(
        &st,
        Which::Registry,
        &R::AddSteward {
            asset_id: a,
            steward: x.to_string(),
        },
        &[],
    );
    assert_fails_with(res, "needs the owner of asset 1");
    let res = s.exec(
        &p,
        Which::Registry,
        &R::AddSteward {
            asset_id: a,
            steward: st.to_string(),
        },
        &[],
    );
    assert_fails_with(
        res,
        ContractError::AlreadySteward {
            asset_id: a,
            steward: st.to_string(),
        },
    );
    let res = s.exec(
        &p,
        Which::Registry,
        &R::RemoveSteward {
            asset_id: a,
            steward: x.to_string(),
        },
        &[],
    );
    assert_fails_with(
        res,
        ContractError::NotSteward {
            asset_id: a,
            steward: x.to_string(),
        },
    );
    let res = s.exec(
        &p,
        Which::Registry,
        &R::AddSteward {
            asset_id: a,
            steward: p.to_string(),
        },
        &[],
    );
    assert_fails_with(res, ContractError::OwnerAsSteward { asset_id: a });
}

#[test]
fn ownership_moves_only_when_the_proposed_owner_accepts() {
    let mut s = Suite::new();
    let (p, p2, x) = (s.addr("provider1"), s.addr("provider2"), s.addr("stranger"));
    let a = s.register_asset(&p, Sensitivity::Public).unwrap();
    assert_fails_with(
        s.exec(
            &p2,
            Which::Registry,
            &R::AcceptOwnership { asset_id: a },
            &[],
        ),
        ContractError::NoPendingTransfer { asset_id: a },
    );
    s.exec(
        &p,
        Which::Registry,
        &R::TransferOwnership {
            asset_id: a,
            new_owner: p2.to_string(),
        },
        &[],
    )
    .unwrap();
    assert_fails_with(
        s.exec(
            &x,
            Which::Registry,
            &R::AcceptOwnership { asset_id: a },
            &[],
        ),
        "needs the pending owner of asset 1",
    );
    s.exec(
        &p2,
        Which::Registry,
        &R::AcceptOwnership { asset_id: a },
        &[],
    )
    .unwrap();
    let asset: AssetResponse = s.query(Which::Registry, &Q::Asset { asset_id: a }).unwrap();
    assert_eq!(asset.asset.owner, p2);
    let mine: datapact_registry::msg::AssetsResponse = s
        .query(
            Which::Registry,
            &Q::AssetsByOwner {
                owner: p2.to_string(),
                start_after: None,
                limit: None,
            },
        )
        .unwrap();
    assert_eq!(mine.assets.len(), 1);
    let old: datapact_registry::msg::AssetsResponse = s
        .query(
            Which::Registry,
            &Q::AssetsByOwner {
                owner: p.to_string(),
                start_after: None,
                limit: None,
            },
        )
        .unwrap();
    assert!(old.assets.is_empty());
}

#[test]
fn attestations_are_one_per_attestor_and_claim_and_revocable_by_the_attestor_only() {
    let mut s = Suite::new();
    let (p, at1, at2) = (
        s.addr("provider1"),
        s.addr("attestor1"),
        s.addr("attestor2"),
    );
    let a = s.register_asset(&p, Sensitivity::Public).unwrap();
    s.publish(&p, a, vec![]).unwrap();
    let attest = |claim: &str| R::Attest {
        asset_id: a,
        version: 1,
        claim: claim.into(),
        evidence_hash: hash_of(claim),
    };
    s.exec(&at1, Which::Registry, &attest("schema_valid"), &[])
        .unwrap();
    s.exec(&at2, Which::Registry, &attest("schema_valid"), &[])
        .unwrap();
    assert_fails_with(
        s.exec(&at1, Which::Registry, &attest("schema_valid"), &[]),
        "already attests \"schema_valid\"",
    );
    assert_fails_with(
        s.exec(
            &at1,
            Which::Registry,
            &R::Attest {
                asset_id: a,
                version: 2,
                claim: "x".into(),
                evidence_hash: hash_of("x"),
            },
            &[],
        ),
        ContractError::VersionNotFound {
            asset_id: a,
            version: 2,
        },
    );
    let revoke = R::RevokeAttestation {
        asset_id: a,
        version: 1,
        claim: "schema_valid".into(),
    };
    assert_fails_with(
        s.exec(&p, Which::Registry, &revoke, &[]),
        "has no attestation \"schema_valid\" in force",
    );
    s.exec(&at1, Which::Registry, &revoke, &[]).unwrap();
    let list: AttestationsResponse = s
        .query(
            Which::Registry,
            &Q::Attestations {
                asset_id: a,
                version: 1,
                start_after: None,
                limit: None,
            },
        )
        .unwrap();
    assert_eq!(list.attestations.len(), 2);
    assert_eq!(
        list.attestations
            .iter()
            .filter(|x| x.revoked_height.is_some())
            .count(),
        1
    );
    let page: AttestationsResponse = s
        .query(
            Which::Registry,
            &Q::Attestations {
                asset_id: a,
                version: 1,
                start_after: None,
                limit: Some(1),
            },
        )
        .unwrap();
    assert_eq!(page.attestations.len(), 1);
    s.exec(&at1, Which::Registry, &attest("schema_valid"), &[])
        .expect("re-attest after revoking");
}

#[test]
fn tombstone_erases_uris_and_text_keeps_hashes_and_freezes_the_asset() {
    let mut s = Suite::new();
    let (p, at) = (s.addr("provider1"), s.addr("attestor1"));
    let a = s.register_asset(&p, Sensitivity::Personal).unwrap();
    s.publish(&p, a, vec![]).unwrap();
    let before: VersionResponse = s
        .query(
            Which::Registry,
            &Q::Version {
                asset_id: a,
                version: 1,
            },
        )
        .unwrap();
    assert!(before.version.uri.is_some());
    s.exec(&p, Which::Registry, &R::Tombstone { asset_id: a }, &[])
        .unwrap();
    let after: VersionResponse = s
        .query(
            Which::Registry,
            &Q::Version {
                asset_id: a,
                version: 1,
            },
        )
        .unwrap();
    assert_eq!(after.version.uri, None);
    assert_eq!(after.version.content_hash, before.version.content_hash);
    let asset: AssetResponse = s.query(Which::Registry, &Q::Asset { asset_id: a }).unwrap();
    assert!(asset.asset.description.is_empty() && asset.asset.tags.is_empty());
    assert!(
        asset.asset.name.is_empty(),
        "the name is free text and goes with the erasure: {:?}",
        asset.asset.name
    );
    assert_fails_with(
        s.publish(&p, a, vec![]),
        ContractError::AssetTombstoned { id: a },
    );
    let res = s.exec(
        &at,
        Which::Registry,
        &R::Attest {
            asset_id: a,
            version: 1,
            claim: "c".into(),
            evidence_hash: hash_of("c"),
        },
        &[],
    );
    assert_fails_with(res, ContractError::AssetTombstoned { id: a });
    assert_fails_with(
        s.exec(&p, Which::Registry, &R::Tombstone { asset_id: a }, &[]),
        ContractError::AssetTombstoned { id: a },
    );
}

#[test]
fn lists_paginate_with_a_hard_cap() {
    let mut s = Suite::new();
    let p = s.addr("provider1");
    for _ in 0..105 {
        s.register_asset(&p, Sensitivity::Public).unwrap();
    }
    let all: datapact_registry::msg::AssetsResponse = s
        .query(
            Which::Registry,
            &Q::ListAssets {
                start_after: None,
                limit: Some(1000),
            },
        )
        .unwrap();
    assert_eq!(all.assets.len(), 100);
    let rest: datapact_registry::msg::AssetsResponse = s
        .query(
            Which::Registry,
            &Q::ListAssets {
                start_after: Some(100),
                limit: None,
            },
        )
        .unwrap();
    assert_eq!(
        rest.assets.iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![101, 102, 103, 104, 105]
    );
}

#[test]
fn unknown_ids_are_named_in_errors() {
    let mut s = Suite::new();
    let p = s.addr("provider1");
    assert_fails_with(
        s.publish(&p, 42, vec![]),
        ContractError::AssetNotFound { id: 42 },
    );
    let res: anyhow::Result<AssetResponse> = s.query(Which::Registry, &Q::Asset { asset_id: 42 });
    assert_fails_with(res, "asset 42 not found");
}
