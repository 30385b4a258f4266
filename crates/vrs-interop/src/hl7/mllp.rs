//! MLLP framing (HL7's minimal lower layer protocol): each message travels as
//! `0x0B ‖ message ‖ 0x1C 0x0D`. A TCP read may end anywhere, hold several messages, or hold bytes
//! before a start block; [`Decoder`] collects complete messages from whatever arrives.

/// Start block.
pub const START: u8 = 0x0b;
/// End block, followed by a carriage return.
pub const END: [u8; 2] = [0x1c, 0x0d];

/// A message framed for the wire.
pub fn frame(message: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 3);
    out.push(START);
    out.extend_from_slice(message.as_bytes());
    out.extend_from_slice(&END);
    out
}

/// Why a connection's bytes cannot be read as MLLP.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("a message is longer than {0} bytes")]
    TooLong(usize),
}

/// Collects framed messages from a byte stream.
#[derive(Debug)]
pub struct Decoder {
    buffer: Vec<u8>,
    in_message: bool,
    limit: usize,
}

impl Decoder {
    /// A decoder refusing messages longer than `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self {
            buffer: Vec::new(),
            in_message: false,
            limit,
        }
    }

    /// Takes the bytes of one read; returns the messages completed by it (as bytes: the caller
    /// decides the text encoding). Bytes outside a frame are skipped.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<Vec<u8>>, FrameError> {
        let mut done = Vec::new();
        for &b in bytes {
            if !self.in_message {
                if b == START {
                    self.in_message = true;
                    self.buffer.clear();
                }
                continue;
            }
            if b == END[1] && self.buffer.last() == Some(&END[0]) {
                self.buffer.pop();
                done.push(std::mem::take(&mut self.buffer));
                self.in_message = false;
                continue;
            }
            if b == START {
                // A new start block inside a message: the earlier one was never ended.
                self.buffer.clear();
                continue;
            }
            self.buffer.push(b);
            if self.buffer.len() > self.limit {
                self.buffer.clear();
                self.in_message = false;
                return Err(FrameError::TooLong(self.limit));
            }
        }
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_split_at_any_byte_are_reassembled() {
        let a = "MSH|^~\\&|A\rPID|1\r";
        let b = "MSH|^~\\&|B\r";
        let mut wire = b"noise".to_vec();
        wire.extend(frame(a));
        wire.extend(frame(b));
        for cut in 0..=wire.len() {
            let mut d = Decoder::new(1 << 20);
            let mut got = d.push(&wire[..cut]).unwrap();
            got.extend(d.push(&wire[cut..]).unwrap());
            assert_eq!(
                got,
                vec![a.as_bytes().to_vec(), b.as_bytes().to_vec()],
                "cut {cut}"
            );
        }
        // One byte at a time.
        let mut d = Decoder::new(1 << 20);
        let got: Vec<_> = wire.iter().flat_map(|b| d.push(&[*b]).unwrap()).collect();
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn an_end_block_without_its_carriage_return_is_data_and_overlong_messages_are_refused() {
        let mut d = Decoder::new(8);
        assert!(
            d.push(&[START, b'a', 0x1c, b'b', 0x1c, 0x0d]).unwrap() == vec![vec![b'a', 0x1c, b'b']]
        );
        let mut d = Decoder::new(4);
        assert_eq!(d.push(&[START, 1, 2, 3, 4, 5]), Err(FrameError::TooLong(4)));
        assert_eq!(d.push(&frame("ok")).unwrap(), vec![b"ok".to_vec()]);
    }
}
