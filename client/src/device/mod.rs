//! What happens on the device after metadata verified (DESIGN.md "Device side"): the policy
//! that picks an image, the A/B slots and boot control, streaming install with resume and
//! on-the-fly delta, the journal that makes every step survive a power cut, confirm and
//! rollback, and the reports that tell the operator how it went.
//!
//! - [`config`]: the device's TOML configuration.
//! - [`policy`]: pure decision — verified targets, device facts and time in; choice and
//!   reasons out.
//! - [`slot`] and [`boot`]: where images go and which one boots (files with a simulated
//!   bootloader; block devices with U-Boot or GRUB environment commands).
//! - [`journal`]: the typed update states, persisted atomically.
//! - [`delta`]: the `tufota-delta` patch format behind the engine's delta trait.
//! - [`install`]: streaming bytes into the inactive slot, hashing as they are written.
//! - [`engine`]: the state machine over all of the above, and recovery after a power cut.
//! - [`source`]: target bytes from the configured mirror (HTTP Range, file://).
//! - [`report`]: the on-disk report queue and the check-in header.
//! - [`durable`]: atomic file replacement and the step hook the power-loss test uses.
//! - [`progress`]: the progress line on a terminal.

pub mod boot;
pub mod config;
pub mod delta;
pub mod durable;
pub mod engine;
pub mod install;
pub mod journal;
pub mod policy;
pub mod progress;
pub mod report;
pub mod slot;
pub mod source;

pub use boot::{simulated_boot, BootControl, BootEnv, BootOutcome, SlotId};
pub use config::DeviceConfig;
pub use delta::{TufotaDelta, TUFOTA_DELTA_FORMAT};
pub use durable::{NoHook, StepHook};
pub use engine::{
    ComponentEngine, ConfirmOutcome, Device, EngineError, RollbackOutcome, UpdateOutcome,
};
pub use install::{DeltaApplier, NoDelta, TargetSource};
pub use policy::{decide, Choice, Decision, DeviceFacts, SkipReason};
