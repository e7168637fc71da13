//! Generated patches round-trip: random edits, inserts, deletions, truncation, empty and
//! identical images; applied from a file-like base, through a chunked pipe, and with the
//! result checked byte for byte.

use std::io::{Cursor, Write};

use proptest::prelude::*;
use tufota_delta::{
    apply, apply_image, generate, patch_pipe, read_header, Algorithm, Codec, GenerateOptions,
    HEADER_LEN,
};

fn fast() -> GenerateOptions {
    GenerateOptions {
        level: 1,
        extreme: false,
        ..GenerateOptions::default()
    }
}

fn round_trip(old: &[u8], new: &[u8], opts: &GenerateOptions) -> Vec<u8> {
    let patch = match generate(old, new, opts) {
        Ok(p) => p,
        Err(e) => panic!("generate failed: {e}"),
    };
    let mut out = Vec::new();
    match apply(&mut Cursor::new(old), &patch[..], &mut out) {
        Ok(stats) => {
            assert_eq!(stats.result_len, new.len() as u64);
            assert_eq!(stats.patch_bytes, patch.len() as u64);
        }
        Err(e) => panic!("apply failed: {e}"),
    }
    assert!(out == new, "result differs from new image");
    patch
}

/// `len` bytes of xorshift output: incompressible, and unlike any other seed's.
fn pseudo_random(len: usize, mut x: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// An edit script applied to a base: (position fraction, kind, length, seed byte).
fn edit(base: &[u8], edits: &[(u16, u8, u16, u8)]) -> Vec<u8> {
    let mut v = base.to_vec();
    for &(at, kind, len, seed) in edits {
        let at = if v.is_empty() {
            0
        } else {
            usize::from(at) * v.len() / 65536
        };
        let len = usize::from(len);
        match kind % 4 {
            0 => {
                // overwrite
                for (i, b) in v.iter_mut().skip(at).take(len).enumerate() {
                    *b = seed.wrapping_add(i as u8);
                }
            }
            1 => {
                // insert
                let ins: Vec<u8> = (0..len).map(|i| seed ^ (i as u8)).collect();
                v.splice(at..at, ins);
            }
            2 => {
                // delete
                let end = (at + len).min(v.len());
                v.drain(at..end);
            }
            _ => {
                // move a block from here to the front
                let end = (at + len).min(v.len());
                let block: Vec<u8> = v.drain(at..end).collect();
                v.splice(0..0, block);
            }
        }
    }
    v
}

fn base_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..20_000),
        // Low-entropy bases make long repeats, the case bsdiff's scan loop finds hardest.
        proptest::collection::vec(0u8..3, 0..20_000),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_edits_round_trip(
        base in base_strategy(),
        edits in proptest::collection::vec((any::<u16>(), any::<u8>(), 0u16..600, any::<u8>()), 0..12),
    ) {
        let new = edit(&base, &edits);
        round_trip(&base, &new, &fast());
        round_trip(&base, &new, &GenerateOptions { codec: Codec::Zstd, ..fast() });
    }

    #[test]
    fn truncation_and_unrelated_images_round_trip(
        base in base_strategy(),
        other in proptest::collection::vec(any::<u8>(), 0..5_000),
        cut in any::<u16>(),
    ) {
        let cut = usize::from(cut) % (base.len() + 1);
        round_trip(&base, &base[..cut], &fast());
        round_trip(&base, &other, &fast());
        round_trip(&other, &base, &fast());
    }
}

#[test]
fn empty_and_identical_images() {
    let data: Vec<u8> = (0..100_000u32).map(|i| (i * 31 % 253) as u8).collect();
    let p = round_trip(&[], &[], &fast());
    assert!(p.len() < HEADER_LEN + 16);
    round_trip(&[], &data, &fast());
    round_trip(&data, &[], &fast());
    let same = round_trip(&data, &data, &fast());
    assert!(
        same.len() < HEADER_LEN + 200,
        "identical patch is {} bytes",
        same.len()
    );
}

#[test]
fn multi_threaded_matching_round_trips() {
    // Big enough that generation splits the new image across threads.
    let old = pseudo_random(9 << 20, 0x9e37_79b9_7f4a_7c15);
    let new = edit(
        &old,
        &[(100, 0, 50, 1), (30_000, 1, 4000, 2), (60_000, 2, 300, 3)],
    );
    let opts = GenerateOptions {
        level: 1,
        extreme: false,
        threads: 3,
        codec: Codec::Lzma2,
    };
    let patch = round_trip(&old, &new, &opts);
    assert!(patch.len() < 10_000, "patch of {} bytes", patch.len());
}

#[test]
fn far_moves_round_trip_through_the_base_window_and_cache() {
    // Larger than the applier's base window (3 MiB), with blocks moved far from where the
    // result's position puts the window: the first MiB of the result comes from the base's
    // end (ahead of the window), later ones from behind it, so both the window and the block
    // cache serve reads, and the window's pass still hashes the whole base.
    let old = pseudo_random(9 << 20, 0x2545_f491_4f6c_dd1d);
    const M: usize = 1 << 20;
    let mut new = Vec::new();
    new.extend_from_slice(&old[8 * M..]);
    new.extend_from_slice(&edit(&old[..M], &[(200, 0, 40, 7), (40_000, 1, 900, 8)]));
    new.extend_from_slice(&old[5 * M..8 * M]);
    new.extend_from_slice(&old[M..2 * M]);
    new.extend_from_slice(b"inserted between moved blocks");
    new.extend_from_slice(&old[2 * M..5 * M]);
    let patch = round_trip(&old, &new, &fast());
    let mut out = Vec::new();
    let stats = apply(&mut Cursor::new(&old), &patch[..], &mut out).expect("applies");
    assert!(
        stats.base_bytes_read > 0,
        "no read outside the window: the cache path went untested"
    );
    // The same through positioned reads: from a real file (as a device reads its active
    // slot) and from a byte slice.
    let mut file = tempfile::tempfile().expect("temp file");
    file.write_all(&old).expect("write base");
    for (what, stats_image, out_image) in [
        {
            let mut out = Vec::new();
            let s = apply_image(&file, &patch[..], &mut out).expect("applies from a file");
            ("file", s, out)
        },
        {
            let mut out = Vec::new();
            let s = apply_image(&old[..], &patch[..], &mut out).expect("applies from a slice");
            ("slice", s, out)
        },
    ] {
        assert!(out_image == new, "{what}: result differs from new image");
        assert_eq!(stats_image.result_len, stats.result_len, "{what}");
        assert_eq!(stats_image.records, stats.records, "{what}");
    }
    // A base with one byte changed near its end, where only the window's pass reads it.
    let mut wrong = old.clone();
    let last = wrong.len() - 10;
    wrong[last] ^= 1;
    let e = apply(&mut Cursor::new(&wrong), &patch[..], &mut Vec::new());
    assert!(
        matches!(e, Err(tufota_delta::DeltaError::BaseHash { .. })),
        "{e:?}"
    );
}

#[test]
fn applies_from_a_chunked_pipe() {
    let old: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let new = edit(&old, &[(1000, 1, 500, 9), (40_000, 0, 100, 4)]);
    let patch = round_trip(&old, &new, &fast());
    let header = read_header(&mut &patch[..]).ok();
    assert_eq!(header.map(|h| h.result_len), Some(new.len() as u64));

    let (mut tx, rx) = patch_pipe(2);
    let base = old.clone();
    let applier = std::thread::spawn(move || {
        let mut out = Vec::new();
        apply(&mut Cursor::new(base), rx, &mut out).map(|_| out)
    });
    for chunk in patch.chunks(777) {
        assert!(tx.write_all(chunk).is_ok());
    }
    tx.finish();
    let got = applier.join().ok().and_then(Result::ok);
    assert!(got.as_deref() == Some(&new[..]));

    // An aborted download fails the apply, even with every byte but the last delivered.
    let (mut tx, rx) = patch_pipe(2);
    let base = old.clone();
    let applier = std::thread::spawn(move || {
        let mut out = Vec::new();
        apply(&mut Cursor::new(base), rx, &mut out).map(|_| out)
    });
    assert!(tx.write_all(&patch[..patch.len() - 1]).is_ok());
    tx.abort("connection reset");
    let res = applier.join().ok();
    assert!(matches!(res, Some(Err(_))));
}

#[test]
fn auto_codec_takes_zstd_only_for_large_patches() {
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut noise = |n: usize| -> Vec<u8> {
        seed += 1;
        pseudo_random(n, seed)
    };
    let base = noise(1 << 20);
    // A few changed bytes: the LZMA2 body is far below 2% of the result.
    let mut small_edit = base.clone();
    for i in (0..small_edit.len()).step_by(100_000) {
        small_edit[i] ^= 0x5a;
    }
    // Half the image replaced by unrelated bytes: the body is ~50% of the result.
    let mut big_edit = base.clone();
    big_edit[..1 << 19].copy_from_slice(&noise(1 << 19));
    let auto = GenerateOptions {
        codec: Codec::Auto,
        ..fast()
    };
    let small = round_trip(&base, &small_edit, &auto);
    let big = round_trip(&base, &big_edit, &auto);
    let algorithm = |p: &[u8]| read_header(&mut &p[..]).map(|h| h.algorithm).ok();
    assert_eq!(algorithm(&small), Some(Algorithm::BsdiffLzma2));
    assert_eq!(algorithm(&big), Some(Algorithm::BsdiffZstd));
}
