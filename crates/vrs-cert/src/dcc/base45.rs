//! Base45 (RFC 9285), the text encoding of the EU DCC: every two bytes become three characters of
//! the QR code's alphanumeric set, so the code can use the QR alphanumeric mode.

/// The 45 characters, in value order (the QR alphanumeric set).
pub const ALPHABET: &[u8; 45] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Base45Error {
    #[error("character {position} is not Base45")]
    Character { position: usize },
    #[error("Base45 text cannot be {0} characters long (a multiple of 3, or 2 more)")]
    Length(usize),
    #[error("characters {position}… encode a value over {max}")]
    Overflow { position: usize, max: u32 },
}

pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() / 2 * 3 + 2);
    let mut push = |mut n: u32, digits: usize| {
        for _ in 0..digits {
            out.push(ALPHABET[(n % 45) as usize] as char);
            n /= 45;
        }
    };
    for pair in bytes.chunks(2) {
        match pair {
            [a, b] => push(u32::from(*a) * 256 + u32::from(*b), 3),
            [a] => push(u32::from(*a), 2),
            _ => {}
        }
    }
    out
}

pub fn decode(text: &str) -> Result<Vec<u8>, Base45Error> {
    let values = text
        .bytes()
        .enumerate()
        .map(|(position, c)| {
            ALPHABET
                .iter()
                .position(|&a| a == c)
                .map(|v| v as u32)
                .ok_or(Base45Error::Character { position })
        })
        .collect::<Result<Vec<u32>, _>>()?;
    if values.len() % 3 == 1 {
        return Err(Base45Error::Length(values.len()));
    }
    let mut out = Vec::with_capacity(values.len() / 3 * 2 + 1);
    for (i, group) in values.chunks(3).enumerate() {
        let position = i * 3;
        match group {
            [c, d, e] => {
                let n = c + d * 45 + e * 45 * 45;
                if n > 0xFFFF {
                    return Err(Base45Error::Overflow {
                        position,
                        max: 0xFFFF,
                    });
                }
                out.extend_from_slice(&[(n >> 8) as u8, (n & 0xFF) as u8]);
            }
            [c, d] => {
                let n = c + d * 45;
                if n > 0xFF {
                    return Err(Base45Error::Overflow {
                        position,
                        max: 0xFF,
                    });
                }
                out.push(n as u8);
            }
            _ => return Err(Base45Error::Length(values.len())),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_rfc_9285_examples_encode_and_decode() {
        for (bytes, text) in [
            (&b"AB"[..], "BB8"),
            (b"Hello!!", "%69 VD92EX0"),
            (b"base-45", "UJCLQE7W581"),
            (b"ietf!", "QED8WEX0"),
            (b"", ""),
        ] {
            assert_eq!(encode(bytes), text);
            assert_eq!(decode(text).unwrap(), bytes);
        }
    }

    #[test]
    fn text_that_is_not_base45_is_refused_for_its_reason() {
        assert_eq!(
            decode("GGW"),
            Err(Base45Error::Overflow {
                position: 0,
                max: 0xFFFF
            })
        );
        assert_eq!(decode("ab"), Err(Base45Error::Character { position: 0 }));
        assert_eq!(decode("BB8A"), Err(Base45Error::Length(4)));
        assert_eq!(
            decode("BB8:Z"),
            Err(Base45Error::Overflow {
                position: 3,
                max: 0xFF
            })
        );
    }
}
