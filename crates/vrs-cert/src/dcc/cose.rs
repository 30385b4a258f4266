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
        write_cbor(&Value::Tag(
            TAG_COSE_SIGN1,
            Box::new(Value::Array(vec![
                Value::Bytes(self.protected.clone()),
                Value::Map(Vec::new()),
                Value::Bytes(self.payload.clone()),
                Value::Bytes(self.signature.clone()),
            ])),
        ))
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
        write_cbor(&Value::Array(vec![
            Value::Text("Signature1".into()),
            Value::Bytes(self.protected.clone()),
            Value::Bytes(Vec::new()),
            Value::Bytes(self.payload.clone()),
        ]))
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

fn int(label: i128) -> Value {
    // Every label used here fits an i64.
    Value::Integer(Integer::from(i64::try_from(label).unwrap_or_default()))
}

fn lookup(map: &[(Value, Value)], label: i128) -> Option<&Value> {
    map.iter().find_map(|(k, v)| match k {
        Value::Integer(i) if i128::from(*i) == label => Some(v),
        _ => None,
    })
}
