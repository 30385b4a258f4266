//! Streamed backups (format 3), restored into each backend: a file of many chunks round-trips
//! exactly; a flipped byte in a middle chunk, a file cut at a chunk's boundary or inside one, a
//! chunk moved or repeated, a dropped final chunk or an altered manifest are each refused with
//! the target unchanged (its one transaction rolled back); a format-2 file still restores; a file
//! of an unknown format is refused naming its format.

use chrono::Utc;
use vrs_core::backup::format::{self, Manifest, SectionWriter};
use vrs_core::backup::{self, BackupError, BackupScope, KeySource};
use vrs_crypto::backup::{BackupFile, Section};
use vrs_domain::MunicipalityCode;
use vrs_store::testkit::TestDb;
use vrs_store::{AuditScope, Store, TableRows};

use crate::backup::{assert_identical, operator, populate, saijo};
use vrs_store::on_both_backends;

on_both_backends!(
    a_streamed_backup_of_many_chunks_round_trips_exactly,
    every_damage_to_a_streamed_backup_is_refused_and_writes_nothing,
    a_format_2_backup_still_restores,
);

/// A backup of 西条市 in chunks of about 2 KiB, from a populated SQLite deployment.
async fn small_chunks(source: &dyn Store, scope: BackupScope) -> Vec<u8> {
    backup::backup_in_chunks(source, scope, &operator(), Vec::new(), 2048)
        .await
        .unwrap()
        .out
}

/// Where each record of a streamed file starts, with its tag; the end marker's offset last.
fn records(bytes: &[u8]) -> Vec<(usize, u8)> {
    let len = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
    let mut at = 11;
    at += 4 + len(at);
    let mut out = Vec::new();
    while at < bytes.len() - 6 {
        let tag = bytes[at];
        out.push((at, tag));
        let body = if tag == b'A' { at + 7 } else { at + 1 };
        at = body + 4 + len(body);
    }
    out.push((at, 0));
    out
}

/// Everything the target holds of the national tables and 西条市's area.
async fn held(target: &dyn Store) -> Vec<Vec<TableRows>> {
    vrs_store::backup::collect(target, &[AuditScope::National, AuditScope::Area(saijo())])
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.rows.tables)
        .collect()
}

async fn a_streamed_backup_of_many_chunks_round_trips_exactly(db: &TestDb) {
    let source = TestDb::sqlite().await;
    let people = populate(source.store.as_ref()).await;
    let bytes = small_chunks(source.store.as_ref(), BackupScope::Deployment).await;
    let chunks = records(&bytes).iter().filter(|(_, t)| *t == b'C').count();
    assert!(chunks > 10, "{chunks} chunks");
    let report = backup::restore(
        KeySource::Vault(source.store.as_ref()),
        db.store.as_ref(),
        &bytes,
        &operator(),
    )
    .await
    .unwrap();
    assert_eq!(report.manifest.format, format::FORMAT);
    assert_identical(source.store.as_ref(), &bytes, db.store.as_ref(), &people).await;
}

async fn every_damage_to_a_streamed_backup_is_refused_and_writes_nothing(db: &TestDb) {
    let source = TestDb::sqlite().await;
    let people = populate(source.store.as_ref()).await;
    let people: Vec<_> = people
        .into_iter()
        .filter(|p| p.municipality == saijo())
        .collect();
    let bytes = small_chunks(source.store.as_ref(), BackupScope::Municipality(saijo())).await;
    let recs = records(&bytes);
    let chunks: Vec<usize> = (0..recs.len()).filter(|i| recs[*i].1 == b'C').collect();
    assert!(chunks.len() >= 4, "{} chunks", chunks.len());
    let fin = (0..recs.len()).find(|i| recs[*i].1 == b'F').unwrap();
    let manifest = (0..recs.len()).find(|i| recs[*i].1 == b'M').unwrap();
    let span = |i: usize| recs[i].0..recs[i + 1].0;
    let (a, b) = (chunks[chunks.len() / 2], chunks[chunks.len() / 2 + 1]);
    // The file with its records in another order (indexes into `recs`).
    let spliced = |order: &[usize]| {
        let mut out = bytes[..recs[0].0].to_vec();
        for i in order {
            out.extend_from_slice(&bytes[span(*i)]);
        }
        out.extend_from_slice(&bytes[recs[recs.len() - 1].0..]);
        out
    };
    let every: Vec<usize> = (0..recs.len() - 1).collect();
    assert_eq!(spliced(&every), bytes);
    let flipped = |at: usize| {
        let mut bad = bytes.clone();
        bad[at] ^= 0x01;
        bad
    };
    let without = |skip: usize| {
        spliced(
            &every
                .iter()
                .copied()
                .filter(|i| *i != skip)
                .collect::<Vec<_>>(),
        )
    };
    let swapped: Vec<usize> = every
        .iter()
        .map(|i| match *i {
            i if i == a => b,
            i if i == b => a,
            i => i,
        })
        .collect();
    let repeated: Vec<usize> = every
        .iter()
        .flat_map(|i| if *i == a { vec![a, a] } else { vec![*i] })
        .collect();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("a flipped byte in a middle chunk", flipped(recs[a].0 + 40)),
        ("a flipped chunk tag", flipped(recs[a].0)),
        ("cut at a chunk boundary", bytes[..recs[a].0].to_vec()),
        ("cut before the final chunk", bytes[..recs[fin].0].to_vec()),
        ("cut inside a chunk", bytes[..recs[a].0 + 100].to_vec()),
        (
            "cut inside the manifest",
            bytes[..recs[manifest].0 + 20].to_vec(),
        ),
        (
            "cut before the end marker",
            bytes[..bytes.len() - 3].to_vec(),
        ),
        ("two chunks swapped", spliced(&swapped)),
        ("a chunk repeated", spliced(&repeated)),
        ("a chunk dropped", without(a)),
        ("the final chunk dropped", without(fin)),
        ("the manifest altered", flipped(recs[manifest].0 + 30)),
        ("bytes after the end", [bytes.clone(), vec![0]].concat()),
    ];
    let before = held(db.store.as_ref()).await;
    for (name, bad) in cases {
        let err = backup::restore(
            KeySource::Vault(source.store.as_ref()),
            db.store.as_ref(),
            &bad,
            &operator(),
        )
        .await
        .expect_err(name);
        assert!(
            matches!(
                err,
                BackupError::Refused(_) | BackupError::File(_) | BackupError::Manifest(_)
            ),
            "{name}: {err}"
        );
        assert_eq!(
            held(db.store.as_ref()).await,
            before,
            "{name}: the target changed"
        );
    }
    assert!(!db.store.municipalities().await.unwrap().contains(&saijo()));
    // The undamaged file still restores, exactly.
    backup::restore(
        KeySource::Vault(source.store.as_ref()),
        db.store.as_ref(),
        &bytes,
        &operator(),
    )
    .await
    .unwrap();
    assert_identical(source.store.as_ref(), &bytes, db.store.as_ref(), &people).await;
}

/// A file as format 2 wrote it: the manifest first, then one whole sealed section per area.
async fn whole_file(store: &dyn Store, code: MunicipalityCode) -> Vec<u8> {
    let areas = [AuditScope::Area(code)];
    let writer = SectionWriter::of_format(true, format::LAST_WHOLE_FORMAT);
    let keys = store
        .snapshot(&areas, Box::new(writer.clone()))
        .await
        .unwrap();
    let written = writer.take();
    let manifest = Manifest {
        format: format::LAST_WHOLE_FORMAT,
        kind: "municipality".into(),
        created_at: Utc::now(),
        created_by: "operator".into(),
        backend: store.backend().into(),
        areas: written.iter().map(|a| a.manifest.clone()).collect(),
    };
    let manifest = serde_json::to_vec_pretty(&manifest).unwrap();
    let sections = written
        .into_iter()
        .zip(keys)
        .map(|(a, key)| Section::seal(&key, a.area.code(), &manifest, a.plaintext).unwrap())
        .collect();
    BackupFile { manifest, sections }.to_bytes()
}

async fn a_format_2_backup_still_restores(db: &TestDb) {
    let source = TestDb::sqlite().await;
    let people: Vec<_> = populate(source.store.as_ref())
        .await
        .into_iter()
        .filter(|p| p.municipality == saijo())
        .collect();
    let old = whole_file(source.store.as_ref(), saijo()).await;
    let report = backup::restore(
        KeySource::Vault(source.store.as_ref()),
        db.store.as_ref(),
        &old,
        &operator(),
    )
    .await
    .unwrap();
    assert_eq!(report.manifest.format, 2);
    assert_identical(source.store.as_ref(), &old, db.store.as_ref(), &people).await;
    // A format this version does not know is named, in Japanese and English.
    let mut future = old.clone();
    future[9] = b'9';
    let err = backup::restore(
        KeySource::Vault(source.store.as_ref()),
        db.store.as_ref(),
        &future,
        &operator(),
    )
    .await
    .unwrap_err();
    let says = err.to_string();
    assert!(
        says.contains("形式 9") && says.contains("format 9"),
        "{says}"
    );
}
