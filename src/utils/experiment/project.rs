//! The project an upload experiment sends: files generated from a seed or given inline, their
//! ZIP (what the TUS upload carries) and the root proof the owner commits — the gateway's
//! `BuildCSUProofs` as the experiment runner's `lib/merkle.ts` computes it client-side.

use rand::{RngCore as _, SeedableRng as _};
use sha2::{Digest as _, Sha256};
use std::io::Write as _;

/// One file of the project: its path inside the ZIP and its bytes.
#[derive(Clone)]
pub struct File {
    pub path: String,
    pub data: Vec<u8>,
}

/// `count` files of `size` bytes each, from `seed` (the same seed gives the same bytes);
/// `index.html` first, so the render of the first file is a page, as the scripts fetch.
pub fn generated(count: usize, size: usize, seed: u64) -> Vec<File> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..count)
        .map(|i| {
            let mut data = vec![0u8; size];
            rng.fill_bytes(&mut data);
            let path = if i == 0 { "index.html".to_string() } else { format!("assets/file-{i:04}.bin") };
            File { path, data }
        })
        .collect()
}

/// The files as a ZIP (stored, not compressed: the gateway fragments what it receives).
pub fn zip(files: &[File]) -> std::io::Result<Vec<u8>> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for f in files {
        w.start_file(f.path.as_str(), options).map_err(std::io::Error::other)?;
        w.write_all(&f.data)?;
    }
    Ok(w.finish().map_err(std::io::Error::other)?.into_inner())
}

fn sha_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Pairs hashed level by level, the last one paired with itself (`NewMerkleTree`).
fn merkle_root(mut level: Vec<String>) -> String {
    if level.is_empty() {
        return String::new();
    }
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|p| sha_hex(format!("{}{}", p[0], p.get(1).unwrap_or(&p[0])).as_bytes()))
            .collect();
    }
    level.swap_remove(0)
}

/// A path as the gateway cleans it: `/` separators, no doubled or leading ones, no `./`.
pub fn normalize(path: &str) -> String {
    let mut p = path.replace('\\', "/");
    while p.contains("//") {
        p = p.replace("//", "/");
    }
    loop {
        if let Some(rest) = p.strip_prefix("./") {
            p = rest.to_string();
        } else if let Some(rest) = p.strip_prefix('/') {
            p = rest.to_string();
        } else {
            break;
        }
    }
    if p.len() > 1 && p.ends_with('/') {
        p.pop();
    }
    p
}

/// The project's root proof: each file's fragments hashed as `FRAG:path:i:sha(frag)`, each
/// file as `FILE:path:len:root(frags)`, files sorted by cleaned path, empty files skipped.
pub fn root_proof(files: &[File], fragment: usize) -> String {
    let mut files: Vec<(String, &[u8])> = files
        .iter()
        .filter(|f| !f.data.is_empty())
        .map(|f| (normalize(&f.path), f.data.as_slice()))
        .collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let leaves = files
        .iter()
        .map(|(path, data)| {
            let frags = data
                .chunks(fragment)
                .enumerate()
                .map(|(i, c)| sha_hex(format!("FRAG:{path}:{i}:{}", sha_hex(c)).as_bytes()))
                .collect();
            sha_hex(format!("FILE:{path}:{}:{}", data.len(), merkle_root(frags)).as_bytes())
        })
        .collect();
    merkle_root(leaves)
}

/// Fragments the gateway makes of these files.
pub fn fragments(files: &[File], fragment: usize) -> usize {
    files.iter().map(|f| f.data.len().div_ceil(fragment)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_gives_the_same_files_and_another_seed_others() {
        let a = generated(3, 100, 7);
        assert_eq!(
            a.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(),
            ["index.html", "assets/file-0001.bin", "assets/file-0002.bin"]
        );
        assert_eq!(a[1].data, generated(3, 100, 7)[1].data);
        assert_ne!(a[1].data, generated(3, 100, 8)[1].data);
    }

    #[test]
    fn paths_are_cleaned_as_the_gateway_cleans_them() {
        assert_eq!(normalize("./a//b/"), "a/b");
        assert_eq!(normalize("\\x\\y"), "x/y");
        assert_eq!(normalize("/"), "");
    }

    #[test]
    fn the_root_of_one_file_of_one_fragment_is_its_file_leaf() {
        let files = [File { path: "a".into(), data: b"xyz".to_vec() }];
        let frag = sha_hex(format!("FRAG:a:0:{}", sha_hex(b"xyz")).as_bytes());
        assert_eq!(root_proof(&files, 1024), sha_hex(format!("FILE:a:3:{frag}").as_bytes()));
        assert_eq!(fragments(&files, 2), 2);
    }
}
