//! Bundle files: changes carried by hand when there is no network (SYNC.md, "Transports").
//!
//! ```text
//! "LIFEBOAT-BUNDLE-1\n"                    magic and format
//! u32 (big-endian) manifest length, the manifest (JSON, `BundleManifest`)
//! 64 bytes: Ed25519 signature of the manifest by the node that made the bundle
//! 16 bytes: salt for the passphrase
//! chunks, one after another, each: 24-byte nonce, then XChaCha20-Poly1305 ciphertext of the gzipped
//!   JSON array of its changes (associated data: the manifest's SHA-256 and the chunk's number)
//! ```
//!
//! The manifest lists each chunk's length and the SHA-256 of its nonce and compressed content, so the
//! signature covers every byte that matters; the key comes from a passphrase the person exporting chooses (Argon2id), so a bundle found
//! on a lost USB stick reveals nothing but which nodes' changes it holds. Reading checks everything
//! before returning a single change; nothing is applied from a damaged or forged file.

use std::io::{Read, Write};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::change::Change;
use crate::wire::{BundleChunk, BundleManifest, BundleRange};

const MAGIC: &[u8] = b"LIFEBOAT-BUNDLE-1\n";
/// Changes per chunk.
pub const CHUNK: usize = 2000;
/// The largest manifest and the largest chunk (decompressed) a reader accepts.
const MAX_MANIFEST: usize = 4 * 1024 * 1024;
const MAX_CHUNK: u64 = 64 * 1024 * 1024;
/// The most JSON bytes put in one chunk before compression (one change alone may pass it).
const CHUNK_BYTES: usize = 16 * 1024 * 1024;
/// The shortest passphrase accepted.
pub const MIN_PASSPHRASE: usize = 12;

/// What is wrong with a bundle, in words.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("{0}")]
    Invalid(String),
    #[error("the passphrase is not the one this bundle was made with")]
    WrongPassphrase,
    #[error("could not read or write the bundle: {0}")]
    Io(#[from] std::io::Error),
}

fn key(passphrase: &str, salt: &[u8]) -> Result<[u8; 32], BundleError> {
    let mut key = [0u8; 32];
    argon2::Argon2::default()
        .hash_password_into(passphrase.as_bytes(), salt, &mut key)
        .map_err(|e| BundleError::Invalid(format!("the passphrase could not be used: {e}")))?;
    Ok(key)
}

fn aad(manifest_hash: &[u8], index: usize) -> Vec<u8> {
    let mut a = manifest_hash.to_vec();
    a.extend_from_slice(&(index as u64).to_be_bytes());
    a
}

/// Writes `changes` (in the order they must be applied: each node's in sequence) as a bundle.
pub fn write(
    out: &mut impl Write,
    practice_id: Uuid,
    source_node: Uuid,
    created_at: &str,
    changes: &[Change],
    signing_key: &[u8; 32],
    passphrase: &str,
) -> Result<BundleManifest, BundleError> {
    use rand::RngCore;
    if passphrase.chars().count() < MIN_PASSPHRASE {
        return Err(BundleError::Invalid(format!("the passphrase must be at least {MIN_PASSPHRASE} characters")));
    }
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let cipher = XChaCha20Poly1305::new(&key(passphrase, &salt)?.into());
    let mut ranges: Vec<BundleRange> = Vec::new();
    for c in changes {
        match ranges.iter_mut().find(|r| r.node_id == c.node_id) {
            Some(r) => {
                r.first = r.first.min(c.node_seq);
                r.last = r.last.max(c.node_seq);
            }
            None => ranges.push(BundleRange { node_id: c.node_id, first: c.node_seq, last: c.node_seq }),
        }
    }
    // Chunks are compressed first; their encryption needs the manifest's hash, which needs their
    // lengths and hashes: so compress, then describe, then encrypt.
    // A chunk holds `CHUNK` changes, or fewer where they pass `CHUNK_BYTES` (lab results carry files).
    let mut plain: Vec<(u32, Vec<u8>)> = Vec::new();
    let mut json: Vec<u8> = Vec::new();
    let mut n = 0u32;
    let compress = |json: &mut Vec<u8>| -> Result<Vec<u8>, BundleError> {
        json.push(b']');
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(json)?;
        json.clear();
        Ok(gz.finish()?)
    };
    for c in changes {
        let one = serde_json::to_vec(c).map_err(|e| BundleError::Invalid(e.to_string()))?;
        if n > 0 && (n as usize == CHUNK || json.len() + one.len() + 2 > CHUNK_BYTES) {
            plain.push((n, compress(&mut json)?));
            n = 0;
        }
        json.push(if n == 0 { b'[' } else { b',' });
        json.extend_from_slice(&one);
        n += 1;
    }
    if n > 0 {
        plain.push((n, compress(&mut json)?));
    }
    let nonces: Vec<[u8; 24]> = plain
        .iter()
        .map(|_| {
            let mut n = [0u8; 24];
            rand::rng().fill_bytes(&mut n);
            n
        })
        .collect();
    // The ciphertext of a chunk is its plaintext plus a 16-byte tag; its hash is known only after
    // encryption, which needs the manifest's hash. So the manifest lists each chunk's length and the
    // hash of its nonce and compressed plaintext; the AEAD tag binds the ciphertext to both.
    let chunks: Vec<BundleChunk> = plain
        .iter()
        .zip(&nonces)
        .map(|((n, bytes), nonce)| {
            let mut h = Sha256::new();
            h.update(nonce);
            h.update(bytes);
            BundleChunk { changes: *n, bytes: (24 + bytes.len() + 16) as u64, sha256: hex::encode(h.finalize()) }
        })
        .collect();
    let signer = SigningKey::from_bytes(signing_key);
    let manifest = BundleManifest {
        format: 1,
        practice_id,
        source_node,
        created_at: created_at.to_string(),
        ranges,
        chunks,
        signer_key: hex::encode(signer.verifying_key().to_bytes()),
    };
    let manifest_bytes = serde_json::to_vec(&manifest).map_err(|e| BundleError::Invalid(e.to_string()))?;
    let manifest_hash = Sha256::digest(&manifest_bytes);
    out.write_all(MAGIC)?;
    out.write_all(&(manifest_bytes.len() as u32).to_be_bytes())?;
    out.write_all(&manifest_bytes)?;
    out.write_all(&signer.sign(&manifest_bytes).to_bytes())?;
    out.write_all(&salt)?;
    for (i, ((_, bytes), nonce)) in plain.iter().zip(&nonces).enumerate() {
        let sealed = cipher
            .encrypt(XNonce::from_slice(nonce), Payload { msg: bytes, aad: &aad(&manifest_hash, i) })
            .map_err(|_| BundleError::Invalid("encryption failed".into()))?;
        out.write_all(nonce)?;
        out.write_all(&sealed)?;
    }
    out.flush()?;
    Ok(manifest)
}

/// Reads a bundle's manifest and checks its signature (no passphrase needed).
pub fn read_manifest(input: &mut impl Read) -> Result<(BundleManifest, Vec<u8>), BundleError> {
    let mut magic = vec![0u8; MAGIC.len()];
    input.read_exact(&mut magic).map_err(|_| BundleError::Invalid("this file is not a Lifeboat bundle".into()))?;
    if magic != MAGIC {
        return Err(BundleError::Invalid("this file is not a Lifeboat bundle (or is from a newer Lifeboat)".into()));
    }
    let mut len = [0u8; 4];
    input.read_exact(&mut len).map_err(|_| BundleError::Invalid("the bundle is cut short".into()))?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_MANIFEST {
        return Err(BundleError::Invalid("the bundle's manifest is too large".into()));
    }
    let mut manifest_bytes = vec![0u8; len];
    input.read_exact(&mut manifest_bytes).map_err(|_| BundleError::Invalid("the bundle is cut short".into()))?;
    let manifest: BundleManifest = serde_json::from_slice(&manifest_bytes)
        .map_err(|e| BundleError::Invalid(format!("the bundle's manifest is damaged: {e}")))?;
    if manifest.format != 1 {
        return Err(BundleError::Invalid(format!("bundle format {} is not one this Lifeboat reads", manifest.format)));
    }
    let mut signature = [0u8; 64];
    input.read_exact(&mut signature).map_err(|_| BundleError::Invalid("the bundle is cut short".into()))?;
    let mut signer = [0u8; 32];
    hex::decode_to_slice(&manifest.signer_key, &mut signer)
        .map_err(|_| BundleError::Invalid("the signer's key is damaged".into()))?;
    let key =
        VerifyingKey::from_bytes(&signer).map_err(|_| BundleError::Invalid("the signer's key is damaged".into()))?;
    key.verify(&manifest_bytes, &Signature::from_bytes(&signature))
        .map_err(|_| BundleError::Invalid("the bundle's signature does not match: it was altered".into()))?;
    Ok((manifest, manifest_bytes))
}

/// Reads a whole bundle: checks the signature, every chunk's hash, and decrypts. Returns the
/// manifest and the changes, or the first thing wrong; never part of them.
pub fn read(input: &mut impl Read, passphrase: &str) -> Result<(BundleManifest, Vec<Change>), BundleError> {
    let (manifest, manifest_bytes) = read_manifest(input)?;
    let manifest_hash = Sha256::digest(&manifest_bytes);
    let mut salt = [0u8; 16];
    input.read_exact(&mut salt).map_err(|_| BundleError::Invalid("the bundle is cut short".into()))?;
    let cipher = XChaCha20Poly1305::new(&key(passphrase, &salt)?.into());
    let mut changes = Vec::new();
    for (i, chunk) in manifest.chunks.iter().enumerate() {
        if chunk.bytes < 40 || chunk.bytes > MAX_CHUNK || chunk.changes as usize > CHUNK {
            return Err(BundleError::Invalid(format!("chunk {} of the bundle has an impossible size", i + 1)));
        }
        let mut sealed = vec![0u8; chunk.bytes as usize];
        input.read_exact(&mut sealed).map_err(|_| {
            BundleError::Invalid(format!("the bundle is cut short in chunk {} of {}", i + 1, manifest.chunks.len()))
        })?;
        let (nonce, body) = sealed.split_at(24);
        let plain = cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: body, aad: &aad(&manifest_hash, i) })
            .map_err(|_| {
                if i == 0 {
                    BundleError::WrongPassphrase
                } else {
                    BundleError::Invalid(format!("chunk {} of the bundle was altered", i + 1))
                }
            })?;
        let mut h = Sha256::new();
        h.update(nonce);
        h.update(&plain);
        if hex::encode(h.finalize()) != chunk.sha256 {
            return Err(BundleError::Invalid(format!("chunk {} of the bundle does not match its manifest", i + 1)));
        }
        let mut json = Vec::new();
        flate2::read::GzDecoder::new(&plain[..])
            .take(MAX_CHUNK)
            .read_to_end(&mut json)
            .map_err(|_| BundleError::Invalid(format!("chunk {} of the bundle is damaged", i + 1)))?;
        let part: Vec<Change> = serde_json::from_slice(&json)
            .map_err(|e| BundleError::Invalid(format!("chunk {} of the bundle is damaged: {e}", i + 1)))?;
        if part.len() != chunk.changes as usize {
            return Err(BundleError::Invalid(format!("chunk {} holds another number of changes than listed", i + 1)));
        }
        if let Some(bad) = part.iter().find(|c| !c.is_intact()) {
            return Err(BundleError::Invalid(format!(
                "change {} in the bundle does not match its content hash",
                bad.op_id
            )));
        }
        changes.extend(part);
    }
    let mut rest = [0u8; 1];
    if input.read(&mut rest)? != 0 {
        return Err(BundleError::Invalid("the bundle has bytes after its last chunk".into()));
    }
    Ok((manifest, changes))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn changes(n: i64) -> Vec<Change> {
        let node = Uuid::now_v7();
        (1..=n)
            .map(|seq| {
                Change {
                    op_id: Uuid::now_v7(),
                    node_id: node,
                    node_seq: seq,
                    hlc: seq << 16,
                    schema_version: 5,
                    actor_id: Uuid::now_v7(),
                    entity: "client".into(),
                    entity_id: Uuid::now_v7(),
                    kind: "create".into(),
                    payload: json!({ "last_name": format!("Client {seq}") }),
                    base: json!({}),
                    content_hash: String::new(),
                }
                .sealed()
            })
            .collect()
    }

    fn bundle(changes: &[Change]) -> Vec<u8> {
        let mut out = Vec::new();
        write(
            &mut out,
            Uuid::nil(),
            changes[0].node_id,
            "2026-03-29T08:30:00.000Z",
            changes,
            &[7u8; 32],
            "a long passphrase",
        )
        .unwrap();
        out
    }

    #[test]
    fn a_bundle_reads_back_exactly_and_says_what_it_holds() {
        let all = changes(CHUNK as i64 + 5);
        let bytes = bundle(&all);
        let (manifest, back) = read(&mut &bytes[..], "a long passphrase").unwrap();
        assert_eq!(back, all);
        assert_eq!(manifest.chunks.len(), 2);
        assert_eq!(manifest.ranges, vec![BundleRange { node_id: all[0].node_id, first: 1, last: CHUNK as i64 + 5 }]);
        assert!(!bytes.windows(8).any(|w| w == b"Client 1"), "the content is encrypted");
    }

    /// Changes carrying files (lab results) fill a chunk by size long before its count.
    #[test]
    fn large_changes_are_split_into_chunks_by_size() {
        let mut all = changes(12);
        for (i, c) in all.iter_mut().enumerate() {
            let filler: String = (0..3_000_000).map(|j| char::from(b'a' + ((i * 7 + j * 13) % 26) as u8)).collect();
            c.payload = json!({ "file_data": filler });
            *c = c.clone().sealed();
        }
        let bytes = bundle(&all);
        let (manifest, back) = read(&mut &bytes[..], "a long passphrase").unwrap();
        assert_eq!(back, all);
        assert_eq!(manifest.chunks.iter().map(|c| c.changes).collect::<Vec<_>>(), vec![5, 5, 2]);
        assert!(manifest.chunks.iter().all(|c| c.bytes <= MAX_CHUNK));
    }

    #[test]
    fn a_wrong_passphrase_a_cut_file_or_a_changed_byte_is_refused_with_nothing_read() {
        let all = changes(CHUNK as i64 + 5);
        let bytes = bundle(&all);
        assert!(matches!(read(&mut &bytes[..], "another passphrase"), Err(BundleError::WrongPassphrase)));
        let cut = &bytes[..bytes.len() - 100];
        let err = read(&mut &cut[..], "a long passphrase").unwrap_err().to_string();
        assert!(err.contains("cut short in chunk 2 of 2"), "{err}");
        for at in [MAGIC.len() + 10, bytes.len() / 2, bytes.len() - 1] {
            let mut changed = bytes.clone();
            changed[at] ^= 1;
            assert!(read(&mut &changed[..], "a long passphrase").is_err(), "a byte changed at {at} is noticed");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(read(&mut &longer[..], "a long passphrase").is_err());
        assert!(read(&mut &b"PK\x03\x04 a zip file"[..], "x")
            .unwrap_err()
            .to_string()
            .contains("not a Lifeboat bundle"));
        let mut out = Vec::new();
        let short = write(&mut out, Uuid::nil(), Uuid::nil(), "", &all, &[7u8; 32], "short");
        assert!(short.unwrap_err().to_string().contains("at least 12"));
    }
}
