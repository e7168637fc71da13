//! Patch generation: bsdiff's approximate-match extension (Percival 2003, §3–4) over a
//! suffix array of the whole base, records written as one interleaved stream with sparse diff
//! runs and compressed with raw LZMA2 at an 8 MiB dictionary, or with zstd when the patch is
//! large enough that LZMA2 decoding would bound the apply rate ([`Codec::Auto`]). Runs on build
//! machines only (feature `generate`).
//!
//! Memory: base + new (borrowed) + 4 bytes per base byte for the suffix array + the op list
//! (a few bytes per record) + the uncompressed record stream (at most about the new image's
//! size) and its compressed bodies + the LZMA2 encoder (~100 MiB at preset 9e with an 8 MiB
//! dictionary) or zstd's at level 22, so at most about 8x the image size plus 100 MiB.

use std::io::{self, BufWriter, Write};
use std::num::NonZeroUsize;
use std::thread;

use liblzma::stream::{Filters, LzmaOptions, Stream, PRESET_EXTREME};
use liblzma::write::XzEncoder;
use ring::digest;

use crate::error::DeltaError;
use crate::header::{Algorithm, PatchHeader, FORMAT_VERSION};
use crate::record::{write_varint, zigzag};
use crate::LZMA_DICT_SIZE;

/// The outer compression of the record stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// LZMA2 (algorithm 1): the smallest patches.
    Lzma2,
    /// zstd (algorithm 2): ~10% larger, decoded ~7x faster.
    Zstd,
    /// LZMA2, unless its body exceeds [`ZSTD_ABOVE_PERCENT`] of the result and zstd's is at
    /// most [`ZSTD_SIZE_SLACK_PERCENT`] larger: then zstd.
    Auto,
}

/// An LZMA2 body above this share of the result length takes zstd instead under
/// [`Codec::Auto`]. LZMA2 decodes ~16 MB of compressed input per second on the reference
/// machine, so a body of 2% of the result costs ~1.25 ns per result byte, a quarter of the
/// 5 ns per byte that a 200 MB/s apply allows. Filesystem images and archives (0.02–0.2% on the
/// corpus) stay LZMA2; recompiled executables (ruff: 7.5%) go zstd.
pub const ZSTD_ABOVE_PERCENT: u64 = 2;
/// How much larger than LZMA2's a zstd body may be for [`Codec::Auto`] to take it.
pub const ZSTD_SIZE_SLACK_PERCENT: u64 = 15;
/// zstd window of the bodies this generator writes: 1 MiB. On ruff's records a 1 MiB window
/// made a smaller frame than 8 MiB (2,325,613 vs 2,335,996 bytes with the zstd CLI at -22), and
/// it is the applier's largest buffer.
const ZSTD_ENCODE_WINDOW_LOG: u32 = 20;
/// zstd level of algorithm-2 bodies (the strongest; decoding speed does not depend on it).
const ZSTD_LEVEL: i32 = 22;

/// Knobs for [`generate`]. `Default` is what the measurements in FORMAT.md chose.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// LZMA2 preset, 0..=9 (the dictionary is always [`LZMA_DICT_SIZE`]).
    pub level: u32,
    /// LZMA2 "extreme" variant of the preset: slower, a little smaller.
    pub extreme: bool,
    /// Threads for matching and compression; 0 means one per core.
    pub threads: usize,
    /// Outer compression of the record stream.
    pub codec: Codec,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            level: 9,
            extreme: true,
            threads: 0,
            codec: Codec::Auto,
        }
    }
}

/// Largest base the 32-bit suffix array can index.
const MAX_BASE: usize = i32::MAX as usize;
/// New images smaller than this per thread are matched on one thread.
const MIN_SPLIT: usize = 4 << 20;
/// In the scan loop, a candidate match this much longer than the current alignment's
/// score is taken; see `match_range`.
const BETTER_BY: isize = 8;
/// Matches up to this long are looked for among up to `NEAR_CANDIDATES` other occurrences on
/// each side in the suffix array, for the one nearest the current alignment (see `search`).
const NEAR_MAX_LEN: usize = 256;
const NEAR_CANDIDATES: usize = 64;
/// When a long candidate is not better than the current alignment, skip ahead to within this
/// many bytes of its end instead of retrying at every byte (keeps long runs linear).
const SKIP_SLACK: isize = 64;

/// One record before encoding: `diff_len` bytes are new-minus-base from `old_pos`, then
/// `extra_len` literal bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Op {
    old_pos: usize,
    diff_len: usize,
    extra_len: usize,
}

/// Make a patch that turns `old` into `new`.
pub fn generate(old: &[u8], new: &[u8], opts: &GenerateOptions) -> Result<Vec<u8>, DeltaError> {
    generate_to(old, new, opts, Vec::new())
}

/// Make a patch that turns `old` into `new`, writing it to `out`; returns `out`.
pub fn generate_to<W: Write>(
    old: &[u8],
    new: &[u8],
    opts: &GenerateOptions,
    mut out: W,
) -> Result<W, DeltaError> {
    if opts.level > 9 {
        return Err(DeltaError::BadOption {
            what: format!("LZMA2 preset {} not in 0..=9", opts.level),
        });
    }
    let threads = thread_count(opts.threads);
    let ops = diff_ops(old, new, threads)?;
    let header = PatchHeader {
        format_version: FORMAT_VERSION,
        algorithm: Algorithm::BsdiffLzma2,
        base_len: old.len() as u64,
        base_sha256: sha256(old),
        result_len: new.len() as u64,
        result_sha256: sha256(new),
    };
    let compress = |source| DeltaError::Compress { source };
    let mut records = Vec::new();
    write_records(&mut records, old, new, &ops).map_err(compress)?;
    let lzma2 = || compress_lzma2(&records, opts);
    let zstd = || compress_zstd(&records);
    let (algorithm, body) = match opts.codec {
        Codec::Lzma2 => (Algorithm::BsdiffLzma2, lzma2()?),
        Codec::Zstd => (Algorithm::BsdiffZstd, zstd()?),
        Codec::Auto => {
            let small = lzma2()?;
            let big_body = small.len() as u128 * 100
                > u128::from(header.result_len) * u128::from(ZSTD_ABOVE_PERCENT);
            match big_body.then(zstd).transpose()? {
                Some(fast)
                    if fast.len() as u128 * 100
                        <= small.len() as u128 * u128::from(100 + ZSTD_SIZE_SLACK_PERCENT) =>
                {
                    (Algorithm::BsdiffZstd, fast)
                }
                _ => (Algorithm::BsdiffLzma2, small),
            }
        }
    };
    let header = PatchHeader {
        algorithm,
        ..header
    };
    out.write_all(&header.to_bytes()).map_err(compress)?;
    out.write_all(&body).map_err(compress)?;
    Ok(out)
}

/// Algorithm 1's body: raw LZMA2 with the format's fixed dictionary.
fn compress_lzma2(records: &[u8], opts: &GenerateOptions) -> Result<Vec<u8>, DeltaError> {
    let compress = |source| DeltaError::Compress { source };
    let preset = opts.level | if opts.extreme { PRESET_EXTREME } else { 0 };
    let mut lzma = LzmaOptions::new_preset(preset).map_err(|e| compress(e.into()))?;
    // pb=0 (no 4-byte position alignment of the coder's states): the record stream has no
    // word structure; measured smaller on every corpus pair (FORMAT.md).
    lzma.dict_size(LZMA_DICT_SIZE)
        .literal_context_bits(3)
        .literal_position_bits(0)
        .position_bits(0);
    let mut filters = Filters::new();
    filters.lzma2(&lzma);
    let stream = Stream::new_raw_encoder(&filters).map_err(|e| compress(e.into()))?;
    let mut enc = XzEncoder::new_stream(Vec::new(), stream);
    enc.write_all(records).map_err(compress)?;
    // Not `flush()`: that asks liblzma for a full flush, which a raw LZMA2 encoder refuses.
    enc.finish().map_err(compress)
}

/// Algorithm 2's body: one zstd frame, window [`ZSTD_ENCODE_WINDOW_LOG`] (below the format's cap
/// [`crate::ZSTD_WINDOW_LOG`]), no checksum (the
/// header's sha256s cover integrity).
fn compress_zstd(records: &[u8]) -> Result<Vec<u8>, DeltaError> {
    let compress = |source| DeltaError::Compress { source };
    let mut enc = zstd::stream::write::Encoder::new(Vec::new(), ZSTD_LEVEL).map_err(compress)?;
    enc.window_log(ZSTD_ENCODE_WINDOW_LOG).map_err(compress)?;
    enc.long_distance_matching(true).map_err(compress)?;
    enc.include_checksum(false).map_err(compress)?;
    enc.set_pledged_src_size(Some(records.len() as u64))
        .map_err(compress)?;
    enc.write_all(records).map_err(compress)?;
    enc.finish().map_err(compress)
}

/// The uncompressed record stream (no header), for measuring alternative outer encoders.
pub fn write_raw_stream<W: Write>(
    old: &[u8],
    new: &[u8],
    threads: usize,
    out: &mut W,
) -> Result<(), DeltaError> {
    let ops = diff_ops(old, new, thread_count(threads))?;
    let mut w = BufWriter::with_capacity(1 << 20, out);
    let compress = |source| DeltaError::Compress { source };
    write_records(&mut w, old, new, &ops).map_err(compress)?;
    w.flush().map_err(compress)
}

/// The same records split bsdiff-style into control, diff and literal sections (no header),
/// for measuring "separate sections" against "interleaved".
pub fn write_raw_sections<W: Write>(
    old: &[u8],
    new: &[u8],
    threads: usize,
    ctrl: &mut W,
    diff: &mut W,
    extra: &mut W,
) -> Result<(), DeltaError> {
    let ops = diff_ops(old, new, thread_count(threads))?;
    let compress = |source| DeltaError::Compress { source };
    let mut c = BufWriter::new(ctrl);
    let mut d = BufWriter::new(diff);
    let mut e = BufWriter::new(extra);
    let mut pos = 0i64;
    let mut npos = 0usize;
    let mut buf = Vec::new();
    for op in &ops {
        write_control(&mut c, op, &mut pos).map_err(compress)?;
        write_diff(&mut d, old, new, op, npos, &mut buf).map_err(compress)?;
        npos += op.diff_len;
        e.write_all(&new[npos..npos + op.extra_len])
            .map_err(compress)?;
        npos += op.extra_len;
    }
    c.flush().map_err(compress)?;
    d.flush().map_err(compress)?;
    e.flush().map_err(compress)
}

fn thread_count(requested: usize) -> usize {
    if requested > 0 {
        requested
    } else {
        thread::available_parallelism().map_or(1, NonZeroUsize::get)
    }
}

fn sha256(data: &[u8]) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

fn write_control<W: Write>(w: &mut W, op: &Op, pos: &mut i64) -> io::Result<()> {
    let seek = op.old_pos as i64 - *pos;
    write_varint(w, zigzag(seek))?;
    write_varint(w, op.diff_len as u64)?;
    write_varint(w, op.extra_len as u64)?;
    *pos = (op.old_pos + op.diff_len) as i64;
    Ok(())
}

/// Zero runs at least this long end a literal diff run (measured: 8 beat 4, 16 and 32 on the
/// corpus; shorter zero runs cost less inside the literal than as a new run).
const SPARSE_GAP: usize = 8;

/// Write one record's diff bytes (new minus base) as (zero run, literal run) pairs.
fn write_diff<W: Write>(
    w: &mut W,
    old: &[u8],
    new: &[u8],
    op: &Op,
    npos: usize,
    buf: &mut Vec<u8>,
) -> io::Result<()> {
    let o = &old[op.old_pos..op.old_pos + op.diff_len];
    let m = &new[npos..npos + op.diff_len];
    buf.clear();
    buf.extend(m.iter().zip(o).map(|(a, b)| a.wrapping_sub(*b)));
    let d = &buf[..];
    let n = d.len();
    let zeros_from = |i: usize| d[i..].iter().take_while(|&&x| x == 0).count();
    let mut i = 0;
    while i < n {
        let z = zeros_from(i);
        let j = i + z;
        let mut k = j;
        while k < n {
            if d[k] != 0 {
                k += 1;
                continue;
            }
            let zr = zeros_from(k);
            if zr >= SPARSE_GAP || k + zr == n {
                break;
            }
            k += zr;
        }
        write_varint(w, z as u64)?;
        write_varint(w, (k - j) as u64)?;
        w.write_all(&d[j..k])?;
        i = k;
    }
    Ok(())
}

fn write_records<W: Write>(w: &mut W, old: &[u8], new: &[u8], ops: &[Op]) -> io::Result<()> {
    let mut pos = 0i64;
    let mut npos = 0usize;
    let mut buf = Vec::new();
    for op in ops {
        write_control(w, op, &mut pos)?;
        write_diff(w, old, new, op, npos, &mut buf)?;
        npos += op.diff_len;
        w.write_all(&new[npos..npos + op.extra_len])?;
        npos += op.extra_len;
    }
    Ok(())
}

/// Records that turn `old` into `new`: suffix-sort `old`, match `new` in `threads` slices in
/// parallel, drop empty records and merge records that continue each other.
fn diff_ops(old: &[u8], new: &[u8], threads: usize) -> Result<Vec<Op>, DeltaError> {
    if old.len() > MAX_BASE {
        return Err(DeltaError::InputTooLarge {
            what: "base",
            len: old.len(),
            max: MAX_BASE,
        });
    }
    if new.len() > MAX_BASE {
        return Err(DeltaError::InputTooLarge {
            what: "new",
            len: new.len(),
            max: MAX_BASE,
        });
    }
    let mut sa = vec![0i32; old.len()];
    if !old.is_empty() {
        divsufsort::sort_in_place(old, &mut sa);
    }
    let parts = threads.clamp(1, (new.len() / MIN_SPLIT).max(1));
    let bounds: Vec<usize> = (0..=parts).map(|i| new.len() * i / parts).collect();
    let pieces: Vec<Vec<Op>> = if parts == 1 {
        vec![match_range(old, &sa, new, 0, new.len())]
    } else {
        thread::scope(|s| {
            let handles: Vec<_> = bounds
                .windows(2)
                .map(|w| {
                    let (a, b) = (w[0], w[1]);
                    let sa = &sa;
                    s.spawn(move || match_range(old, sa, new, a, b))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        })
    };
    drop(sa);
    let mut ops: Vec<Op> = Vec::with_capacity(pieces.iter().map(Vec::len).sum());
    for op in pieces.into_iter().flatten() {
        if op.diff_len == 0 && op.extra_len == 0 {
            continue;
        }
        if let Some(prev) = ops.last_mut() {
            if prev.extra_len == 0 && prev.old_pos + prev.diff_len == op.old_pos {
                prev.diff_len += op.diff_len;
                prev.extra_len = op.extra_len;
                continue;
            }
        }
        ops.push(op);
    }
    Ok(ops)
}

/// Length of the common prefix of `a` and `b`.
fn match_len(a: &[u8], b: &[u8]) -> usize {
    let mut n = 0;
    for (x, y) in a.chunks(32).zip(b.chunks(32)) {
        if x == y {
            n += x.len();
        } else {
            return n + x.iter().zip(y).take_while(|(p, q)| p == q).count();
        }
    }
    n
}

/// The longest match of a prefix of `needle` among the suffixes of `old`: (position, length).
fn search(old: &[u8], sa: &[i32], needle: &[u8], near: isize) -> (usize, usize) {
    if sa.is_empty() {
        return (0, 0);
    }
    let (mut lo, mut hi) = (0usize, sa.len() - 1);
    while hi - lo >= 2 {
        let mid = lo + (hi - lo) / 2;
        let suffix = &old[sa[mid] as usize..];
        let k = suffix.len().min(needle.len());
        if suffix[..k] < needle[..k] {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let (a, b) = (sa[lo] as usize, sa[hi] as usize);
    let (la, lb) = (match_len(&old[a..], needle), match_len(&old[b..], needle));
    let (at, mut pos, len) = if la > lb { (lo, a, la) } else { (hi, b, lb) };
    // Short matches usually occur many times in the base (common instruction sequences,
    // padding); take the occurrence nearest the current alignment. Equal-length matches make
    // equal patches, but a near one keeps the applier's base reads local and the seeks small.
    if len > 0 && len <= NEAR_MAX_LEN {
        let prefix = &needle[..len];
        let dist = |p: usize| (p as isize - near).unsigned_abs();
        let same_prefix = |&&p: &&i32| old.get(p as usize..p as usize + len) == Some(prefix);
        let before = sa[at.saturating_sub(NEAR_CANDIDATES)..at].iter().rev();
        let after = sa[at + 1..].iter().take(NEAR_CANDIDATES);
        for &p in before
            .take_while(same_prefix)
            .chain(after.take_while(same_prefix))
        {
            if dist(p as usize) < dist(pos) {
                pos = p as usize;
            }
        }
    }
    (pos, len)
}

/// bsdiff's scan over `new[begin..end]`. Invariants kept from the original: `oldscore` counts
/// the bytes of `new[scan..scsc]` equal to the base at the current alignment `lastoffset`;
/// a new alignment is taken when a suffix-array match is exact-and-not-the-same (`len !=
/// oldscore`) or beats the current alignment by more than `BETTER_BY` bytes. Each accepted
/// match is extended forwards from the previous one and backwards from itself by "more
/// than half the bytes agree", and the overlap between the two is split where it scores best.
fn match_range(old: &[u8], sa: &[i32], new: &[u8], begin: usize, end: usize) -> Vec<Op> {
    // Positions fit in isize: both images are below 2^31 bytes (checked by the caller).
    let oldsize = old.len() as isize;
    let end_i = end as isize;
    // Base byte `o` equals new byte `n`; a base index outside the base never matches.
    let same = |o: isize, n: isize| -> bool {
        let o = usize::try_from(o).ok().and_then(|o| old.get(o));
        o.is_some() && o == new.get(n as usize)
    };

    let mut ops = Vec::new();
    let mut scan = begin as isize;
    let mut len: isize = 0;
    let mut pos: isize = 0;
    let mut lastscan = scan;
    // A slice starting mid-image starts aligned with the same offset in the base (the usual
    // case for images of the same layout); `lastpos - lastscan` must equal `lastoffset`.
    let mut lastpos: isize = scan.min(oldsize);
    let mut lastoffset: isize = lastpos - lastscan;

    while scan < end_i {
        let mut oldscore: isize = 0;
        scan += len;
        let mut scsc = scan;
        while scan < end_i {
            let (p, l) = search(old, sa, &new[scan as usize..end], scan + lastoffset);
            pos = p as isize;
            len = l as isize;
            while scsc < scan + len {
                if same(scsc + lastoffset, scsc) {
                    oldscore += 1;
                }
                scsc += 1;
            }
            if (len == oldscore && len != 0) || len > oldscore + BETTER_BY {
                break;
            }
            // Not worth a new alignment here. bsdiff steps one byte; inside a long candidate
            // that the current alignment already nearly covers, jump to near its end.
            let step = if len > 2 * SKIP_SLACK {
                len - SKIP_SLACK
            } else {
                1
            };
            for s in scan..scan + step {
                if same(s + lastoffset, s) {
                    oldscore -= 1;
                }
            }
            scan += step;
            if scsc < scan {
                scsc = scan;
                oldscore = 0;
            }
        }

        if len != oldscore || scan >= end_i {
            scan = scan.min(end_i);
            // Forward extension of the previous match.
            let (mut s, mut sf, mut lenf) = (0isize, 0isize, 0isize);
            let mut i = 0isize;
            while lastscan + i < scan && lastpos + i < oldsize {
                if same(lastpos + i, lastscan + i) {
                    s += 1;
                }
                i += 1;
                if s * 2 - i > sf * 2 - lenf {
                    sf = s;
                    lenf = i;
                }
            }
            // Backward extension of the new match.
            let mut lenb = 0isize;
            if scan < end_i {
                let (mut s, mut sb) = (0isize, 0isize);
                let mut i = 1isize;
                while scan >= lastscan + i && pos >= i {
                    if same(pos - i, scan - i) {
                        s += 1;
                    }
                    if s * 2 - i > sb * 2 - lenb {
                        sb = s;
                        lenb = i;
                    }
                    i += 1;
                }
            }
            // Split the overlap where it scores best.
            if lastscan + lenf > scan - lenb {
                let overlap = (lastscan + lenf) - (scan - lenb);
                let (mut s, mut ss, mut lens) = (0isize, 0isize, 0isize);
                for i in 0..overlap {
                    if same(lastpos + lenf - overlap + i, lastscan + lenf - overlap + i) {
                        s += 1;
                    }
                    if same(pos - lenb + i, scan - lenb + i) {
                        s -= 1;
                    }
                    if s > ss {
                        ss = s;
                        lens = i + 1;
                    }
                }
                lenf += lens - overlap;
                lenb -= lens;
            }
            ops.push(Op {
                old_pos: lastpos as usize,
                diff_len: lenf as usize,
                extra_len: ((scan - lenb) - (lastscan + lenf)) as usize,
            });
            lastscan = scan - lenb;
            lastpos = pos - lenb;
            lastoffset = pos - scan;
        }
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes of `new` that the ops do not take unchanged from the base.
    fn changed_bytes(old: &[u8], new: &[u8], ops: &[Op]) -> usize {
        let mut npos = 0;
        let mut changed = 0;
        for o in ops {
            let base = &old[o.old_pos..o.old_pos + o.diff_len];
            let wanted = &new[npos..npos + o.diff_len];
            changed += base.iter().zip(wanted).filter(|(a, b)| a != b).count();
            changed += o.extra_len;
            npos += o.diff_len + o.extra_len;
        }
        changed
    }

    #[test]
    fn ops_cover_new_exactly_and_stay_in_base() {
        let old: Vec<u8> = (0..50_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut new = old.clone();
        new[1000] ^= 0xff;
        new.splice(20_000..20_000, b"inserted bytes".iter().copied());
        new.drain(40_000..40_100);
        for threads in [1, 3] {
            let ops = diff_ops(&old, &new, threads).unwrap_or_default();
            let total: usize = ops.iter().map(|o| o.diff_len + o.extra_len).sum();
            assert_eq!(total, new.len());
            assert!(ops.iter().all(|o| o.old_pos + o.diff_len <= old.len()));
            let extra: usize = ops.iter().map(|o| o.extra_len).sum();
            assert!(extra < 64, "{extra} literal bytes for a 14-byte insert");
            assert!(changed_bytes(&old, &new, &ops) < 64);
        }
    }

    #[test]
    fn search_finds_longest_prefix() {
        let old = b"the quick brown fox jumps over the lazy dog";
        let mut sa = vec![0i32; old.len()];
        divsufsort::sort_in_place(old, &mut sa);
        let (pos, len) = search(old, &sa, b"the lazy cat", 0);
        assert_eq!((pos, len), (31, 9));
        assert_eq!(match_len(&[1; 100], &[1; 70]), 70);
    }
}
