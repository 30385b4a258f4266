//! The audit log's hash chain: each entry's hash covers the previous entry's hash and the entry's
//! canonical bytes, per municipality, so changing, removing or reordering any entry breaks every
//! hash after it. The chain starts from [`GENESIS`].

use ring::digest;

/// The hash before the first entry of a chain.
pub const GENESIS: [u8; 32] = [0u8; 32];

/// `SHA-256("vrs audit v1" ‖ previous ‖ len(entry) ‖ entry)`.
pub fn link(previous: &[u8; 32], entry: &[u8]) -> [u8; 32] {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(b"vrs audit v1");
    ctx.update(previous);
    ctx.update(&(entry.len() as u64).to_be_bytes());
    ctx.update(entry);
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// Recomputes a chain; returns the index of the first entry whose stored hash does not match.
pub fn first_break<'a>(
    entries: impl IntoIterator<Item = (&'a [u8], &'a [u8; 32])>,
) -> Option<usize> {
    let mut previous = GENESIS;
    for (i, (bytes, stored)) in entries.into_iter().enumerate() {
        let expected = link(&previous, bytes);
        if &expected != stored {
            return Some(i);
        }
        previous = expected;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn altered_entry_is_found() {
        let bodies: Vec<Vec<u8>> = (0..5).map(|i| format!("entry {i}").into_bytes()).collect();
        let mut hashes = Vec::new();
        let mut prev = GENESIS;
        for b in &bodies {
            prev = link(&prev, b);
            hashes.push(prev);
        }
        let pairs = |bodies: &[Vec<u8>]| -> Option<usize> {
            first_break(bodies.iter().map(|b| b.as_slice()).zip(hashes.iter()))
        };
        assert_eq!(pairs(&bodies), None);
        let mut altered = bodies.clone();
        altered[2] = b"entry X".to_vec();
        assert_eq!(pairs(&altered), Some(2));
    }
}
