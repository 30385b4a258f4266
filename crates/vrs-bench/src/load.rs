//! Loading one synthetic area through the store's bulk paths, as `vrs import` stores real data:
//! targets through the bulk import (sealed, checked, one audit entry), doses through
//! `Store::add_doses` on SQLite and one `INSERT … SELECT` per municipality on PostgreSQL (see
//! [`pg_doses`]), with a `doses.import` audit entry either way.
//!
//! The doses: everyone a first dose spread over `spread` days, 9 in 10 a second three weeks later, a
//! third of those a third dose eight months on — about 2.2 doses a person; with the default spread
//! of 440 days third doses end about 700 days into the campaign.

use std::sync::Arc;
use vrs_store::Areas;

use chrono::{Days, NaiveDate};
use vrs_core::Actor;
use vrs_domain::{
    AuditAction, Dose, DoseRecord, DoseSource, LotNumber, MunicipalityCode, Resident,
    VaccineProduct,
};
use vrs_interop::Synthetic;
use vrs_store::{AuditScope, ImportRow, Store};

use crate::{mix, Failure};

/// Rows sealed and staged per batch, doses written per `add_doses` call.
const BATCH: usize = 4_096;
const DOSE_CHUNK: usize = 20_000;

/// One area to load.
#[derive(Clone, Copy, Debug)]
pub struct Area {
    pub code: MunicipalityCode,
    /// Synthetic targets (`Synthetic::new(code, people, seed)`, so `vrs gen targets` and
    /// `vrs-load doses` can name the same people).
    pub people: u64,
    pub seed: u64,
    /// Days over which first doses are spread.
    pub spread: u64,
    /// Whether the area's people get their doses (an area left without them is where a registration
    /// load can run).
    pub doses: bool,
    /// Keep about one person in this many (0: none) for lookups after the load.
    pub sample_every: u64,
}

/// What one area's load wrote.
#[derive(Default)]
pub struct Loaded {
    pub targets: u64,
    pub doses: u64,
    /// The people kept for lookups (about `people / sample_every`, chosen by a hash of the code and
    /// the person's index, so the same seed keeps the same people).
    pub sample: Vec<Resident>,
}

/// Loads one area's targets and (unless `area.doses` is false) their doses. `pg` is the database
/// URL when the store is PostgreSQL.
pub async fn load(
    store: Arc<dyn Store>,
    pg: Option<String>,
    area: Area,
    tool: &str,
) -> Result<Loaded, Failure> {
    let m = area.code;
    let actor = Actor::command_line();
    let mut import = store.area(m).begin_import().await?;
    let sealer = import.sealer();
    let code: u64 = m.as_str().parse()?;
    let keep_sqlite_keys = pg.is_none() && area.doses;
    let mut keys = Vec::with_capacity(if keep_sqlite_keys {
        area.people as usize
    } else {
        0
    });
    let mut sample = Vec::new();
    let mut batch = Vec::with_capacity(BATCH);
    for (i, resident) in Synthetic::new(m, area.people, area.seed).enumerate() {
        if keep_sqlite_keys {
            keys.push((resident.atena.clone(), resident.coupon));
        }
        if area.sample_every > 0 && mix(code << 32 ^ i as u64).is_multiple_of(area.sample_every) {
            sample.push(resident.clone());
        }
        batch.push(ImportRow {
            line: i as u64 + 2,
            resident,
        });
        if batch.len() == BATCH {
            import
                .stage(sealer.seal(std::mem::take(&mut batch))?)
                .await?;
        }
    }
    if !batch.is_empty() {
        import.stage(sealer.seal(batch)?).await?;
    }
    let refused: Vec<u64> = import.check().await?.into_iter().map(|(l, _)| l).collect();
    let summary = import
        .commit(&refused, actor.audit(AuditAction::TargetsImport, tool))
        .await?;
    let mut loaded = Loaded {
        targets: summary.added,
        doses: 0,
        sample,
    };
    if !area.doses {
        return Ok(loaded);
    }
    if let Some(url) = pg {
        loaded.doses = pg_doses(&store, &url, m, area.spread, tool).await?;
        return Ok(loaded);
    }

    let comirnaty = VaccineProduct::by_code("comirnaty").ok_or("no comirnaty")?;
    let spikevax = VaccineProduct::by_code("spikevax").ok_or("no spikevax")?;
    let lots = ["FA4597", "FC3661", "FF2018", "EY0779"]
        .map(|l| LotNumber::parse(l).map_err(|e| e.to_string()));
    let start = NaiveDate::from_ymd_opt(2021, 3, 1).ok_or("date")?;
    let mut doses = Vec::with_capacity(DOSE_CHUNK);
    let audit = actor.audit(AuditAction::DosesImport, tool);
    for (i, (atena, coupon)) in keys.into_iter().enumerate() {
        if refused.contains(&(i as u64 + 2)) {
            continue;
        }
        let first = start + Days::new((i as u64).wrapping_mul(7_919) % area.spread.max(1));
        let second = i % 10 != 0;
        let dates = [
            Some(first),
            second.then(|| first + Days::new(21)),
            (second && i % 3 == 0).then(|| first + Days::new(21 + 240)),
        ];
        for (n, day) in dates.into_iter().enumerate() {
            let Some(day) = day else { continue };
            let dose = Dose {
                municipality: m,
                atena: atena.clone(),
                dose_number: vrs_domain::DoseNumber::from_int(n + 1)?,
                administered_on: day,
                product: if n == 2 && i % 2 == 0 {
                    spikevax
                } else {
                    comirnaty
                },
                lot_number: lots[(i + n) % 4].clone()?,
                site_municipality: m,
                coupon,
            };
            doses.push(DoseRecord::now(dose, DoseSource::Csv));
        }
        if doses.len() >= DOSE_CHUNK {
            store.area(m).add_doses(&doses, tool, &audit).await?;
            loaded.doses += doses.len() as u64;
            doses.clear();
        }
    }
    if !doses.is_empty() {
        store.area(m).add_doses(&doses, tool, &audit).await?;
        loaded.doses += doses.len() as u64;
    }
    Ok(loaded)
}

/// The same doses on PostgreSQL, written by one `INSERT … SELECT` over the area's residents (in
/// 宛名番号 order rather than the generator's, so the same counts), with one audit entry: through
/// `Store::add_doses`, one round trip a dose, PostgreSQL took about 20 minutes for 10 M doses here.
pub async fn pg_doses(
    store: &Arc<dyn Store>,
    url: &str,
    m: MunicipalityCode,
    spread: u64,
    tool: &str,
) -> Result<u64, Failure> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let written = client
        .execute(
            "INSERT INTO doses (municipality_code, atena_number, dose_number, administered_on, product_code, \
             lot_number, site_municipality_code, coupon_number, recorded_at, source, recorded_by) \
             SELECT r.municipality_code, r.atena_number, n, \
               DATE '2021-03-01' + ((r.i * 7919) % $2)::int + (CASE n WHEN 1 THEN 0 WHEN 2 THEN 21 ELSE 261 END), \
               CASE WHEN n = 3 AND r.i % 2 = 0 THEN 'spikevax' ELSE 'comirnaty' END, \
               (ARRAY['FA4597','FC3661','FF2018','EY0779'])[((r.i + n - 1) % 4)::int + 1], \
               r.municipality_code, r.coupon_number, now(), 'csv', $3 \
             FROM (SELECT municipality_code, atena_number, coupon_number, \
                     row_number() OVER (ORDER BY atena_number) - 1 AS i \
                   FROM residents WHERE municipality_code = $1) r \
             CROSS JOIN generate_series(1, 3) n \
             WHERE n = 1 OR (r.i % 10 <> 0 AND (n = 2 OR r.i % 3 = 0))",
            &[&m.as_str(), &i64::try_from(spread.max(1))?, &tool],
        )
        .await?;
    store
        .append_audit(
            AuditScope::Area(m),
            &Actor::command_line().audit(AuditAction::DosesImport, tool),
        )
        .await?;
    Ok(written)
}
