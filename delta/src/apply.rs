//! The streaming applier. Memory is a constant: one LZMA2 dictionary ([`LZMA_DICT_SIZE`],
//! set by this code, not read from the patch, so a hostile patch cannot ask for more) plus a
//! few fixed buffers, whatever the image sizes.

use std::io::{self, BufRead, Read, Seek, Write};
use std::thread::Scope;

use liblzma::bufread::XzDecoder;
use liblzma::stream::{Filters, LzmaOptions, Stream};

use crate::base::{base_ended, check_base_len, read_full_at, BaseImage, BasePass, Piece, SeekBase};
use crate::decode::ThreadedDecoder;
use crate::error::DeltaError;
use crate::hasher::BackgroundSha256;
use crate::header::{read_header, PatchHeader};
use crate::record::{read_varint, unzigzag, VarintError};
use crate::LZMA_DICT_SIZE;

/// Bytes moved per step of the hot loop (diff add, hash, write).
const CHUNK: usize = 128 * 1024;
/// Bytes per read of [`verify_base`]'s sequential pass.
const VERIFY_READ: usize = 256 * 1024;
/// The window over the base that follows the result's position (see `BaseReader`): 3 MiB in
/// pieces of [`WINDOW_PIECE`] bytes, and 512 KiB more being read ahead of it by the pass.
const WINDOW_PIECE: usize = 64 * 1024;
const WINDOW_PIECES: usize = 48;
const AHEAD_PIECES: usize = 8;
/// The block cache for reads outside the window: block size, number of blocks, and most
/// blocks read at once.
const BASE_BLOCK: usize = 1024;
const BASE_BLOCKS: usize = 1024;
const BASE_RUN: usize = 64;

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
    /// Base bytes read besides the sequential pass (which reads `base_len` once): the blocks
    /// the window did not hold.
    pub base_bytes_read: u64,
}

/// Check that `base` is the image the patch was made against: its length (by seeking to the
/// end) and its sha256 (by reading it whole). Leaves `base` at an unspecified position.
pub fn verify_base<B: Read + Seek + Send>(
    base: &mut B,
    header: &PatchHeader,
) -> Result<(), DeltaError> {
    verify_base_image(&SeekBase::new(base), header)
}

/// [`verify_base`] for a [`BaseImage`] (a `File`: positioned reads).
pub fn verify_base_image<B: BaseImage + ?Sized>(
    base: &B,
    header: &PatchHeader,
) -> Result<(), DeltaError> {
    check_base_len(base, header)?;
    std::thread::scope(|scope| {
        let mut pass = BasePass::start(scope, base, header.base_len, VERIFY_READ, 2)?;
        // Two buffers: one being hashed while the next is read.
        pass.give(Piece::new(Vec::with_capacity(VERIFY_READ)))?;
        pass.give(Piece::new(Vec::with_capacity(VERIFY_READ)))?;
        let mut taken = 0u64;
        while taken < header.base_len {
            let (_, piece) = pass.next()?;
            taken += piece.len() as u64;
            pass.give(piece)?;
        }
        pass.finish(header)
    })
}

/// Apply `patch` to `base`, streaming the result into `out`.
///
/// Order of work: read and check the header and the base's length; then decode records,
/// adding diff bytes to base bytes and copying literal bytes, hashing the result as it goes,
/// while a sequential pass over the base, interleaved with the records, checks its sha256 on
/// another thread. That pass used to run first, so that a wrong base was refused before any
/// output; run alongside, it no longer adds its ~20 ms per 28 MB (the hashing speed) to the
/// apply time. A wrong base therefore shows only at the end — as `BaseHash`, which takes
/// precedence over the `ResultHash` it causes — and what was written must be discarded, as on
/// every `Err`. A caller that must not spend the work on a wrong base checks it first with
/// [`verify_base`] (the device client does, before downloading the patch).
///
/// The base is read from two threads (the sequential pass, and the records' scattered
/// reads), so `base` sits behind a lock here; [`apply_image`] with a `File` reads it with
/// positioned reads instead, without the lock or the seeks.
///
/// Guarantees, whatever the patch bytes: no more than `header.result_len` bytes are written to
/// `out` (a record that would overrun is refused before any of it is written); no read of the
/// base outside `0..base_len`; the function returns `Ok` only if the base's sha256 is the
/// declared one, exactly `result_len` bytes were produced, the stream ended there, and their
/// sha256 equals `header.result_sha256`. On `Err`, whatever was written to `out` must be
/// discarded.
pub fn apply<B: Read + Seek + Send, P: Read, W: Write>(
    base: &mut B,
    patch: P,
    out: &mut W,
) -> Result<ApplyStats, DeltaError> {
    apply_image(&SeekBase::new(base), patch, out)
}

/// [`apply`] for a [`BaseImage`]: a `File` (an A/B slot), a byte slice.
pub fn apply_image<B: BaseImage + ?Sized, P: Read, W: Write>(
    base: &B,
    patch: P,
    out: &mut W,
) -> Result<ApplyStats, DeltaError> {
    let mut patch = CountingReader { inner: patch, n: 0 };
    let header = read_header(&mut patch)?;
    check_base_len(base, &header)?;

    let body = std::thread::scope(|scope| {
        let mut stream = ThreadedDecoder::start(scope, &mut patch, header.algorithm)?;
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
fn apply_records<'scope, B: BaseImage + ?Sized, P: Read, W: Write>(
    scope: &'scope Scope<'scope, '_>,
    header: &PatchHeader,
    base: &'scope B,
    stream: &mut ThreadedDecoder<'_, P>,
    out: &mut W,
) -> Result<BodyStats, DeltaError> {
    let mut base = BaseReader::new(
        base,
        header.base_len,
        BasePass::start(scope, base, header.base_len, WINDOW_PIECE, AHEAD_PIECES + 1)?,
    );
    let mut sink = Output::new(out, scope)?;

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
        let diff_len = next_field(stream, record, produced)?;
        let extra_len = next_field(stream, record, produced)?;
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
            let zeros = next_field(stream, record, produced)?;
            let lits = next_field(stream, record, produced)?;
            if zeros == 0 && lits == 0 {
                return Err(DeltaError::EmptyDiffRun { record });
            }
            if u128::from(zeros) + u128::from(lits) > u128::from(left) {
                return Err(DeltaError::DiffRunOverrun { record, diff_len });
            }
            left -= zeros + lits;
            // Unchanged bytes go from the base cache straight to the staged output; changed
            // ones are added there from the decoded chunk and the base cache, without copies
            // in between.
            base.copy_to(pos, zeros, |slice| sink.put(slice))?;
            pos += zeros;
            produced += zeros;
            let mut run = lits;
            while run > 0 {
                let diff = decoded(stream, record, produced)?;
                let n = usize::try_from(run).map_or(diff.len(), |r| r.min(diff.len()));
                let diff = diff.get(..n).unwrap_or_default();
                let mut done = 0usize;
                base.copy_to(pos, n as u64, |old| {
                    let part = diff.get(done..done + old.len()).unwrap_or_default();
                    done += old.len();
                    sink.put_sum(part, old)
                })?;
                stream.consume(n);
                pos += n as u64;
                produced += n as u64;
                run -= n as u64;
            }
        }
        let mut left = extra_len;
        while left > 0 {
            let extra = decoded(stream, record, produced)?;
            let n = usize::try_from(left).map_or(extra.len(), |l| l.min(extra.len()));
            sink.put(extra.get(..n).unwrap_or_default())?;
            stream.consume(n);
            produced += n as u64;
            left -= n as u64;
        }
        // Keep the window (and with it the base's hash pass) level with the result.
        base.follow(produced, declared)?;
    }
    match stream.fill_buf() {
        Ok([]) => {}
        Ok(_) => return Err(DeltaError::TrailingData { declared }),
        Err(source) => return Err(stream_error(source, record, produced)),
    }
    // The body (LZMA2 stream or zstd frame) has ended; nothing may follow it in the patch.
    match stream.input_trailing() {
        Ok(false) => {}
        Ok(true) => return Err(DeltaError::TrailingData { declared }),
        Err(source) => return Err(DeltaError::Decompress { source }),
    }
    let (written, actual) = sink.finish()?;
    let base_bytes_read = base.bytes_read;
    // A wrong base explains a wrong result: report the cause.
    base.finish(header)?;
    if actual != header.result_sha256 {
        return Err(DeltaError::ResultHash {
            expected: header.result_sha256,
            actual,
        });
    }
    Ok(BodyStats {
        written,
        records: record,
        base_bytes_read,
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

/// A field inside a record: the stream may not end before it.
fn next_field<R: BufRead>(r: &mut R, record: u64, produced: u64) -> Result<u64, DeltaError> {
    match read_field(r, record, produced)? {
        Some(v) => Ok(v),
        None => Err(DeltaError::StreamTruncated { record, produced }),
    }
}

/// The next decoded bytes (at least one), or why there are none.
fn decoded<R: BufRead>(r: &mut R, record: u64, produced: u64) -> Result<&[u8], DeltaError> {
    match r.fill_buf() {
        Ok([]) => Err(DeltaError::StreamTruncated { record, produced }),
        Ok(bytes) => Ok(bytes),
        Err(source) => Err(stream_error(source, record, produced)),
    }
}

fn stream_error(source: io::Error, record: u64, produced: u64) -> DeltaError {
    if source.kind() == io::ErrorKind::UnexpectedEof {
        DeltaError::StreamTruncated { record, produced }
    } else {
        DeltaError::Decompress { source }
    }
}

/// Random access to the base: a window that follows the result's position, filled by the
/// base's one sequential pass (which also hashes it, on its own thread), and a small block
/// cache for the rest.
///
/// bsdiff records of a recompiled executable are short spans scattered over the base (ruff:
/// 79k records and 453k diff runs, most 2–128 bytes), but mostly near the matching position
/// of the result: 94% of ruff's runs lie within 2 MiB of it, 97% within 4 MiB. Replayed
/// against them, the earlier direct-mapped cache of 1024 × 4 KiB blocks alone missed 16k
/// times and read 68 MB, on top of the 28.5 MB verification pass; a 3 MiB window centred on
/// the result's position plus 1024 × 1 KiB blocks for runs outside it misses 12k times and
/// reads 12 MB besides the window's one pass (a 4 MiB window: 9.4k misses, but a whole
/// process above 16 MiB when a patch also fills LZMA2's 8 MiB dictionary). Filesystem images
/// and tars, whose records follow the base in order, are served by the window alone. A cache
/// miss reads its block plus the following ones the request still needs (up to [`BASE_RUN`]
/// blocks at once).
///
/// Memory is fixed: ([`WINDOW_PIECES`] + [`AHEAD_PIECES`]) × [`WINDOW_PIECE`] (the window,
/// and the pieces the pass reads ahead of it) + [`BASE_BLOCKS`] × [`BASE_BLOCK`].
struct BaseReader<'a, 'scope, B: ?Sized> {
    base: &'a B,
    len: u64,
    pass: BasePass<'scope>,
    /// Piece `i` of the base, while in the window, is in slot `i % WINDOW_PIECES`.
    window: Vec<Option<Piece>>,
    /// Pieces the pass has been asked for beyond `win_hi`.
    ahead: usize,
    /// A buffer that left the window, for the pass's next piece.
    spare: Option<Piece>,
    /// The window holds base bytes `win_lo..win_hi`.
    win_lo: u64,
    win_hi: u64,
    cache: Vec<u8>,
    /// Per slot: the block number it holds, plus one (0 = empty).
    tags: Vec<u64>,
    /// Bytes read into the cache.
    bytes_read: u64,
}

const BLOCK: u64 = BASE_BLOCK as u64;
const BLOCKS: u64 = BASE_BLOCKS as u64;
const PIECE: u64 = WINDOW_PIECE as u64;
const WINDOW: u64 = PIECE * WINDOW_PIECES as u64;

impl<'a, 'scope, B: BaseImage + ?Sized> BaseReader<'a, 'scope, B> {
    fn new(base: &'a B, len: u64, pass: BasePass<'scope>) -> Self {
        BaseReader {
            base,
            len,
            pass,
            window: (0..WINDOW_PIECES).map(|_| None).collect(),
            ahead: 0,
            spare: None,
            win_lo: 0,
            win_hi: 0,
            cache: vec![0u8; BASE_BLOCKS * BASE_BLOCK],
            tags: vec![0; BASE_BLOCKS],
            bytes_read: 0,
        }
    }

    /// Move the window so that it is centred on the base position matching `produced` of
    /// `declared` result bytes (to the base's end when they are equal), taking the pieces it
    /// gains from the pass.
    fn follow(&mut self, produced: u64, declared: u64) -> Result<(), DeltaError> {
        let centre = if produced >= declared {
            self.len
        } else {
            // produced < declared, so the quotient is below len and fits.
            let centre = u128::from(produced) * u128::from(self.len) / u128::from(declared);
            u64::try_from(centre).unwrap_or(self.len)
        };
        let target = centre.saturating_add(WINDOW / 2).min(self.len);
        // Up to the centre the window waits for the pass; beyond it, it takes only the pieces
        // already read (what it lacks there, the block cache serves), so that the pass's
        // pauses on a busy second core do not stall the records.
        while self.win_hi < target {
            if !self.take_piece(self.win_hi < centre)? {
                break;
            }
        }
        Ok(())
    }

    /// Take the piece at `win_hi` into the window (waiting for it if `wait`, else only if it
    /// is ready; true if taken), dropping the oldest, whose buffer the pass then reads the
    /// next piece into.
    fn take_piece(&mut self, wait: bool) -> Result<bool, DeltaError> {
        self.read_ahead()?;
        let (at, piece) = if wait {
            self.pass.next()?
        } else {
            match self.pass.ready()? {
                Some(piece) => piece,
                None => return Ok(false),
            }
        };

        self.ahead = self.ahead.saturating_sub(1);
        if at != self.win_hi || piece.is_empty() {
            return Err(DeltaError::Io {
                what: "reading the base image",
                source: io::Error::other(format!(
                    "base pass gave bytes at {at} when the window needed {}",
                    self.win_hi
                )),
            });
        }
        let end = at + piece.len() as u64;
        let slot = ((at / PIECE) % WINDOW_PIECES as u64) as usize;
        let evicted = match self.window.get_mut(slot) {
            Some(s) => s.replace(piece),
            None => None,
        };
        self.win_lo = self.win_lo.max((at + PIECE).saturating_sub(WINDOW));
        self.win_hi = end;
        self.spare = evicted;
        self.read_ahead()?;
        Ok(true)
    }

    /// Keep [`AHEAD_PIECES`] pieces asked for beyond the window: in the buffer that just left
    /// it, or in new ones while it fills.
    fn read_ahead(&mut self) -> Result<(), DeltaError> {
        while self.ahead < AHEAD_PIECES {
            let buf = self
                .spare
                .take()
                .unwrap_or_else(|| Piece::new(Vec::with_capacity(WINDOW_PIECE)));
            if !self.pass.give(buf)? {
                break;
            }
            self.ahead += 1;
        }
        Ok(())
    }

    /// The bytes from `p` to the end of its window piece or cache block (or of the base),
    /// reading the block in if it is neither in the window nor cached; `needed` says how far
    /// the caller will read on.
    fn bytes_at(&mut self, p: u64, needed: u64) -> Result<&[u8], DeltaError> {
        if p >= self.win_lo && p < self.win_hi {
            let slot = ((p / PIECE) % WINDOW_PIECES as u64) as usize;
            let piece = self.window.get(slot).and_then(|s| s.as_deref());
            let start = (p % PIECE) as usize;
            return Ok(piece.and_then(|b| b.get(start..)).unwrap_or_default());
        }
        let block = p / BLOCK;
        let slot = block % BLOCKS;
        if self.tags.get(slot as usize) != Some(&(block + 1)) {
            self.fill(block, needed + (p % BLOCK))?;
        }
        let start = (slot * BLOCK + p % BLOCK) as usize;
        let end = (slot * BLOCK) as usize + (self.len - block * BLOCK).min(BLOCK) as usize;
        Ok(self.cache.get(start..end).unwrap_or_default())
    }

    /// Hand base bytes `pos..pos + len` to `f` in slices of the window or the cache, without
    /// copying them out; the caller has checked that range lies within `0..len`.
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
        read_full_at(self.base, dst, p)?;
        self.bytes_read += want;
        for (i, slot) in (first_slot..first_slot + run).enumerate() {
            if let Some(t) = self.tags.get_mut(slot as usize) {
                *t = block + i as u64 + 1;
            }
        }
        Ok(())
    }

    /// Take the rest of the pass and check the base's sha256.
    fn finish(mut self, header: &PatchHeader) -> Result<(), DeltaError> {
        self.follow(self.len, self.len)?;
        self.pass.finish(header)
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
/// written more than the records admitted so far. Each full buffer is written to `w`, then
/// handed to the hashing thread.
struct Output<'a, 'scope, W> {
    w: &'a mut W,
    buf: Vec<u8>,
    hasher: BackgroundSha256<'scope>,
    written: u64,
}

impl<'a, 'scope, W: Write> Output<'a, 'scope, W> {
    fn new(w: &'a mut W, scope: &'scope Scope<'scope, '_>) -> Result<Self, DeltaError> {
        let mut hasher = BackgroundSha256::start(scope, CHUNK)?;
        let buf = hasher.spare_buffer()?;
        Ok(Output {
            w,
            buf,
            hasher,
            written: 0,
        })
    }

    /// Free bytes in the staging buffer, draining it first when it is full.
    fn room(&mut self) -> Result<usize, DeltaError> {
        if self.buf.len() >= CHUNK {
            self.drain()?;
        }
        Ok(CHUNK.saturating_sub(self.buf.len()))
    }

    fn put(&mut self, mut data: &[u8]) -> Result<(), DeltaError> {
        while !data.is_empty() {
            let (head, tail) = data.split_at(self.room()?.min(data.len()));
            self.buf.extend_from_slice(head);
            data = tail;
        }
        Ok(())
    }

    /// Stages `diff[i] + base[i]` (wrapping) for each byte; the slices have equal lengths.
    fn put_sum(&mut self, mut diff: &[u8], mut base: &[u8]) -> Result<(), DeltaError> {
        while !diff.is_empty() && !base.is_empty() {
            let n = self.room()?.min(diff.len()).min(base.len());
            let ((d, d_rest), (b, b_rest)) = (diff.split_at(n), base.split_at(n));
            self.buf
                .extend(d.iter().zip(b).map(|(d, b)| d.wrapping_add(*b)));
            diff = d_rest;
            base = b_rest;
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
        let mut next = self.hasher.spare_buffer()?;
        next.clear();
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
