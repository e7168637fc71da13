//! The streaming applier. Memory is a constant: one LZMA2 dictionary ([`LZMA_DICT_SIZE`],
//! set by this code, not read from the patch, so a hostile patch cannot ask for more) plus a
//! few fixed buffers, whatever the image sizes.

use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::thread::Scope;

use liblzma::bufread::XzDecoder;
use liblzma::stream::{Filters, LzmaOptions, Stream};

use crate::decode::ThreadedDecoder;
use crate::error::DeltaError;
use crate::hasher::BackgroundSha256;
use crate::header::{read_header, PatchHeader};
use crate::record::{read_varint, unzigzag, VarintError};
use crate::LZMA_DICT_SIZE;

/// Bytes moved per step of the hot loop (diff add, hash, write).
const CHUNK: usize = 128 * 1024;
/// Bytes per read while verifying the base.
const VERIFY_READ: usize = 256 * 1024;
/// The base-image block cache (see `BaseReader`): block size, number of blocks, and most
/// blocks read at once.
const BASE_BLOCK: usize = 4 * 1024;
const BASE_BLOCKS: usize = 1024;
const BASE_RUN: usize = 64;
/// Buffer between the LZMA2 decoder and the record parser (varints are read byte-wise from it).
const STREAM_BUF: usize = 64 * 1024;

/// What one `apply` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyStats {
    /// The verified header.
    pub header: PatchHeader,
    /// Result bytes written to `out` (equals `header.result_len` on success).
    pub result_len: u64,
    /// Records decoded from the patch stream.
    pub records: u64,
    /// Compressed patch bytes consumed, header included.
    pub patch_bytes: u64,
    /// Base bytes read while applying (after the verification pass, which reads `base_len`).
    pub base_bytes_read: u64,
}

/// Check that `base` is the image the patch was made against: its length (by seeking to the
/// end) and its sha256 (by reading it whole). Leaves `base` at an unspecified position.
pub fn verify_base<B: Read + Seek>(base: &mut B, header: &PatchHeader) -> Result<(), DeltaError> {
    let actual = base
        .seek(SeekFrom::End(0))
        .map_err(DeltaError::io("measuring the base image"))?;
    if actual != header.base_len {
        return Err(DeltaError::BaseLength {
            expected: header.base_len,
            actual,
        });
    }
    base.seek(SeekFrom::Start(0))
        .map_err(DeltaError::io("rewinding the base image"))?;
    let actual = std::thread::scope(|scope| -> Result<[u8; 32], DeltaError> {
        let mut hasher = BackgroundSha256::start(scope, VERIFY_READ)?;
        let mut left = header.base_len;
        while left > 0 {
            let mut buf = hasher.empty_buffer()?;
            let want = usize::try_from(left).map_or(VERIFY_READ, |l| l.min(VERIFY_READ));
            buf.resize(want, 0);
            let mut filled = 0;
            while filled < want {
                match base.read(buf.get_mut(filled..).unwrap_or_default()) {
                    Ok(0) => {
                        return Err(DeltaError::BaseLength {
                            expected: header.base_len,
                            actual: header.base_len - left + filled as u64,
                        })
                    }
                    Ok(n) => filled += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(source) => {
                        return Err(DeltaError::Io {
                            what: "hashing the base image",
                            source,
                        })
                    }
                }
            }
            left -= want as u64;
            hasher.update(buf)?;
        }
        hasher.finish()
    })?;
    if actual != header.base_sha256 {
        return Err(DeltaError::BaseHash {
            expected: header.base_sha256,
            actual,
        });
    }
    Ok(())
}

/// Apply `patch` to `base`, streaming the result into `out`.
///
/// Order of work: read and check the header; verify the base's length and sha256 (a full read
/// of the base, so a wrong base is refused before a single result byte is written — callers
/// that already checked it pay that read twice, which at ~1.3 GB/s is cheaper than a second
/// code path that could be called by mistake); then decode records, adding diff bytes to base
/// bytes and copying literal bytes, hashing the result as it goes.
///
/// Guarantees, whatever the patch bytes: no more than `header.result_len` bytes are written to
/// `out` (a record that would overrun is refused before any of it is written); no read of the
/// base outside `0..base_len`; the function returns `Ok` only if exactly `result_len` bytes were
/// produced, the stream ended there, and their sha256 equals `header.result_sha256`.
/// On `Err`, whatever was written to `out` must be discarded.
pub fn apply<B: Read + Seek, P: Read, W: Write>(
    base: &mut B,
    patch: P,
    out: &mut W,
) -> Result<ApplyStats, DeltaError> {
    let mut patch = CountingReader { inner: patch, n: 0 };
    let header = read_header(&mut patch)?;
    verify_base(base, &header)?;

    let body = std::thread::scope(|scope| {
        let decoder = ThreadedDecoder::start(scope, &mut patch, header.algorithm)?;
        let mut stream = BufReader::with_capacity(STREAM_BUF, decoder);
        apply_records(scope, &header, base, &mut stream, out)
    })?;
    Ok(ApplyStats {
        header,
        result_len: body.written,
        records: body.records,
        patch_bytes: patch.n,
        base_bytes_read: body.base_bytes_read,
    })
}

/// What the record loop did.
struct BodyStats {
    written: u64,
    records: u64,
    base_bytes_read: u64,
}

/// The record loop: decode records from `stream`, produce the result into `out`.
fn apply_records<'scope, B: Read + Seek, P: Read, W: Write>(
    scope: &'scope Scope<'scope, '_>,
    header: &PatchHeader,
    base: &mut B,
    stream: &mut BufReader<ThreadedDecoder<'_, P>>,
    out: &mut W,
) -> Result<BodyStats, DeltaError> {
    let mut base = BaseReader::new(base, header.base_len);
    let mut sink = Output::new(out, scope)?;
    let mut buf = vec![0u8; CHUNK];
    let mut base_buf = vec![0u8; CHUNK];

    let declared = header.result_len;
    let mut produced: u64 = 0;
    let mut pos: u64 = 0;
    let mut record: u64 = 0;
    while produced < declared {
        record += 1;
        let seek = match read_field(stream, record, produced)? {
            Some(v) => unzigzag(v),
            None => return Err(DeltaError::ResultShort { declared, produced }),
        };
        let diff_len = read_field(stream, record, produced)?
            .ok_or(DeltaError::StreamTruncated { record, produced })?;
        let extra_len = read_field(stream, record, produced)?
            .ok_or(DeltaError::StreamTruncated { record, produced })?;
        if diff_len == 0 && extra_len == 0 {
            return Err(DeltaError::EmptyRecord { record });
        }
        let would_end = u128::from(produced) + u128::from(diff_len) + u128::from(extra_len);
        if would_end > u128::from(declared) {
            return Err(DeltaError::ResultOverrun {
                declared,
                record,
                would_end,
            });
        }
        let start = i128::from(pos) + i128::from(seek);
        let end = start + i128::from(diff_len);
        if start < 0 || end > i128::from(header.base_len) {
            return Err(DeltaError::BaseRange {
                record,
                start,
                end,
                base_len: header.base_len,
            });
        }
        // In range 0..=base_len, checked just above.
        pos = u64::try_from(start).unwrap_or(0);

        // Diff bytes come as (zero run, literal run) pairs covering exactly diff_len.
        let mut left = diff_len;
        while left > 0 {
            let zeros = read_field(stream, record, produced)?
                .ok_or(DeltaError::StreamTruncated { record, produced })?;
            let lits = read_field(stream, record, produced)?
                .ok_or(DeltaError::StreamTruncated { record, produced })?;
            if zeros == 0 && lits == 0 {
                return Err(DeltaError::EmptyDiffRun { record });
            }
            if u128::from(zeros) + u128::from(lits) > u128::from(left) {
                return Err(DeltaError::DiffRunOverrun { record, diff_len });
            }
            left -= zeros + lits;
            // Unchanged bytes go from the base cache straight to the hash and the output.
            base.copy_to(pos, zeros, |slice| sink.put(slice))?;
            pos += zeros;
            produced += zeros;
            let mut run = lits;
            while run > 0 {
                let n = chunk_len(run);
                let (Some(d), Some(b)) = (buf.get_mut(..n), base_buf.get_mut(..n)) else {
                    break;
                };
                read_body(stream, d, record, produced)?;
                base.read_at(pos, b)?;
                for (x, y) in d.iter_mut().zip(b.iter()) {
                    *x = x.wrapping_add(*y);
                }
                sink.put(d)?;
                pos += n as u64;
                produced += n as u64;
                run -= n as u64;
            }
        }
        let mut left = extra_len;
        while left > 0 {
            let n = chunk_len(left);
            let Some(d) = buf.get_mut(..n) else { break };
            read_body(stream, d, record, produced)?;
            sink.put(d)?;
            produced += n as u64;
            left -= n as u64;
        }
    }
    match stream.fill_buf() {
        Ok([]) => {}
        Ok(_) => return Err(DeltaError::TrailingData { declared }),
        Err(source) => return Err(stream_error(source, record, produced)),
    }
    // The body (LZMA2 stream or zstd frame) has ended; nothing may follow it in the patch.
    match stream.get_mut().input_trailing() {
        Ok(false) => {}
        Ok(true) => return Err(DeltaError::TrailingData { declared }),
        Err(source) => return Err(DeltaError::Decompress { source }),
    }
    let (written, actual) = sink.finish()?;
    if actual != header.result_sha256 {
        return Err(DeltaError::ResultHash {
            expected: header.result_sha256,
            actual,
        });
    }
    Ok(BodyStats {
        written,
        records: record,
        base_bytes_read: base.bytes_read,
    })
}

/// Raw LZMA2 decoding with this crate's fixed dictionary, reading 0 forever once the stream's
/// end marker has been seen (liblzma refuses calls after the end).
pub(crate) struct Lzma2Reader<R: BufRead> {
    inner: XzDecoder<R>,
    ended: bool,
}

impl<R: BufRead> Lzma2Reader<R> {
    /// The reader under the decoder (to look for bytes after the stream's end).
    pub(crate) fn inner_mut(&mut self) -> &mut R {
        self.inner.get_mut()
    }

    pub(crate) fn new(r: R) -> Result<Self, DeltaError> {
        let to_err = |e: liblzma::stream::Error| DeltaError::Decompress { source: e.into() };
        let mut opts = LzmaOptions::new_preset(6).map_err(to_err)?;
        opts.dict_size(LZMA_DICT_SIZE);
        let mut filters = Filters::new();
        filters.lzma2(&opts);
        let stream = Stream::new_raw_decoder(&filters).map_err(to_err)?;
        Ok(Lzma2Reader {
            inner: XzDecoder::new_stream(r, stream),
            ended: false,
        })
    }
}

impl<R: BufRead> Read for Lzma2Reader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.ended || buf.is_empty() {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        if n == 0 {
            self.ended = true;
        }
        Ok(n)
    }
}

fn chunk_len(left: u64) -> usize {
    usize::try_from(left).map_or(CHUNK, |l| l.min(CHUNK))
}

fn read_field<R: BufRead>(
    r: &mut R,
    record: u64,
    produced: u64,
) -> Result<Option<u64>, DeltaError> {
    read_varint(r).map_err(|e| match e {
        VarintError::Truncated => DeltaError::StreamTruncated { record, produced },
        VarintError::Overlong => DeltaError::BadVarint { record },
        VarintError::Io(source) => stream_error(source, record, produced),
    })
}

fn read_body<R: Read>(
    r: &mut R,
    dst: &mut [u8],
    record: u64,
    produced: u64,
) -> Result<(), DeltaError> {
    r.read_exact(dst)
        .map_err(|source| stream_error(source, record, produced))
}

fn stream_error(source: io::Error, record: u64, produced: u64) -> DeltaError {
    if source.kind() == io::ErrorKind::UnexpectedEof {
        DeltaError::StreamTruncated { record, produced }
    } else {
        DeltaError::Decompress { source }
    }
}

/// Random access to the base through a direct-mapped cache of aligned blocks.
///
/// bsdiff records of a recompiled executable are short spans scattered over the whole base
/// (ruff: 79k records, most 2–128 bytes, most a jump of 128 KiB–8 MiB from the last), yet
/// they come back to the same neighbourhoods. Replayed against ruff's records, one forward
/// window cost 72k seek+read pairs, 16 LRU windows 50k, and this cache of 1024 × 4 KiB 17k
/// (256 × 16 KiB: 12k, but copying 3x the bytes, which cost more than the calls saved).
/// A miss reads its block plus the following ones the request still needs (up to
/// [`BASE_RUN`] blocks in one read), so long sequential spans of filesystem images stay
/// large reads. Memory is fixed: [`BASE_BLOCKS`] × [`BASE_BLOCK`] bytes.
struct BaseReader<'a, B> {
    inner: &'a mut B,
    len: u64,
    cache: Vec<u8>,
    /// Per slot: the block number it holds, plus one (0 = empty).
    tags: Vec<u64>,
    /// Where `inner` is positioned, if known.
    phys: Option<u64>,
    bytes_read: u64,
}

const BLOCK: u64 = BASE_BLOCK as u64;
const BLOCKS: u64 = BASE_BLOCKS as u64;

impl<'a, B: Read + Seek> BaseReader<'a, B> {
    fn new(inner: &'a mut B, len: u64) -> Self {
        BaseReader {
            inner,
            len,
            cache: vec![0u8; BASE_BLOCKS * BASE_BLOCK],
            tags: vec![0; BASE_BLOCKS],
            phys: None,
            bytes_read: 0,
        }
    }

    /// The cached bytes from `p` to the end of its block (or of the base), reading the block
    /// in if it is not cached; `needed` says how far the caller will read on.
    fn bytes_at(&mut self, p: u64, needed: u64) -> Result<&[u8], DeltaError> {
        let block = p / BLOCK;
        let slot = block % BLOCKS;
        if self.tags.get(slot as usize) != Some(&(block + 1)) {
            self.fill(block, needed + (p % BLOCK))?;
        }
        let start = (slot * BLOCK + p % BLOCK) as usize;
        let end = (slot * BLOCK) as usize + (self.len - block * BLOCK).min(BLOCK) as usize;
        Ok(self.cache.get(start..end).unwrap_or_default())
    }

    /// Fill `dst` with base bytes at `pos..pos + dst.len()`; the caller has checked that range
    /// lies within `0..len`.
    fn read_at(&mut self, pos: u64, dst: &mut [u8]) -> Result<(), DeltaError> {
        let mut done = 0usize;
        while done < dst.len() {
            let src = self.bytes_at(pos + done as u64, (dst.len() - done) as u64)?;
            if src.is_empty() {
                return Err(base_ended(pos + done as u64));
            }
            let want = dst.get_mut(done..).unwrap_or_default();
            let n = src.len().min(want.len());
            if let (Some(to), Some(from)) = (want.get_mut(..n), src.get(..n)) {
                to.copy_from_slice(from);
            }
            done += n;
        }
        Ok(())
    }

    /// Hand base bytes `pos..pos + len` to `f` in slices of the cache, without copying them
    /// out; the caller has checked that range lies within `0..len`.
    fn copy_to<F>(&mut self, pos: u64, len: u64, mut f: F) -> Result<(), DeltaError>
    where
        F: FnMut(&[u8]) -> Result<(), DeltaError>,
    {
        let mut done = 0u64;
        while done < len {
            let avail = self.bytes_at(pos + done, len - done)?;
            if avail.is_empty() {
                return Err(base_ended(pos + done));
            }
            let n = usize::try_from(len - done).map_or(avail.len(), |r| r.min(avail.len()));
            f(avail.get(..n).unwrap_or_default())?;
            done += n as u64;
        }
        Ok(())
    }

    /// Read `block` and the blocks after it that `needed` bytes from its start reach, in one
    /// read, stopping at [`BASE_RUN`] blocks, the end of the slot array and the end of the base.
    fn fill(&mut self, block: u64, needed: u64) -> Result<(), DeltaError> {
        let first_slot = block % BLOCKS;
        let run = needed
            .div_ceil(BLOCK)
            .clamp(1, BASE_RUN as u64)
            .min(BLOCKS - first_slot);
        let p = block * BLOCK;
        let want = (run * BLOCK).min(self.len.saturating_sub(p));
        if self.phys != Some(p) {
            self.inner
                .seek(SeekFrom::Start(p))
                .map_err(DeltaError::io("seeking in the base image"))?;
            self.phys = Some(p);
        }
        let start = (first_slot * BLOCK) as usize;
        // Emptied first: if the read fails, no slot may claim stale bytes.
        for slot in first_slot..first_slot + run {
            if let Some(t) = self.tags.get_mut(slot as usize) {
                *t = 0;
            }
        }
        let dst = self
            .cache
            .get_mut(start..start + want as usize)
            .unwrap_or_default();
        let mut got = 0usize;
        while got < dst.len() {
            match self.inner.read(dst.get_mut(got..).unwrap_or_default()) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    self.phys = None;
                    return Err(DeltaError::Io {
                        what: "reading the base image",
                        source,
                    });
                }
            }
        }
        self.phys = Some(p + got as u64);
        self.bytes_read += got as u64;
        if (got as u64) < want {
            return Err(base_ended(p + got as u64));
        }
        for (i, slot) in (first_slot..first_slot + run).enumerate() {
            if let Some(t) = self.tags.get_mut(slot as usize) {
                *t = block + i as u64 + 1;
            }
        }
        Ok(())
    }
}

fn base_ended(at: u64) -> DeltaError {
    DeltaError::Io {
        what: "reading the base image",
        source: io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("base ended at byte {at}, shorter than it was when verified"),
        ),
    }
}

struct CountingReader<R> {
    inner: R,
    n: u64,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.n += n as u64;
        Ok(n)
    }
}

/// Result bytes on their way out: staged in one buffer, then hashed and written a buffer at a
/// time, so the many small pieces of an executable's records cost one copy each rather than a
/// hash update and a write call each. Holds at most `CHUNK` bytes, so it can never have
/// written more than the records admitted so far.
/// The result side: staged into [`CHUNK`]-byte buffers, each written to `w` and then handed
/// to the hashing thread.
struct Output<'a, 'scope, W> {
    w: &'a mut W,
    buf: Vec<u8>,
    hasher: BackgroundSha256<'scope>,
    written: u64,
}

impl<'a, 'scope, W: Write> Output<'a, 'scope, W> {
    fn new(w: &'a mut W, scope: &'scope Scope<'scope, '_>) -> Result<Self, DeltaError> {
        let mut hasher = BackgroundSha256::start(scope, CHUNK)?;
        let buf = hasher.empty_buffer()?;
        Ok(Output {
            w,
            buf,
            hasher,
            written: 0,
        })
    }

    fn put(&mut self, mut data: &[u8]) -> Result<(), DeltaError> {
        while !data.is_empty() {
            let room = CHUNK.saturating_sub(self.buf.len());
            if room == 0 {
                self.drain()?;
                continue;
            }
            let (head, tail) = data.split_at(room.min(data.len()));
            self.buf.extend_from_slice(head);
            data = tail;
        }
        Ok(())
    }

    fn drain(&mut self) -> Result<(), DeltaError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.w
            .write_all(&self.buf)
            .map_err(DeltaError::io("writing the result"))?;
        self.written += self.buf.len() as u64;
        let next = self.hasher.empty_buffer()?;
        let full = std::mem::replace(&mut self.buf, next);
        self.hasher.update(full)
    }

    /// Write what is staged, flush, and return the byte count and sha256 of everything.
    fn finish(mut self) -> Result<(u64, [u8; 32]), DeltaError> {
        self.drain()?;
        self.w
            .flush()
            .map_err(DeltaError::io("writing the result"))?;
        Ok((self.written, self.hasher.finish()?))
    }
}
