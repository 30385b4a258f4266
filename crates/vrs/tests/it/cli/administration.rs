//! Administration from the command line: accounts, the statistics rebuild, terms and machine
//! clients, each naming bad input.

use super::*;

#[test]
fn accounts_create_refuses_bad_input_and_issues_a_one_time_password() {
    let d = Deployment::new();
    assert!(d.run(&["init"]).status.success());
    for (args, expected) in [
        (
            vec!["x", "--role", "site_tablet", "--municipality", "382060"],
            "user ID",
        ),
        (
            vec!["tablet-1", "--role", "nurse", "--municipality", "382060"],
            "--role",
        ),
        (
            vec!["tablet-1", "--role", "site_tablet"],
            "--municipality is required",
        ),
        (
            vec![
                "tablet-1",
                "--role",
                "site_tablet",
                "--municipality",
                "382061",
            ],
            "--municipality",
        ),
        (
            vec!["viewer-1", "--role", "prefecture_viewer"],
            "--prefecture is required",
        ),
    ] {
        let mut all = vec!["accounts", "create"];
        all.extend(&args);
        let out = d.run(&all);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(expected), "{args:?}: {}", text(&out));
    }
    let accounts = || {
        let conn = rusqlite::Connection::open(d.path("vrs-data/vrs.db")).unwrap();
        conn.query_row("SELECT count(*) FROM accounts", [], |r| r.get::<_, i64>(0))
            .unwrap()
    };
    assert_eq!(accounts(), 0, "a refused call issued an account");
    let out = d.run(&[
        "accounts",
        "create",
        "tablet-1",
        "--role",
        "site_tablet",
        "--municipality",
        "382060",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let (user, password) = stdout.trim().split_once('\t').unwrap();
    assert_eq!(user, "tablet-1");
    assert_eq!(password.len(), 16);
    let conn = rusqlite::Connection::open(d.path("vrs-data/vrs.db")).unwrap();
    let must_change: bool = conn
        .query_row(
            "SELECT must_change_password FROM accounts WHERE user_id = 'tablet-1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        must_change,
        "the one-time password must be changed at first sign-in"
    );
    // An account waiting after failed sign-ins is unlocked from the command line, audited.
    conn.execute(
        "UPDATE accounts SET failed_logins = 7, locked_until = '2999-01-01T00:00:00.000000Z' \
         WHERE user_id = 'tablet-1'",
        [],
    )
    .unwrap();
    let unlocked = d.run(&["accounts", "unlock", "tablet-1"]);
    assert!(unlocked.status.success(), "{}", text(&unlocked));
    assert!(
        text(&unlocked).contains("after 7 failed"),
        "{}",
        text(&unlocked)
    );
    let (failures, until): (i64, Option<String>) = conn
        .query_row(
            "SELECT failed_logins, locked_until FROM accounts WHERE user_id = 'tablet-1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((failures, until), (0, None));
    let unlocks: i64 = conn
        .query_row(
            "SELECT count(*) FROM audit_log WHERE action = 'account.unlock' AND target = 'tablet-1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(unlocks, 1);
    let nobody = d.run(&["accounts", "unlock", "nobody-here"]);
    assert_eq!(nobody.status.code(), Some(2), "{}", text(&nobody));
    assert!(text(&nobody).contains("nobody-here"), "{}", text(&nobody));
    let again = d.run(&[
        "accounts",
        "create",
        "tablet-1",
        "--role",
        "site_tablet",
        "--municipality",
        "382060",
    ]);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    assert!(text(&again).contains("already"), "{}", text(&again));
    assert_eq!(accounts(), 1);
    // One tablet account per vaccination site: a second account for the site is refused.
    let named = |user: &str, site: &str| {
        d.run(&[
            "accounts",
            "create",
            user,
            "--role",
            "site_tablet",
            "--municipality",
            "382060",
            "--name",
            site,
        ])
    };
    assert!(named("tablet-2", "西条市総合体育館").status.success());
    let second = named("tablet-3", "西条市 総合体育館");
    assert_eq!(second.status.code(), Some(2), "{}", text(&second));
    assert!(
        text(&second).contains("one account per site") && text(&second).contains("tablet-2"),
        "{}",
        text(&second)
    );
    assert!(named("tablet-3", "西条市丹原文化会館").status.success());
    assert_eq!(accounts(), 3);
}

#[test]
fn statistics_rebuild_counts_targets_and_names_bad_arguments() {
    let d = Deployment::new();
    d.with_targets(12, 4);
    let ok = d.run(&["statistics", "rebuild", "--as-of", "2022-01-01"]);
    assert!(ok.status.success(), "{}", text(&ok));
    let out = String::from_utf8_lossy(&ok.stdout);
    assert!(
        out.contains("382060\t愛媛県西条市\ttargets 12\tdoses 0"),
        "{out}"
    );
    let bad = d.run(&["statistics", "rebuild", "--municipality", "382061"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad).contains("--municipality"), "{}", text(&bad));
    let bad = d.run(&["statistics", "rebuild", "--as-of", "令和4年2月30日"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad).contains("--as-of"));
}

#[test]
fn terms_publish_counts_versions_and_names_bad_input() {
    let d = Deployment::new();
    assert!(d.run(&["init"]).status.success());
    let file = d.path("terms.txt");
    std::fs::write(&file, "第1条 市区町村は…\n").unwrap();
    let f = file.to_str().unwrap();
    let bad = d.run(&[
        "terms", "publish", "--kind", "usage", "--title", "t", "--file", f,
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad).contains("no_consent_inquiry"), "{}", text(&bad));
    let missing = d.run(&[
        "terms", "publish", "--kind", "use", "--title", "t", "--file", "none.txt",
    ]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing).contains("none.txt"));
    let untitled = d.run(&[
        "terms", "publish", "--kind", "use", "--title", " ", "--file", f,
    ]);
    assert_eq!(untitled.status.code(), Some(2), "{}", text(&untitled));
    for version in ["version 1", "version 2"] {
        let ok = d.run(&[
            "terms",
            "publish",
            "--kind",
            "use",
            "--title",
            "利用確認事項",
            "--file",
            f,
        ]);
        assert!(ok.status.success(), "{}", text(&ok));
        assert!(String::from_utf8_lossy(&ok.stdout).contains(version));
    }
    let list = d.run(&["terms", "list"]);
    assert_eq!(String::from_utf8_lossy(&list.stdout).lines().count(), 2);
}

#[test]
fn clients_key_register_sign_and_remove_and_name_bad_input() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
    use base64::Engine;
    let d = Deployment::new();
    assert!(d.run(&["init"]).status.success());
    let created = d.run(&[
        "accounts",
        "create",
        "app-backend",
        "--role",
        "certificate_service",
    ]);
    assert!(created.status.success(), "{}", text(&created));
    let key = d.run(&["clients", "key", "app-backend"]);
    assert!(key.status.success(), "{}", text(&key));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.path("app-backend.key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // A private key is never replaced.
    let again = d.run(&["clients", "key", "app-backend"]);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    std::fs::write(
        d.path("private.json"),
        r#"{"kty":"EC","crv":"P-256","x":"AA","y":"AA","d":"AA"}"#,
    )
    .unwrap();
    for (args, expected) in [
        (
            vec![
                "app-backend",
                "--jwks",
                "app-backend.jwks.json",
                "--scopes",
                "doses.write",
            ],
            "--scopes",
        ),
        (
            vec![
                "app-backend",
                "--jwks",
                "app-backend.jwks.json",
                "--scopes",
                "everything",
            ],
            "unknown scope",
        ),
        (
            vec![
                "app-backend",
                "--jwks",
                "private.json",
                "--scopes",
                "certificates.issue",
            ],
            "private key",
        ),
        (
            vec![
                "app-backend",
                "--jwks",
                "missing.json",
                "--scopes",
                "certificates.issue",
            ],
            "--jwks",
        ),
        (
            vec![
                "nobody",
                "--jwks",
                "app-backend.jwks.json",
                "--scopes",
                "certificates.issue",
            ],
            "no account",
        ),
    ] {
        let mut all = vec!["clients", "add"];
        all.extend(&args);
        let out = d.run(&all);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(expected), "{args:?}: {}", text(&out));
    }
    let added = d.run(&[
        "clients",
        "add",
        "app-backend",
        "--jwks",
        "app-backend.jwks.json",
        "--scopes",
        "certificates.issue",
    ]);
    assert!(added.status.success(), "{}", text(&added));
    let list = d.run(&["clients", "list"]);
    assert!(
        String::from_utf8_lossy(&list.stdout).contains("app-backend\tcertificates.issue"),
        "{}",
        text(&list)
    );

    // The assertion is a compact JWS the registered key verifies, with the claims the endpoint
    // reads.
    let aud = "https://vrs.example.jp/oauth/token";
    let signed = d.run(&[
        "clients",
        "assertion",
        "--key",
        "app-backend.key.pem",
        "--client",
        "app-backend",
        "--aud",
        aud,
    ]);
    assert!(signed.status.success(), "{}", text(&signed));
    let jws = String::from_utf8(signed.stdout).unwrap().trim().to_owned();
    let parts: Vec<&str> = jws.split('.').collect();
    assert_eq!(parts.len(), 3, "{jws}");
    let claims: serde_json::Value =
        serde_json::from_slice(&B64URL.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(claims["iss"], "app-backend");
    assert_eq!(claims["sub"], "app-backend");
    assert_eq!(claims["aud"], aud);
    let jwks: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.path("app-backend.jwks.json")).unwrap())
            .unwrap();
    let public = vrs_crypto::es256::PublicKey::from_jwk(
        jwks["keys"][0]["x"].as_str().unwrap(),
        jwks["keys"][0]["y"].as_str().unwrap(),
    )
    .unwrap();
    assert!(public.verifies(
        format!("{}.{}", parts[0], parts[1]).as_bytes(),
        &B64URL.decode(parts[2]).unwrap()
    ));

    assert!(d
        .run(&["clients", "remove", "app-backend"])
        .status
        .success());
    let gone = d.run(&["clients", "remove", "app-backend"]);
    assert_eq!(gone.status.code(), Some(2), "{}", text(&gone));
    assert!(
        text(&gone).contains("not a registered client"),
        "{}",
        text(&gone)
    );
}
