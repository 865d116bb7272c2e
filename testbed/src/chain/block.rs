//! Blocks, headers and commits of a single-validator CometBFT 0.38 chain, with the hashes
//! computed as CometBFT computes them (header Merkle root, `data_hash` over tx hashes,
//! `last_commit_hash`, `last_results_hash`, validator set hash) and the precommit signed
//! with the validator's ed25519 key over the canonical vote.

use super::execute::TxResult;
use cosmrs::proto::prost::Message as _;
use cosmrs::proto::tendermint::v0_38 as pb;
use cosmrs::tendermint;
use sha2::{Digest as _, Sha256};
use std::sync::Arc;
use tendermint::crypto::default::Sha256 as MerkleSha256;
use tendermint::merkle::simple_hash_from_byte_vectors;

/// `version.BlockProtocol` of CometBFT 0.38 (`version/version.go`).
pub const BLOCK_PROTOCOL: u64 = 11;
/// The application's protocol version (`app` in `protocol_version`); SDK apps report 0.
pub const APP_PROTOCOL: u64 = 0;
/// Voting power of the single validator (the recorded single-node chain has 10).
pub const VOTING_POWER: u64 = 10;
/// `BlockIDFlagCommit` (`types/block.go`).
pub const BLOCK_ID_FLAG_COMMIT: i32 = 2;
/// Hash of CometBFT 0.38's default consensus parameters, as recorded in every header of the
/// fixtures' chain (which runs with the defaults): `consensus_hash`.
pub const DEFAULT_CONSENSUS_HASH: &str = "048091BC7DDC283F77BFBF91D73C44DA58C3DF8A9CBC867405D8B7F3DAADA22F";
/// Protobuf size of a header, empty data and one-signature commit (`block_size` of an empty
/// block in `blockchain_from_1_to_10.json` is 569).
const EMPTY_BLOCK_SIZE: usize = 569;

/// `BlockID`: header hash and the part-set header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BlockId {
    pub hash: [u8; 32],
    pub parts_total: u32,
    pub parts_hash: [u8; 32],
}

/// One precommit in a commit (`block_id_flag` is always COMMIT here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitSig {
    pub validator_address: [u8; 20],
    pub timestamp: jiff::Timestamp,
    pub signature: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    pub height: u64,
    /// `None` for the empty commit before block 1.
    pub block_id: Option<BlockId>,
    pub signatures: Vec<CommitSig>,
}

impl Commit {
    pub fn empty() -> Self {
        Self { height: 0, block_id: None, signatures: Vec::new() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub chain_id: String,
    pub height: u64,
    pub time: jiff::Timestamp,
    pub last_block_id: Option<BlockId>,
    pub last_commit_hash: [u8; 32],
    pub data_hash: [u8; 32],
    pub validators_hash: [u8; 32],
    pub next_validators_hash: [u8; 32],
    pub consensus_hash: [u8; 32],
    pub app_hash: [u8; 32],
    pub last_results_hash: [u8; 32],
    pub evidence_hash: [u8; 32],
    pub proposer_address: [u8; 20],
}

/// A committed block with everything the RPC serves about it.
#[derive(Debug, Clone)]
pub struct Block {
    pub id: BlockId,
    pub header: Header,
    pub txs: Vec<Arc<[u8]>>,
    pub tx_hashes: Vec<[u8; 32]>,
    pub last_commit: Commit,
    /// The validator's precommit for this block (the next block's `last_commit`).
    pub commit: Commit,
    /// `ExecTxResult` of each tx, in order.
    pub results: Vec<TxResult>,
    /// The app hash after executing this block (`block_results.app_hash`).
    pub app_hash_after: [u8; 32],
    pub size: usize,
}

/// The chain's only validator: an ed25519 key derived from the chain id.
#[derive(Clone)]
pub struct Validator {
    key: ed25519_consensus::SigningKey,
    pub public_key: [u8; 32],
    pub address: [u8; 20],
}

impl Validator {
    pub fn for_chain(chain_id: &str) -> Self {
        let seed: [u8; 32] = Sha256::digest(format!("cryptomeria-testbed/{chain_id}/validator")).into();
        let key = ed25519_consensus::SigningKey::from(seed);
        let public_key = key.verification_key().to_bytes();
        Self { key, public_key, address: ed25519_address(&public_key) }
    }

    /// The validator set hash (`types/validator_set.go Hash`).
    pub fn set_hash(&self) -> [u8; 32] {
        let key = tendermint::PublicKey::from(self.key.verification_key());
        let power = tendermint::vote::Power::try_from(VOTING_POWER).unwrap_or_default();
        let set = tendermint::validator::Set::new(vec![tendermint::validator::Info::new(key, power)], None);
        hash_array(set.hash().as_bytes())
    }

    /// Signs the precommit for `block_id` at `height` (`types/vote.go VoteSignBytes`).
    pub fn precommit(
        &self,
        chain_id: &str,
        height: u64,
        block_id: BlockId,
        timestamp: jiff::Timestamp,
    ) -> CommitSig {
        let vote = tendermint::vote::Vote {
            vote_type: tendermint::vote::Type::Precommit,
            height: tendermint::block::Height::try_from(height).unwrap_or_default(),
            round: tendermint::block::Round::default(),
            block_id: Some(tm_block_id(&block_id)),
            timestamp: Some(tm_time(timestamp)),
            validator_address: tendermint::account::Id::new(self.address),
            validator_index: tendermint::vote::ValidatorIndex::try_from(0u32).expect("0 is a valid index"),
            signature: None,
            extension: Vec::new(),
            extension_signature: None,
        };
        let signature = self.key.sign(&vote.into_signable_vec(tm_chain_id(chain_id))).to_bytes().to_vec();
        CommitSig { validator_address: self.address, timestamp, signature }
    }
}

/// An ed25519 key's address: the first 20 bytes of sha256(key) (`crypto/ed25519 Address`).
pub fn ed25519_address(public_key: &[u8; 32]) -> [u8; 20] {
    let digest = Sha256::digest(public_key);
    let mut out = [0u8; 20];
    out.copy_from_slice(&digest[..20]);
    out
}

fn hash_array(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    if bytes.len() == 32 {
        out.copy_from_slice(bytes);
    }
    out
}

fn merkle(leaves: &[Vec<u8>]) -> [u8; 32] {
    simple_hash_from_byte_vectors::<MerkleSha256>(leaves)
}

/// `Txs.Hash()`: Merkle root over sha256 of each tx (empty: sha256 of nothing).
pub fn data_hash(tx_hashes: &[[u8; 32]]) -> [u8; 32] {
    merkle(&tx_hashes.iter().map(|h| h.to_vec()).collect::<Vec<_>>())
}

/// The Merkle proof of tx `index` in a block's `data_hash` (`crypto/merkle/proof.go
/// ProofsFromByteSlices`): the leaf hash and the aunts, lowest level first.
pub fn tx_proof(tx_hashes: &[[u8; 32]], index: usize) -> Option<([u8; 32], Vec<[u8; 32]>)> {
    fn aunts(leaves: &[Vec<u8>], index: usize) -> Vec<[u8; 32]> {
        if leaves.len() <= 1 {
            return Vec::new();
        }
        let split = leaves.len().next_power_of_two() / 2;
        let (left, right) = leaves.split_at(split);
        let (mut path, sibling) = if index < split {
            (aunts(left, index), merkle(right))
        } else {
            (aunts(right, index - split), merkle(left))
        };
        path.push(sibling);
        path
    }
    let leaves: Vec<Vec<u8>> = tx_hashes.iter().map(|h| h.to_vec()).collect();
    let leaf = leaves.get(index)?;
    let leaf_hash: [u8; 32] = Sha256::digest([&[0u8][..], leaf].concat()).into();
    Some((leaf_hash, aunts(&leaves, index)))
}

/// `Commit.Hash()`: Merkle root over each protobuf `CommitSig`.
pub fn commit_hash(commit: &Commit) -> [u8; 32] {
    let leaves: Vec<Vec<u8>> = commit
        .signatures
        .iter()
        .map(|s| {
            pb::types::CommitSig {
                block_id_flag: BLOCK_ID_FLAG_COMMIT,
                validator_address: s.validator_address.to_vec(),
                timestamp: Some(pb_timestamp(s.timestamp)),
                signature: s.signature.clone(),
            }
            .encode_to_vec()
        })
        .collect();
    merkle(&leaves)
}

/// `ABCIResults.Hash()`: Merkle root over the deterministic part of each `ExecTxResult`.
pub fn results_hash(results: &[TxResult]) -> [u8; 32] {
    let leaves: Vec<Vec<u8>> = results
        .iter()
        .map(|r| {
            pb::abci::ExecTxResult {
                code: r.code,
                data: r.data.clone().into(),
                gas_wanted: r.gas_wanted as i64,
                gas_used: r.gas_used as i64,
                ..Default::default()
            }
            .encode_to_vec()
        })
        .collect();
    merkle(&leaves)
}

/// The header's Merkle root over its protobuf fields (`types/block.go Header.Hash`).
pub fn header_hash(h: &Header) -> [u8; 32] {
    let header = tendermint::block::Header {
        version: tendermint::block::header::Version { block: BLOCK_PROTOCOL, app: APP_PROTOCOL },
        chain_id: tm_chain_id(&h.chain_id),
        height: tendermint::block::Height::try_from(h.height).unwrap_or_default(),
        time: tm_time(h.time),
        last_block_id: h.last_block_id.as_ref().map(tm_block_id),
        last_commit_hash: Some(tm_hash(h.last_commit_hash)),
        data_hash: Some(tm_hash(h.data_hash)),
        validators_hash: tm_hash(h.validators_hash),
        next_validators_hash: tm_hash(h.next_validators_hash),
        consensus_hash: tm_hash(h.consensus_hash),
        app_hash: tendermint::AppHash::try_from(h.app_hash.to_vec()).unwrap_or_default(),
        last_results_hash: Some(tm_hash(h.last_results_hash)),
        evidence_hash: Some(tm_hash(h.evidence_hash)),
        proposer_address: tendermint::account::Id::new(h.proposer_address),
    };
    hash_array(header.hash().as_bytes())
}

/// The part-set header. Stand-in: one part whose hash is the leaf hash of the header hash
/// and data hash (CometBFT hashes 64 KiB parts of the protobuf-encoded block; no client of
/// the testbed re-assembles parts).
pub fn part_set(header_hash: &[u8; 32], data_hash: &[u8; 32]) -> (u32, [u8; 32]) {
    (1, merkle(&[[header_hash.as_slice(), data_hash.as_slice()].concat()]))
}

/// Approximate protobuf size of a block with these txs.
pub fn block_size(txs: &[Arc<[u8]>]) -> usize {
    EMPTY_BLOCK_SIZE + txs.iter().map(|t| t.len() + 4).sum::<usize>()
}

/// Testbed chain ids (`gwc`, `fdsc-0`, …) are valid CometBFT chain ids; anything else
/// hashes as a placeholder rather than failing.
fn tm_chain_id(chain_id: &str) -> tendermint::chain::Id {
    chain_id.parse().unwrap_or_else(|_| "invalid-chain-id".parse().expect("a valid constant chain id"))
}

fn tm_hash(bytes: [u8; 32]) -> tendermint::Hash {
    tendermint::Hash::Sha256(bytes)
}

fn tm_block_id(id: &BlockId) -> tendermint::block::Id {
    let parts =
        tendermint::block::parts::Header::new(id.parts_total, tm_hash(id.parts_hash)).unwrap_or_default();
    tendermint::block::Id { hash: tm_hash(id.hash), part_set_header: parts }
}

fn tm_time(t: jiff::Timestamp) -> tendermint::Time {
    let (secs, nanos) = (t.as_second(), t.subsec_nanosecond().max(0) as u32);
    tendermint::Time::from_unix_timestamp(secs, nanos).unwrap_or_else(|_| tendermint::Time::unix_epoch())
}

fn pb_timestamp(t: jiff::Timestamp) -> cosmrs::proto::Timestamp {
    cosmrs::proto::Timestamp { seconds: t.as_second(), nanos: t.subsec_nanosecond() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex32(s: &str) -> [u8; 32] {
        hash_array(&hex::decode(s).unwrap())
    }

    #[test]
    fn data_hash_of_one_tx_matches_the_recorded_block() {
        // v0_37/block_search.json, blocks[42]: one tx `async-key=value`.
        let tx_hash: [u8; 32] = Sha256::digest(b"async-key=value").into();
        assert_eq!(
            data_hash(&[tx_hash]),
            hex32("3081F9915040D138B3AD7F895732D2767C29E85BA5D84388D04E17A5D8262B7A")
        );
        assert_eq!(data_hash(&[]), hex32("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"));
    }

    #[test]
    fn the_recorded_header_hashes_to_its_recorded_block_id() {
        // block_at_height_10.json: recompute the header hash from the recorded fields.
        let f: serde_json::Value =
            serde_json::from_str(include_str!("../../../tests/fixtures/cometbft/block_at_height_10.json"))
                .unwrap();
        let h = &f["result"]["block"]["header"];
        let s = |k: &str| h[k].as_str().unwrap().to_string();
        let header = tendermint::block::Header {
            version: tendermint::block::header::Version { block: 11, app: 1 },
            chain_id: s("chain_id").try_into().unwrap(),
            height: 10u64.try_into().unwrap(),
            time: tendermint::Time::parse_from_rfc3339(&s("time")).unwrap(),
            last_block_id: Some(tendermint::block::Id {
                hash: tm_hash(hex32(h["last_block_id"]["hash"].as_str().unwrap())),
                part_set_header: tendermint::block::parts::Header::new(
                    1,
                    tm_hash(hex32(h["last_block_id"]["parts"]["hash"].as_str().unwrap())),
                )
                .unwrap(),
            }),
            last_commit_hash: Some(tm_hash(hex32(&s("last_commit_hash")))),
            data_hash: Some(tm_hash(hex32(&s("data_hash")))),
            validators_hash: tm_hash(hex32(&s("validators_hash"))),
            next_validators_hash: tm_hash(hex32(&s("next_validators_hash"))),
            consensus_hash: tm_hash(hex32(&s("consensus_hash"))),
            app_hash: tendermint::AppHash::from_hex_upper(&s("app_hash")).unwrap(),
            last_results_hash: Some(tm_hash(hex32(&s("last_results_hash")))),
            evidence_hash: Some(tm_hash(hex32(&s("evidence_hash")))),
            proposer_address: s("proposer_address").parse().unwrap(),
        };
        let recorded = f["result"]["block_id"]["hash"].as_str().unwrap();
        assert_eq!(hex::encode_upper(header.hash().as_bytes()), recorded);
    }

    #[test]
    fn tx_proofs_climb_to_the_data_hash() {
        let hashes: Vec<[u8; 32]> = (0u8..5).map(|i| Sha256::digest([i]).into()).collect();
        let root = data_hash(&hashes);
        // `computeHashFromAunts` of crypto/merkle/proof.go.
        fn climb(index: usize, total: usize, leaf: [u8; 32], aunts: &[[u8; 32]]) -> [u8; 32] {
            if total == 1 {
                return leaf;
            }
            let split = total.next_power_of_two() / 2;
            let (rest, top) = aunts.split_at(aunts.len() - 1);
            let inner = |l: [u8; 32], r: [u8; 32]| -> [u8; 32] {
                Sha256::digest([&[1u8][..], &l, &r].concat()).into()
            };
            if index < split {
                inner(climb(index, split, leaf, rest), top[0])
            } else {
                inner(top[0], climb(index - split, total - split, leaf, rest))
            }
        }
        for index in 0..hashes.len() {
            let (leaf, aunts) = tx_proof(&hashes, index).unwrap();
            assert_eq!(climb(index, hashes.len(), leaf, &aunts), root, "proof of tx {index}");
        }
    }

    #[test]
    fn a_precommit_verifies_with_the_validator_key() {
        let v = Validator::for_chain("gwc");
        let id = BlockId { hash: [7; 32], parts_total: 1, parts_hash: [8; 32] };
        let sig = v.precommit("gwc", 5, id, jiff::Timestamp::now());
        assert_eq!(sig.signature.len(), 64);
        assert_ne!(v.address, Validator::for_chain("mdsc").address);
    }
}
