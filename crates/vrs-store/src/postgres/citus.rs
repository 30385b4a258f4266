//! Citus: the schema distributed over a cluster's workers (`vrs init --citus`).
//!
//! Every table of a municipality's area is distributed by `municipality_code` and colocated with
//! `residents`, so whatever one area's request touches lies on one worker and its joins run there;
//! the deployment-wide tables (accounts, terms, keys, roll-ups, …) are reference tables, copied to
//! every node. The append-only triggers of the audit log and the provision records are kept: they
//! are created on every shard (`citus.enable_unsafe_triggers` while distributing), and the function
//! they call only reads `area_shreds`, a reference table present on every node. A bulk import stages
//! its rows in [`STAGE`], distributed like the area tables, instead of a temporary table (Citus
//! joins no local table with a distributed one).
//!
//! Distributing is idempotent: tables already distributed are left alone, so a deployment runs
//! `vrs init --citus` again after an upgrade whose migrations created tables.

use tokio_postgres::Client;

use super::tls;
use crate::StoreError;

/// The tables of a municipality's area, distributed by `municipality_code`, in the order they are
/// distributed (a table after those its foreign keys name). The first is the colocation group's.
pub const DISTRIBUTED: &[&str] = &[
    "residents",
    "doses",
    "municipality_keys",
    "audit_log",
    "audit_heads",
    "idempotency_keys",
    "provision_records",
    "provision_doses",
    "terms_agreements",
    "inquiry_jobs",
    "stat_daily",
    "stat_products",
    "stat_ages",
    "stat_coverage",
    "stat_state",
    "stat_open",
    "stat_totals",
    "certificate_issues",
    "duplicate_candidates",
    "person_merges",
    STAGE,
];

/// The deployment-wide tables, copied to every node, in the order they are made reference tables
/// (a table after those its foreign keys name). `account_applications` is the national operator's
/// queue of applications (decided by ID, across municipalities); `revoked_tombstones` outlives the
/// areas it names.
pub const REFERENCE: &[&str] = &[
    "vrs_migrations",
    "deployment",
    "municipalities",
    "accounts",
    "account_applications",
    "terms_versions",
    "function_states",
    "backup_keys",
    "area_shreds",
    "signing_keys",
    "revoked_tombstones",
    "oauth_clients",
    "oauth_tokens",
    "oauth_assertions",
    "opendata_files",
    "opendata_parts",
    "stat_rollup_daily",
    "stat_rollup_products",
    "stat_rollup_ages",
    "stat_rollup_coverage",
];

/// Deployment-wide tables written on every request, distributed by their own key in groups of
/// their own rather than copied to every node: a session is read and touched by its token.
pub const DISTRIBUTED_BY_KEY: &[(&str, &str)] = &[("sessions", "token_hash")];

/// The staging table of bulk imports on Citus: each import's rows carry its area and a random
/// batch number, and are deleted by the transaction that merges them.
pub const STAGE: &str = "import_stage";

const CREATE_STAGE: &str = "CREATE TABLE IF NOT EXISTS import_stage (
    municipality_code CHAR(6) NOT NULL, batch BIGINT NOT NULL, line BIGINT NOT NULL,
    atena_number TEXT NOT NULL, my_number_index BYTEA NOT NULL, my_number_enc BYTEA NOT NULL,
    coupon_number CHAR(10) NOT NULL, name_enc BYTEA NOT NULL, name_kana_enc BYTEA NOT NULL,
    birth_date_enc BYTEA NOT NULL, sex SMALLINT NOT NULL, content_mac BYTEA NOT NULL,
    kana_birth_index BYTEA NOT NULL, moved_in_from CHAR(6), birth_index BYTEA NOT NULL,
    kanji_birth_index BYTEA NOT NULL,
    PRIMARY KEY (municipality_code, batch, line))";

/// What [`distribute`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Distribution {
    /// Tables distributed by this run.
    pub distributed: Vec<String>,
    /// Tables made reference tables by this run.
    pub reference: Vec<String>,
    /// Tables that were distributed or reference tables already.
    pub already: usize,
}

/// Whether the database has the Citus extension.
pub(crate) async fn has_citus(client: &Client) -> Result<bool, StoreError> {
    Ok(client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')",
            &[],
        )
        .await?
        .get(0))
}

/// Whether the schema has been distributed (the Citus staging table exists).
pub(crate) async fn is_distributed(client: &Client) -> Result<bool, StoreError> {
    Ok(client
        .query_one("SELECT to_regclass('import_stage') IS NOT NULL", &[])
        .await?
        .get(0))
}

/// Distributes the migrated schema at `url` (a Citus coordinator): area tables by
/// `municipality_code`, colocated; deployment-wide tables as reference tables. Refuses a database
/// without Citus, and a table of the schema that is in neither list.
pub async fn distribute(url: &str) -> Result<Distribution, StoreError> {
    let connection = tls::connection(url)?;
    let (client, conn) = connection.config.connect(connection.tls).await?;
    let driver = tokio::spawn(conn);
    let result = distribute_on(&client).await;
    drop(client);
    let _ = driver.await;
    result
}

async fn distribute_on(client: &Client) -> Result<Distribution, StoreError> {
    if !has_citus(client).await? {
        return Err(StoreError::Config(
            "the database has no citus extension (CREATE EXTENSION citus on the coordinator)"
                .into(),
        ));
    }
    client.batch_execute(CREATE_STAGE).await?;
    let tables: Vec<String> = client
        .query(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') \
             AND c.relname !~ '_[0-9]+$'",
            &[],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    // Shards placed on the coordinator are named `<table>_<shard id>`; no table of the schema is.
    let unknown: Vec<&str> = tables
        .iter()
        .map(String::as_str)
        .filter(|t| !placeable(t))
        .collect();
    if !unknown.is_empty() {
        return Err(StoreError::Other(format!(
            "tables neither distributed nor reference: {}",
            unknown.join(", ")
        )));
    }
    // The append-only triggers go to every shard with their tables.
    client
        .batch_execute("SET citus.enable_unsafe_triggers = on")
        .await?;
    let mut done = Distribution::default();
    for table in REFERENCE {
        if placed(client, table, REFERENCE_KIND).await? {
            done.already += 1;
            continue;
        }
        client
            .execute(
                "SELECT create_reference_table(CAST($1::text AS regclass))",
                &[table],
            )
            .await
            .map_err(|e| distribute_error(table, e))?;
        done.reference.push((*table).to_owned());
    }
    for (table, column) in DISTRIBUTED_BY_KEY {
        if placed(client, table, DISTRIBUTED_KIND).await? {
            done.already += 1;
            continue;
        }
        client
            .execute(
                "SELECT create_distributed_table(CAST($1::text AS regclass), $2, colocate_with => 'none')",
                &[table, column],
            )
            .await
            .map_err(|e| distribute_error(table, e))?;
        done.distributed.push((*table).to_owned());
    }
    for table in DISTRIBUTED {
        if placed(client, table, DISTRIBUTED_KIND).await? {
            done.already += 1;
            continue;
        }
        let colocate = if *table == DISTRIBUTED[0] {
            "default"
        } else {
            DISTRIBUTED[0]
        };
        client
            .execute(
                "SELECT create_distributed_table(CAST($1::text AS regclass), 'municipality_code', colocate_with => $2)",
                &[table, &colocate],
            )
            .await
            .map_err(|e| distribute_error(table, e))?;
        done.distributed.push((*table).to_owned());
    }
    client
        .batch_execute("RESET citus.enable_unsafe_triggers")
        .await?;
    Ok(done)
}

fn placeable(table: &str) -> bool {
    DISTRIBUTED.contains(&table)
        || REFERENCE.contains(&table)
        || DISTRIBUTED_BY_KEY.iter().any(|(t, _)| *t == table)
}

/// A reference table in `pg_dist_partition`: no distribution column, replicated to every node.
const REFERENCE_KIND: &str = "partmethod = 'n' AND repmodel = 't'";
/// A table distributed by hash of its column.
const DISTRIBUTED_KIND: &str = "partmethod = 'h'";

/// Whether `table` is placed as `kind` already. A table whose foreign key names a reference table
/// is added to Citus's metadata as a local table of the coordinator until it is distributed too;
/// that is not placed.
async fn placed(client: &Client, table: &str, kind: &str) -> Result<bool, StoreError> {
    let sql = format!(
        "SELECT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = to_regclass($1) AND {kind})"
    );
    Ok(client.query_one(&sql, &[&table]).await?.get(0))
}

fn distribute_error(table: &str, e: tokio_postgres::Error) -> StoreError {
    let message = match e.as_db_error() {
        Some(db) => db.message().to_owned(),
        None => e.to_string(),
    };
    StoreError::Other(format!("cannot distribute {table}: {message}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every table the migrations create is either distributed or a reference table.
    #[test]
    fn every_migrated_table_is_placed() {
        let mut created = vec!["vrs_migrations".to_owned()];
        for m in crate::migrate::POSTGRES {
            for part in m.sql.split("CREATE TABLE ").skip(1) {
                let name = part
                    .split(|c: char| c.is_whitespace() || c == '(')
                    .next()
                    .unwrap_or_default();
                created.push(name.to_owned());
            }
        }
        // (a table created again by a later migration counts once)
        created.sort();
        created.dedup();
        for table in &created {
            assert!(
                placeable(table),
                "{table} is neither distributed nor reference"
            );
        }
        let placed = DISTRIBUTED.len() + REFERENCE.len() + DISTRIBUTED_BY_KEY.len();
        assert_eq!(
            placed,
            created.len() + 1,
            "the staging table and the migrated ones"
        );
    }
}
