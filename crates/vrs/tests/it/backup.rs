//! `vrs backup`, `vrs restore`, `vrs keys` and `vrs area` as an operator
//! uses them: a backup restored into a second database verifies; every bad argument or damaged file
//! exits 2 naming what is wrong and changes nothing; a shred needs the consent and the confirmation.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use support::{text, Deployment};

fn imported() -> Deployment {
    let d = Deployment::new();
    assert!(d.run(&["init"]).status.success());
    let sample = d.targets();
    let out = d.run(&[
        "import",
        "targets",
        sample.to_str().unwrap(),
        "--municipality",
        "382060",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    d
}

fn code_2(d: &Deployment, args: &[&str], says: &str) {
    let out = d.run(args);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
    assert!(text(&out).contains(says), "{args:?}: {}", text(&out));
}

#[test]
fn a_backup_restores_into_another_database_and_bad_input_is_named() {
    let d = imported();
    let out = d.run(&[
        "backup",
        "--municipality",
        "382060",
        "--out",
        "saijo.vrsbak",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("382060:"), "{}", text(&out));
    let whole = d.run(&["backup", "--all", "--out", "all.vrsbak"]);
    assert!(whole.status.success(), "{}", text(&whole));

    // Into a second database (SQLite here; the service tests cover PostgreSQL both ways).
    let into = format!("sqlite://{}", d.path("restored/vrs.db").display());
    let restored = d.run(&["restore", "all.vrsbak", "--into", &into]);
    assert!(restored.status.success(), "{}", text(&restored));
    assert!(
        text(&restored).contains("audit chains verified"),
        "{}",
        text(&restored)
    );
    let verify = d.run(&["--database", &into, "audit", "verify"]);
    assert!(verify.status.success(), "{}", text(&verify));
    assert!(text(&verify).contains("382060"), "{}", text(&verify));
    // Again into the same database: the areas are no longer empty.
    code_2(
        &d,
        &["restore", "all.vrsbak", "--into", &into],
        "already holds",
    );

    // Bad arguments and damaged files.
    code_2(
        &d,
        &[
            "backup",
            "--municipality",
            "382060",
            "--out",
            "saijo.vrsbak",
        ],
        "exists",
    );
    code_2(
        &d,
        &["backup", "--municipality", "382061", "--out", "x.vrsbak"],
        "--municipality",
    );
    code_2(&d, &["restore", "missing.vrsbak"], "missing.vrsbak");
    let bytes = std::fs::read(d.path("saijo.vrsbak")).unwrap();
    std::fs::write(d.path("cut.vrsbak"), &bytes[..bytes.len() / 2]).unwrap();
    // Damaged files go into an empty database: refused for the damage, and nothing is written.
    let empty = format!("sqlite://{}", d.path("empty/vrs.db").display());
    code_2(
        &d,
        &["restore", "cut.vrsbak", "--into", &empty],
        "truncated",
    );
    let mut flipped = bytes.clone();
    // In a sealed chunk of rows.
    let at = bytes.len() / 3;
    flipped[at] ^= 1;
    std::fs::write(d.path("flipped.vrsbak"), &flipped).unwrap();
    code_2(
        &d,
        &["restore", "flipped.vrsbak", "--into", &empty],
        "failed authentication",
    );
    std::fs::write(d.path("csv.vrsbak"), b"a,b,c\n").unwrap();
    code_2(&d, &["restore", "csv.vrsbak"], "not a VRS backup file");
}

/// Regression: `vrs restore FILE --into` a fresh database failed with a foreign-key error when the
/// area had agreed to terms (the versions live in the deployment's tables). The backup carries them:
/// into a fresh database the restore succeeds and names the versions it added; into one whose
/// version says something else it exits 2 naming the version, and writes nothing.
#[test]
fn an_area_that_agreed_to_terms_restores_into_a_fresh_database() {
    let d = imported();
    std::fs::write(d.path("terms.txt"), "本文").unwrap();
    let published = d.run(&[
        "terms",
        "publish",
        "--kind",
        "use",
        "--title",
        "確認事項",
        "--file",
        "terms.txt",
    ]);
    assert!(published.status.success(), "{}", text(&published));
    // 西条市's administrator agrees on the web page; here the row it records, written directly.
    let conn = rusqlite::Connection::open(d.path("vrs-data/vrs.db")).unwrap();
    conn.execute(
        "INSERT INTO terms_agreements (municipality_code, kind, version, agreed_by, agreed_at) \
         VALUES ('382060', 'use', 1, 'saijo-admin', '2026-11-01T00:00:00.000000Z')",
        [],
    )
    .unwrap();
    drop(conn);
    let out = d.run(&[
        "backup",
        "--municipality",
        "382060",
        "--out",
        "saijo.vrsbak",
    ]);
    assert!(out.status.success(), "{}", text(&out));

    let fresh = format!("sqlite://{}", d.path("fresh/vrs.db").display());
    assert!(d.run(&["--database", &fresh, "init"]).status.success());
    let restored = d.run(&["restore", "saijo.vrsbak", "--into", &fresh]);
    assert!(restored.status.success(), "{}", text(&restored));
    assert!(
        text(&restored).contains("added to the target from the backup: use 1"),
        "{}",
        text(&restored)
    );
    let listed = d.run(&["--database", &fresh, "terms", "list"]);
    assert!(text(&listed).contains("確認事項"), "{}", text(&listed));

    let other = format!("sqlite://{}", d.path("other/vrs.db").display());
    assert!(d.run(&["--database", &other, "init"]).status.success());
    std::fs::write(d.path("other.txt"), "別の本文").unwrap();
    let published = d.run(&[
        "--database",
        &other,
        "terms",
        "publish",
        "--kind",
        "use",
        "--title",
        "確認事項",
        "--file",
        "other.txt",
    ]);
    assert!(published.status.success(), "{}", text(&published));
    code_2(
        &d,
        &["restore", "saijo.vrsbak", "--into", &other],
        "terms use version 1",
    );
    let conn = rusqlite::Connection::open(d.path("other/vrs.db")).unwrap();
    let areas: i64 = conn
        .query_row("SELECT count(*) FROM municipalities", [], |r| r.get(0))
        .unwrap();
    assert_eq!(areas, 0, "a refused restore wrote nothing");
}

#[test]
fn a_shred_needs_consent_and_confirmation_and_leaves_old_backups_unreadable() {
    let d = imported();
    assert!(d
        .run(&["backup", "--municipality", "382060", "--out", "old.vrsbak"])
        .status
        .success());
    assert!(d
        .run(&["keys", "export", "--out", "escrow.json"])
        .status
        .success());
    let admin = d.run(&[
        "accounts",
        "create",
        "saijo-admin",
        "--role",
        "municipal_admin",
        "--municipality",
        "382060",
        "--name",
        "西条市管理者",
    ]);
    assert!(admin.status.success(), "{}", text(&admin));

    code_2(
        &d,
        &[
            "area",
            "shred",
            "--municipality",
            "382060",
            "--confirm",
            "382060",
        ],
        "has not consented",
    );
    code_2(
        &d,
        &[
            "area",
            "consent",
            "--municipality",
            "382060",
            "--by",
            "nobody",
            "--reference",
            "R1",
        ],
        "not an administrator",
    );
    code_2(
        &d,
        &[
            "area",
            "consent",
            "--municipality",
            "382060",
            "--by",
            "saijo-admin",
            "--reference",
            " ",
        ],
        "reference",
    );
    let consent = d.run(&[
        "area",
        "consent",
        "--municipality",
        "382060",
        "--by",
        "saijo-admin",
        "--reference",
        "西保第1号",
    ]);
    assert!(consent.status.success(), "{}", text(&consent));
    code_2(
        &d,
        &[
            "area",
            "shred",
            "--municipality",
            "382060",
            "--confirm",
            "131016",
        ],
        "--confirm",
    );
    let shred = d.run(&[
        "area",
        "shred",
        "--municipality",
        "382060",
        "--confirm",
        "382060",
    ]);
    assert!(shred.status.success(), "{}", text(&shred));
    assert!(text(&shred).contains("residents="), "{}", text(&shred));

    // The old backup no longer opens here, nor in a fresh deployment.
    code_2(&d, &["restore", "old.vrsbak"], "no backup key");
    let other = Deployment::new();
    assert!(other.run(&["init"]).status.success());
    std::fs::copy(d.path("old.vrsbak"), other.path("old.vrsbak")).unwrap();
    code_2(&other, &["restore", "old.vrsbak"], "no backup key");
    // A key escrow from another master key is refused.
    std::fs::copy(d.path("escrow.json"), other.path("escrow.json")).unwrap();
    let refused = other.run(&["keys", "import", "escrow.json"]);
    assert_ne!(refused.status.code(), Some(0), "{}", text(&refused));
    assert!(text(&refused).contains("master key"), "{}", text(&refused));
    let verify = d.run(&["audit", "verify"]);
    assert!(verify.status.success(), "{}", text(&verify));
    // The escrow exported after the shred no longer holds the area's key.
    assert!(d
        .run(&["keys", "export", "--out", "escrow-after.json"])
        .status
        .success());
    let after = std::fs::read_to_string(d.path("escrow-after.json")).unwrap();
    assert!(!after.contains("\"382060\""), "{after}");
}

#[test]
fn disaster_recovery_needs_the_master_key_the_escrow_and_a_backup() {
    let d = imported();
    assert!(d
        .run(&["backup", "--all", "--out", "all.vrsbak"])
        .status
        .success());
    assert!(d
        .run(&["keys", "export", "--out", "escrow.json"])
        .status
        .success());
    // A new machine: the same master key, a fresh database.
    let fresh = Deployment::new();
    std::fs::create_dir_all(fresh.path("vrs-data")).unwrap();
    std::fs::copy(
        d.path("vrs-data/master.key"),
        fresh.path("vrs-data/master.key"),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let private = std::fs::Permissions::from_mode(0o600);
        std::fs::set_permissions(fresh.path("vrs-data/master.key"), private).unwrap();
    }
    assert!(fresh.run(&["init"]).status.success());
    for name in ["all.vrsbak", "escrow.json"] {
        std::fs::copy(d.path(name), fresh.path(name)).unwrap();
    }
    code_2(&fresh, &["restore", "all.vrsbak"], "no backup key");
    let restored = fresh.run(&["restore", "all.vrsbak", "--keys", "escrow.json"]);
    assert!(restored.status.success(), "{}", text(&restored));
    let verify = fresh.run(&["audit", "verify"]);
    assert!(verify.status.success(), "{}", text(&verify));
    assert!(text(&verify).contains("382060 西条市"), "{}", text(&verify));
    // Its own backups open with the keys that came along.
    assert!(fresh
        .run(&[
            "backup",
            "--municipality",
            "382060",
            "--out",
            "again.vrsbak"
        ])
        .status
        .success());
    code_2(
        &fresh,
        &["restore", "again.vrsbak", "--keys", "all.vrsbak"],
        "not a key escrow file",
    );
}
