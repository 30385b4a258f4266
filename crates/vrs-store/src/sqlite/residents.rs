//! Residents on SQLite: written with their audit entry, read by 宛名番号, by My Number through the
//! blind index, by coupon or by kana and birth date; flags, bulk imports, paging and deletion.

use async_trait::async_trait;
use chrono::{NaiveDate, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use vrs_domain::{AtenaNumber, CouponNumber, KanaName, MunicipalityCode, MyNumber, Resident};

use super::import::{SqliteImport, STAGING};
use super::{
    append_audit_tx, configure, find_resident, load_cipher, map_unique, sealed_from_row, text_date,
    SqliteStore, RESIDENT_COLUMNS,
};
use crate::audit::{timestamp_text, AuditEntry};
use crate::merge;
use crate::residents::BORN_ON_LIMIT;
use crate::sealed::{birth_index, content_mac, kana_birth_index, SealedResident};
use crate::{rows, CouponHolder, InArea, ResidentImport, ResidentStore, StoreError, Written};

/// The holder of a coupon of the area: 宛名番号 and flags, no sealed field.
pub(super) fn holder_tx(
    conn: &Connection,
    scope: MunicipalityCode,
    coupon: CouponNumber,
) -> Result<CouponHolder, StoreError> {
    let found: Option<(String, Option<String>, Option<String>)> = conn
        .prepare_cached(
            "SELECT atena_number, moved_out_on, deceased_on FROM residents \
             WHERE municipality_code = ?1 AND coupon_number = ?2",
        )?
        .query_row(params![scope.as_str(), coupon.as_str()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    let (atena, moved, deceased) = found.ok_or(StoreError::NotFound)?;
    Ok(CouponHolder {
        municipality: scope,
        atena: AtenaNumber::parse(&atena)
            .map_err(|_| StoreError::Corrupt(format!("atena_number {atena:?}")))?,
        coupon,
        moved_out_on: rows::opt_date(moved.as_deref())?,
        deceased_on: rows::opt_date(deceased.as_deref())?,
    })
}

/// People by kana name and birth date: the two arms of `KANA_BIRTH_WHERE` (rows indexed by their
/// birth date, rows stored before that index) as two searches of the full key. Written with `OR`,
/// SQLite's planner (without statistics) walks the whole area by its primary key for the
/// `ORDER BY … LIMIT`; the plan is pinned by a test (`sqlite::plans`).
pub(super) const KANA_BIRTH_SQL: &str =
    "SELECT atena_number FROM residents INDEXED BY residents_search \
     WHERE municipality_code = ?1 AND birth_index = ?3 AND kana_birth_index = ?2 \
     UNION ALL SELECT atena_number FROM residents INDEXED BY residents_search \
     WHERE municipality_code = ?1 AND birth_index IS NULL AND kana_birth_index = ?2 \
     ORDER BY 1 LIMIT 100";

/// People born on a day, through the search index named: for the `ORDER BY … LIMIT` the planner
/// would otherwise walk the whole area by its primary key.
pub(super) const BORN_ON_SQL: &str =
    "SELECT atena_number FROM residents INDEXED BY residents_search \
     WHERE municipality_code = ?1 AND birth_index = ?2 ORDER BY atena_number LIMIT ?3";

#[async_trait]
impl ResidentStore for SqliteStore {
    async fn put_resident(
        &self,
        resident: InArea<'_, Resident>,
        audit: &AuditEntry,
    ) -> Result<Written, StoreError> {
        let (scope, resident) = (resident.code(), resident.get());
        let cipher = self.ensure_cipher(scope).await?;
        let resident = resident.clone();
        let audit = audit.clone();
        self.write(move |tx, _| {
            let mac = content_mac(&resident, &cipher);
            let existing: Option<(Vec<u8>, Option<String>, Option<String>)> = tx
                .query_row(
                    "SELECT content_mac, moved_out_on, deceased_on FROM residents \
                     WHERE municipality_code = ?1 AND atena_number = ?2",
                    params![scope.as_str(), resident.atena.as_str()],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            if let Some((stored_mac, moved_out, deceased)) = &existing {
                let flags = (rows::opt_date(moved_out.as_deref())?, rows::opt_date(deceased.as_deref())?);
                if stored_mac[..] == mac[..] && flags == (resident.moved_out_on, resident.deceased_on) {
                    return Ok(Written::Unchanged);
                }
            }
            let s = SealedResident::seal(&resident, &cipher)?;
            let now = timestamp_text(&Utc::now());
            tx.execute(
                &format!(
                    "INSERT INTO residents (municipality_code, {RESIDENT_COLUMNS}, kana_birth_index, birth_index, \
                     kanji_birth_index, updated_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17) \
                     ON CONFLICT (municipality_code, atena_number) DO UPDATE SET \
                     my_number_index = excluded.my_number_index, my_number_enc = excluded.my_number_enc, \
                     coupon_number = excluded.coupon_number, name_enc = excluded.name_enc, \
                     name_kana_enc = excluded.name_kana_enc, birth_date_enc = excluded.birth_date_enc, \
                     sex = excluded.sex, moved_out_on = excluded.moved_out_on, \
                     deceased_on = excluded.deceased_on, content_mac = excluded.content_mac, \
                     moved_in_from = excluded.moved_in_from, \
                     kana_birth_index = excluded.kana_birth_index, birth_index = excluded.birth_index, \
                     kanji_birth_index = excluded.kanji_birth_index, updated_at = excluded.updated_at"
                ),
                params![
                    scope.as_str(),
                    s.atena,
                    s.my_number_index,
                    s.my_number_enc,
                    s.coupon,
                    s.name_enc,
                    s.name_kana_enc,
                    s.birth_date_enc,
                    s.sex,
                    text_date(s.moved_out_on),
                    text_date(s.deceased_on),
                    s.content_mac,
                    s.moved_in_from,
                    s.kana_birth_index,
                    s.birth_index,
                    s.kanji_birth_index,
                    now
                ],
            )
            .map_err(map_unique)?;
            append_audit_tx(tx, scope.into(), &audit)?;
            Ok(if existing.is_some() { Written::Updated } else { Written::Added })
        })
        .await
    }

    async fn resident(
        &self,
        scope: MunicipalityCode,
        atena: &AtenaNumber,
    ) -> Result<Resident, StoreError> {
        let atena = atena.as_str().to_owned();
        self.read_point(move |conn, keyring| {
            find_resident(conn, keyring, scope, "atena_number", &atena)
        })
        .await
    }

    async fn resident_by_my_number(
        &self,
        scope: MunicipalityCode,
        my_number: &MyNumber,
    ) -> Result<Resident, StoreError> {
        let my_number = my_number.clone();
        self.read_point(move |conn, keyring| {
            let Some(cipher) = load_cipher(conn, keyring, scope)? else {
                return Err(StoreError::NotFound);
            };
            let index = cipher.blind_index(&my_number).to_vec();
            find_resident(conn, keyring, scope, "my_number_index", &index)
        })
        .await
    }

    async fn resident_by_coupon(
        &self,
        scope: MunicipalityCode,
        coupon: &CouponNumber,
    ) -> Result<Resident, StoreError> {
        let coupon = coupon.as_str().to_owned();
        self.read_point(move |conn, keyring| {
            find_resident(conn, keyring, scope, "coupon_number", &coupon)
        })
        .await
    }

    async fn coupon_holder(
        &self,
        scope: MunicipalityCode,
        coupon: &CouponNumber,
    ) -> Result<CouponHolder, StoreError> {
        let coupon = *coupon;
        self.read_point(move |conn, _| holder_tx(conn, scope, coupon))
            .await
    }

    async fn count_residents(&self, scope: MunicipalityCode) -> Result<u64, StoreError> {
        self.read(move |conn, _| {
            let n: i64 = conn.query_row(
                "SELECT count(*) FROM residents WHERE municipality_code = ?1",
                [scope.as_str()],
                |r| r.get(0),
            )?;
            Ok(n.max(0) as u64)
        })
        .await
    }

    async fn residents_by_kana_birth(
        &self,
        scope: MunicipalityCode,
        kana: &KanaName,
        birth_date: NaiveDate,
    ) -> Result<Vec<Resident>, StoreError> {
        let kana = kana.clone();
        self.read(move |conn, keyring| {
            let Some(cipher) = load_cipher(conn, keyring, scope)? else {
                return Ok(Vec::new());
            };
            let index = kana_birth_index(&kana, birth_date, &cipher).to_vec();
            let birth = birth_index(birth_date, &cipher).to_vec();
            let mut stmt = conn.prepare_cached(KANA_BIRTH_SQL)?;
            let atenas = stmt
                .query_map(params![scope.as_str(), index, birth], |r| {
                    r.get::<_, String>(0)
                })?
                .collect::<Result<Vec<_>, _>>()?;
            atenas
                .iter()
                .map(|a| find_resident(conn, keyring, scope, "atena_number", a))
                .collect()
        })
        .await
    }

    async fn residents_born_on(
        &self,
        scope: MunicipalityCode,
        birth_date: NaiveDate,
    ) -> Result<Vec<Resident>, StoreError> {
        self.fill_search_indexes(scope, merge::UNINDEXED_BIRTH_SQL)
            .await?;
        self.read(move |conn, keyring| {
            let Some(cipher) = load_cipher(conn, keyring, scope)? else {
                return Ok(Vec::new());
            };
            let index = birth_index(birth_date, &cipher).to_vec();
            let mut stmt = conn.prepare_cached(BORN_ON_SQL)?;
            let atenas = stmt
                .query_map(params![scope.as_str(), index, BORN_ON_LIMIT as i64], |r| {
                    r.get::<_, String>(0)
                })?
                .collect::<Result<Vec<_>, _>>()?;
            atenas
                .iter()
                .map(|a| find_resident(conn, keyring, scope, "atena_number", a))
                .collect()
        })
        .await
    }

    async fn set_flags(
        &self,
        scope: MunicipalityCode,
        atena: &AtenaNumber,
        moved_out_on: Option<NaiveDate>,
        deceased_on: Option<NaiveDate>,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let atena = atena.as_str().to_owned();
        let audit = audit.clone();
        self.write(move |tx, _| {
            let n = tx.execute(
                "UPDATE residents SET moved_out_on = ?3, deceased_on = ?4, updated_at = ?5 \
                 WHERE municipality_code = ?1 AND atena_number = ?2",
                params![
                    scope.as_str(),
                    atena,
                    text_date(moved_out_on),
                    text_date(deceased_on),
                    timestamp_text(&Utc::now())
                ],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            append_audit_tx(tx, scope.into(), &audit)?;
            Ok(())
        })
        .await
    }

    async fn begin_import(
        &self,
        scope: MunicipalityCode,
    ) -> Result<Box<dyn ResidentImport>, StoreError> {
        let cipher = self.ensure_cipher(scope).await?;
        let path = self.path().to_owned();
        let conn = tokio::task::spawn_blocking(move || -> Result<Connection, StoreError> {
            let conn = Connection::open(&path)?;
            configure(&conn)?;
            // A bounded page cache large enough that the merge's index lookups stay in memory.
            conn.pragma_update(None, "cache_size", -256_000)?;
            conn.execute_batch(STAGING)?;
            conn.execute_batch("PRAGMA temp.cache_size = -128000")?;
            conn.execute_batch("BEGIN IMMEDIATE")?;
            Ok(conn)
        })
        .await??;
        Ok(Box::new(SqliteImport {
            conn: Some(conn),
            scope,
            cipher,
        }))
    }

    async fn delete_resident(
        &self,
        scope: MunicipalityCode,
        atena: &AtenaNumber,
        audit: &AuditEntry,
    ) -> Result<u32, StoreError> {
        let (atena, audit) = (atena.as_str().to_owned(), audit.clone());
        self.write(move |tx, _| {
            let doses = tx.execute(
                "DELETE FROM doses WHERE municipality_code = ?1 AND atena_number = ?2",
                params![scope.as_str(), atena],
            )?;
            let people = tx.execute(
                "DELETE FROM residents WHERE municipality_code = ?1 AND atena_number = ?2",
                params![scope.as_str(), atena],
            )?;
            if people == 0 {
                return Err(StoreError::NotFound);
            }
            append_audit_tx(tx, scope.into(), &audit)?;
            Ok(doses as u32)
        })
        .await
    }

    async fn residents_page(
        &self,
        scope: MunicipalityCode,
        after: Option<&AtenaNumber>,
        limit: u32,
    ) -> Result<Vec<Resident>, StoreError> {
        let after = after.map(|a| a.as_str().to_owned()).unwrap_or_default();
        self.read(move |conn, keyring| {
            let Some(cipher) = load_cipher(conn, keyring, scope)? else {
                return Ok(Vec::new());
            };
            let mut stmt = conn.prepare(&format!(
                "SELECT {RESIDENT_COLUMNS} FROM residents WHERE municipality_code = ?1 \
                 AND atena_number > ?2 ORDER BY atena_number LIMIT ?3"
            ))?;
            let found = stmt
                .query_map(params![scope.as_str(), after, limit], sealed_from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            found
                .into_iter()
                .map(|(mut sealed, moved, deceased)| {
                    sealed.moved_out_on = rows::opt_date(moved.as_deref())?;
                    sealed.deceased_on = rows::opt_date(deceased.as_deref())?;
                    sealed.open(scope, &cipher)
                })
                .collect()
        })
        .await
    }
}
