//! The backup file readers, before any key opens a section: the whole layout (formats 1 and 2) and
//! the streamed one (format 3) up to the first chunk that fails authentication.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use vrs_crypto::backup::stream::{Chunk, FileReader, STREAM_MAGIC};
use vrs_crypto::backup::BackupKey;

fn key() -> &'static BackupKey {
    static KEY: OnceLock<BackupKey> = OnceLock::new();
    KEY.get_or_init(|| BackupKey::generate().expect("a backup key"))
}

fuzz_target!(|data: &[u8]| {
    let _ = vrs_crypto::backup::BackupFile::parse(data);
    let (magic, rest) = data.split_at(data.len().min(STREAM_MAGIC.len()));
    let Ok(mut file) = FileReader::new(rest, magic) else {
        return;
    };
    if file.begin_area(key(), "382060").is_err() {
        return;
    }
    for _ in 0..64 {
        match file.next_chunk() {
            Ok(Chunk::Data(_)) => {}
            Ok(Chunk::Final(_)) => {
                let _ = file.finish();
                return;
            }
            Err(_) => return,
        }
    }
});
