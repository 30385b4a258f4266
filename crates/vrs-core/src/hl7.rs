//! HL7 v2.5.1 exchanges (CDC immunization guide): a `VXU^V04` adds a person's doses, all or none,
//! under the same rules and audit as every other entry point, and is answered with an `ACK`; a
//! `QBP^Q11` (Z34) is answered with the person's complete history in an `RSP^K11`. The caller's
//! municipality comes from its session (or the MLLP listener's account), never from the message: a
//! person of another municipality is answered as unknown.

use chrono::NaiveDate;
use vrs_domain::{AuditAction, DoseSource, Function, MunicipalityCode, QualityRule, Resident};
use vrs_interop::hl7_messages::{
    ack, header_of, read, rsp, AckCode, Header, Incoming, PatientIds, PersonKey, Problem, Refusal,
    VxuDose,
};
use vrs_store::Areas;
use vrs_store::{
    AuditStore, CertificateStore, DoseStore, GovernanceStore, ResidentStore, StoreError,
};

use crate::access::{decide, Action, Principal, Target};
use crate::doses::batch::{BatchError, DoseBatch};
use crate::governance::{ensure_running, GovernanceError};
use crate::Actor;

/// Answers one message (ER7 text) with one message; never fails: a store error becomes an AE with
/// code 207 and nothing stored.
pub async fn answer(
    store: &(impl AuditStore + CertificateStore + DoseStore + GovernanceStore + ResidentStore + ?Sized),
    principal: &Principal,
    actor: &Actor,
    text: &str,
    today: NaiveDate,
) -> String {
    let own = principal.municipality;
    let permits = |action: Action| {
        let target = match action {
            Action::ReadPerson => own.map(|home| Target::Person { home }),
            _ => own.map(Target::Municipality),
        };
        target.is_some_and(|t| decide(principal, action, &t).is_allowed())
    };
    let reply = match read(text) {
        Err(Refusal::Reject(header, problems)) => {
            ack(header.as_deref(), AckCode::Reject, &problems)
        }
        Err(Refusal::Error(header, problems)) => ack(Some(&*header), AckCode::Error, &problems),
        Ok(Incoming::Vxu {
            header,
            patient,
            doses,
        }) => {
            let outcome = match own.filter(|_| permits(Action::ImportDoses)) {
                Some(own) => add_doses(store, actor, own, &header, &patient, &doses, today).await,
                None => Err(vec![refused("VXU", "adding doses")]),
            };
            match outcome {
                Ok(()) => ack(Some(&header), AckCode::Accept, &[]),
                Err(problems) => ack(Some(&header), AckCode::Error, &problems),
            }
        }
        Ok(Incoming::Query {
            header,
            tag,
            patient,
        }) => match own.filter(|_| permits(Action::ReadPerson)) {
            None => ack(
                Some(&header),
                AckCode::Reject,
                &[refused("QPD", "reading records")],
            ),
            // An identifier alone would let a sender walk 宛名番号 1, 2, 3…: a query names the
            // person by an identifier and the birth date (QPD-6), or is refused.
            Some(_) if patient.birth_date.is_none() => ack(
                Some(&header),
                AckCode::Error,
                &[Problem::new(
                    "QPD",
                    1,
                    6,
                    101,
                    "the birth date (QPD-6) is required: a query names the person by an identifier and the birth date",
                )],
            ),
            Some(own) => match history(store, actor, own, &patient).await {
                Ok(found) => rsp(
                    &header,
                    &tag,
                    &patient,
                    found.as_ref().map(|(p, d)| (p, d.as_slice())),
                ),
                Err(e) => ack(Some(&header), AckCode::Error, &[internal(&e)]),
            },
        },
    };
    reply.to_er7()
}

/// The AR for bytes that are not UTF-8 text; MSA-2 echoes the control id when the MSH can be read.
pub fn not_text(message: &[u8]) -> String {
    let problem = Problem::new("MSH", 1, 0, 102, "the message is not UTF-8 text");
    ack(header_of(message).as_ref(), AckCode::Reject, &[problem]).to_er7()
}

/// The AR when the listener's account is missing or disabled; MSA-2 echoes the control id when
/// the MSH can be read.
pub fn unavailable(message: &[u8]) -> String {
    let problem = Problem::new("MSH", 1, 0, 207, "the receiving account is not in service");
    ack(header_of(message).as_ref(), AckCode::Reject, &[problem]).to_er7()
}

/// The AR for a message the HTTP edge did not let in (no session or token, not allowed, not ER7),
/// with the reason; MSA-2 echoes the control id when the MSH can be read.
pub fn not_admitted(message: &[u8], reason: &str) -> String {
    let problem = Problem::new("MSH", 1, 0, 207, reason);
    ack(header_of(message).as_ref(), AckCode::Reject, &[problem]).to_er7()
}

/// The AR for a message longer than `limit` bytes, of which only `start` was read; MSA-2 echoes
/// the control id when the MSH ends within `start`.
pub fn too_long(start: &[u8], limit: usize) -> String {
    let problem = Problem::new(
        "MSH",
        1,
        0,
        207,
        &format!("the message is longer than {limit} bytes; none of it was processed"),
    );
    let header = start
        .iter()
        .skip_while(|b| matches!(b, b'\r' | b'\n' | b' '))
        .any(|b| matches!(b, b'\r' | b'\n'))
        .then(|| header_of(start))
        .flatten();
    ack(header.as_ref(), AckCode::Reject, &[problem]).to_er7()
}

fn refused(segment: &str, what: &str) -> Problem {
    Problem::new(
        segment,
        1,
        0,
        207,
        &format!("this account is not allowed {what}"),
    )
}

fn internal(e: &StoreError) -> Problem {
    tracing::error!(error = %e, "hl7: store error");
    Problem::new(
        "MSH",
        1,
        0,
        207,
        "the record could not be stored or read; try again",
    )
}

fn unknown_person() -> Problem {
    Problem::new(
        "PID",
        1,
        3,
        204,
        "no person with this identifier in the municipality",
    )
}

/// The person the identifiers name, in the caller's own municipality only.
async fn find(
    store: &(impl ResidentStore + ?Sized),
    own: MunicipalityCode,
    key: &PersonKey,
) -> Result<Option<Resident>, StoreError> {
    if key.municipality() != own {
        return Ok(None);
    }
    let found = match key {
        PersonKey::Atena(_, atena) => store.area(own).resident(atena).await,
        PersonKey::Coupon(_, coupon) => store.area(own).resident_by_coupon(coupon).await,
    };
    match found {
        Ok(p) => Ok(Some(p)),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Birth date and sex, when given, must be the record's.
fn matches_record(
    patient: &PatientIds,
    person: &Resident,
    segment: &str,
    fields: (usize, usize),
) -> Vec<Problem> {
    let mut problems = Vec::new();
    if patient.birth_date.is_some_and(|d| d != person.birth_date) {
        problems.push(Problem::new(
            segment,
            1,
            fields.0,
            204,
            "the birth date does not match the record",
        ));
    }
    if patient.sex.is_some_and(|s| s != person.sex) {
        problems.push(Problem::new(
            segment,
            1,
            fields.1,
            204,
            "the sex does not match the record",
        ));
    }
    problems
}

async fn add_doses(
    store: &(impl CertificateStore + DoseStore + GovernanceStore + ResidentStore + ?Sized),
    actor: &Actor,
    own: MunicipalityCode,
    header: &Header,
    patient: &PatientIds,
    doses: &[VxuDose],
    today: NaiveDate,
) -> Result<(), Vec<Problem>> {
    match ensure_running(store, Function::Import).await {
        Ok(()) => {}
        Err(GovernanceError::Stopped(s)) => {
            return Err(vec![Problem::new("MSH", 1, 0, 207, &s.to_string())]);
        }
        Err(e) => return Err(vec![Problem::new("MSH", 1, 0, 207, &e.to_string())]),
    }
    let Some(person) = find(store, own, &patient.key)
        .await
        .map_err(|e| vec![internal(&e)])?
    else {
        return Err(vec![unknown_person()]);
    };
    let mismatch = matches_record(patient, &person, "PID", (7, 8));
    if !mismatch.is_empty() {
        return Err(mismatch);
    }
    let mut batch = DoseBatch::new(own, today);
    let mut problems = Vec::new();
    for d in doses {
        let record = vrs_domain::DoseRecord {
            dose: vrs_domain::Dose {
                municipality: own,
                atena: person.atena.clone(),
                dose_number: d.dose_number,
                administered_on: d.administered_on,
                product: d.product,
                lot_number: d.lot_number.clone(),
                site_municipality: own,
                coupon: person.coupon,
            },
            venue: d.venue.clone(),
            doctor: d.doctor.clone(),
            recorded_at: chrono::Utc::now(),
            source: DoseSource::Hl7,
            received_from: None,
        };
        let rules = batch
            .check(store, record)
            .await
            .map_err(|e| vec![internal(&e)])?;
        if !rules.is_empty() {
            let reason = rules
                .iter()
                .map(|r| r.message_en())
                .collect::<Vec<_>>()
                .join(" ");
            problems.push(Problem::new("RXA", d.occurrence, 0, 207, &reason));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let origin = format!(
        "HL7 VXU {} from {}^{}",
        header.control_id, header.sending_application, header.sending_facility
    );
    match batch.store(store, actor, &origin).await {
        Ok(_) => Ok(()),
        Err(BatchError::Taken) => Err(vec![Problem::new(
            "RXA",
            1,
            0,
            207,
            QualityRule::DoseNumberTaken.message_en(),
        )]),
        Err(BatchError::Store(e)) => Err(vec![internal(&e)]),
    }
}

async fn history(
    store: &(impl AuditStore + DoseStore + ResidentStore + ?Sized),
    actor: &Actor,
    own: MunicipalityCode,
    patient: &PatientIds,
) -> Result<Option<(Resident, Vec<vrs_domain::DoseRecord>)>, StoreError> {
    let Some(person) = find(store, own, &patient.key).await? else {
        return Ok(None);
    };
    if !matches_record(patient, &person, "QPD", (6, 7)).is_empty() {
        return Ok(None);
    }
    let doses = store.area(own).doses_of(&person.atena).await?;
    let audit = actor
        .audit(AuditAction::PersonRead, person.atena.as_str())
        .with_detail(format!("HL7 Z34 query: {} doses", doses.len()));
    store.append_audit(own.into(), &audit).await?;
    Ok(Some((person, doses)))
}
