//! Deleting what a municipality manages: one person, or (at the end of the programme, on the
//! municipality's recorded consent) its whole area, whose keys are destroyed so that no copy of its
//! rows, old backups included, can be read again.

use vrs_domain::{AtenaNumber, AuditAction, MunicipalityCode};
use vrs_store::Areas;
use vrs_store::{AccountStore, BackupStore, ResidentStore, ShredRecord, StoreError};

use crate::{Actor, Role};

#[derive(Debug, thiserror::Error)]
pub enum ShredError {
    #[error("user {0} is not an administrator of municipality {1}; consent to destroy an area is given by the municipality's own administrator")]
    NotTheAdministrator(String, MunicipalityCode),
    #[error(
        "the consent reference must be given (the number of the municipality's written decision)"
    )]
    NoReference,
    #[error("municipality {0} has not consented to the destruction of its area (record it with `vrs area consent`)")]
    NoConsent(MunicipalityCode),
    #[error("a reason must be given")]
    NoReason,
    #[error("{0} has no resident with 宛名番号 {1}")]
    NoSuchPerson(MunicipalityCode, AtenaNumber),
    #[error(transparent)]
    Store(StoreError),
}

/// Records the municipality's consent, given by its administrator `by` under `reference`.
pub async fn consent(
    store: &(impl AccountStore + BackupStore + ?Sized),
    code: MunicipalityCode,
    by: &str,
    reference: &str,
    actor: &Actor,
) -> Result<(), ShredError> {
    let reference = reference.trim();
    if reference.is_empty() {
        return Err(ShredError::NoReference);
    }
    let found = match vrs_domain::UserId::parse(by) {
        Ok(user_id) => store.account(&user_id).await,
        Err(_) => Err(StoreError::NotFound),
    };
    let account = found.map_err(|e| match e {
        StoreError::NotFound => ShredError::NotTheAdministrator(by.to_owned(), code),
        other => ShredError::Store(other),
    })?;
    let is_admin = account.role == Role::MunicipalAdmin
        && account.municipality == Some(code)
        && !account.disabled;
    if !is_admin {
        return Err(ShredError::NotTheAdministrator(by.to_owned(), code));
    }
    let mut entry = actor
        .audit(AuditAction::AreaDeleteConsent, code.as_str())
        .with_detail(format!("reference {reference}"));
    entry.actor = account.user_id.into_string();
    entry.role = account.role.as_str().to_owned();
    store
        .area(code)
        .consent_to_shred(reference, &entry)
        .await
        .map_err(ShredError::Store)
}

/// Destroys the municipality's area (operator's action); the record says what was deleted.
pub async fn shred(
    store: &(impl BackupStore + ?Sized),
    code: MunicipalityCode,
    actor: &Actor,
) -> Result<ShredRecord, ShredError> {
    let entry = actor.audit(AuditAction::AreaDelete, code.as_str());
    store
        .area(code)
        .shred_area(&entry)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ShredError::NoConsent(code),
            other => ShredError::Store(other),
        })
}

/// Deletes one person's record and doses, with the reason in the audit entry.
pub async fn delete_person(
    store: &(impl ResidentStore + ?Sized),
    code: MunicipalityCode,
    atena: &AtenaNumber,
    reason: &str,
    actor: &Actor,
) -> Result<u32, ShredError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(ShredError::NoReason);
    }
    let entry = actor
        .audit(AuditAction::PersonDelete, &format!("{code}/{atena}"))
        .with_detail(format!("reason: {reason}"));
    store
        .area(code)
        .delete_resident(atena, &entry)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => ShredError::NoSuchPerson(code, atena.clone()),
            other => ShredError::Store(other),
        })
}
