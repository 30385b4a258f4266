//! What the service tests share: one `#[tokio::test]` per case and backend.

/// For each case `async fn case(db: &TestDb)`, a test on a fresh SQLite database and one on a fresh
/// PostgreSQL database (skipped with a message where PostgreSQL is unreachable, except under CI).
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let db = vrs_store::testkit::TestDb::sqlite().await;
                    super::$case(&db).await;
                    db.cleanup().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(db) = vrs_store::testkit::TestDb::postgres().await else { return };
                    super::$case(&db).await;
                    db.cleanup().await;
                }
            )*
        }
    };
}

pub(crate) use on_both_backends;
