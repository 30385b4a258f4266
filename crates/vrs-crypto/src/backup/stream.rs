//! Streamed backup files (format 3): written and read one chunk at a time, so neither side holds an
//! area in memory.
//!
//! Layout: `VRSBACKUP3\n` ‖ u32 header length ‖ header, then records, each a one-byte tag:
//!
//! - `A` area code (6 bytes) ‖ u32 length ‖ the area's file key wrapped by its backup key;
//! - `C` u32 length ‖ a sealed chunk of the area's rows;
//! - `F` u32 length ‖ the area's final sealed chunk (what the area holds, for the reader to check);
//! - `M` u32 length ‖ the manifest in plaintext (readable without a key; checked against the final
//!   chunks), then `VRSEND` and nothing after.
//!
//! Every area has a fresh random file key (AES-256-GCM). A chunk's associated data binds the area,
//! the SHA-256 of the header, the chunk's index within its area and whether it is the final one; the
//! final chunk's also binds the SHA-256 of every byte of the file before it. A flipped byte, a chunk
//! moved, repeated or dropped, a missing final chunk or a cut file therefore all fail to open.

use std::io::{self, Read, Write};

use ring::aead;
use ring::digest::{Context, SHA256};
use zeroize::Zeroizing;

use super::{aad, aead_key, BackupKey, FileError, TRAILER};
use crate::field::{open_owned, open_with, seal_owned, seal_with};
use crate::master::{random_key, KEY_LEN};
use crate::CryptoError;

/// The first bytes of a streamed backup file.
pub const STREAM_MAGIC: &[u8] = b"VRSBACKUP3\n";

/// The first bytes of a backup file of formats 1 and 2 (one sealed section per area, in memory).
pub const WHOLE_MAGIC: &[u8] = super::MAGIC;

/// The largest chunk a reader accepts (a length field beyond it is damage, not a chunk).
pub const MAX_CHUNK: usize = 64 << 20;

const AREA: u8 = b'A';
const CHUNK: u8 = b'C';
const FINAL: u8 = b'F';
const MANIFEST: u8 = b'M';

fn chunk_aad(area: &str, header: &[u8; 32], index: u64, transcript: Option<&[u8; 32]>) -> Vec<u8> {
    let mut extra = header.to_vec();
    extra.extend_from_slice(&index.to_be_bytes());
    match transcript {
        Some(t) => {
            extra.push(1);
            extra.extend_from_slice(t);
        }
        None => extra.push(0),
    }
    aad("chunk", area, &extra)
}

/// One area's chunks, sealed in order under its file key.
struct Sealer {
    key: aead::LessSafeKey,
    area: String,
    next: u64,
}

/// Writes a streamed backup file into `W`, keeping a running SHA-256 of every byte.
pub struct FileWriter<W: Write> {
    out: W,
    digest: Context,
    written: u64,
    header: [u8; 32],
    area: Option<Sealer>,
}

impl<W: Write> FileWriter<W> {
    /// Starts a file with its plaintext header (which every chunk then authenticates).
    pub fn new(out: W, header: &[u8]) -> Result<Self, FileError> {
        let mut w = Self {
            out,
            digest: Context::new(&SHA256),
            written: 0,
            header: crate::sha256(header),
            area: None,
        };
        w.put(STREAM_MAGIC)?;
        w.put(&len32(header.len())?)?;
        w.put(header)?;
        Ok(w)
    }

    fn put(&mut self, bytes: &[u8]) -> Result<(), FileError> {
        self.out.write_all(bytes).map_err(io_error)?;
        self.digest.update(bytes);
        self.written += bytes.len() as u64;
        Ok(())
    }

    fn record(&mut self, tag: u8, body: &[u8]) -> Result<(), FileError> {
        self.put(&[tag])?;
        self.put(&len32(body.len())?)?;
        self.put(body)
    }

    /// Opens the next area: a fresh file key, wrapped by the area's backup key.
    pub fn begin_area(&mut self, key: &BackupKey, area: &str) -> Result<(), FileError> {
        if area.len() != 6 || self.area.is_some() {
            return Err(FileError::Damaged("an area began inside another"));
        }
        let file_key = random_key().map_err(sealing)?;
        let wrapped = seal_with(
            &aead_key(key.bytes.as_ref()),
            &aad("file-key", area, &self.header),
            file_key.as_ref(),
        )
        .map_err(sealing)?;
        self.put(&[AREA])?;
        self.put(area.as_bytes())?;
        self.put(&len32(wrapped.len())?)?;
        self.put(&wrapped)?;
        self.area = Some(Sealer {
            key: aead_key(file_key.as_ref()),
            area: area.to_owned(),
            next: 0,
        });
        Ok(())
    }

    /// Seals and writes one chunk of the current area.
    pub fn chunk(&mut self, plaintext: Vec<u8>) -> Result<(), FileError> {
        let sealer = self
            .area
            .as_mut()
            .ok_or(FileError::Damaged("a chunk outside an area"))?;
        let aad = chunk_aad(&sealer.area, &self.header, sealer.next, None);
        let sealed = seal_owned(&sealer.key, &aad, plaintext).map_err(sealing)?;
        sealer.next += 1;
        self.record(CHUNK, &sealed)
    }

    /// Seals and writes the area's final chunk, bound to everything written before it.
    pub fn end_area(&mut self, plaintext: Vec<u8>) -> Result<(), FileError> {
        let transcript = snapshot(&self.digest);
        let sealer = self
            .area
            .take()
            .ok_or(FileError::Damaged("an area ended twice"))?;
        let aad = chunk_aad(&sealer.area, &self.header, sealer.next, Some(&transcript));
        let sealed = seal_owned(&sealer.key, &aad, plaintext).map_err(sealing)?;
        self.record(FINAL, &sealed)
    }

    /// Writes the plaintext manifest and the end marker; gives back the writer, the file's size and
    /// its SHA-256.
    pub fn finish(mut self, manifest: &[u8]) -> Result<(W, u64, [u8; 32]), FileError> {
        if self.area.is_some() {
            return Err(FileError::Damaged("the last area has no final chunk"));
        }
        self.record(MANIFEST, manifest)?;
        self.put(TRAILER)?;
        self.out.flush().map_err(io_error)?;
        let digest = snapshot(&self.digest);
        Ok((self.out, self.written, digest))
    }
}

/// One chunk as read.
#[derive(Debug, PartialEq, Eq)]
pub enum Chunk {
    Data(Vec<u8>),
    /// The area's final chunk: after it, the area has no more.
    Final(Vec<u8>),
}

/// Reads a streamed backup file from `R`, opening each chunk as it comes.
pub struct FileReader<R: Read> {
    input: R,
    digest: Context,
    header_digest: [u8; 32],
    header: Vec<u8>,
    area: Option<Sealer>,
}

impl<R: Read> FileReader<R> {
    /// Reads the header of a file whose first bytes, `magic`, the caller already read (and found to
    /// be [`STREAM_MAGIC`]).
    pub fn new(input: R, magic: &[u8]) -> Result<Self, FileError> {
        if magic != STREAM_MAGIC {
            return Err(FileError::NotBackup);
        }
        let mut digest = Context::new(&SHA256);
        digest.update(magic);
        let mut r = Self {
            input,
            digest,
            header_digest: [0; 32],
            header: Vec::new(),
            area: None,
        };
        let len = r.u32("the header length")? as usize;
        if len > MAX_CHUNK {
            return Err(FileError::Damaged("the header length is out of range"));
        }
        let header = r.take(len, "the header")?;
        r.header_digest = crate::sha256(&header);
        r.header = header;
        Ok(r)
    }

    /// The plaintext header (not yet authenticated: it is, by every chunk that opens).
    pub fn header(&self) -> &[u8] {
        &self.header
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<Vec<u8>, FileError> {
        let mut out = vec![0u8; n];
        self.input
            .read_exact(&mut out)
            .map_err(|e| match e.kind() {
                io::ErrorKind::UnexpectedEof => FileError::Truncated(what),
                _ => io_error(e),
            })?;
        self.digest.update(&out);
        Ok(out)
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, FileError> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn body(&mut self, what: &'static str) -> Result<Vec<u8>, FileError> {
        let len = self.u32(what)? as usize;
        if len > MAX_CHUNK {
            return Err(FileError::Damaged("a record's length is out of range"));
        }
        self.take(len, what)
    }

    fn tag(&mut self, what: &'static str) -> Result<u8, FileError> {
        Ok(self.take(1, what)?[0])
    }

    /// Opens the next area, which must be `area`, with its backup key.
    pub fn begin_area(&mut self, key: &BackupKey, area: &str) -> Result<(), FileError> {
        if self.area.is_some() {
            return Err(FileError::Damaged(
                "an area began before the last one ended",
            ));
        }
        match self.tag("an area's header")? {
            AREA => {}
            MANIFEST => return Err(FileError::Damaged("the file ends before an area it lists")),
            _ => {
                return Err(FileError::Damaged(
                    "a record came where an area was expected",
                ))
            }
        }
        let code = self.take(6, "an area's header")?;
        if code != area.as_bytes() {
            return Err(FileError::Damaged("an area came out of the header's order"));
        }
        let wrapped = self.body("an area's header")?;
        let file_key = Zeroizing::new(
            open_with(
                &aead_key(key.bytes.as_ref()),
                &aad("file-key", area, &self.header_digest),
                &wrapped,
            )
            .map_err(|_| FileError::Tampered(area.to_owned()))?,
        );
        if file_key.len() != KEY_LEN {
            return Err(FileError::Tampered(area.to_owned()));
        }
        self.area = Some(Sealer {
            key: aead_key(&file_key),
            area: area.to_owned(),
            next: 0,
        });
        Ok(())
    }

    /// The next chunk of the current area, opened and checked.
    pub fn next_chunk(&mut self) -> Result<Chunk, FileError> {
        let transcript = snapshot(&self.digest);
        let tag = self.tag("an area")?;
        let sealer = self
            .area
            .as_ref()
            .ok_or(FileError::Damaged("a chunk outside an area"))?;
        let area = sealer.area.clone();
        let final_chunk = match tag {
            CHUNK => false,
            FINAL => true,
            _ => return Err(FileError::Damaged("an area ends without its final chunk")),
        };
        let sealed = self.body("a chunk")?;
        let sealer = self
            .area
            .as_mut()
            .ok_or(FileError::Damaged("a chunk outside an area"))?;
        let bound = final_chunk.then_some(&transcript);
        let plain = open_owned(
            &sealer.key,
            &chunk_aad(&area, &self.header_digest, sealer.next, bound),
            &sealed,
        )
        .map_err(|_| FileError::Tampered(area))?;
        sealer.next += 1;
        Ok(if final_chunk {
            self.area = None;
            Chunk::Final(plain)
        } else {
            Chunk::Data(plain)
        })
    }

    /// Reads the plaintext manifest and the end marker, and checks nothing follows; gives the
    /// manifest and the SHA-256 of the whole file.
    pub fn finish(mut self) -> Result<(Vec<u8>, [u8; 32]), FileError> {
        if self.area.is_some() {
            return Err(FileError::Damaged("the last area has no final chunk"));
        }
        if self.tag("the manifest")? != MANIFEST {
            return Err(FileError::Damaged(
                "a record came where the manifest was expected",
            ));
        }
        let manifest = self.body("the manifest")?;
        if self.take(TRAILER.len(), "the end marker")? != TRAILER {
            return Err(FileError::Damaged("the end marker is wrong"));
        }
        let digest = snapshot(&self.digest);
        let mut rest = Vec::new();
        self.input
            .by_ref()
            .take(1 << 20)
            .read_to_end(&mut rest)
            .map_err(io_error)?;
        if !rest.is_empty() {
            return Err(FileError::TrailingBytes(rest.len()));
        }
        Ok((manifest, digest))
    }
}

fn snapshot(digest: &Context) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.clone().finish().as_ref());
    out
}

fn len32(n: usize) -> Result<[u8; 4], FileError> {
    u32::try_from(n)
        .ok()
        .filter(|n| *n as usize <= MAX_CHUNK)
        .map(u32::to_be_bytes)
        .ok_or(FileError::Damaged("a record is larger than a chunk may be"))
}

fn io_error(e: io::Error) -> FileError {
    FileError::Io(e.to_string())
}

fn sealing(_: CryptoError) -> FileError {
    FileError::Damaged("a chunk could not be sealed")
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &[u8] = br#"{"areas":["382060","131016"]}"#;

    /// Two areas: three data chunks and a final one each.
    fn sample(key: &BackupKey) -> Vec<u8> {
        let mut w = FileWriter::new(Vec::new(), HEADER).unwrap();
        for area in ["382060", "131016"] {
            w.begin_area(key, area).unwrap();
            for i in 0..3 {
                w.chunk(format!("{area} rows {i}").into_bytes()).unwrap();
            }
            w.end_area(format!("{area} end").into_bytes()).unwrap();
        }
        w.finish(b"manifest").unwrap().0
    }

    /// Reads the whole file: every chunk of every area, then the manifest.
    fn read_all(key: &BackupKey, bytes: &[u8]) -> Result<Vec<Chunk>, FileError> {
        let (magic, rest) = bytes.split_at(STREAM_MAGIC.len().min(bytes.len()));
        let mut r = FileReader::new(rest, magic)?;
        let mut out = Vec::new();
        for area in ["382060", "131016"] {
            r.begin_area(key, area)?;
            loop {
                let chunk = r.next_chunk()?;
                let end = matches!(chunk, Chunk::Final(_));
                out.push(chunk);
                if end {
                    break;
                }
            }
        }
        r.finish()?;
        Ok(out)
    }

    /// Where each record starts: (offset, tag).
    fn records(bytes: &[u8]) -> Vec<(usize, u8)> {
        let mut at = STREAM_MAGIC.len();
        let len = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        at += 4 + len(at);
        let mut out = Vec::new();
        while at < bytes.len() - TRAILER.len() {
            let tag = bytes[at];
            out.push((at, tag));
            let body = if tag == AREA { at + 7 } else { at + 1 };
            at = body + 4 + len(body);
        }
        out
    }

    #[test]
    fn chunks_round_trip_in_order() {
        let key = BackupKey::generate().unwrap();
        let bytes = sample(&key);
        let chunks = read_all(&key, &bytes).unwrap();
        assert_eq!(chunks.len(), 8);
        assert_eq!(chunks[1], Chunk::Data(b"382060 rows 1".to_vec()));
        assert_eq!(chunks[7], Chunk::Final(b"131016 end".to_vec()));
    }

    #[test]
    fn every_flipped_byte_before_the_manifest_is_refused() {
        let key = BackupKey::generate().unwrap();
        let bytes = sample(&key);
        let manifest_at = records(&bytes).last().unwrap().0;
        for i in 0..manifest_at {
            let mut bad = bytes.clone();
            bad[i] ^= 0x01;
            assert!(
                read_all(&key, &bad).is_err(),
                "a flip at byte {i} still read"
            );
        }
    }

    #[test]
    fn every_cut_is_refused() {
        let key = BackupKey::generate().unwrap();
        let bytes = sample(&key);
        for cut in 0..bytes.len() {
            assert!(
                read_all(&key, &bytes[..cut]).is_err(),
                "cut at {cut} still read"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(read_all(&key, &longer), Err(FileError::TrailingBytes(1)));
    }

    #[test]
    fn moved_repeated_or_dropped_chunks_are_refused() {
        let key = BackupKey::generate().unwrap();
        let bytes = sample(&key);
        let recs = records(&bytes);
        // recs: A C C C F A C C C F M
        let span = |i: usize| recs[i].0..recs[i + 1].0;
        let splice = |parts: &[std::ops::Range<usize>]| {
            let mut out = bytes[..recs[0].0].to_vec();
            for p in parts {
                out.extend_from_slice(&bytes[p.clone()]);
            }
            out.extend_from_slice(&bytes[recs[10].0..]);
            out
        };
        let all: Vec<_> = (0..10).map(span).collect();
        assert!(read_all(&key, &splice(&all)).is_ok());
        let swapped = [0, 2, 1, 3, 4, 5, 6, 7, 8, 9].map(span);
        let repeated = [0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9].map(span);
        let dropped_final = [0, 1, 2, 3, 5, 6, 7, 8, 9].map(span);
        let dropped_middle = [0, 1, 3, 4, 5, 6, 7, 8, 9].map(span);
        let areas_swapped = [5, 6, 7, 8, 9, 0, 1, 2, 3, 4].map(span);
        let chunk_from_other_area = [0, 6, 2, 3, 4, 5, 6, 7, 8, 9].map(span);
        for (name, parts) in [
            ("swapped", &swapped[..]),
            ("repeated", &repeated[..]),
            ("dropped final", &dropped_final[..]),
            ("dropped middle", &dropped_middle[..]),
            ("areas swapped", &areas_swapped[..]),
            ("chunk from another area", &chunk_from_other_area[..]),
        ] {
            assert!(read_all(&key, &splice(parts)).is_err(), "{name} still read");
        }
        let other = BackupKey::generate().unwrap();
        assert_eq!(
            read_all(&other, &bytes),
            Err(FileError::Tampered("382060".into()))
        );
    }
}
