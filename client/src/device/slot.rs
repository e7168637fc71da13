//! Where images live: two slots per component, A and B, and the boot control that chooses
//! between them. The engine writes only the inactive slot — never the one running nor the
//! confirmed one — so whatever happens to a write, the device still has a slot that boots.
//!
//! Two backends behind [`SlotBackend`]:
//! - [`FileSlots`]: a directory with `slot-a.img`, `slot-b.img` and the simulated bootloader's
//!   `bootenv.json`: for simulation, tests, the demo and application-level updates, where an
//!   image's length is its file's length;
//! - [`BlockSlots`]: two block devices (partitions); the image length comes from signed
//!   metadata, since a partition is larger than what it holds, and boot control runs the
//!   bootloader's environment commands.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use thiserror::Error;

use super::boot::{BootControl, BootError, CommandBootControl, SimulatedBootControl, SlotId};
use super::config::SlotsConfig;

#[derive(Debug, Error)]
pub enum SlotError {
    #[error("slot {slot} ({path}): {source}")]
    Io {
        slot: SlotId,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("slot {slot} ({path}) holds {capacity} bytes; the image needs {needed}")]
    TooSmall {
        slot: SlotId,
        path: PathBuf,
        capacity: u64,
        needed: u64,
    },
    #[error(transparent)]
    Boot(#[from] BootError),
}

/// Slots and their boot control.
pub trait SlotBackend: Send + Sync {
    fn slot_path(&self, slot: SlotId) -> &Path;
    /// Opens a slot for reading (the delta base, verification).
    fn open_read(&self, slot: SlotId) -> Result<File, SlotError> {
        let path = self.slot_path(slot);
        File::open(path).map_err(|source| SlotError::Io {
            slot,
            path: path.to_owned(),
            source,
        })
    }
    /// Opens a slot for writing without truncating (a resumed download keeps what it wrote),
    /// after checking it can hold `length` bytes.
    fn open_write(&self, slot: SlotId, length: u64) -> Result<File, SlotError>;
    /// Called once the whole image is written: makes the slot hold exactly the image (files
    /// backend: truncates) and syncs it.
    fn finish_write(&self, slot: SlotId, file: &File, length: u64) -> Result<(), SlotError>;
    /// The length of the image in `slot` when the backend can tell by itself (files).
    fn stored_length(&self, slot: SlotId) -> Result<Option<u64>, SlotError>;
    fn boot(&self) -> &dyn BootControl;
}

fn io_error(slot: SlotId, path: &Path) -> impl Fn(std::io::Error) -> SlotError + '_ {
    move |source| SlotError::Io {
        slot,
        path: path.to_owned(),
        source,
    }
}

pub struct FileSlots {
    dir: PathBuf,
    a: PathBuf,
    b: PathBuf,
    boot: SimulatedBootControl,
}

impl FileSlots {
    pub fn new(dir: &Path) -> Self {
        FileSlots {
            dir: dir.to_owned(),
            a: dir.join("slot-a.img"),
            b: dir.join("slot-b.img"),
            boot: SimulatedBootControl::new(dir),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl SlotBackend for FileSlots {
    fn slot_path(&self, slot: SlotId) -> &Path {
        match slot {
            SlotId::A => &self.a,
            SlotId::B => &self.b,
        }
    }

    fn open_write(&self, slot: SlotId, _length: u64) -> Result<File, SlotError> {
        let path = self.slot_path(slot);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io_error(slot, path))?;
        // A newly created slot file must survive a power cut as a directory entry too.
        super::durable::sync_dir(&self.dir).map_err(io_error(slot, path))?;
        Ok(file)
    }

    fn finish_write(&self, slot: SlotId, file: &File, length: u64) -> Result<(), SlotError> {
        let path = self.slot_path(slot);
        file.set_len(length).map_err(io_error(slot, path))?;
        file.sync_all().map_err(io_error(slot, path))
    }

    fn stored_length(&self, slot: SlotId) -> Result<Option<u64>, SlotError> {
        let path = self.slot_path(slot);
        match std::fs::metadata(path) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(slot, path)(e)),
        }
    }

    fn boot(&self) -> &dyn BootControl {
        &self.boot
    }
}

pub struct BlockSlots {
    a: PathBuf,
    b: PathBuf,
    boot: CommandBootControl,
}

impl BlockSlots {
    pub fn new(a: PathBuf, b: PathBuf, boot: CommandBootControl) -> Self {
        BlockSlots { a, b, boot }
    }
}

impl SlotBackend for BlockSlots {
    fn slot_path(&self, slot: SlotId) -> &Path {
        match slot {
            SlotId::A => &self.a,
            SlotId::B => &self.b,
        }
    }

    fn open_write(&self, slot: SlotId, length: u64) -> Result<File, SlotError> {
        use std::io::{Seek, SeekFrom};
        let path = self.slot_path(slot);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(io_error(slot, path))?;
        // A block device's size is where seeking to its end lands (metadata().len() is 0).
        let capacity = file.seek(SeekFrom::End(0)).map_err(io_error(slot, path))?;
        if capacity < length {
            return Err(SlotError::TooSmall {
                slot,
                path: path.to_owned(),
                capacity,
                needed: length,
            });
        }
        Ok(file)
    }

    fn finish_write(&self, slot: SlotId, file: &File, _length: u64) -> Result<(), SlotError> {
        file.sync_all()
            .map_err(io_error(slot, self.slot_path(slot)))
    }

    fn stored_length(&self, _slot: SlotId) -> Result<Option<u64>, SlotError> {
        Ok(None)
    }

    fn boot(&self) -> &dyn BootControl {
        &self.boot
    }
}

/// The backend a component's configuration names; `state_dir` is the component's state
/// directory (where a U-Boot environment script is staged).
pub fn backend_for(config: &SlotsConfig, state_dir: &Path) -> Box<dyn SlotBackend> {
    match config {
        SlotsConfig::Files { dir } => Box::new(FileSlots::new(dir)),
        SlotsConfig::Block {
            a,
            b,
            boot,
            cmdline,
            cmdline_key,
        } => Box::new(BlockSlots::new(
            a.clone(),
            b.clone(),
            CommandBootControl::new(
                boot.clone(),
                cmdline.clone(),
                cmdline_key.clone(),
                state_dir.to_owned(),
            ),
        )),
    }
}
