//! Malformed and hostile patches: every one gives a typed error, none panics, and none makes
//! `apply` write more than the header's declared result length.

use std::io::{self, Cursor, Write};

use liblzma::stream::{Filters, LzmaOptions, Stream};
use liblzma::write::XzEncoder;
use proptest::prelude::*;
use ring::digest;
use tufota_delta::{
    apply, apply_image, read_header, Algorithm, BaseImage, DeltaError, PatchHeader, FORMAT_VERSION,
    HEADER_LEN,
};

/// A `Write` that counts and keeps what it is given.
#[derive(Default)]
struct Counting {
    bytes: Vec<u8>,
}

impl Write for Counting {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn sha(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, data).as_ref());
    out
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// One record: seek, diff as (zeros, literals) pairs, extra bytes.
struct Rec<'a> {
    seek: i64,
    diff_len: u64,
    runs: &'a [(u64, &'a [u8])],
    extra: &'a [u8],
}

fn records(recs: &[Rec]) -> Vec<u8> {
    let mut v = Vec::new();
    for r in recs {
        varint(&mut v, zigzag(r.seek));
        varint(&mut v, r.diff_len);
        varint(&mut v, r.extra.len() as u64);
        for (zeros, lits) in r.runs {
            varint(&mut v, *zeros);
            varint(&mut v, lits.len() as u64);
            v.extend_from_slice(lits);
        }
        v.extend_from_slice(r.extra);
    }
    v
}

/// Raw LZMA2, as the format wants (small dictionary: the decoder's is a superset).
fn lzma2(raw: &[u8]) -> Vec<u8> {
    let mut opts = LzmaOptions::new_preset(1).expect("preset 1 exists");
    opts.dict_size(1 << 20);
    let mut f = Filters::new();
    f.lzma2(&opts);
    let mut enc = XzEncoder::new_stream(
        Vec::new(),
        Stream::new_raw_encoder(&f).expect("raw encoder"),
    );
    enc.write_all(raw).expect("compress to memory");
    enc.finish().expect("finish to memory")
}

fn header(base: &[u8], result_len: u64, result_sha: [u8; 32]) -> PatchHeader {
    PatchHeader {
        format_version: FORMAT_VERSION,
        algorithm: Algorithm::BsdiffLzma2,
        base_len: base.len() as u64,
        base_sha256: sha(base),
        result_len,
        result_sha256: result_sha,
    }
}

fn patch(h: &PatchHeader, body: &[u8]) -> Vec<u8> {
    let mut p = h.to_bytes().to_vec();
    p.extend_from_slice(body);
    p
}

const BASE: &[u8] = b"The quick brown fox jumps over the lazy dog. 0123456789";

/// A valid patch for BASE -> "The quick brown cat jumps over the lazy dog!!" style result.
fn valid() -> (Vec<u8>, Vec<u8>) {
    let mut result = BASE[..16].to_vec();
    result.extend_from_slice(b"cat");
    result.extend_from_slice(&BASE[19..44]);
    result.extend_from_slice(b"!!");
    // diff: 16 zeros, then "cat" - "fox", then 25 zeros; then extra "!!".
    let lits: Vec<u8> = b"cat"
        .iter()
        .zip(b"fox")
        .map(|(a, b)| a.wrapping_sub(*b))
        .collect();
    let raw = records(&[Rec {
        seek: 0,
        diff_len: 44,
        runs: &[(16, &lits), (25, &[])],
        extra: b"!!",
    }]);
    let h = header(BASE, result.len() as u64, sha(&result));
    (patch(&h, &lzma2(&raw)), result)
}

/// Apply and check the invariants every outcome must keep; returns the error, if any.
fn try_apply(base: &[u8], p: &[u8]) -> Result<Vec<u8>, DeltaError> {
    let mut out = Counting::default();
    let res = apply(&mut Cursor::new(base), p, &mut out);
    if let Ok(h) = read_header(&mut &p[..]) {
        assert!(
            out.bytes.len() as u64 <= h.result_len,
            "wrote {} bytes past declared {}",
            out.bytes.len(),
            h.result_len
        );
    }
    res.map(|_| out.bytes)
}

fn body_with(recs: &[Rec], result_len: u64) -> Vec<u8> {
    patch(&header(BASE, result_len, [0; 32]), &lzma2(&records(recs)))
}

#[test]
fn the_valid_patch_applies() {
    let (p, result) = valid();
    assert_eq!(try_apply(BASE, &p).ok(), Some(result));
}

#[test]
fn every_truncation_is_refused() {
    let (p, _) = valid();
    for cut in 0..p.len() {
        let e = try_apply(BASE, &p[..cut]);
        match e {
            Err(DeltaError::HeaderTruncated { got }) => assert_eq!(got, cut),
            Err(DeltaError::StreamTruncated { .. })
            | Err(DeltaError::ResultShort { .. })
            | Err(DeltaError::Decompress { .. }) => assert!(cut >= HEADER_LEN),
            other => panic!("cut at {cut}: {other:?}"),
        }
    }
}

#[test]
fn bad_header_fields_are_refused() {
    let (p, _) = valid();
    let mut bad = p.clone();
    bad[0] ^= 1;
    assert!(matches!(
        try_apply(BASE, &bad),
        Err(DeltaError::BadMagic { .. })
    ));
    let mut bad = p.clone();
    bad[8] = 9;
    assert!(matches!(
        try_apply(BASE, &bad),
        Err(DeltaError::UnsupportedVersion { found: 9, .. })
    ));
    let mut bad = p.clone();
    bad[9] = 7;
    assert!(matches!(
        try_apply(BASE, &bad),
        Err(DeltaError::UnknownAlgorithm { found: 7 })
    ));
    let mut bad = p.clone();
    bad[10] = 1;
    assert!(matches!(
        try_apply(BASE, &bad),
        Err(DeltaError::ReservedField { .. })
    ));
    // A lying result sha256: everything is produced, then refused.
    let mut bad = p.clone();
    bad[60] ^= 0xff;
    assert!(matches!(
        try_apply(BASE, &bad),
        Err(DeltaError::ResultHash { .. })
    ));
}

#[test]
fn wrong_base_is_refused() {
    let (p, result) = valid();
    let mut other = BASE.to_vec();
    other[3] ^= 0x20;
    // The base's hash is checked alongside the records: the error names the base, not the
    // result it spoiled, and nothing past the declared length was written.
    let mut out = Counting::default();
    let e = apply(&mut Cursor::new(&other), &p[..], &mut out);
    assert!(matches!(e, Err(DeltaError::BaseHash { .. })), "{e:?}");
    assert!(out.bytes.len() <= result.len());
    // verify_base refuses it before anything is decoded.
    let header = read_header(&mut &p[..]).unwrap();
    let e = tufota_delta::verify_base(&mut Cursor::new(&other), &header);
    assert!(matches!(e, Err(DeltaError::BaseHash { .. })), "{e:?}");
    // A wrong length is refused before any output.
    let mut out = Counting::default();
    let e = apply(&mut Cursor::new(&BASE[1..]), &p[..], &mut out);
    assert!(
        matches!(e, Err(DeltaError::BaseLength { expected, actual }) if expected == BASE.len() as u64 && actual == BASE.len() as u64 - 1),
        "{e:?}"
    );
    assert!(out.bytes.is_empty());
    assert_eq!(
        e.map_err(|e| e.to_string()).err().as_deref(),
        Some("base image length mismatch: patch expects 55 bytes, base has 54")
    );
}

/// A base that claims `BASE.len()` bytes but ends (or fails, like a failing disk) early.
struct BrokenBase {
    good: usize,
    fail: bool,
}

impl BaseImage for BrokenBase {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        if offset as usize >= self.good {
            if self.fail {
                return Err(io::Error::other("medium error"));
            }
            return Ok(0);
        }
        BASE[..self.good].read_at(buf, offset)
    }
    fn size(&self) -> io::Result<u64> {
        Ok(BASE.len() as u64)
    }
}

#[test]
fn a_base_that_ends_or_fails_while_read_is_refused() {
    let (p, result) = valid();
    for good in [0, 1, 20, BASE.len() - 1] {
        for fail in [false, true] {
            let mut out = Counting::default();
            let e = apply_image(&BrokenBase { good, fail }, &p[..], &mut out);
            let Err(DeltaError::Io { what, source }) = &e else {
                panic!("good {good}, fail {fail}: {e:?}")
            };
            assert_eq!(*what, "reading the base image");
            let expected = if fail {
                "medium error".to_owned()
            } else {
                format!("base ended at byte {good}, shorter than it was when verified")
            };
            assert_eq!(source.to_string(), expected, "good {good}, fail {fail}");
            assert!(out.bytes.len() <= result.len());
        }
    }
}

#[test]
fn lying_result_lengths_are_refused() {
    let (p, result) = valid();
    let body = &p[HEADER_LEN..];
    // Declared shorter than the records produce: refused before the overrunning record.
    let h = header(BASE, result.len() as u64 - 1, sha(&result));
    let e = try_apply(BASE, &patch(&h, body));
    assert!(matches!(e, Err(DeltaError::ResultOverrun { .. })), "{e:?}");
    assert!(e
        .map_err(|e| e.to_string())
        .err()
        .unwrap_or_default()
        .starts_with("patch refused: declared result length 45 but stream produced more"));
    // Declared longer: the stream ends first.
    let h = header(BASE, result.len() as u64 + 1, sha(&result));
    assert!(matches!(
        try_apply(BASE, &patch(&h, body)),
        Err(DeltaError::ResultShort { .. })
    ));
    // Huge declared result length, tiny stream.
    let h = header(BASE, u64::MAX, sha(&result));
    assert!(matches!(
        try_apply(BASE, &patch(&h, body)),
        Err(DeltaError::ResultShort { .. })
    ));
}

#[test]
fn records_reaching_outside_the_base_are_refused() {
    // Seek before the start.
    let p = body_with(
        &[Rec {
            seek: -1,
            diff_len: 1,
            runs: &[(1, &[])],
            extra: b"",
        }],
        10,
    );
    assert!(matches!(
        try_apply(BASE, &p),
        Err(DeltaError::BaseRange { start: -1, .. })
    ));
    // Diff span past the end.
    let p = body_with(
        &[Rec {
            seek: 50,
            diff_len: 6,
            runs: &[(6, &[])],
            extra: b"",
        }],
        10,
    );
    assert!(matches!(
        try_apply(BASE, &p),
        Err(DeltaError::BaseRange {
            start: 50,
            end: 56,
            ..
        })
    ));
    // Extreme seeks must not overflow.
    for seek in [i64::MIN, i64::MAX] {
        let p = body_with(
            &[Rec {
                seek,
                diff_len: 1,
                runs: &[(1, &[])],
                extra: b"",
            }],
            10,
        );
        assert!(matches!(
            try_apply(BASE, &p),
            Err(DeltaError::BaseRange { .. })
        ));
    }
}

#[test]
fn huge_declared_lengths_are_refused_without_output() {
    for (diff_len, extra) in [
        (u64::MAX, 0u64),
        (0, u64::MAX),
        (u64::MAX, u64::MAX),
        (1 << 40, 0),
    ] {
        let mut raw = Vec::new();
        varint(&mut raw, 0);
        varint(&mut raw, diff_len);
        varint(&mut raw, extra);
        let p = patch(&header(BASE, 1000, [0; 32]), &lzma2(&raw));
        let mut out = Counting::default();
        let e = apply(&mut Cursor::new(BASE), &p[..], &mut out);
        assert!(matches!(e, Err(DeltaError::ResultOverrun { .. })), "{e:?}");
        assert!(out.bytes.is_empty());
    }
    // A diff run longer than its record's diff length.
    let p = body_with(
        &[Rec {
            seek: 0,
            diff_len: 4,
            runs: &[(u64::MAX, &[])],
            extra: b"",
        }],
        10,
    );
    assert!(matches!(
        try_apply(BASE, &p),
        Err(DeltaError::DiffRunOverrun { .. })
    ));
    let p = body_with(
        &[Rec {
            seek: 0,
            diff_len: 4,
            runs: &[(3, b"ab")],
            extra: b"",
        }],
        10,
    );
    assert!(matches!(
        try_apply(BASE, &p),
        Err(DeltaError::DiffRunOverrun { .. })
    ));
}

#[test]
fn degenerate_records_and_streams_are_refused() {
    let p = body_with(
        &[Rec {
            seek: 0,
            diff_len: 0,
            runs: &[],
            extra: b"",
        }],
        10,
    );
    assert!(matches!(
        try_apply(BASE, &p),
        Err(DeltaError::EmptyRecord { record: 1 })
    ));
    let p = body_with(
        &[Rec {
            seek: 0,
            diff_len: 3,
            runs: &[(0, &[]), (3, &[])],
            extra: b"",
        }],
        3,
    );
    assert!(matches!(
        try_apply(BASE, &p),
        Err(DeltaError::EmptyDiffRun { .. })
    ));
    // Over-long varint.
    let p = patch(&header(BASE, 10, [0; 32]), &lzma2(&[0xff; 12]));
    assert!(matches!(
        try_apply(BASE, &p),
        Err(DeltaError::BadVarint { record: 1 })
    ));
    // Body that is not LZMA2 at all.
    let p = patch(
        &header(BASE, 10, [0; 32]),
        b"definitely not an lzma2 stream",
    );
    assert!(matches!(
        try_apply(BASE, &p),
        Err(DeltaError::Decompress { .. })
    ));
    // Empty body with a non-empty declared result.
    let p = patch(&header(BASE, 10, [0; 32]), b"");
    assert!(try_apply(BASE, &p).is_err());
}

#[test]
fn data_after_the_result_is_refused() {
    let (p, result) = valid();
    // Decoded records after the result is complete.
    let lits: Vec<u8> = b"cat"
        .iter()
        .zip(b"fox")
        .map(|(a, b)| a.wrapping_sub(*b))
        .collect();
    let raw = records(&[
        Rec {
            seek: 0,
            diff_len: 44,
            runs: &[(16, &lits), (25, &[])],
            extra: b"!!",
        },
        Rec {
            seek: 0,
            diff_len: 0,
            runs: &[],
            extra: b"x",
        },
    ]);
    let h = header(BASE, result.len() as u64, sha(&result));
    let e = try_apply(BASE, &patch(&h, &lzma2(&raw)));
    assert!(matches!(e, Err(DeltaError::TrailingData { .. })), "{e:?}");
    // Bytes after the end of the LZMA2 stream.
    let mut q = p.clone();
    q.extend_from_slice(b"junk");
    assert!(matches!(
        try_apply(BASE, &q),
        Err(DeltaError::TrailingData { .. })
    ));
}

#[test]
fn every_error_has_one_human_line() {
    let (p, _) = valid();
    let mut bad = p.clone();
    bad[20] ^= 1; // base sha256 in the header
    let e = try_apply(BASE, &bad)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        e.starts_with("base image sha256 mismatch: expected "),
        "{e}"
    );
    assert!(!e.contains('\n'));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_mutations_never_panic_or_overrun(
        flips in proptest::collection::vec((any::<u16>(), any::<u8>()), 1..6),
        cut in any::<u16>(),
    ) {
        let (mut p, _) = valid();
        for (at, x) in flips {
            let at = usize::from(at) % p.len();
            p[at] ^= x.max(1);
        }
        let cut = usize::from(cut) % (p.len() + 1);
        let _ = try_apply(BASE, &p[..cut]);
        let _ = try_apply(BASE, &p);
    }

    #[test]
    fn random_record_streams_never_panic_or_overrun(
        raw in proptest::collection::vec(any::<u8>(), 0..400),
        result_len in 0u64..200,
    ) {
        let p = patch(&header(BASE, result_len, [0; 32]), &lzma2(&raw));
        let _ = try_apply(BASE, &p);
    }

    #[test]
    fn random_bodies_never_panic_or_overrun(body in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = try_apply(BASE, &patch(&header(BASE, 100, [0; 32]), &body));
    }
}

/// The valid patch's records as an algorithm-2 body: one zstd frame.
fn valid_zstd(window_log: u32) -> (Vec<u8>, Vec<u8>) {
    let (lzma_patch, result) = valid();
    let body = &lzma_patch[HEADER_LEN..];
    let mut raw = Vec::new();
    let mut dec = liblzma::read::XzDecoder::new_stream(
        body,
        Stream::new_raw_decoder(&{
            let mut f = Filters::new();
            let mut o = LzmaOptions::new_preset(1).expect("preset 1 exists");
            o.dict_size(1 << 20);
            f.lzma2(&o);
            f
        })
        .expect("raw decoder"),
    );
    io::Read::read_to_end(&mut dec, &mut raw).expect("decode the valid body");
    let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 3).expect("zstd encoder");
    enc.window_log(window_log).expect("window log");
    enc.write_all(&raw).expect("compress to memory");
    let frame = enc.finish().expect("finish to memory");
    let h = PatchHeader {
        algorithm: Algorithm::BsdiffZstd,
        ..header(BASE, result.len() as u64, sha(&result))
    };
    (patch(&h, &frame), result)
}

#[test]
fn a_zstd_body_applies_and_its_truncations_and_trailing_bytes_are_refused() {
    let (p, result) = valid_zstd(20);
    assert_eq!(try_apply(BASE, &p).ok(), Some(result));
    for cut in HEADER_LEN..p.len() {
        match try_apply(BASE, &p[..cut]) {
            Err(DeltaError::StreamTruncated { .. })
            | Err(DeltaError::ResultShort { .. })
            | Err(DeltaError::Decompress { .. }) => {}
            other => panic!("cut at {cut}: {other:?}"),
        }
    }
    let mut q = p.clone();
    q.extend_from_slice(b"junk");
    assert!(matches!(
        try_apply(BASE, &q),
        Err(DeltaError::TrailingData { .. })
    ));
    // A second frame after the first is trailing data too, not more body.
    let mut two = p.clone();
    two.extend_from_slice(&p[HEADER_LEN..]);
    assert!(matches!(
        try_apply(BASE, &two),
        Err(DeltaError::TrailingData { .. })
    ));
}

#[test]
fn a_zstd_frame_asking_for_more_than_the_window_cap_is_refused() {
    // No pledged size, so the frame header declares the full 2^24 window: over the format's
    // 2^23 cap, refused before the decoder allocates it.
    let (p, _) = valid_zstd(24);
    let e = try_apply(BASE, &p);
    assert!(matches!(e, Err(DeltaError::Decompress { .. })), "{e:?}");
    let (ok, _) = valid_zstd(tufota_delta::ZSTD_WINDOW_LOG);
    assert!(try_apply(BASE, &ok).is_ok());
}

#[test]
fn lzma2_bytes_under_the_zstd_algorithm_and_the_reverse_are_refused() {
    let (lz, _) = valid();
    let (zs, _) = valid_zstd(20);
    let mut lz_as_zstd = lz.clone();
    lz_as_zstd[9] = Algorithm::BsdiffZstd as u8;
    let mut zs_as_lzma = zs.clone();
    zs_as_lzma[9] = Algorithm::BsdiffLzma2 as u8;
    for p in [lz_as_zstd, zs_as_lzma] {
        let e = try_apply(BASE, &p);
        assert!(matches!(e, Err(DeltaError::Decompress { .. })), "{e:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_zstd_mutations_never_panic_or_overrun(
        flips in proptest::collection::vec((any::<u16>(), any::<u8>()), 1..6),
    ) {
        let (mut p, _) = valid_zstd(20);
        for (at, x) in flips {
            let at = HEADER_LEN + usize::from(at) % (p.len() - HEADER_LEN);
            p[at] ^= x.max(1);
        }
        let _ = try_apply(BASE, &p);
    }
}
