//! Reading the base image: positioned reads shared by two threads. A helper thread makes the
//! base's one sequential pass, hashing each piece and handing it to the record loop's window;
//! the record loop reads the scattered blocks the window does not hold. Reading and hashing
//! that pass on the record loop's thread was a fifth of an executable's apply time (copying
//! 28 MB out of the page cache), while the second core had room.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::mpsc::{channel, sync_channel, Receiver, SyncSender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::thread::{Builder, Scope, ScopedJoinHandle};

use ring::digest;

use crate::error::DeltaError;
use crate::hasher::digest_bytes;
use crate::header::PatchHeader;

/// The base image, read at any offset, possibly from two threads at once.
///
/// Implemented for `File` (positioned reads, `pread(2)`: no seek and no shared file position,
/// so the two readers never wait on each other), for byte slices, and, through [`crate::apply`],
/// for any `Read + Seek + Send`.
pub trait BaseImage: Sync {
    /// Reads into `buf` from `offset`, returning how many bytes were read (0 at the end).
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
    /// The image's length in bytes.
    fn size(&self) -> io::Result<u64>;
}

impl BaseImage for File {
    #[cfg(unix)]
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        std::os::unix::fs::FileExt::read_at(self, buf, offset)
    }

    #[cfg(windows)]
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        std::os::windows::fs::FileExt::seek_read(self, buf, offset)
    }

    /// By seeking to the end, not from metadata: a block device (an A/B slot) has length 0
    /// in its metadata.
    fn size(&self) -> io::Result<u64> {
        let mut f = self;
        f.seek(SeekFrom::End(0))
    }
}

impl BaseImage for [u8] {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let start = usize::try_from(offset).map_or(self.len(), |o| o.min(self.len()));
        let from = self.get(start..).unwrap_or_default();
        let n = from.len().min(buf.len());
        if let (Some(to), Some(from)) = (buf.get_mut(..n), from.get(..n)) {
            to.copy_from_slice(from);
        }
        Ok(n)
    }

    fn size(&self) -> io::Result<u64> {
        Ok(<[u8]>::len(self) as u64)
    }
}

impl<T: BaseImage + ?Sized> BaseImage for &T {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        (**self).read_at(buf, offset)
    }

    fn size(&self) -> io::Result<u64> {
        (**self).size()
    }
}

/// A `Read + Seek` base behind a lock, seeking only when a read is not where the last ended.
pub(crate) struct SeekBase<'a, B> {
    inner: Mutex<(&'a mut B, Option<u64>)>,
}

impl<'a, B> SeekBase<'a, B> {
    pub(crate) fn new(inner: &'a mut B) -> Self {
        SeekBase {
            inner: Mutex::new((inner, None)),
        }
    }
}

impl<B: Read + Seek + Send> BaseImage for SeekBase<'_, B> {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let mut guard = self
            .inner
            .lock()
            .map_err(|_| io::Error::other("an earlier base read panicked"))?;
        let (inner, position) = &mut *guard;
        if position.take() != Some(offset) {
            inner.seek(SeekFrom::Start(offset))?;
        }
        let n = inner.read(buf)?;
        *position = Some(offset + n as u64);
        Ok(n)
    }

    fn size(&self) -> io::Result<u64> {
        let mut guard = self
            .inner
            .lock()
            .map_err(|_| io::Error::other("an earlier base read panicked"))?;
        let (inner, position) = &mut *guard;
        *position = None;
        inner.seek(SeekFrom::End(0))
    }
}

/// The base's length; refused when it is not the header's.
pub(crate) fn check_base_len<B: BaseImage + ?Sized>(
    base: &B,
    header: &PatchHeader,
) -> Result<(), DeltaError> {
    let actual = base
        .size()
        .map_err(DeltaError::io("measuring the base image"))?;
    if actual != header.base_len {
        return Err(DeltaError::BaseLength {
            expected: header.base_len,
            actual,
        });
    }
    Ok(())
}

/// Fill `dst` from base offset `at`; a short base is an error.
pub(crate) fn read_full_at<B: BaseImage + ?Sized>(
    base: &B,
    dst: &mut [u8],
    at: u64,
) -> Result<(), DeltaError> {
    let mut got = 0usize;
    while got < dst.len() {
        match base.read_at(dst.get_mut(got..).unwrap_or_default(), at + got as u64) {
            Ok(0) => return Err(base_ended(at + got as u64)),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(DeltaError::Io {
                    what: "reading the base image",
                    source,
                })
            }
        }
    }
    Ok(())
}

pub(crate) fn base_ended(at: u64) -> DeltaError {
    DeltaError::Io {
        what: "reading the base image",
        source: io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("base ended at byte {at}, shorter than it was when verified"),
        ),
    }
}

/// A piece of the base read by the pass, shared by the window and the pass's hasher.
pub(crate) type Piece = Arc<Vec<u8>>;

/// The base's sequential pass on two helper threads: one reads the base in order, a piece at
/// a time into buffers the caller hands it, and passes each piece both to the caller and to
/// the other, which hashes it. Reading and hashing on separate threads, the caller gets a
/// piece as soon as it is read, and the pass keeps up with a filesystem image's patch, whose
/// records consume the base at memory speed. The reader reads only into buffers it was given
/// (and reuses one only once the hasher is done with it), so the caller decides how far ahead
/// it may run and how much memory the pieces take.
pub(crate) struct BasePass<'scope> {
    len: u64,
    piece: u64,
    /// Bytes the buffers handed over so far will hold.
    requested: u64,
    free: Option<SyncSender<Piece>>,
    pieces: Receiver<(u64, Piece)>,
    reader: Option<ScopedJoinHandle<'scope, Result<(), DeltaError>>>,
    hasher: Option<ScopedJoinHandle<'scope, [u8; 32]>>,
}

impl<'scope> BasePass<'scope> {
    /// Starts the pass over `len` bytes of `base`, in pieces of `piece` bytes; at most
    /// `buffers` buffers may be handed to it at once.
    pub(crate) fn start<B: BaseImage + ?Sized>(
        scope: &'scope Scope<'scope, '_>,
        base: &'scope B,
        len: u64,
        piece: usize,
        buffers: usize,
    ) -> Result<Self, DeltaError> {
        let (free, free_rx) = sync_channel::<Piece>(buffers.max(1));
        let (pieces_tx, pieces) = sync_channel::<(u64, Piece)>(buffers.max(1));
        let (to_hash, hash_rx) = sync_channel::<Piece>(buffers.max(1));
        // One message per piece the hasher has let go of; unbounded, so the hasher never
        // waits on the reader, which drains it only when it needs a buffer back.
        let (hashed_tx, hashed) = channel::<()>();
        let hasher = Builder::new()
            .name("tufota-delta-basehash".into())
            .spawn_scoped(scope, move || {
                let mut ctx = digest::Context::new(&digest::SHA256);
                for piece in hash_rx {
                    ctx.update(&piece);
                    drop(piece);
                    let _ = hashed_tx.send(());
                }
                digest_bytes(ctx.finish())
            })
            .map_err(DeltaError::io("starting the base hashing thread"))?;
        let reader = Builder::new()
            .name("tufota-delta-base".into())
            .spawn_scoped(scope, move || {
                let mut at = 0u64;
                while at < len {
                    // The caller stopped (an error elsewhere): so does the pass.
                    let mut buf = free_rx.recv().map_err(|_| stopped())?;
                    // A buffer back from the window may still be being hashed.
                    let mut vec = loop {
                        match Arc::try_unwrap(buf) {
                            Ok(vec) => break vec,
                            Err(shared) => {
                                buf = shared;
                                hashed.recv().map_err(|_| stopped())?;
                            }
                        }
                    };
                    let want = usize::try_from(len - at).map_or(piece, |l| l.min(piece));
                    // A returned buffer keeps its length, so this zero-fills only a new one.
                    vec.resize(want, 0);
                    read_full_at(base, &mut vec, at)?;
                    let read = Arc::new(vec);
                    to_hash.send(Arc::clone(&read)).map_err(|_| stopped())?;
                    pieces_tx.send((at, read)).map_err(|_| stopped())?;
                    at += want as u64;
                }
                Ok(())
            })
            .map_err(DeltaError::io("starting the base reading thread"))?;
        Ok(BasePass {
            len,
            piece: piece as u64,
            requested: 0,
            free: Some(free),
            pieces,
            reader: Some(reader),
            hasher: Some(hasher),
        })
    }

    /// Lets the pass read its next piece into `buf`; true if it will, false (dropping `buf`)
    /// if every piece has been asked for already.
    pub(crate) fn give(&mut self, buf: Piece) -> Result<bool, DeltaError> {
        if self.requested >= self.len {
            return Ok(false);
        }
        let sent = match &self.free {
            Some(free) => free.send(buf).is_ok(),
            None => false,
        };
        if !sent {
            return Err(self.failure());
        }
        self.requested += self.piece.min(self.len - self.requested);
        Ok(true)
    }

    /// The next piece, in order: its offset and bytes.
    pub(crate) fn next(&mut self) -> Result<(u64, Piece), DeltaError> {
        match self.pieces.recv() {
            Ok(piece) => Ok(piece),
            Err(_) => Err(self.failure()),
        }
    }

    /// The next piece if it has been read already.
    pub(crate) fn ready(&mut self) -> Result<Option<(u64, Piece)>, DeltaError> {
        match self.pieces.try_recv() {
            Ok(piece) => Ok(Some(piece)),
            Err(TryRecvError::Empty) => Ok(None),
            Err(TryRecvError::Disconnected) => Err(self.failure()),
        }
    }

    /// Why the pass stopped early: the reader's own error, or that it stopped.
    fn failure(&mut self) -> DeltaError {
        self.free = None;
        match self.reader.take().map(|w| w.join()) {
            Some(Ok(Err(e))) => e,
            _ => stopped(),
        }
    }

    /// The sha256 of the whole base, once every piece has been taken; refused when it is
    /// not the header's.
    pub(crate) fn finish(self, header: &PatchHeader) -> Result<(), DeltaError> {
        let BasePass {
            free,
            pieces,
            reader,
            hasher,
            ..
        } = self;
        // Dropped first, so that a reader still waiting on either ends rather than blocks.
        drop((free, pieces));
        match reader.map(|w| w.join()) {
            Some(Ok(result)) => result?,
            _ => return Err(stopped()),
        }
        let actual = match hasher.map(|w| w.join()) {
            Some(Ok(digest)) => digest,
            _ => return Err(stopped()),
        };
        if actual != header.base_sha256 {
            return Err(DeltaError::BaseHash {
                expected: header.base_sha256,
                actual,
            });
        }
        Ok(())
    }
}

fn stopped() -> DeltaError {
    DeltaError::Io {
        what: "reading the base image",
        source: io::Error::other("base reading thread stopped"),
    }
}
