//! Wire form of one record of the (decompressed) patch stream:
//! `seek: zigzag LEB128 i64, diff_len: LEB128 u64, extra_len: LEB128 u64`, then `diff_len`
//! diff bytes and `extra_len` literal bytes.

#[cfg(any(feature = "generate", test))]
use std::io::Write;
use std::io::{self, BufRead};

/// Longest LEB128 encoding of a u64.
const MAX_VARINT_LEN: usize = 10;

/// Why a varint could not be read.
#[derive(Debug)]
pub(crate) enum VarintError {
    /// The stream ended after the first byte of a varint.
    Truncated,
    /// More than 10 bytes, or a value above u64::MAX.
    Overlong,
    /// The reader below failed.
    Io(io::Error),
}

#[cfg(any(feature = "generate", test))]
pub(crate) fn write_varint<W: Write>(w: &mut W, mut v: u64) -> io::Result<()> {
    let mut buf = [0u8; MAX_VARINT_LEN];
    let mut n = 0;
    for slot in buf.iter_mut() {
        let low = (v & 0x7f) as u8;
        v >>= 7;
        n += 1;
        if v == 0 {
            *slot = low;
            break;
        }
        *slot = low | 0x80;
    }
    w.write_all(&buf[..n])
}

#[cfg(any(feature = "generate", test))]
pub(crate) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

pub(crate) fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn next_byte<R: BufRead>(r: &mut R) -> io::Result<Option<u8>> {
    loop {
        match r.fill_buf() {
            Ok(buf) => {
                let b = buf.first().copied();
                if b.is_some() {
                    r.consume(1);
                }
                return Ok(b);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// Decodes a varint that lies whole in `buf`: its value and length, or `None` when `buf` ends
/// first (or it is over-long, which the byte-wise path then reports).
fn varint_in(buf: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, &byte) in buf.iter().take(MAX_VARINT_LEN).enumerate() {
        if i == MAX_VARINT_LEN - 1 && byte > 1 {
            return None;
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// Read one LEB128 u64. `Ok(None)` is a clean end of stream before its first byte.
pub(crate) fn read_varint<R: BufRead>(r: &mut R) -> Result<Option<u64>, VarintError> {
    // Most varints lie whole in the reader's buffer: decode them there, one call.
    match r.fill_buf() {
        Ok(buf) => {
            if let Some((value, len)) = varint_in(buf) {
                r.consume(len);
                return Ok(Some(value));
            }
        }
        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Err(VarintError::Truncated),
        Err(e) => return Err(VarintError::Io(e)),
    }
    let mut value = 0u64;
    for i in 0..MAX_VARINT_LEN {
        let byte = match next_byte(r) {
            Ok(Some(b)) => b,
            Ok(None) if i == 0 => return Ok(None),
            Ok(None) => return Err(VarintError::Truncated),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                return Err(VarintError::Truncated)
            }
            Err(e) => return Err(VarintError::Io(e)),
        };
        // The tenth byte may carry only bit 63.
        if i == MAX_VARINT_LEN - 1 && byte > 1 {
            return Err(VarintError::Overlong);
        }
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(Some(value));
        }
    }
    Err(VarintError::Overlong)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_at_the_edges() {
        for v in [
            0,
            1,
            127,
            128,
            300,
            u64::from(u32::MAX),
            u64::MAX - 1,
            u64::MAX,
        ] {
            let mut buf = Vec::new();
            write_varint(&mut buf, v).ok();
            assert!(buf.len() <= MAX_VARINT_LEN);
            let got = read_varint(&mut &buf[..]);
            assert!(matches!(got, Ok(Some(x)) if x == v), "{v}");
        }
        for v in [0i64, 1, -1, i64::MAX, i64::MIN, 12345, -12345] {
            assert_eq!(unzigzag(zigzag(v)), v);
        }
    }

    #[test]
    fn refuses_overlong_and_truncated() {
        let overlong = [0xffu8; 11];
        assert!(matches!(
            read_varint(&mut &overlong[..]),
            Err(VarintError::Overlong)
        ));
        let too_big = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert!(matches!(
            read_varint(&mut &too_big[..]),
            Err(VarintError::Overlong)
        ));
        assert!(matches!(
            read_varint(&mut &[0x80u8][..]),
            Err(VarintError::Truncated)
        ));
        assert!(matches!(read_varint(&mut &[][..]), Ok(None)));
    }
}
