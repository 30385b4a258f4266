//! Residents as the database holds them: personal fields sealed with the municipality's data key,
//! bound to their column and row (the 宛名番号), and the My Number reduced to its blind index.
//! Both backends store and load exactly this shape, so encryption happens in one place.

use chrono::NaiveDate;
use vrs_crypto::FieldCipher;
use vrs_domain::{
    AtenaNumber, CouponNumber, KanaName, MunicipalityCode, MyNumber, PersonName, Resident, Sex,
};

use crate::StoreError;

pub const MY_NUMBER: &str = "residents.my_number";
pub const NAME: &str = "residents.name";
pub const NAME_KANA: &str = "residents.name_kana";
pub const BIRTH_DATE: &str = "residents.birth_date";

/// One `residents` row.
#[derive(Clone, Debug)]
pub struct SealedResident {
    pub atena: String,
    pub my_number_index: Vec<u8>,
    pub my_number_enc: Vec<u8>,
    pub coupon: String,
    pub name_enc: Vec<u8>,
    pub name_kana_enc: Vec<u8>,
    pub birth_date_enc: Vec<u8>,
    pub sex: u8,
    pub moved_out_on: Option<NaiveDate>,
    pub deceased_on: Option<NaiveDate>,
    /// The municipality moved in from (a plain code, like the flags: it names a place, not a
    /// person).
    pub moved_in_from: Option<String>,
    pub content_mac: Vec<u8>,
    pub kana_birth_index: Vec<u8>,
    /// The birth date's own search index, for staff searching by part of a name within one birth
    /// date.
    pub birth_index: Vec<u8>,
    /// The search index of the kanji name and birth date, for the duplicate scan's kanji signal.
    pub kanji_birth_index: Vec<u8>,
}

/// The search index of a birth date alone: the key to the few people of an area born that day, whose
/// names are then opened and matched in part (a name's fragment is never indexed).
pub fn birth_index(birth_date: NaiveDate, cipher: &FieldCipher) -> [u8; 32] {
    cipher.search_index("birth", birth_date.to_string().as_bytes())
}

/// The search index of a kana name and birth date: spaces (half- and full-width) are ignored, so
/// 「サイジョウ　ハナコ」 and 「サイジョウハナコ」 find the same person.
pub fn kana_birth_index(kana: &KanaName, birth_date: NaiveDate, cipher: &FieldCipher) -> [u8; 32] {
    let mut text: String = kana
        .as_str()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    text.push('|');
    text.push_str(&birth_date.to_string());
    cipher.search_index("kana_birth", text.as_bytes())
}

/// The search index of a kanji name and birth date, spaces (half- and full-width) ignored like
/// [`kana_birth_index`]'s: people sharing it under two 宛名番号 but with different kana indexes
/// are the duplicate scan's kanji signal, found without opening a name.
pub fn kanji_birth_index(
    name: &PersonName,
    birth_date: NaiveDate,
    cipher: &FieldCipher,
) -> [u8; 32] {
    let mut text: String = name
        .as_str()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    text.push('|');
    text.push_str(&birth_date.to_string());
    cipher.search_index("kanji_birth", text.as_bytes())
}

/// The keyed hash of what the resident registry says of a person (not the flags staff set), to tell
/// "unchanged" from "updated" without decrypting.
pub fn content_mac(resident: &Resident, cipher: &FieldCipher) -> [u8; 32] {
    let parts = [
        resident.atena.as_str().to_owned(),
        resident.my_number.expose().to_owned(),
        resident.coupon.as_str().to_owned(),
        resident.name.as_str().to_owned(),
        resident.name_kana.as_str().to_owned(),
        resident.birth_date.to_string(),
        resident.sex.code().to_string(),
    ];
    let mut bytes = Vec::with_capacity(128);
    for p in &parts {
        bytes.extend_from_slice(&(p.len() as u32).to_be_bytes());
        bytes.extend_from_slice(p.as_bytes());
    }
    // Only when the registry says it, so the rows of people it says nothing of keep their value.
    if let Some(from) = resident.moved_in_from {
        bytes.extend_from_slice(b"moved_in_from");
        bytes.extend_from_slice(from.as_str().as_bytes());
    }
    cipher.content_mac(&bytes)
}

impl SealedResident {
    /// Seals a resident for its municipality's area.
    pub fn seal(resident: &Resident, cipher: &FieldCipher) -> Result<Self, StoreError> {
        let row = resident.atena.as_str();
        let seal = |column: &str, plain: &[u8]| {
            cipher
                .seal(column, row, plain)
                .map_err(|e| StoreError::Other(e.to_string()))
        };
        Ok(Self {
            atena: row.to_owned(),
            my_number_index: cipher.blind_index(&resident.my_number).to_vec(),
            my_number_enc: seal(MY_NUMBER, resident.my_number.expose().as_bytes())?,
            coupon: resident.coupon.as_str().to_owned(),
            name_enc: seal(NAME, resident.name.as_str().as_bytes())?,
            name_kana_enc: seal(NAME_KANA, resident.name_kana.as_str().as_bytes())?,
            birth_date_enc: seal(BIRTH_DATE, resident.birth_date.to_string().as_bytes())?,
            sex: resident.sex.code(),
            moved_out_on: resident.moved_out_on,
            deceased_on: resident.deceased_on,
            moved_in_from: resident.moved_in_from.map(|c| c.as_str().to_owned()),
            content_mac: content_mac(resident, cipher).to_vec(),
            kana_birth_index: kana_birth_index(&resident.name_kana, resident.birth_date, cipher)
                .to_vec(),
            birth_index: birth_index(resident.birth_date, cipher).to_vec(),
            kanji_birth_index: kanji_birth_index(&resident.name, resident.birth_date, cipher)
                .to_vec(),
        })
    }

    /// Opens a stored row of `municipality`. A value that fails authentication (altered, or copied
    /// from another row, column or municipality) is an [`StoreError::Integrity`] naming the row and
    /// column.
    pub fn open(
        &self,
        municipality: MunicipalityCode,
        cipher: &FieldCipher,
    ) -> Result<Resident, StoreError> {
        let row = self.atena.as_str();
        let open =
            |column: &str, sealed: &[u8]| open_column(municipality, row, column, sealed, cipher);
        let corrupt =
            |what: &str| StoreError::Corrupt(format!("{what} of 宛名番号 {row} in {municipality}"));
        let my_number = MyNumber::parse(&open(MY_NUMBER, &self.my_number_enc)?)
            .map_err(|_| corrupt(MY_NUMBER))?;
        let name = PersonName::parse(&open(NAME, &self.name_enc)?).map_err(|_| corrupt(NAME))?;
        let name_kana = KanaName::parse(&open(NAME_KANA, &self.name_kana_enc)?)
            .map_err(|_| corrupt(NAME_KANA))?;
        let birth_date = open_birth_date(municipality, row, &self.birth_date_enc, cipher)?;
        Ok(Resident {
            municipality,
            atena: AtenaNumber::parse(row).map_err(|_| corrupt("residents.atena_number"))?,
            my_number,
            coupon: CouponNumber::parse(&self.coupon)
                .map_err(|_| corrupt("residents.coupon_number"))?,
            name,
            name_kana,
            birth_date,
            sex: Sex::from_code(self.sex).ok_or_else(|| corrupt("residents.sex"))?,
            moved_out_on: self.moved_out_on,
            deceased_on: self.deceased_on,
            moved_in_from: self
                .moved_in_from
                .as_deref()
                .map(|c| MunicipalityCode::parse(c.trim()))
                .transpose()
                .map_err(|_| corrupt("residents.moved_in_from"))?,
        })
    }
}

/// Opens one sealed text column of a stored row, bound to its column and row; a value that fails
/// authentication is an [`StoreError::Integrity`] naming both.
fn open_column(
    municipality: MunicipalityCode,
    atena: &str,
    column: &str,
    sealed: &[u8],
    cipher: &FieldCipher,
) -> Result<String, StoreError> {
    cipher
        .open_text(column, atena, sealed)
        .map_err(|source| StoreError::Integrity {
            what: format!("{column} of 宛名番号 {atena} in {municipality}"),
            source,
        })
}

/// Opens only the birth date of a stored row of `municipality` (the statistics job needs nothing
/// else), with the same binding to column and row as [`SealedResident::open`].
pub fn open_birth_date(
    municipality: MunicipalityCode,
    atena: &str,
    sealed: &[u8],
    cipher: &FieldCipher,
) -> Result<NaiveDate, StoreError> {
    open_column(municipality, atena, BIRTH_DATE, sealed, cipher)?
        .parse::<NaiveDate>()
        .map_err(|_| {
            StoreError::Corrupt(format!(
                "{BIRTH_DATE} of 宛名番号 {atena} in {municipality}"
            ))
        })
}

/// The search indexes of a stored row of `municipality` — birth date, kana name + birth date and
/// kanji name + birth date, in that order — from its sealed kanji name, kana name and birth date
/// (opened with the same binding to column and row as [`SealedResident::open`]): how rows stored
/// before an index existed are indexed.
pub fn search_indexes(
    municipality: MunicipalityCode,
    atena: &str,
    sealed: [&[u8]; 3],
    cipher: &FieldCipher,
) -> Result<[[u8; 32]; 3], StoreError> {
    let [name, kana, birth] = sealed;
    let open =
        |column: &str, sealed: &[u8]| open_column(municipality, atena, column, sealed, cipher);
    let corrupt =
        |what: &str| StoreError::Corrupt(format!("{what} of 宛名番号 {atena} in {municipality}"));
    let name = PersonName::parse(&open(NAME, name)?).map_err(|_| corrupt(NAME))?;
    let kana = KanaName::parse(&open(NAME_KANA, kana)?).map_err(|_| corrupt(NAME_KANA))?;
    let birth = open_birth_date(municipality, atena, birth, cipher)?;
    Ok([
        birth_index(birth, cipher),
        kana_birth_index(&kana, birth, cipher),
        kanji_birth_index(&name, birth, cipher),
    ])
}
