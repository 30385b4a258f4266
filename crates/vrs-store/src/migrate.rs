//! Schema migrations, embedded per backend with the same file names in both trees
//! (`migrations/sqlite/*.sql`, `migrations/postgres/*.sql`), applied in order at open and recorded in
//! `vrs_migrations`.

/// One migration file.
pub(crate) struct Migration {
    pub name: &'static str,
    pub sql: &'static str,
}

macro_rules! migrations {
    ($dir:literal: $($name:literal),* $(,)?) => {
        &[$(Migration { name: $name, sql: include_str!(concat!("../migrations/", $dir, "/", $name, ".sql")) }),*]
    };
}

pub(crate) const SQLITE: &[Migration] = migrations!("sqlite": "0001_foundation", "0002_accounts",
    "0003_doses", "0004_inquiry", "0005_statistics", "0006_backup", "0007_certificates", "0008_lifecycle", "0009_revocations", "0010_moves", "0011_clients", "0012_opendata", "0013_rollups", "0014_distribution", "0015_birth_index", "0016_kanji_birth_index", "0017_search_index", "0018_opendata_parts");
pub(crate) const POSTGRES: &[Migration] = migrations!("postgres": "0001_foundation", "0002_accounts",
    "0003_doses", "0004_inquiry", "0005_statistics", "0006_backup", "0007_certificates", "0008_lifecycle", "0009_revocations", "0010_moves", "0011_clients", "0012_opendata", "0013_rollups", "0014_distribution", "0015_birth_index", "0016_kanji_birth_index", "0017_search_index", "0018_opendata_parts");

/// The table that records applied migrations (same SQL on both backends).
pub(crate) const LEDGER: &str =
    "CREATE TABLE IF NOT EXISTS vrs_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)";

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &str) -> Vec<String> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(dir);
        let mut names: Vec<String> = std::fs::read_dir(path)
            .unwrap()
            .map(|e| {
                e.unwrap()
                    .file_name()
                    .to_string_lossy()
                    .trim_end_matches(".sql")
                    .to_owned()
            })
            .collect();
        names.sort();
        names
    }

    #[test]
    fn both_backends_have_the_same_migrations_and_all_are_embedded() {
        let sqlite: Vec<&str> = SQLITE.iter().map(|m| m.name).collect();
        let postgres: Vec<&str> = POSTGRES.iter().map(|m| m.name).collect();
        assert_eq!(sqlite, postgres);
        assert_eq!(names("sqlite"), sqlite);
        assert_eq!(names("postgres"), postgres);
    }
}
