//! A municipality's provision records (情報提供等の記録): what it asked others and what others were
//! given of its records. Reading and downloading them is audited; no record holds a My Number.

use vrs_domain::{AuditAction, MunicipalityCode, VaccineProduct};
use vrs_interop::{CsvWriter, Encoding};
use vrs_store::Areas;
use vrs_store::{AuditStore, InquiryStore, ProvisionFilter, ProvisionRecord, StoreError};

use crate::Actor;

/// The area's provision records matching `filter`, audited as a read of the records.
pub async fn provisions_of(
    store: &(impl AuditStore + InquiryStore + ?Sized),
    actor: &Actor,
    scope: MunicipalityCode,
    filter: &ProvisionFilter,
) -> Result<Vec<ProvisionRecord>, StoreError> {
    let records = store.area(scope).provision_records(filter).await?;
    let audit = actor
        .audit(AuditAction::ProvisionRead, scope.as_str())
        .with_detail(format!(
            "side={} records={}",
            filter.side.map_or("both", |s| s.as_str()),
            records.len()
        ));
    store.append_audit(scope.into(), &audit).await?;
    Ok(records)
}

/// The columns of the provision-record download.
pub const PROVISION_HEADER: [&str; 13] = [
    "照会番号",
    "区分",
    "日時",
    "相手自治体コード",
    "相手自治体名",
    "照会者",
    "端末",
    "同意の根拠",
    "宛名番号",
    "結果",
    "提供した接種回",
    "提供内容",
    "件数",
];

/// Japan Standard Time, as municipal staff read times.
fn jst(at: chrono::DateTime<chrono::Utc>) -> String {
    (at + chrono::Duration::hours(9))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// One row per record: what was asked or provided, the doses summarised (date, product, lot).
pub fn provision_csv(records: &[ProvisionRecord], encoding: Encoding) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut w = CsvWriter::start(&mut out, encoding, &PROVISION_HEADER)?;
    for r in records {
        let numbers: Vec<String> = r.doses.iter().map(|d| d.dose_number.to_string()).collect();
        let content: Vec<String> = r
            .doses
            .iter()
            .map(|d| {
                let product = VaccineProduct::by_code(&d.product_code)
                    .map_or(d.product_code.as_str(), |p| p.name_ja);
                format!(
                    "{}回目 {} {} {} 券{} 接種地{}",
                    d.dose_number,
                    d.administered_on,
                    product,
                    d.lot_number,
                    d.coupon.as_str(),
                    d.site_municipality
                )
            })
            .collect();
        let row = [
            r.inquiry_id.clone(),
            r.side.label_ja().to_owned(),
            jst(r.at),
            r.counterpart.to_string(),
            r.counterpart.info().name.to_owned(),
            r.actor.clone(),
            r.terminal.clone(),
            r.consent.label_ja().to_owned(),
            r.atena
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            if r.found {
                "該当あり"
            } else {
                "該当なし"
            }
            .to_owned(),
            numbers.join(","),
            content.join(" / "),
            r.doses.len().to_string(),
        ];
        w.row(&r.inquiry_id, &row)?;
    }
    w.finish()?;
    Ok(out)
}
