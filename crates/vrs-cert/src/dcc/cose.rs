//! The CBOR layers of a DCC: the COSE_Sign1 envelope (RFC 8152 §4.2) with its two header maps and
//! the `Sig_structure` its signature covers, the CWT claims inside it (RFC 8392: `iss`, `iat`,
//! `exp` and the `hcert` claim −260 that holds the certificate), and the mapping between the
//! certificate's CBOR and the JSON the DCC schema describes.

use ciborium::value::{Integer, Value};
use vrs_crypto::x509::{Certificate, SignatureAlgorithm};

use super::DccError;

/// COSE's tag for a COSE_Sign1 message (RFC 8152).
const TAG_COSE_SIGN1: u64 = 18;
/// CWT's tag (RFC 8392), which some issuers wrap around the COSE tag.
const TAG_CWT: u64 = 61;
/// Header labels.
const HEADER_ALG: i128 = 1;
const HEADER_KID: i128 = 4;
/// CWT claim keys.
const CLAIM_ISS: i128 = 1;
const CLAIM_EXP: i128 = 4;
const CLAIM_IAT: i128 = 6;
const CLAIM_HCERT: i128 = -260;
/// The key of the EU DCC inside the `hcert` claim.
const HCERT_EU_DCC: i128 = 1;

/// The signature algorithms a DCC may use (the DCC spec allows ES256 and PS256; ES384 is accepted
/// too, as some trust lists carry P-384 signers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    Es256,
    Es384,
    Ps256,
}

impl Algorithm {
    /// The COSE algorithm label.
    pub fn label(self) -> i64 {
        match self {
            Algorithm::Es256 => -7,
            Algorithm::Es384 => -35,
            Algorithm::Ps256 => -37,
        }
    }

    fn from_label(label: i128) -> Option<Self> {
        match label {
            -7 => Some(Algorithm::Es256),
            -35 => Some(Algorithm::Es384),
            -37 => Some(Algorithm::Ps256),
            _ => None,
        }
    }

    fn x509(self) -> SignatureAlgorithm {
        match self {
            Algorithm::Es256 => SignatureAlgorithm::Es256,
            Algorithm::Es384 => SignatureAlgorithm::Es384,
            Algorithm::Ps256 => SignatureAlgorithm::Ps256,
        }
    }
}

/// A decoded COSE_Sign1 message. The protected header is kept as the bytes that were signed.
#[derive(Clone, Debug, PartialEq)]
pub struct CoseSign1 {
    protected: Vec<u8>,
    alg: Option<i128>,
    kid: Option<Vec<u8>>,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

impl CoseSign1 {
    /// Reads a COSE_Sign1: tagged 18, untagged, or tag 18 inside the CWT tag 61. Header values
    /// are taken from the protected map first, the unprotected one only for labels it lacks.
    pub fn decode(bytes: &[u8]) -> Result<Self, DccError> {
        let mut value = read_cbor(bytes)?;
        if let Value::Tag(TAG_CWT, inner) = value {
            value = *inner;
        }
        if let Value::Tag(TAG_COSE_SIGN1, inner) = value {
            value = *inner;
        }
        let not_cose = |why: &str| DccError::NotCose(why.to_owned());
        let items = match value {
            Value::Array(items) if items.len() == 4 => items,
            Value::Tag(tag, _) => return Err(not_cose(&format!("unexpected CBOR tag {tag}"))),
            _ => return Err(not_cose("not an array of four")),
        };
        let mut items = items.into_iter();
        let (Some(protected), Some(unprotected), Some(payload), Some(signature)) =
            (items.next(), items.next(), items.next(), items.next())
        else {
            return Err(not_cose("not an array of four"));
        };
        let Value::Bytes(protected) = protected else {
            return Err(not_cose("the protected header is not a byte string"));
        };
        let protected_map = if protected.is_empty() {
            Vec::new()
        } else {
            match read_cbor(&protected)? {
                Value::Map(map) => map,
                _ => return Err(not_cose("the protected header is not a map")),
            }
        };
        let Value::Map(unprotected) = unprotected else {
            return Err(not_cose("the unprotected header is not a map"));
        };
        let Value::Bytes(payload) = payload else {
            return Err(not_cose("the payload is not a byte string"));
        };
        let Value::Bytes(signature) = signature else {
            return Err(not_cose("the signature is not a byte string"));
        };
        let header =
            |label: i128| lookup(&protected_map, label).or_else(|| lookup(&unprotected, label));
        let alg = match header(HEADER_ALG) {
            None => None,
            Some(Value::Integer(i)) => Some(i128::from(*i)),
            Some(_) => return Err(not_cose("the algorithm is not an integer")),
        };
        let kid = match header(HEADER_KID) {
            None => None,
            Some(Value::Bytes(kid)) => Some(kid.clone()),
            Some(_) => return Err(not_cose("the key id is not a byte string")),
        };
        Ok(Self {
            protected,
            alg,
            kid,
            payload,
            signature,
        })
    }

    /// A signed message with the protected header `{1: alg, 4: kid}` and no unprotected values.
    pub fn sign_with(
        alg: Algorithm,
        kid: &[u8],
        payload: Vec<u8>,
        sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, DccError>,
    ) -> Result<Self, DccError> {
        let header = Value::Map(vec![
            (int(HEADER_ALG), Value::Integer(alg.label().into())),
            (int(HEADER_KID), Value::Bytes(kid.to_vec())),
        ]);
        let mut message = Self {
            protected: write_cbor(&header),
            alg: Some(i128::from(alg.label())),
            kid: Some(kid.to_vec()),
            payload,
            signature: Vec::new(),
        };
        message.signature = sign(&message.to_be_signed())?;
        Ok(message)
    }

    /// The message as tag 18 over `[protected, {}, payload, signature]`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            self.protected.len() + self.payload.len() + self.signature.len() + 16,
        );
        head(&mut out, MAJOR_TAG, TAG_COSE_SIGN1);
        head(&mut out, MAJOR_ARRAY, 4);
        byte_string(&mut out, &self.protected);
        head(&mut out, MAJOR_MAP, 0);
        byte_string(&mut out, &self.payload);
        byte_string(&mut out, &self.signature);
        out
    }

    /// The algorithm the headers name.
    pub fn algorithm(&self) -> Result<Algorithm, DccError> {
        let label = self.alg.ok_or(DccError::NoAlgorithm)?;
        Algorithm::from_label(label).ok_or(DccError::UnsupportedAlgorithm(label))
    }

    /// The key id the headers name (protected wins).
    pub fn kid(&self) -> Option<&[u8]> {
        self.kid.as_deref()
    }

    /// The CWT, as signed.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// `Sig_structure` = `["Signature1", protected, h'', payload]`: the bytes the signature covers.
    pub fn to_be_signed(&self) -> Vec<u8> {
        const CONTEXT: &[u8] = b"Signature1";
        let mut out = Vec::with_capacity(self.protected.len() + self.payload.len() + 24);
        head(&mut out, MAJOR_ARRAY, 4);
        head(&mut out, MAJOR_TEXT, CONTEXT.len() as u64);
        out.extend_from_slice(CONTEXT);
        byte_string(&mut out, &self.protected);
        byte_string(&mut out, &[]);
        byte_string(&mut out, &self.payload);
        out
    }

    /// Whether `signer`'s key made the signature, under the algorithm the headers name.
    pub fn is_signed_by(&self, signer: &Certificate) -> Result<bool, DccError> {
        let alg = self.algorithm()?;
        Ok(signer.verifies(alg.x509(), &self.to_be_signed(), &self.signature))
    }

    /// The CWT claims in the payload.
    pub fn claims(&self) -> Result<Claims, DccError> {
        Claims::decode(&self.payload)
    }
}

/// The CWT claims of a DCC.
#[derive(Clone, Debug, PartialEq)]
pub struct Claims {
    /// The issuing country (ISO 3166-1 alpha-2).
    pub iss: Option<String>,
    /// Issued at, unix seconds.
    pub iat: Option<i64>,
    /// Expires at, unix seconds.
    pub exp: Option<i64>,
    /// The certificate (`hcert` → 1) as CBOR.
    pub dcc_cbor: Value,
}

impl Claims {
    pub fn decode(payload: &[u8]) -> Result<Self, DccError> {
        let not_cwt = |why: &str| DccError::NotCwt(why.to_owned());
        let Value::Map(claims) = read_cbor(payload)? else {
            return Err(not_cwt("the payload is not a map"));
        };
        let iss = match lookup(&claims, CLAIM_ISS) {
            None => None,
            Some(Value::Text(iss)) => Some(iss.clone()),
            Some(_) => return Err(not_cwt("iss is not text")),
        };
        // NumericDate (RFC 8392): an integer, or a float as some issuers write it (whole
        // seconds are kept).
        let time = |key: i128, name: &str| match lookup(&claims, key) {
            None => Ok(None),
            Some(Value::Integer(i)) => i64::try_from(*i)
                .map(Some)
                .map_err(|_| not_cwt(&format!("{name} is out of range"))),
            Some(Value::Float(f)) if f.is_finite() && f.abs() < 1e15 => Ok(Some(f.trunc() as i64)),
            Some(_) => Err(not_cwt(&format!("{name} is not a number"))),
        };
        let iat = time(CLAIM_IAT, "iat")?;
        let exp = time(CLAIM_EXP, "exp")?;
        let Some(Value::Map(hcert)) = lookup(&claims, CLAIM_HCERT) else {
            return Err(not_cwt("no hcert claim (-260) holding a map"));
        };
        let Some(dcc) = lookup(hcert, HCERT_EU_DCC) else {
            return Err(not_cwt("no EU DCC (1) in the hcert claim"));
        };
        Ok(Self {
            iss,
            iat,
            exp,
            dcc_cbor: dcc.clone(),
        })
    }

    /// The claims as a CWT payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut claims = Vec::new();
        if let Some(iss) = &self.iss {
            claims.push((int(CLAIM_ISS), Value::Text(iss.clone())));
        }
        if let Some(exp) = self.exp {
            claims.push((int(CLAIM_EXP), Value::Integer(exp.into())));
        }
        if let Some(iat) = self.iat {
            claims.push((int(CLAIM_IAT), Value::Integer(iat.into())));
        }
        claims.push((
            int(CLAIM_HCERT),
            Value::Map(vec![(int(HCERT_EU_DCC), self.dcc_cbor.clone())]),
        ));
        write_cbor(&Value::Map(claims))
    }

    /// The certificate as JSON.
    pub fn dcc_json(&self) -> Result<serde_json::Value, DccError> {
        cbor_to_json(&self.dcc_cbor)
    }
}

/// The CWT claims of an issued certificate, written straight to CBOR from the certificate `dcc`
/// (any value that serialises to the schema's members, e.g.
/// [`super::issue::VaccinationCertificate`]): `iss`, `exp`, `iat` and `hcert` → 1, the bytes
/// [`Claims::encode`] writes for the same claims.
pub fn cwt(iss: &str, iat: i64, exp: i64, dcc: &impl serde::Serialize) -> Vec<u8> {
    use serde::ser::{Serialize, SerializeMap, Serializer};

    struct Cwt<'a, T> {
        iss: &'a str,
        iat: i64,
        exp: i64,
        dcc: &'a T,
    }
    impl<T: Serialize> Serialize for Cwt<'_, T> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let mut claims = serializer.serialize_map(Some(4))?;
            claims.serialize_entry(&label(CLAIM_ISS), self.iss)?;
            claims.serialize_entry(&label(CLAIM_EXP), &self.exp)?;
            claims.serialize_entry(&label(CLAIM_IAT), &self.iat)?;
            claims.serialize_entry(&label(CLAIM_HCERT), &Hcert(self.dcc))?;
            claims.end()
        }
    }
    struct Hcert<'a, T>(&'a T);
    impl<T: Serialize> Serialize for Hcert<'_, T> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let mut hcert = serializer.serialize_map(Some(1))?;
            hcert.serialize_entry(&label(HCERT_EU_DCC), self.0)?;
            hcert.end()
        }
    }
    let mut out = Vec::with_capacity(512);
    // Writing to a Vec cannot fail.
    let _ = ciborium::ser::into_writer(&Cwt { iss, iat, exp, dcc }, &mut out);
    out
}

/// One CBOR item that fills `bytes` exactly.
pub fn read_cbor(bytes: &[u8]) -> Result<Value, DccError> {
    let mut rest = bytes;
    let value: Value =
        ciborium::de::from_reader(&mut rest).map_err(|e| DccError::NotCbor(e.to_string()))?;
    if !rest.is_empty() {
        return Err(DccError::NotCbor(format!(
            "{} bytes after the CBOR item",
            rest.len()
        )));
    }
    Ok(value)
}

pub fn write_cbor(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = ciborium::ser::into_writer(value, &mut out);
    out
}

/// The certificate's CBOR as JSON: text-keyed maps, arrays, text, numbers, booleans and null;
/// a tag (some issuers tag date-times) gives its content.
pub fn cbor_to_json(value: &Value) -> Result<serde_json::Value, DccError> {
    use serde_json::Value as J;
    let not_json = |why: &str| DccError::NotDcc(why.to_owned());
    Ok(match value {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Text(t) => J::String(t.clone()),
        Value::Integer(i) => {
            let i = i128::from(*i);
            if let Ok(i) = i64::try_from(i) {
                J::from(i)
            } else {
                J::from(u64::try_from(i).map_err(|_| not_json("an integer out of range"))?)
            }
        }
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(J::Number)
            .ok_or_else(|| not_json("a number that is not finite"))?,
        Value::Array(items) => J::Array(items.iter().map(cbor_to_json).collect::<Result<_, _>>()?),
        Value::Map(entries) => {
            let mut map = serde_json::Map::new();
            for (k, v) in entries {
                let Value::Text(k) = k else {
                    return Err(not_json("a map key that is not text"));
                };
                map.insert(k.clone(), cbor_to_json(v)?);
            }
            J::Object(map)
        }
        Value::Tag(_, inner) => cbor_to_json(inner)?,
        Value::Bytes(_) => return Err(not_json("a byte string")),
        _ => return Err(not_json("an unknown CBOR value")),
    })
}

/// JSON as CBOR: whole numbers as integers, others as floats; object members in their order.
pub fn json_to_cbor(value: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match value {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(*b),
        J::String(s) => Value::Text(s.clone()),
        J::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Value::Integer(i.into()),
            (_, Some(u), _) => Value::Integer(u.into()),
            (_, _, f) => Value::Float(f.unwrap_or(f64::NAN)),
        },
        J::Array(items) => Value::Array(items.iter().map(json_to_cbor).collect()),
        J::Object(map) => Value::Map(
            map.iter()
                .map(|(k, v)| (Value::Text(k.clone()), json_to_cbor(v)))
                .collect(),
        ),
    }
}

fn int(l: i128) -> Value {
    Value::Integer(Integer::from(label(l)))
}

fn label(label: i128) -> i64 {
    // Every label used here fits an i64.
    i64::try_from(label).unwrap_or_default()
}

/// CBOR major types (RFC 8949 §3.1) of the items written by hand.
const MAJOR_BYTES: u8 = 2;
const MAJOR_TEXT: u8 = 3;
const MAJOR_ARRAY: u8 = 4;
const MAJOR_MAP: u8 = 5;
const MAJOR_TAG: u8 = 6;

/// The head of a CBOR item: its major type and argument, in the shortest form (as ciborium
/// writes it).
fn head(out: &mut Vec<u8>, major: u8, argument: u64) {
    let major = major << 5;
    if let Ok(n) = u8::try_from(argument) {
        if n < 24 {
            out.push(major | n);
        } else {
            out.extend_from_slice(&[major | 24, n]);
        }
    } else if let Ok(n) = u16::try_from(argument) {
        out.push(major | 25);
        out.extend_from_slice(&n.to_be_bytes());
    } else if let Ok(n) = u32::try_from(argument) {
        out.push(major | 26);
        out.extend_from_slice(&n.to_be_bytes());
    } else {
        out.push(major | 27);
        out.extend_from_slice(&argument.to_be_bytes());
    }
}

fn byte_string(out: &mut Vec<u8>, bytes: &[u8]) {
    head(out, MAJOR_BYTES, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn lookup(map: &[(Value, Value)], label: i128) -> Option<&Value> {
    map.iter().find_map(|(k, v)| match k {
        Value::Integer(i) if i128::from(*i) == label => Some(v),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn bytes_of(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 31 % 256) as u8).collect()
    }

    #[test]
    fn the_envelope_written_by_hand_is_what_ciborium_writes_for_its_values() {
        for n in [0, 1, 23, 24, 255, 256, 65_535, 65_536] {
            let message = CoseSign1 {
                protected: bytes_of(n % 40),
                alg: None,
                kid: None,
                payload: bytes_of(n),
                signature: bytes_of(64),
            };
            let envelope = Value::Tag(
                TAG_COSE_SIGN1,
                Box::new(Value::Array(vec![
                    Value::Bytes(message.protected.clone()),
                    Value::Map(Vec::new()),
                    Value::Bytes(message.payload.clone()),
                    Value::Bytes(message.signature.clone()),
                ])),
            );
            assert_eq!(message.to_bytes(), write_cbor(&envelope), "{n} bytes");
            let sig_structure = Value::Array(vec![
                Value::Text("Signature1".into()),
                Value::Bytes(message.protected.clone()),
                Value::Bytes(Vec::new()),
                Value::Bytes(message.payload.clone()),
            ]);
            assert_eq!(message.to_be_signed(), write_cbor(&sig_structure));
        }
        let mut out = Vec::new();
        head(&mut out, MAJOR_BYTES, 1 << 32);
        assert_eq!(out, [0x5b, 0, 0, 0, 1, 0, 0, 0, 0]);
    }

    #[test]
    fn claims_written_straight_are_the_bytes_of_the_claims_encoded() {
        let dcc = serde_json::json!({"ver": "1.3.0", "nam": {"fnt": "SAIJO"}, "v": [{"dn": 3}]});
        let claims = Claims {
            iss: Some("JP".into()),
            iat: Some(1_700_000_000),
            exp: Some(1_731_536_000),
            dcc_cbor: json_to_cbor(&dcc),
        };
        let written = cwt("JP", 1_700_000_000, 1_731_536_000, &dcc);
        assert_eq!(written, claims.encode());
        assert_eq!(Claims::decode(&written).unwrap(), claims);
    }
}
