//! Residents on PostgreSQL: written with their audit entry, read by 宛名番号, by My Number through the
//! blind index, by coupon or by kana and birth date; flags, bulk imports, paging and deletion.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDate;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;
use vrs_crypto::FieldCipher;
use vrs_domain::{AtenaNumber, CouponNumber, KanaName, MunicipalityCode, MyNumber, Resident};

use super::{append_audit_tx, map_db, sealed_from_row, KeyParam, PostgresStore, RESIDENT_COLUMNS};
use crate::audit::AuditEntry;
use crate::merge;
use crate::residents::{BORN_ON_LIMIT, KANA_BIRTH_WHERE};
use crate::sealed::{birth_index, content_mac, kana_birth_index, SealedResident};
use crate::{CouponHolder, InArea, ResidentImport, ResidentStore, StoreError, Written};

#[async_trait]
impl ResidentStore for PostgresStore {
    async fn put_resident(
        &self,
        resident: InArea<'_, Resident>,
        audit: &AuditEntry,
    ) -> Result<Written, StoreError> {
        let (scope, resident) = (resident.code(), resident.get());
        let mut client = self.pool.get().await?;
        let Some(cipher) = self.cipher(&client, scope, true).await? else {
            return Err(StoreError::Other("no data key".into()));
        };
        let mac = content_mac(resident, &cipher);
        let tx = client.transaction().await?;
        let existing = tx
            .query_opt(
                "SELECT content_mac, moved_out_on, deceased_on FROM residents \
                 WHERE municipality_code = $1 AND atena_number = $2 FOR UPDATE",
                &[&scope.as_str(), &resident.atena.as_str()],
            )
            .await?;
        if let Some(row) = &existing {
            let stored_mac: Vec<u8> = row.get(0);
            let flags: (Option<chrono::NaiveDate>, Option<chrono::NaiveDate>) =
                (row.get(1), row.get(2));
            if stored_mac[..] == mac[..] && flags == (resident.moved_out_on, resident.deceased_on) {
                return Ok(Written::Unchanged);
            }
        }
        let s = SealedResident::seal(resident, &cipher)?;
        let stmt = tx
            .prepare_cached(&format!(
                "INSERT INTO residents (municipality_code, {RESIDENT_COLUMNS}, kana_birth_index, birth_index, \
                 kanji_birth_index, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, now()) \
                 ON CONFLICT (municipality_code, atena_number) DO UPDATE SET \
                 my_number_index = excluded.my_number_index, my_number_enc = excluded.my_number_enc, \
                 coupon_number = excluded.coupon_number, name_enc = excluded.name_enc, \
                 name_kana_enc = excluded.name_kana_enc, birth_date_enc = excluded.birth_date_enc, \
                 sex = excluded.sex, moved_out_on = excluded.moved_out_on, \
                 deceased_on = excluded.deceased_on, content_mac = excluded.content_mac, \
                 moved_in_from = excluded.moved_in_from, \
                 kana_birth_index = excluded.kana_birth_index, birth_index = excluded.birth_index, \
                 kanji_birth_index = excluded.kanji_birth_index, updated_at = excluded.updated_at"
            ))
            .await?;
        tx.execute(
            &stmt,
            &[
                &scope.as_str(),
                &s.atena,
                &s.my_number_index,
                &s.my_number_enc,
                &s.coupon,
                &s.name_enc,
                &s.name_kana_enc,
                &s.birth_date_enc,
                &i16::from(s.sex),
                &s.moved_out_on,
                &s.deceased_on,
                &s.content_mac,
                &s.moved_in_from,
                &s.kana_birth_index,
                &s.birth_index,
                &s.kanji_birth_index,
            ],
        )
        .await
        .map_err(map_db)?;
        append_audit_tx(&tx, scope.into(), audit).await?;
        tx.commit().await?;
        Ok(if existing.is_some() {
            Written::Updated
        } else {
            Written::Added
        })
    }

    async fn resident(
        &self,
        scope: MunicipalityCode,
        atena: &AtenaNumber,
    ) -> Result<Resident, StoreError> {
        self.find_resident(scope, "atena_number", KeyParam::Text(atena.as_str()))
            .await
    }

    async fn resident_by_my_number(
        &self,
        scope: MunicipalityCode,
        my_number: &MyNumber,
    ) -> Result<Resident, StoreError> {
        self.find_resident(scope, "my_number_index", KeyParam::MyNumber(my_number))
            .await
    }

    async fn resident_by_coupon(
        &self,
        scope: MunicipalityCode,
        coupon: &CouponNumber,
    ) -> Result<Resident, StoreError> {
        self.find_resident(scope, "coupon_number", KeyParam::Text(coupon.as_str()))
            .await
    }

    async fn coupon_holder(
        &self,
        scope: MunicipalityCode,
        coupon: &CouponNumber,
    ) -> Result<CouponHolder, StoreError> {
        let client = self.pool.get().await?;
        let stmt = client
            .prepare_cached(
                "SELECT atena_number, moved_out_on, deceased_on FROM residents \
                 WHERE municipality_code = $1 AND coupon_number = $2",
            )
            .await?;
        let r = client
            .query_opt(&stmt, &[&scope.as_str(), &coupon.as_str()])
            .await?
            .ok_or(StoreError::NotFound)?;
        let atena: String = r.get(0);
        Ok(CouponHolder {
            municipality: scope,
            atena: AtenaNumber::parse(&atena)
                .map_err(|_| StoreError::Corrupt(format!("atena_number {atena:?}")))?,
            coupon: *coupon,
            moved_out_on: r.get(1),
            deceased_on: r.get(2),
        })
    }

    async fn count_residents(&self, scope: MunicipalityCode) -> Result<u64, StoreError> {
        let client = self.pool.get().await?;
        let n: i64 = client
            .query_one(
                "SELECT count(*) FROM residents WHERE municipality_code = $1",
                &[&scope.as_str()],
            )
            .await?
            .get(0);
        Ok(n.max(0) as u64)
    }

    async fn residents_by_kana_birth(
        &self,
        scope: MunicipalityCode,
        kana: &KanaName,
        birth_date: NaiveDate,
    ) -> Result<Vec<Resident>, StoreError> {
        let client = self.pool.get().await?;
        let Some(cipher) = self.cipher(&client, scope, false).await? else {
            return Ok(Vec::new());
        };
        let index = kana_birth_index(kana, birth_date, &cipher).to_vec();
        let birth = birth_index(birth_date, &cipher).to_vec();
        let sql = format!("SELECT {RESIDENT_COLUMNS} FROM residents WHERE {KANA_BIRTH_WHERE}");
        let stmt = client.prepare_cached(&sql).await?;
        client
            .query(&stmt, &[&scope.as_str(), &index, &birth])
            .await?
            .iter()
            .map(|r| sealed_from_row(r)?.open(scope, &cipher))
            .collect()
    }

    async fn residents_born_on(
        &self,
        scope: MunicipalityCode,
        birth_date: NaiveDate,
    ) -> Result<Vec<Resident>, StoreError> {
        let Some((mut rows, mut cipher)) = self.born_on_rows(scope, birth_date).await? else {
            return Ok(Vec::new());
        };
        if rows.first().is_some_and(|r| r.get(UNINDEXED)) {
            self.fill_search_indexes(scope, merge::UNINDEXED_BIRTH_SQL)
                .await?;
            let Some(again) = self.born_on_rows(scope, birth_date).await? else {
                return Ok(Vec::new());
            };
            (rows, cipher) = again;
        }
        rows.iter()
            .filter(|r| !r.get::<_, bool>(UNINDEXED))
            .map(|r| sealed_from_row(r)?.open(scope, &cipher))
            .collect()
    }

    async fn set_flags(
        &self,
        scope: MunicipalityCode,
        atena: &AtenaNumber,
        moved_out_on: Option<NaiveDate>,
        deceased_on: Option<NaiveDate>,
        audit: &AuditEntry,
    ) -> Result<(), StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let n = tx
            .execute(
                "UPDATE residents SET moved_out_on = $3, deceased_on = $4, updated_at = now() \
                 WHERE municipality_code = $1 AND atena_number = $2",
                &[
                    &scope.as_str(),
                    &atena.as_str(),
                    &moved_out_on,
                    &deceased_on,
                ],
            )
            .await?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        append_audit_tx(&tx, scope.into(), audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn begin_import(
        &self,
        scope: MunicipalityCode,
    ) -> Result<Box<dyn ResidentImport>, StoreError> {
        self.begin_import_postgres(scope).await
    }

    async fn delete_resident(
        &self,
        scope: MunicipalityCode,
        atena: &AtenaNumber,
        audit: &AuditEntry,
    ) -> Result<u32, StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        let key: [&(dyn ToSql + Sync); 2] = [&scope.as_str(), &atena.as_str()];
        let doses = tx
            .execute(
                "DELETE FROM doses WHERE municipality_code = $1 AND atena_number = $2",
                &key,
            )
            .await?;
        let people = tx
            .execute(
                "DELETE FROM residents WHERE municipality_code = $1 AND atena_number = $2",
                &key,
            )
            .await?;
        if people == 0 {
            return Err(StoreError::NotFound);
        }
        append_audit_tx(&tx, scope.into(), audit).await?;
        tx.commit().await?;
        Ok(doses as u32)
    }

    async fn residents_page(
        &self,
        scope: MunicipalityCode,
        after: Option<&AtenaNumber>,
        limit: u32,
    ) -> Result<Vec<Resident>, StoreError> {
        let client = self.pool.get().await?;
        let Some(cipher) = self.cipher(&client, scope, false).await? else {
            return Ok(Vec::new());
        };
        let after = after.map(AtenaNumber::as_str).unwrap_or("");
        let found = client
            .query(
                &format!(
                    "SELECT {RESIDENT_COLUMNS} FROM residents WHERE municipality_code = $1 \
                     AND atena_number > $2 ORDER BY atena_number LIMIT $3"
                ),
                &[&scope.as_str(), &after, &i64::from(limit)],
            )
            .await?;
        found
            .iter()
            .map(|r| sealed_from_row(r)?.open(scope, &cipher))
            .collect()
    }
}

/// The column of [`PostgresStore::born_on_rows`] saying a row has no birth date's index yet.
const UNINDEXED: usize = 12;

impl PostgresStore {
    /// One query for the people of the area born on `birth_date` and, first, any row stored
    /// before the birth date's index (it has none yet, so it cannot be judged): the caller indexes
    /// the area only when there is one, instead of asking before every search. `None` when the
    /// area has no key (no one was ever stored).
    async fn born_on_rows(
        &self,
        scope: MunicipalityCode,
        birth_date: NaiveDate,
    ) -> Result<Option<(Vec<Row>, Arc<FieldCipher>)>, StoreError> {
        let client = self.pool.get().await?;
        let Some(cipher) = self.cipher(&client, scope, false).await? else {
            return Ok(None);
        };
        let index = birth_index(birth_date, &cipher).to_vec();
        let sql = format!(
            "SELECT {RESIDENT_COLUMNS}, birth_index IS NULL FROM residents \
             WHERE municipality_code = $1 AND (birth_index = $2 OR birth_index IS NULL) \
             ORDER BY birth_index IS NULL DESC, atena_number LIMIT $3"
        );
        let stmt = client.prepare_cached(&sql).await?;
        let limit = BORN_ON_LIMIT as i64;
        let rows = client
            .query(&stmt, &[&scope.as_str(), &index, &limit])
            .await?;
        Ok(Some((rows, cipher)))
    }
}
