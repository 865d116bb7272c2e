//! The gateway's Merkle scheme (Cryptomeria-core `types/merkle_gen.go`, `keeper/merkle_logic.go`,
//! `types/zip_logic.go`): hex-string trees whose parent is hex(sha256(left_hex ‖ right_hex)),
//! an odd node paired with itself; a fragment leaf `FRAG:<path>:<index>:<hex sha256(bytes)>`,
//! a file leaf `FILE:<path>:<size>:<file root>`, the session root over the file leaves sorted
//! by path. Also the ZIP reading and fragmenting the gwc node's executor does.

use super::gw_wire::{MerkleProof, MerkleStep};
use sha2::{Digest as _, Sha256};

fn sha_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// `HashFragmentLeaf` as hex.
pub fn fragment_leaf(path: &str, index: u64, bytes: &[u8]) -> String {
    sha_hex(format!("FRAG:{path}:{index}:{}", sha_hex(bytes)).as_bytes())
}

/// `HashFileLeaf` as hex.
pub fn file_leaf(path: &str, size: u64, file_root_hex: &str) -> String {
    sha_hex(format!("FILE:{path}:{size}:{file_root_hex}").as_bytes())
}

/// `NewMerkleTree`: every layer, leaves first.
pub struct MerkleTree {
    layers: Vec<Vec<String>>,
}

impl MerkleTree {
    pub fn new(leaves: Vec<String>) -> Self {
        if leaves.is_empty() {
            return Self { layers: Vec::new() };
        }
        let mut layers = vec![leaves];
        while let Some(current) = layers.last().filter(|l| l.len() > 1) {
            let next = current
                .chunks(2)
                .map(|pair| {
                    let right = pair.get(1).unwrap_or(&pair[0]);
                    sha_hex(format!("{}{right}", pair[0]).as_bytes())
                })
                .collect();
            layers.push(next);
        }
        Self { layers }
    }

    /// The root, or "" for no leaves.
    pub fn root(&self) -> String {
        self.layers.last().map(|l| l[0].clone()).unwrap_or_default()
    }

    /// `GenerateProof`: the sibling at each layer below the root.
    pub fn proof(&self, index: usize) -> Option<MerkleProof> {
        if index >= self.layers.first()?.len() {
            return None;
        }
        let mut i = index;
        let mut steps = Vec::new();
        for layer in &self.layers[..self.layers.len() - 1] {
            let step = if i % 2 == 1 {
                MerkleStep { sibling_hex: layer[i - 1].clone(), sibling_is_left: true }
            } else {
                MerkleStep {
                    sibling_hex: layer.get(i + 1).unwrap_or(&layer[i]).clone(),
                    sibling_is_left: false,
                }
            };
            steps.push(step);
            i /= 2;
        }
        Some(MerkleProof { steps })
    }
}

/// `VerifyMerkleProof`: folds the steps onto the leaf (hex in, raw 32 bytes out).
fn fold(leaf: &[u8], proof: Option<&MerkleProof>) -> Result<Vec<u8>, String> {
    if leaf.len() != 32 {
        return Err(format!("leaf must be 32 bytes, got {}", leaf.len()));
    }
    let mut current = leaf.to_vec();
    for step in proof.map(|p| p.steps.as_slice()).unwrap_or_default() {
        let me = hex::encode(&current);
        let joined = if step.sibling_is_left {
            format!("{}{me}", step.sibling_hex)
        } else {
            format!("{me}{}", step.sibling_hex)
        };
        current = Sha256::digest(joined.as_bytes()).to_vec();
    }
    Ok(current)
}

/// `VerifyFragment`: the item's fragment proves up to its file root, the file leaf up to
/// the committed root.
pub fn verify_fragment(
    root_hex: &str,
    path: &str,
    index: u64,
    bytes: &[u8],
    file_size: u64,
    fragment_proof: Option<&MerkleProof>,
    file_proof: Option<&MerkleProof>,
) -> Result<(), String> {
    if path.is_empty() {
        return Err("item.path is empty".into());
    }
    let root = hex::decode(root_hex)
        .ok()
        .filter(|r| r.len() == 32)
        .ok_or_else(|| "invalid root_proof_hex: invalid hex or length".to_string())?;
    let frag = hex::decode(fragment_leaf(path, index, bytes)).unwrap_or_default();
    let file_root =
        fold(&frag, fragment_proof).map_err(|e| format!("fragment_proof verification failed: {e}"))?;
    let file = hex::decode(file_leaf(path, file_size, &hex::encode(file_root))).unwrap_or_default();
    let computed = fold(&file, file_proof).map_err(|e| format!("file_proof verification failed: {e}"))?;
    if computed != root {
        return Err("root_proof mismatch".into());
    }
    Ok(())
}

/// A file of the uploaded ZIP (`ProcessedFile`).
#[derive(Debug, Clone)]
pub struct ProcessedFile {
    pub filename: String,
    pub path: String,
    pub content: Vec<u8>,
    pub chunks: Vec<Vec<u8>>,
}

/// `DecompressionLimit`: 100 MiB over all files.
const DECOMPRESSION_LIMIT: u64 = 100 * 1024 * 1024;

/// Go's `path.Clean` for relative and absolute slash paths.
fn clean(p: &str) -> String {
    let abs = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." if out.last().is_some_and(|l| *l != "..") => {
                out.pop();
            }
            ".." if abs => {}
            other => out.push(other),
        }
    }
    let joined = out.join("/");
    match (abs, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// `ProcessZipAndSplit`: files (directories skipped) with normalised paths, split into
/// `chunk_size` fragments, sorted by path.
pub fn process_zip(zip_bytes: &[u8], chunk_size: usize) -> Result<Vec<ProcessedFile>, String> {
    use std::io::Read as _;
    if chunk_size == 0 {
        return Err("chunk size must be greater than 0".into());
    }
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes))
        .map_err(|e| format!("failed to create zip reader: {e}"))?;
    let mut files = Vec::new();
    let mut total = 0u64;
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).map_err(|e| format!("failed to open file in zip: {e}"))?;
        if file.is_dir() {
            continue;
        }
        let name = file.name().map_err(|e| format!("invalid file name in zip: {e}"))?.to_string();
        let cleaned = clean(&name.replace('\\', "/"));
        if cleaned.starts_with('/') || cleaned.starts_with("../") {
            return Err(format!("zip contains unsafe file path: {name}"));
        }
        let path = cleaned.trim_start_matches('/').trim_start_matches("./").to_string();
        if total + file.size() > DECOMPRESSION_LIMIT {
            return Err("decompression limit exceeded".into());
        }
        let mut content = Vec::new();
        (&mut file)
            .take(DECOMPRESSION_LIMIT - total + 1)
            .read_to_end(&mut content)
            .map_err(|e| format!("failed to read file: {e}"))?;
        total += content.len() as u64;
        if total > DECOMPRESSION_LIMIT {
            return Err("decompression limit exceeded".into());
        }
        let chunks = content.chunks(chunk_size).map(<[u8]>::to_vec).collect();
        files.push(ProcessedFile { filename: name, path, content, chunks });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// One fragment with its two proofs (`CSUFragmentProofData`).
#[derive(Debug, Clone)]
pub struct FragmentProof {
    pub path: String,
    pub index: u64,
    pub bytes: Vec<u8>,
    pub fragment_proof: MerkleProof,
    pub file_size: u64,
    pub file_proof: MerkleProof,
}

/// `BuildCSUProofs`: the session root and every fragment's proofs. Empty files have no leaf.
/// File proofs are taken at each file's position in the sorted list, as the Go code does.
pub fn build_proofs(files: &[ProcessedFile]) -> Result<(String, Vec<FragmentProof>), String> {
    let mut sorted: Vec<&ProcessedFile> = files.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let mut file_leaves = Vec::new();
    let mut trees = Vec::new();
    for f in &sorted {
        if f.chunks.is_empty() {
            trees.push(None);
            continue;
        }
        let leaves: Vec<String> =
            f.chunks.iter().enumerate().map(|(i, c)| fragment_leaf(&f.path, i as u64, c)).collect();
        let tree = MerkleTree::new(leaves);
        file_leaves.push(file_leaf(&f.path, f.content.len() as u64, &tree.root()));
        trees.push(Some(tree));
    }
    let root_tree = MerkleTree::new(file_leaves);
    let mut out = Vec::new();
    for (file_idx, (f, tree)) in sorted.iter().zip(&trees).enumerate() {
        let Some(tree) = tree else { continue };
        let file_proof = root_tree
            .proof(file_idx)
            .ok_or_else(|| format!("failed to generate file proof for {}: index out of range", f.path))?;
        for (i, chunk) in f.chunks.iter().enumerate() {
            out.push(FragmentProof {
                path: f.path.clone(),
                index: i as u64,
                bytes: chunk.clone(),
                fragment_proof: tree.proof(i).unwrap_or_default(),
                file_size: f.content.len() as u64,
                file_proof: file_proof.clone(),
            });
        }
    }
    Ok((root_tree.root(), out))
}

/// `calculateFileRoot` of the executor: a file's fragment-tree root.
pub fn file_root(path: &str, chunks: &[Vec<u8>]) -> String {
    MerkleTree::new(chunks.iter().enumerate().map(|(i, c)| fragment_leaf(path, i as u64, c)).collect()).root()
}

/// A project as a client packs it: the ZIP (stored entries) and its session root with
/// `fragment_size` fragments, for drivers that upload without a client of their own.
pub fn zip_project(files: &[(&str, &[u8])], fragment_size: usize) -> (Vec<u8>, String) {
    use std::io::Write as _;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (path, data) in files {
        if w.start_file(*path, opts).is_ok() {
            let _ = w.write_all(data);
        }
    }
    let bytes = w.finish().map(|c| c.into_inner()).unwrap_or_default();
    let root = process_zip(&bytes, fragment_size).ok().and_then(|f| build_proofs(&f).ok()).map(|(r, _)| r);
    (bytes, root.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, content: &[u8], size: usize) -> ProcessedFile {
        ProcessedFile {
            filename: path.into(),
            path: path.into(),
            content: content.to_vec(),
            chunks: content.chunks(size).map(<[u8]>::to_vec).collect(),
        }
    }

    #[test]
    fn every_fragment_proves_against_the_root_and_a_changed_byte_does_not() {
        let files = [file("b.txt", &[7u8; 50], 8), file("a/x.html", b"hello world", 4), file("c", b"z", 4)];
        let (root, frags) = build_proofs(&files).unwrap();
        assert_eq!(frags.len(), 7 + 3 + 1);
        for f in &frags {
            verify_fragment(
                &root,
                &f.path,
                f.index,
                &f.bytes,
                f.file_size,
                Some(&f.fragment_proof),
                Some(&f.file_proof),
            )
            .unwrap_or_else(|e| panic!("{}[{}]: {e}", f.path, f.index));
        }
        let f = &frags[1];
        let mut bad = f.bytes.clone();
        bad[0] ^= 1;
        let err = verify_fragment(
            &root,
            &f.path,
            f.index,
            &bad,
            f.file_size,
            Some(&f.fragment_proof),
            Some(&f.file_proof),
        );
        assert_eq!(err, Err("root_proof mismatch".into()));
    }

    #[test]
    fn a_single_leaf_is_its_own_root_and_odd_nodes_pair_with_themselves() {
        assert_eq!(MerkleTree::new(vec!["aa".into()]).root(), "aa");
        let three = MerkleTree::new(vec!["a".into(), "b".into(), "c".into()]).root();
        let ab = sha_hex(b"ab");
        let cc = sha_hex(b"cc");
        assert_eq!(three, sha_hex(format!("{ab}{cc}").as_bytes()));
    }

    #[test]
    fn paths_are_cleaned_as_go_does() {
        assert_eq!(clean("./a//b/../c"), "a/c");
        assert_eq!(clean("/x/y"), "/x/y");
        assert_eq!(clean("../a"), "../a");
    }
}
