//! Streaming a verified target into the inactive slot: length-bounded by signed metadata,
//! hashed while written, synced at checkpoints so an interrupted download resumes where it
//! durably stopped (after re-hashing what is already in the slot), and — for a delta —
//! patched on the fly against the active slot with both the patch and the result checked
//! against their signed hashes. Nothing here marks anything bootable: `lifecycle` does that
//! only after [`verify_slot`] or the in-stream check passed.

use std::fs::File;
use std::io::{self, BufRead, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::mpsc;

use thiserror::Error;

use super::boot::SlotId;
use super::durable::StepHook;
use super::journal::{Downloading, JournalError, Plan};
use super::progress::ProgressSink;
use super::slot::{SlotBackend, SlotError};
use crate::metadata::{HashChecker, HashMismatch, TargetFile};

/// I/O buffer: large enough that syscalls, hand-offs between pipeline stages and direct
/// writes (each a page-pinning block request and a device notification) are amortised, small
/// enough that the client stays far below its memory budget. On the reference VM, 1 MiB
/// instead of 512 KiB raised a loopback install's median by five points of SHA-256 speed over
/// a buffer in RAM (interleaved runs: 73% to 78% on a quiet host, 68% to 73% on a busy one).
/// 128 KiB pieces handed to the hashing stage, batched into 1 MiB vectored writes, were slower
/// again (1,074-1,392 MiB/s against 1,102-1,533): eight times the hand-offs cost the hashing
/// thread more than the smaller pieces saved it in cache misses.
pub const CHUNK: usize = 1024 * 1024;

/// Alignment of direct (`O_DIRECT`) writes: offset, length and buffer address. 4096 covers
/// every logical block size in use (512-byte and 4K-native eMMC, NVMe, virtio).
const DIRECT_ALIGN: usize = 4096;

/// Chunks queued between pipeline stages: enough to ride out jitter.
pub const PIPELINE_DEPTH: usize = 3;

/// Buffers the full-image pipeline owns, allocated once and recycled: enough that every stage
/// has one to work on and the fetch stage can run a few ahead, and a hard bound on memory
/// (this many chunks) however the threads are scheduled.
pub const POOL_CHUNKS: usize = 6;

/// Where target bytes come from. The updater's transport implements it (HTTP with a Range
/// request for `offset > 0`, file:// for a USB stick or local mirror).
pub trait TargetSource {
    /// The bytes of `name` from `offset` to its end. The engine bounds what it reads by the
    /// signed length, so a source need not.
    fn open(
        &self,
        name: &str,
        file: &TargetFile,
        offset: u64,
    ) -> Result<Box<dyn Read + Send + '_>, String>;
}

/// Applies a delta patch. Wired to `tufota_delta` by the binary; the engine only needs this.
pub trait DeltaApplier: Send + Sync {
    /// Formats (the `custom.delta.format` values) this applier understands.
    fn formats(&self) -> Vec<String>;
    /// Reads `patch` to its end, writing the result to `out`; `base` is the active slot (an
    /// image file or a block device, read at any offset), whose image has the signed sha256
    /// `base_sha256` (hex). A patch made against another base must be refused before anything
    /// is written.
    fn apply(
        &self,
        format: &str,
        base_sha256: &str,
        base: &File,
        patch: &mut dyn Read,
        out: &mut dyn Write,
    ) -> Result<(), String>;
}

/// No delta support: every delta is passed over by the policy.
pub struct NoDelta;

impl DeltaApplier for NoDelta {
    fn formats(&self) -> Vec<String> {
        Vec::new()
    }
    fn apply(
        &self,
        format: &str,
        _base_sha256: &str,
        _base: &File,
        _patch: &mut dyn Read,
        _out: &mut dyn Write,
    ) -> Result<(), String> {
        Err(format!("delta format {format:?} is not supported"))
    }
}

#[derive(Debug, Error)]
pub enum InstallError {
    #[error("fetching {target}: {message}")]
    Fetch { target: String, message: String },
    #[error("{target}: {message} (signed length {expected})")]
    Length {
        target: String,
        expected: u64,
        message: String,
    },
    #[error("{target} refused: {source}")]
    Hash {
        target: String,
        source: HashMismatch,
    },
    #[error("applying delta {target}: {message}")]
    Delta { target: String, message: String },
    #[error("writing slot {slot}: {source}")]
    SlotIo { slot: SlotId, source: io::Error },
    /// A checkpoint could not be journaled: the state directory, not the download, failed.
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Slot(#[from] SlotError),
}

/// A second handle on the slot for direct I/O, when the filesystem or device takes it.
///
/// Buffered writes copy every image byte into the page cache, which cost more CPU than
/// SHA-256 itself on the reference machine (2.4 s per GiB against 0.7 s), and an image the size
/// of the device's RAM would evict the running system's cache. Direct writes go from the
/// pipeline's buffers to the device; `sync_data` on the slot still flushes the device cache at
/// each checkpoint. `None` (tmpfs on older kernels, non-Linux systems) keeps buffered writes.
fn open_direct(path: &Path) -> Option<File> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_DIRECT)
            .open(path)
            .ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = path;
        None
    }
}

/// The slot writer stage: direct writes for whole aligned chunks while the slot takes them,
/// buffered positioned writes otherwise (the image's last partial chunk, or no direct handle).
struct SlotSink {
    file: File,
    direct: Option<File>,
    pos: u64,
}

impl SlotSink {
    fn write(&mut self, data: &[u8]) -> io::Result<()> {
        let aligned = data.len() % DIRECT_ALIGN == 0
            && self.pos % DIRECT_ALIGN as u64 == 0
            && data.as_ptr().align_offset(DIRECT_ALIGN) == 0;
        if let (true, Some(direct)) = (aligned, &self.direct) {
            match direct.write_all_at(data, self.pos) {
                Ok(()) => {
                    self.pos += data.len() as u64;
                    return Ok(());
                }
                // Refused up front (alignment rules stricter than ours): buffered from now on.
                Err(e) if e.kind() == io::ErrorKind::InvalidInput => self.direct = None,
                Err(e) => return Err(e),
            }
        }
        self.file.write_all_at(data, self.pos)?;
        self.pos += data.len() as u64;
        Ok(())
    }
}

/// Journals the durable offset, once the slot is synced up to it; runs on its own thread.
pub type Checkpoint<'a> = dyn FnMut(u64) -> Result<(), JournalError> + Send + 'a;

/// Hashes the first `length` bytes of `slot` into `checker`; false if the slot is shorter.
fn hash_slot_prefix(
    slots: &dyn SlotBackend,
    slot: SlotId,
    length: u64,
    checker: &mut HashChecker,
) -> Result<bool, InstallError> {
    let file = slots.open_read(slot)?;
    let mut reader = file.take(length);
    let mut buf = vec![0u8; CHUNK];
    let mut seen = 0u64;
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|source| InstallError::SlotIo { slot, source })?;
        if n == 0 {
            break;
        }
        checker.update(buf.get(..n).unwrap_or_default());
        seen += n as u64;
    }
    Ok(seen == length)
}

/// Re-reads the whole image in `plan.to_slot` and checks it against signed metadata: the
/// step from Written to Verified when the in-stream hash was lost to a power cut.
pub fn verify_slot(slots: &dyn SlotBackend, plan: &Plan) -> Result<(), InstallError> {
    let mut checker = HashChecker::new(&plan.file.hashes).map_err(|source| InstallError::Hash {
        target: plan.target.clone(),
        source,
    })?;
    if !hash_slot_prefix(slots, plan.to_slot, plan.file.length, &mut checker)? {
        return Err(InstallError::Length {
            target: plan.target.clone(),
            expected: plan.file.length,
            message: format!("slot {} holds fewer bytes", plan.to_slot),
        });
    }
    checker.finish().map_err(|source| InstallError::Hash {
        target: plan.target.clone(),
        source,
    })
}

/// The sha256 and length of a whole file-backed slot (the factory image of a files slot).
pub fn measure_slot(slots: &dyn SlotBackend, slot: SlotId) -> Result<(String, u64), InstallError> {
    let file = slots.open_read(slot)?;
    let mut reader = io::BufReader::with_capacity(CHUNK, file);
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut length = 0u64;
    loop {
        let buf = reader
            .fill_buf()
            .map_err(|source| InstallError::SlotIo { slot, source })?;
        if buf.is_empty() {
            break;
        }
        ctx.update(buf);
        let n = buf.len();
        length += n as u64;
        reader.consume(n);
    }
    Ok((hex::encode(ctx.finish()), length))
}

/// A pipeline buffer from the pool; its first `filled` bytes are data.
struct Chunk<'pool> {
    buf: &'pool mut [u8],
    filled: usize,
}

impl Chunk<'_> {
    fn data(&self) -> &[u8] {
        self.buf.get(..self.filled).unwrap_or_default()
    }
}

/// Cuts `storage` into `count` buffers of `chunk_len` bytes, each starting at a
/// `DIRECT_ALIGN`-aligned address so that it can be written direct (`chunk_len` is a multiple
/// of it). `storage` must hold `count * chunk_len + DIRECT_ALIGN` bytes.
fn buffer_pool(storage: &mut [u8], chunk_len: usize, count: usize) -> Vec<&mut [u8]> {
    let skip = storage
        .as_ptr()
        .align_offset(DIRECT_ALIGN)
        .min(DIRECT_ALIGN);
    storage
        .get_mut(skip..)
        .unwrap_or_default()
        .chunks_exact_mut(chunk_len)
        .take(count)
        .collect()
}

/// What the hashing stage hands the writer stage.
enum ToWriter<'pool> {
    Chunk(Chunk<'pool>),
    /// Have everything written so far synced, then journaled as durable.
    Checkpoint,
}

/// Why the writer stage stopped early.
enum WriterStop {
    /// Writing the slot failed.
    Slot(io::Error),
    /// The durability stage stopped; its own error says why.
    DurabilityStopped,
}

/// Why the durability stage stopped early.
enum DurabilityStop {
    /// Syncing the slot failed.
    Slot(io::Error),
    Journal(JournalError),
}

/// Streams a full image into the inactive slot from `state.durable_bytes` on, hashing as it
/// goes. On success the slot holds exactly `length` synced bytes whose hashes match signed
/// metadata. On a fetch error the durable offset stays journaled for the next run.
///
/// Four stages run in parallel so that SHA-256 — the one cost that cannot be avoided — is
/// the bottleneck: a fetch thread reads the network into buffers, this thread hashes them,
/// a writer thread writes them to the slot, and at each checkpoint a durability thread syncs
/// the slot and then records the offset the writer had reached as durable (`fdatasync`
/// covers every write that completed before it was called). Syncs and the journal's own
/// fsyncs and rename stay off the hashing and writing threads: a device cache flush takes
/// milliseconds on the reference VM and tens of them on eMMC, and while the writer waited on
/// one the buffer pool drained and the whole pipeline stood still. Every checkpoint offset is
/// synced and journaled, in order, so each thread reports the same steps to the hook in every
/// run; only their interleaving varies. The buffers are a pool allocated once and recycled,
/// so memory stays at a few chunks whatever the image size.
pub fn stream_full(
    slots: &dyn SlotBackend,
    source: &dyn TargetSource,
    state: &Downloading,
    checkpoint_every: u64,
    checkpoint: &mut Checkpoint<'_>,
    progress: &mut dyn ProgressSink,
    hook: &dyn StepHook,
) -> Result<(), InstallError> {
    let plan = &state.plan;
    let slot = plan.to_slot;
    let length = plan.file.length;
    let hash_err = |source| InstallError::Hash {
        target: plan.target.clone(),
        source,
    };
    let fetch_err = |message: String| InstallError::Fetch {
        target: plan.target.clone(),
        message,
    };
    let mut checker = HashChecker::new(&plan.file.hashes).map_err(hash_err)?;
    // Resume on an aligned offset, so that direct writes stay aligned.
    let mut offset = state.durable_bytes.min(length);
    offset -= offset % DIRECT_ALIGN as u64;
    if offset > 0 && !hash_slot_prefix(slots, slot, offset, &mut checker)? {
        // The slot lost what the journal says was durable: start over.
        checker = HashChecker::new(&plan.file.hashes).map_err(hash_err)?;
        offset = 0;
    }
    hook.reached("install:resumed-hash");
    let file = slots.open_write(slot, length)?;
    let sync_handle = file
        .try_clone()
        .map_err(|source| InstallError::SlotIo { slot, source })?;
    let direct = open_direct(slots.slot_path(slot));
    let reader = source
        .open(&plan.target, &plan.file, offset)
        .map_err(fetch_err)?;
    // One byte more than may come, to notice a source that sends too much.
    let mut reader = reader.take(length - offset + 1);
    // A chunk is at most a quarter of a checkpoint, so checkpoints land near their marks, and
    // a multiple of DIRECT_ALIGN, so every chunk but the image's last is written direct.
    let chunk_len = usize::try_from(checkpoint_every / 4)
        .unwrap_or(CHUNK)
        .clamp(DIRECT_ALIGN, CHUNK);
    let chunk_len = chunk_len - chunk_len % DIRECT_ALIGN;
    progress.start(&plan.target, offset, length);

    // Zeroed by the allocator (calloc): pages are only touched, and so resident, once used.
    let mut storage = vec![0u8; POOL_CHUNKS * chunk_len + DIRECT_ALIGN];
    let pool = buffer_pool(&mut storage, chunk_len, POOL_CHUNKS);
    let file = std::thread::scope(|scope| -> Result<File, InstallError> {
        let (full_tx, full_rx) = mpsc::sync_channel::<io::Result<Chunk>>(PIPELINE_DEPTH);
        let (empty_tx, empty_rx) = mpsc::channel::<&mut [u8]>();
        for buf in pool {
            // Cannot fail: the receiver is alive until the fetch stage below ends.
            let _ = empty_tx.send(buf);
        }
        let (write_tx, write_rx) = mpsc::sync_channel::<ToWriter>(PIPELINE_DEPTH);

        // Buffers travel with their filled length and come back from the writer; the writer
        // holds the only sender, so a stopped writer ends this stage too.
        scope.spawn(move || loop {
            let Ok(buf) = empty_rx.recv() else { return };
            let mut filled = 0;
            let result = loop {
                match reader.read(buf.get_mut(filled..).unwrap_or_default()) {
                    Ok(0) => break Ok(()),
                    Ok(n) => {
                        filled += n;
                        if filled == chunk_len {
                            break Ok(());
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => break Err(e),
                }
            };
            let done = filled == 0 || result.is_err();
            let chunk = Chunk { buf, filled };
            if filled > 0 && full_tx.send(Ok(chunk)).is_err() {
                return;
            }
            if let Err(e) = result {
                let _ = full_tx.send(Err(e));
            }
            if done {
                return;
            }
        });

        // Unbounded but small: at most one offset per checkpoint of the image.
        let (durable_tx, durable_rx) = mpsc::channel::<u64>();
        let durability_stage = scope.spawn(move || -> Result<(), DurabilityStop> {
            for written in durable_rx {
                sync_handle.sync_data().map_err(DurabilityStop::Slot)?;
                hook.reached("install:slot-synced");
                checkpoint(written).map_err(DurabilityStop::Journal)?;
            }
            Ok(())
        });
        let writer = scope.spawn(move || -> Result<File, WriterStop> {
            let mut sink = SlotSink {
                file,
                direct,
                pos: offset,
            };
            for message in write_rx {
                match message {
                    ToWriter::Chunk(chunk) => {
                        sink.write(chunk.data()).map_err(WriterStop::Slot)?;
                        let _ = empty_tx.send(chunk.buf);
                    }
                    ToWriter::Checkpoint => {
                        if durable_tx.send(sink.pos).is_err() {
                            return Err(WriterStop::DurabilityStopped);
                        }
                    }
                }
            }
            Ok(sink.file)
        });
        let writer_gone = || InstallError::SlotIo {
            slot,
            source: io::Error::other("slot writer stopped"),
        };

        // The hashing stage; it returns early on the first error, the writer's join below
        // tells whether that error came from the slot.
        let mut hash_and_hand_on = || -> Result<(), InstallError> {
            let mut since_checkpoint = 0u64;
            for message in full_rx.iter() {
                let chunk = message.map_err(|e| fetch_err(e.to_string()))?;
                let data = chunk.data();
                let filled = chunk.filled;
                if offset + data.len() as u64 > length {
                    return Err(InstallError::Length {
                        target: plan.target.clone(),
                        expected: length,
                        message: "source sent more bytes".into(),
                    });
                }
                checker.update(data);
                offset += filled as u64;
                since_checkpoint += filled as u64;
                write_tx
                    .send(ToWriter::Chunk(chunk))
                    .map_err(|_| writer_gone())?;
                hook.reached("install:chunk-written");
                progress.advance(offset);
                if since_checkpoint >= checkpoint_every && offset < length {
                    write_tx
                        .send(ToWriter::Checkpoint)
                        .map_err(|_| writer_gone())?;
                    since_checkpoint = 0;
                }
            }
            Ok(())
        };
        let streamed = hash_and_hand_on();
        drop(write_tx);
        // The writer's or the durability stage's own error (a full or failing disk, a slot
        // that cannot be synced, a state directory that cannot be written) says more than
        // "slot writer stopped", which is all the hashing stage sees.
        match (writer.join(), durability_stage.join()) {
            (_, Ok(Err(DurabilityStop::Journal(journal)))) => Err(InstallError::Journal(journal)),
            (Ok(Err(WriterStop::Slot(source))), _) | (_, Ok(Err(DurabilityStop::Slot(source)))) => {
                Err(InstallError::SlotIo { slot, source })
            }
            (Ok(Ok(file)), Ok(Ok(()))) => streamed.map(|()| file),
            (Ok(Err(WriterStop::DurabilityStopped)), _) | (Err(_), _) | (_, Err(_)) => {
                Err(writer_gone())
            }
        }
    })?;
    progress.finish();
    if offset < length {
        return Err(fetch_err(format!(
            "stream ended at byte {offset} of {length}; will resume"
        )));
    }
    slots.finish_write(slot, &file, length)?;
    hook.reached("install:slot-finished");
    checker.finish().map_err(hash_err)
}

/// Counts and hashes what passes through, refusing more than `limit` bytes.
struct HashingReader<'a, R> {
    inner: R,
    checker: &'a mut HashChecker,
    seen: u64,
    limit: u64,
}

impl<R: Read> Read for HashingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.seen += n as u64;
        if self.seen > self.limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("patch is longer than its signed length {}", self.limit),
            ));
        }
        self.checker.update(buf.get(..n).unwrap_or_default());
        Ok(n)
    }
}

/// Writes the delta's output into the slot, hashing it and refusing more than `limit`.
struct SlotWriter<'a> {
    file: &'a mut File,
    checker: &'a mut HashChecker,
    written: u64,
    limit: u64,
    hook: &'a dyn StepHook,
    progress: &'a mut dyn ProgressSink,
}

impl Write for SlotWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.written + buf.len() as u64 > self.limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "delta output is longer than the signed length {}",
                    self.limit
                ),
            ));
        }
        let n = self.file.write(buf)?;
        self.checker.update(buf.get(..n).unwrap_or_default());
        self.written += n as u64;
        self.hook.reached("install:delta-written");
        self.progress.advance(self.written);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Applies the plan's delta on the fly: patch bytes from `source`, base from the active
/// slot, result into the inactive slot. Both the patch (against the delta target's signed
/// hashes) and the result (against the full target's) are checked; a delta always restarts
/// from byte 0, since a patch stream cannot be resumed in the middle.
pub fn stream_delta(
    slots: &dyn SlotBackend,
    source: &dyn TargetSource,
    applier: &dyn DeltaApplier,
    plan: &Plan,
    progress: &mut dyn ProgressSink,
    hook: &dyn StepHook,
) -> Result<(), InstallError> {
    let Some(delta) = &plan.delta else {
        return Err(InstallError::Delta {
            target: plan.target.clone(),
            message: "plan has no delta".into(),
        });
    };
    let slot = plan.to_slot;
    let length = plan.file.length;
    let mut result_checker =
        HashChecker::new(&plan.file.hashes).map_err(|source| InstallError::Hash {
            target: plan.target.clone(),
            source,
        })?;
    let mut patch_checker =
        HashChecker::new(&delta.file.hashes).map_err(|source| InstallError::Hash {
            target: delta.name.clone(),
            source,
        })?;
    // Unbuffered: the applier caches base blocks itself, and reads them at offsets.
    let base = slots.open_read(plan.from_slot)?;
    let mut file = slots.open_write(slot, length)?;
    file.seek(SeekFrom::Start(0))
        .map_err(|source| InstallError::SlotIo { slot, source })?;
    let patch = source
        .open(&delta.name, &delta.file, 0)
        .map_err(|message| InstallError::Fetch {
            target: delta.name.clone(),
            message,
        })?;
    let mut patch = HashingReader {
        inner: patch,
        checker: &mut patch_checker,
        seen: 0,
        limit: delta.file.length,
    };
    progress.start(&delta.name, 0, length);
    let written = {
        let mut out = io::BufWriter::with_capacity(
            CHUNK,
            SlotWriter {
                file: &mut file,
                checker: &mut result_checker,
                written: 0,
                limit: length,
                hook,
                progress,
            },
        );
        applier
            .apply(
                &delta.format,
                &delta.from_sha256,
                &base,
                &mut patch,
                &mut out,
            )
            .map_err(|message| InstallError::Delta {
                target: delta.name.clone(),
                message,
            })?;
        // The whole patch must have been read, or its hash says nothing.
        io::copy(&mut patch, &mut io::sink()).map_err(|e| InstallError::Delta {
            target: delta.name.clone(),
            message: e.to_string(),
        })?;
        let writer = out.into_inner().map_err(|e| InstallError::SlotIo {
            slot,
            source: io::Error::other(e.to_string()),
        })?;
        writer.written
    };
    let patch_seen = patch.seen;
    drop(patch);
    if patch_seen != delta.file.length {
        return Err(InstallError::Length {
            target: delta.name.clone(),
            expected: delta.file.length,
            message: format!("patch has {patch_seen} bytes"),
        });
    }
    patch_checker
        .finish()
        .map_err(|source| InstallError::Hash {
            target: delta.name.clone(),
            source,
        })?;
    if written != length {
        return Err(InstallError::Length {
            target: plan.target.clone(),
            expected: length,
            message: format!("delta produced {written} bytes"),
        });
    }
    slots.finish_write(slot, &file, length)?;
    hook.reached("install:slot-finished");
    result_checker
        .finish()
        .map_err(|source| InstallError::Hash {
            target: plan.target.clone(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffer_pool_gives_aligned_full_size_buffers_wherever_the_storage_starts() {
        let (chunk_len, count) = (3 * DIRECT_ALIGN, 4);
        let mut storage = vec![0u8; count * chunk_len + 2 * DIRECT_ALIGN];
        for shift in [0, 1, 511, DIRECT_ALIGN - 1, DIRECT_ALIGN] {
            let window = &mut storage[shift..shift + count * chunk_len + DIRECT_ALIGN];
            let pool = buffer_pool(window, chunk_len, count);
            assert_eq!(pool.len(), count, "shift {shift}");
            for buf in &pool {
                assert_eq!(buf.len(), chunk_len);
                assert_eq!(buf.as_ptr().align_offset(DIRECT_ALIGN), 0, "shift {shift}");
            }
        }
    }
}
