//! The update engine: moves each component's update through its journaled states, and on
//! every start finishes or undoes what a power cut interrupted.
//!
//! Order of durable writes, chosen so that every prefix of them leaves a device that boots a
//! complete verified image (the power-loss test checks each prefix):
//! 1. `begin`: the journal drops the inactive slot from its verified slots and records the
//!    plan (Decided) — one write; the boot environment still names the old slot.
//! 2. `install`: slot bytes, synced at checkpoints, each checkpoint journaled (Downloading);
//!    then Written; then Verified, which records the new slot's image.
//! 3. arm: the boot environment gets `try = new, tries_left = N`; then PendingBoot.
//! 4. `confirm` (running the new slot): the boot environment's `active` becomes the new
//!    slot; then the floor rises, the success report is queued and Confirmed is journaled.
//! 5. fallback or `rollback`: the environment loses the trial (or `active` returns to the
//!    old slot); then the rollback report is queued and RolledBack is journaled.
//!
//! Each step after a power cut is recognised from the pair (journal state, boot environment)
//! in [`ComponentEngine::recover`].

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::Serialize;
use thiserror::Error;

use super::boot::{BootEnv, BootError, SlotId};
use super::config::{ComponentConfig, DeviceConfig};
use super::durable::StepHook;
use super::install::{self, DeltaApplier, InstallError, TargetSource};
use super::journal::{Decided, Failed, Journal, JournalError, Phase, Plan, SlotImage, UpdateState};
use super::policy::{self, Choice, Decision, DeviceFacts, InstalledComponent};
use super::progress::ProgressSink;
use super::report::{
    checkin_headers, last_error_lines, Report, ReportError, ReportQueue, ResultCode,
};
use super::slot::{backend_for, SlotBackend, SlotError};
use crate::metadata::{format_time, TargetFile, TufTime};

#[derive(Debug, Error)]
pub enum EngineError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Slot(#[from] SlotError),
    #[error(transparent)]
    Boot(#[from] BootError),
    #[error(transparent)]
    Install(#[from] InstallError),
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error("state directory {path}: {source}")]
    StateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("component {component}: no factory image in slot {slot}: {message}")]
    NoFactoryImage {
        component: String,
        slot: SlotId,
        message: String,
    },
    #[error("component {component} is not configured")]
    UnknownComponent { component: String },
    #[error("component {component}: an update is {state}; finish or roll it back first")]
    Busy { component: String, state: String },
    #[error("component {component}: running slot {booted} but slot {new} is the one on trial; reboot into it before confirming")]
    NotBootedIntoNewSlot {
        component: String,
        new: SlotId,
        booted: SlotId,
    },
    #[error("component {component}: running slot {booted} is not the confirmed slot {active}; reboot before updating")]
    NotRunningConfirmedSlot {
        component: String,
        booted: SlotId,
        active: SlotId,
    },
    #[error("component {component}: rollback refused: {reason}")]
    RollbackRefused { component: String, reason: String },
    #[error(
        "component {component}: {target} is {length} bytes, above the configured limit {limit}"
    )]
    TargetTooLarge {
        component: String,
        target: String,
        length: u64,
        limit: u64,
    },
    #[error(
        "component {component}: journal says slot {slot} is confirmed but holds no verified image"
    )]
    ActiveSlotUnverified { component: String, slot: SlotId },
}

/// One component: its slots, its journal, and the operations on them.
pub struct ComponentEngine<'a> {
    pub name: String,
    config: &'a DeviceConfig,
    component: &'a ComponentConfig,
    dir: PathBuf,
    slots: Box<dyn SlotBackend>,
    journal: Journal,
    reports: ReportQueue,
    hook: &'a dyn StepHook,
}

/// What `confirm` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ConfirmOutcome {
    Confirmed { version: String, slot: SlotId },
    NothingPending,
}

/// What `rollback` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum RollbackOutcome {
    /// The next boot starts `slot`.
    RolledBack { slot: SlotId },
    /// The last update was already rolled back (perhaps finished by recovery after a power
    /// cut interrupted this very command); the next boot starts `slot`.
    AlreadyRolledBack { slot: SlotId },
}

/// What `update` did for a component.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum UpdateOutcome {
    /// Written and verified into `slot`; the next boot tries it.
    Armed {
        version: String,
        slot: SlotId,
        delta: bool,
    },
    /// Already armed; waiting for the reboot and `confirm`.
    AwaitingBoot {
        version: String,
        slot: SlotId,
    },
    UpToDate,
    /// The update was dropped; see the report.
    Abandoned {
        reason: String,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct ComponentStatus {
    pub component: String,
    pub state: String,
    pub version: String,
    pub security_floor: u64,
    pub active_slot: SlotId,
    pub booted_slot: SlotId,
    pub boot_env: BootEnv,
    pub slots: Vec<(SlotId, SlotImage)>,
    pub plan: Option<Plan>,
    pub refused_targets: Vec<String>,
}

fn duration_secs(start: &TufTime, now: DateTime<Utc>) -> i64 {
    (now - start.0).num_seconds().max(0)
}

impl<'a> ComponentEngine<'a> {
    /// Opens a component: loads its journal (or records the factory image on first run),
    /// then recovers from whatever a power cut interrupted.
    pub fn open(
        config: &'a DeviceConfig,
        name: &str,
        hook: &'a dyn StepHook,
        now: DateTime<Utc>,
    ) -> Result<Self, EngineError> {
        let component =
            config
                .components
                .get(name)
                .ok_or_else(|| EngineError::UnknownComponent {
                    component: name.to_owned(),
                })?;
        let dir = config.component_state_dir(name);
        std::fs::create_dir_all(&dir).map_err(|source| EngineError::StateDir {
            path: dir.clone(),
            source,
        })?;
        let slots = backend_for(&component.slots, &dir);
        let journal = match Journal::load(&dir)? {
            Some(j) => j,
            None => Self::factory_journal(name, component, &*slots)?,
        };
        let mut engine = ComponentEngine {
            name: name.to_owned(),
            config,
            component,
            dir,
            slots,
            journal,
            reports: ReportQueue::new(&config.report_queue_dir()),
            hook,
        };
        if !Journal::path(&engine.dir).exists() {
            engine.journal.save(&engine.dir, engine.hook)?;
        }
        engine.recover(now)?;
        Ok(engine)
    }

    fn factory_journal(
        name: &str,
        component: &ComponentConfig,
        slots: &dyn SlotBackend,
    ) -> Result<Journal, EngineError> {
        let env = slots.boot().read_env()?;
        let active = env.active;
        let (sha256, length) = match slots.stored_length(active)? {
            Some(_) => {
                let (sha, len) = install::measure_slot(slots, active).map_err(|e| {
                    EngineError::NoFactoryImage {
                        component: name.to_owned(),
                        slot: active,
                        message: e.to_string(),
                    }
                })?;
                (Some(sha), Some(len))
            }
            None if matches!(component.slots, super::config::SlotsConfig::Files { .. }) => {
                return Err(EngineError::NoFactoryImage {
                    component: name.to_owned(),
                    slot: active,
                    message: format!("{} does not exist", slots.slot_path(active).display()),
                })
            }
            None => (component.image_sha256.clone(), component.image_length),
        };
        let mut slot_images = std::collections::BTreeMap::new();
        slot_images.insert(
            active,
            SlotImage {
                target: None,
                version: component.version.clone(),
                security_version: component.security_version,
                sha256,
                length,
            },
        );
        Ok(Journal {
            component: name.to_owned(),
            slots: slot_images,
            security_floor: component.security_version,
            refused_targets: Vec::new(),
            update: UpdateState::Idle,
        })
    }

    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    pub fn slots(&self) -> &dyn SlotBackend {
        &*self.slots
    }

    fn save(&mut self, state: UpdateState) -> Result<(), EngineError> {
        self.journal.update = state;
        self.journal.save(&self.dir, self.hook)?;
        Ok(())
    }

    fn active_image(&self, env: &BootEnv) -> Result<&SlotImage, EngineError> {
        self.journal
            .slots
            .get(&env.active)
            .ok_or(EngineError::ActiveSlotUnverified {
                component: self.name.clone(),
                slot: env.active,
            })
    }

    /// The facts the policy needs about this component.
    pub fn installed(&self) -> Result<InstalledComponent, EngineError> {
        let env = self.slots.boot().read_env()?;
        let active = self.active_image(&env)?;
        Ok(InstalledComponent {
            version: active.version.clone(),
            security_floor: self.journal.security_floor,
            active_sha256: active.sha256.clone(),
            refused_targets: self.journal.refused_targets.clone(),
        })
    }

    fn report(
        &self,
        plan: &Plan,
        result: ResultCode,
        phase: Phase,
        error: &str,
        now: DateTime<Utc>,
    ) -> Report {
        Report {
            update_id: plan.id.clone(),
            device_id: self.config.device_id.clone(),
            model: self.config.model.clone(),
            component: plan.component.clone(),
            from_version: plan.from_version.clone(),
            to_version: plan.version.clone(),
            target: plan.target.clone(),
            result,
            phase,
            started: format_time(&plan.started.0),
            finished: format_time(&now),
            duration_secs: duration_secs(&plan.started, now),
            errors: last_error_lines(error),
        }
    }

    /// Finishes or undoes what a power cut interrupted, judging from the journal state and
    /// the boot environment. Long steps (downloading, re-verifying a written slot) are left
    /// for `install`; their states keep the boot environment on the old slot, so the device
    /// boots meanwhile.
    pub fn recover(&mut self, now: DateTime<Utc>) -> Result<(), EngineError> {
        let env = self.slots.boot().read_env()?;
        match self.journal.update.clone() {
            UpdateState::Verified(v) => {
                let to = v.plan.to_slot;
                if env.try_slot == Some(to) || env.active == to {
                    self.save(UpdateState::PendingBoot(v.armed()))?;
                    return self.recover(now);
                }
                // Arming had not reached the boot environment: finish it.
                self.arm(v)?;
                Ok(())
            }
            UpdateState::PendingBoot(p) => {
                let to = p.plan.to_slot;
                if env.active == to {
                    // confirm wrote the environment; the journal did not follow yet.
                    self.finish_confirm(p, now)
                } else if env.try_slot == Some(to) {
                    Ok(())
                } else {
                    let reason = if env.failed == Some(to) {
                        format!("slot {to} was not confirmed within its boot tries; the bootloader fell back to slot {}", env.active)
                    } else {
                        "rollback requested before confirm".to_owned()
                    };
                    self.finish_rollback(
                        UpdateState::PendingBoot(p),
                        reason,
                        Phase::PendingBoot,
                        now,
                    )
                }
            }
            UpdateState::Confirmed(c) => {
                if env.active == c.plan.from_slot {
                    // A rollback of this confirmed update wrote the environment only.
                    let reason = "rollback requested after confirm".to_owned();
                    self.finish_rollback(UpdateState::Confirmed(c), reason, Phase::Confirmed, now)
                } else {
                    Ok(())
                }
            }
            UpdateState::Idle
            | UpdateState::Decided(_)
            | UpdateState::Downloading(_)
            | UpdateState::Written(_)
            | UpdateState::RolledBack(_)
            | UpdateState::Failed(_) => Ok(()),
        }
    }

    /// Starts an update: records the plan and drops the inactive slot from the verified
    /// slots, in one journal write, before a byte of it is overwritten.
    pub fn begin(&mut self, choice: &Choice, now: DateTime<Utc>) -> Result<Plan, EngineError> {
        if self.journal.update.in_flight() {
            return Err(EngineError::Busy {
                component: self.name.clone(),
                state: self.journal.update.name().to_owned(),
            });
        }
        let limit = self.config.limits.max_target_bytes;
        if choice.file.length > limit {
            return Err(EngineError::TargetTooLarge {
                component: self.name.clone(),
                target: choice.name.clone(),
                length: choice.file.length,
                limit,
            });
        }
        let env = self.slots.boot().read_env()?;
        let booted = self.slots.boot().booted_slot()?;
        if booted != env.active {
            return Err(EngineError::NotRunningConfirmedSlot {
                component: self.name.clone(),
                booted,
                active: env.active,
            });
        }
        let plan = Plan {
            id: format!("{}-{}-{}", self.name, choice.version, now.timestamp()),
            component: self.name.clone(),
            target: choice.name.clone(),
            file: choice.file.clone(),
            version: choice.version.clone(),
            security_version: choice.security_version,
            from_version: choice.from_version.clone(),
            from_slot: env.active,
            to_slot: env.active.other(),
            delta: choice.delta.clone(),
            started: TufTime(now),
        };
        self.journal.slots.remove(&plan.to_slot);
        self.save(UpdateState::Decided(Decided::new(plan.clone())))?;
        Ok(plan)
    }

    /// Drives an update from Decided (or wherever a power cut left it) to PendingBoot.
    /// A fetch error leaves it resumable; a refused image ends it as Failed, reported.
    pub fn install(
        &mut self,
        source: &dyn TargetSource,
        applier: &dyn DeltaApplier,
        progress: &mut dyn ProgressSink,
        now: DateTime<Utc>,
    ) -> Result<UpdateOutcome, EngineError> {
        let mut verified_in_stream = false;
        loop {
            match self.journal.update.clone() {
                UpdateState::Decided(d) => {
                    self.save(UpdateState::Downloading(d.start_download()))?;
                }
                UpdateState::Downloading(dl) => {
                    let result = if dl.plan.delta.is_some() {
                        install::stream_delta(
                            &*self.slots,
                            source,
                            applier,
                            &dl.plan,
                            progress,
                            self.hook,
                        )
                    } else {
                        let journal = &mut self.journal;
                        let dir = &self.dir;
                        let hook = self.hook;
                        let mut checkpoint = |durable: u64| {
                            if let UpdateState::Downloading(d) = &mut journal.update {
                                d.durable_bytes = durable;
                            }
                            journal.save(dir, hook)
                        };
                        install::stream_full(
                            &*self.slots,
                            source,
                            &dl,
                            self.config.limits.checkpoint_bytes,
                            &mut checkpoint,
                            progress,
                            self.hook,
                        )
                    };
                    match result {
                        Ok(()) => {
                            verified_in_stream = true;
                            let current = match &self.journal.update {
                                UpdateState::Downloading(d) => d.clone(),
                                _ => dl,
                            };
                            self.save(UpdateState::Written(current.written()))?;
                        }
                        // The state directory failed, as any other journal write can.
                        Err(InstallError::Journal(e)) => return Err(e.into()),
                        Err(
                            e @ (InstallError::Fetch { .. }
                            | InstallError::SlotIo { .. }
                            | InstallError::Slot(_)),
                        ) => {
                            return Err(e.into());
                        }
                        Err(e) => {
                            let plan = dl.plan.clone();
                            return self.fail(plan, Phase::Downloading, e, now);
                        }
                    }
                }
                UpdateState::Written(w) => {
                    if !verified_in_stream {
                        if let Err(e) = install::verify_slot(&*self.slots, &w.plan) {
                            let plan = w.plan.clone();
                            return self.fail(plan, Phase::Written, e, now);
                        }
                    }
                    let v = w.verified();
                    let p = &v.plan;
                    self.journal.slots.insert(
                        p.to_slot,
                        SlotImage {
                            target: Some(p.target.clone()),
                            version: p.version.clone(),
                            security_version: p.security_version,
                            sha256: p.file.hashes.get("sha256").cloned(),
                            length: Some(p.file.length),
                        },
                    );
                    self.save(UpdateState::Verified(v))?;
                }
                UpdateState::Verified(v) => {
                    self.arm(v)?;
                }
                UpdateState::PendingBoot(p) => {
                    return Ok(UpdateOutcome::Armed {
                        version: p.plan.version.clone(),
                        slot: p.plan.to_slot,
                        delta: p.plan.delta.is_some(),
                    });
                }
                UpdateState::Idle
                | UpdateState::Confirmed(_)
                | UpdateState::RolledBack(_)
                | UpdateState::Failed(_) => return Ok(UpdateOutcome::UpToDate),
            }
        }
    }

    fn fail(
        &mut self,
        plan: Plan,
        phase: Phase,
        error: InstallError,
        now: DateTime<Utc>,
    ) -> Result<UpdateOutcome, EngineError> {
        let message = error.to_string();
        let report = self.report(&plan, ResultCode::Failed, phase, &message, now);
        self.reports.enqueue(&report, self.hook)?;
        self.save(UpdateState::Failed(Failed {
            plan,
            phase,
            error: message.clone(),
            finished: TufTime(now),
        }))?;
        Err(error.into())
    }

    /// Abandons a not-yet-armed update whose target signed metadata no longer offers
    /// (revoked, or replaced by a newer release): its partial slot is never armed.
    pub fn abandon(
        &mut self,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<UpdateOutcome, EngineError> {
        let (plan, phase) = match &self.journal.update {
            UpdateState::Decided(s) => (s.plan.clone(), Phase::Decided),
            UpdateState::Downloading(s) => (s.plan.clone(), Phase::Downloading),
            UpdateState::Written(s) => (s.plan.clone(), Phase::Written),
            _ => return Ok(UpdateOutcome::UpToDate),
        };
        let report = self.report(&plan, ResultCode::Failed, phase, reason, now);
        self.reports.enqueue(&report, self.hook)?;
        self.save(UpdateState::Failed(Failed {
            plan,
            phase,
            error: reason.to_owned(),
            finished: TufTime(now),
        }))?;
        Ok(UpdateOutcome::Abandoned {
            reason: reason.to_owned(),
        })
    }

    fn arm(&mut self, v: super::journal::Verified) -> Result<(), EngineError> {
        let mut env = self.slots.boot().read_env()?;
        env.try_slot = Some(v.plan.to_slot);
        env.tries_left = self.config.limits.boot_tries;
        env.failed = None;
        self.slots.boot().write_env(&env, self.hook)?;
        self.save(UpdateState::PendingBoot(v.armed()))
    }

    /// Marks the new slot good after it booted: `tufota-client confirm`.
    pub fn confirm(&mut self, now: DateTime<Utc>) -> Result<ConfirmOutcome, EngineError> {
        let UpdateState::PendingBoot(p) = self.journal.update.clone() else {
            return Ok(ConfirmOutcome::NothingPending);
        };
        let booted = self.slots.boot().booted_slot()?;
        if booted != p.plan.to_slot {
            return Err(EngineError::NotBootedIntoNewSlot {
                component: self.name.clone(),
                new: p.plan.to_slot,
                booted,
            });
        }
        let mut env = self.slots.boot().read_env()?;
        env.active = p.plan.to_slot;
        env.try_slot = None;
        env.tries_left = 0;
        env.failed = None;
        self.slots.boot().write_env(&env, self.hook)?;
        let outcome = ConfirmOutcome::Confirmed {
            version: p.plan.version.clone(),
            slot: p.plan.to_slot,
        };
        self.finish_confirm(p, now)?;
        Ok(outcome)
    }

    fn finish_confirm(
        &mut self,
        p: super::journal::PendingBoot,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let report = self.report(&p.plan, ResultCode::Success, Phase::Confirmed, "", now);
        self.reports.enqueue(&report, self.hook)?;
        self.journal.security_floor = self.journal.security_floor.max(p.plan.security_version);
        self.save(UpdateState::Confirmed(p.confirmed(now)))
    }

    fn finish_rollback(
        &mut self,
        from: UpdateState,
        reason: String,
        phase: Phase,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let rolled = match from {
            UpdateState::PendingBoot(p) => p.rolled_back(reason.clone(), now),
            UpdateState::Confirmed(c) => c.rolled_back(reason.clone(), now),
            _ => return Ok(()),
        };
        let report = self.report(&rolled.plan, ResultCode::RolledBack, phase, &reason, now);
        self.reports.enqueue(&report, self.hook)?;
        if !self.journal.refused_targets.contains(&rolled.plan.target) {
            self.journal
                .refused_targets
                .push(rolled.plan.target.clone());
        }
        self.save(UpdateState::RolledBack(rolled))
    }

    /// `tufota-client rollback`: drops a pending trial, or returns from a confirmed update to
    /// the slot it replaced — only if that slot still holds its verified image and its
    /// security_version is not below the floor (anti-rollback holds for rollback too).
    pub fn rollback(&mut self, now: DateTime<Utc>) -> Result<RollbackOutcome, EngineError> {
        let refuse = |reason: String| EngineError::RollbackRefused {
            component: self.name.clone(),
            reason,
        };
        match self.journal.update.clone() {
            UpdateState::PendingBoot(p) => {
                let mut env = self.slots.boot().read_env()?;
                env.try_slot = None;
                env.tries_left = 0;
                env.failed = None;
                self.slots.boot().write_env(&env, self.hook)?;
                let back = env.active;
                self.finish_rollback(
                    UpdateState::PendingBoot(p),
                    "rollback requested before confirm".into(),
                    Phase::PendingBoot,
                    now,
                )?;
                Ok(RollbackOutcome::RolledBack { slot: back })
            }
            UpdateState::Confirmed(c) => {
                let old = c.plan.from_slot;
                let Some(image) = self.journal.slots.get(&old).cloned() else {
                    return Err(refuse(format!(
                        "slot {old} no longer holds a verified image"
                    )));
                };
                if image.security_version < self.journal.security_floor {
                    return Err(refuse(format!(
                        "slot {old} holds security_version {}, below the floor {}",
                        image.security_version, self.journal.security_floor
                    )));
                }
                if let (Some(sha), Some(length)) = (&image.sha256, image.length) {
                    let plan = Plan {
                        target: image
                            .target
                            .clone()
                            .unwrap_or_else(|| "factory image".into()),
                        file: TargetFile {
                            length,
                            hashes: [("sha256".to_owned(), sha.clone())].into_iter().collect(),
                            custom: None,
                            extra: Default::default(),
                        },
                        to_slot: old,
                        ..c.plan.clone()
                    };
                    install::verify_slot(&*self.slots, &plan)
                        .map_err(|e| refuse(format!("slot {old} no longer verifies: {e}")))?;
                }
                let mut env = self.slots.boot().read_env()?;
                env.active = old;
                env.try_slot = None;
                env.tries_left = 0;
                env.failed = None;
                self.slots.boot().write_env(&env, self.hook)?;
                self.finish_rollback(
                    UpdateState::Confirmed(c),
                    "rollback requested after confirm".into(),
                    Phase::Confirmed,
                    now,
                )?;
                Ok(RollbackOutcome::RolledBack { slot: old })
            }
            UpdateState::RolledBack(_) => Ok(RollbackOutcome::AlreadyRolledBack {
                slot: self.slots.boot().read_env()?.next_boot(),
            }),
            other => Err(refuse(format!(
                "no armed or confirmed update to roll back (state {})",
                other.name()
            ))),
        }
    }

    pub fn status(&self) -> Result<ComponentStatus, EngineError> {
        let env = self.slots.boot().read_env()?;
        let booted = self.slots.boot().booted_slot()?;
        let version = self
            .journal
            .slots
            .get(&env.active)
            .map(|s| s.version.clone())
            .unwrap_or_else(|| self.component.version.clone());
        Ok(ComponentStatus {
            component: self.name.clone(),
            state: self.journal.update.name().to_owned(),
            version,
            security_floor: self.journal.security_floor,
            active_slot: env.active,
            booted_slot: booted,
            boot_env: env,
            slots: self
                .journal
                .slots
                .iter()
                .map(|(k, v)| (*k, v.clone()))
                .collect(),
            plan: self.journal.update.plan().cloned(),
            refused_targets: self.journal.refused_targets.clone(),
        })
    }
}

/// All components of a device.
pub struct Device<'a> {
    pub config: &'a DeviceConfig,
    pub components: Vec<ComponentEngine<'a>>,
}

impl<'a> Device<'a> {
    /// Opens every configured component, recovering each from an interrupted step.
    pub fn open(
        config: &'a DeviceConfig,
        hook: &'a dyn StepHook,
        now: DateTime<Utc>,
    ) -> Result<Self, EngineError> {
        let components = config
            .components
            .keys()
            .map(|name| ComponentEngine::open(config, name, hook, now))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Device { config, components })
    }

    pub fn facts(&self, applier: &dyn DeltaApplier) -> Result<DeviceFacts, EngineError> {
        let mut components = std::collections::BTreeMap::new();
        for c in &self.components {
            components.insert(c.name.clone(), c.installed()?);
        }
        Ok(DeviceFacts {
            device_id: self.config.device_id.clone(),
            model: self.config.model.clone(),
            components,
            delta_formats: applier.formats(),
        })
    }

    /// Current version of every component, for the check-in header.
    pub fn versions(&self) -> Result<std::collections::BTreeMap<String, String>, EngineError> {
        let mut versions = std::collections::BTreeMap::new();
        for c in &self.components {
            versions.insert(c.name.clone(), c.installed()?.version);
        }
        Ok(versions)
    }

    /// The check-in headers for this device's metadata requests: model, the running version
    /// of every component (from the journal, so it follows confirmed updates and rollbacks)
    /// and region. See [`checkin_headers`].
    pub fn checkin_headers(&self) -> Result<Vec<(String, String)>, EngineError> {
        Ok(checkin_headers(
            &self.config.model,
            self.config.region.as_deref(),
            &self.versions()?,
        ))
    }

    /// `tufota-client check`: the decision on the verified targets, without acting on it.
    pub fn check(
        &self,
        targets: &[(String, TargetFile)],
        applier: &dyn DeltaApplier,
        now: DateTime<Utc>,
    ) -> Result<Decision, EngineError> {
        Ok(policy::decide(targets, &self.facts(applier)?, now))
    }

    /// `tufota-client update`: resumes interrupted updates whose target signed metadata still
    /// offers unchanged, then starts the ones the policy chooses, one component after another.
    pub fn update(
        &mut self,
        targets: &[(String, TargetFile)],
        source: &dyn TargetSource,
        applier: &dyn DeltaApplier,
        progress: &mut dyn ProgressSink,
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, UpdateOutcome)>, EngineError> {
        let decision = self.check(targets, applier, now)?;
        let mut outcomes = Vec::new();
        for engine in &mut self.components {
            let outcome = match engine.journal.update.clone() {
                UpdateState::PendingBoot(p) => UpdateOutcome::AwaitingBoot {
                    version: p.plan.version.clone(),
                    slot: p.plan.to_slot,
                },
                state if state.in_flight() => {
                    let plan = state.plan().cloned();
                    let still_offered = plan.as_ref().is_some_and(|plan| {
                        targets
                            .iter()
                            .any(|(n, f)| n == &plan.target && f == &plan.file)
                            && plan.delta.as_ref().is_none_or(|d| {
                                targets.iter().any(|(n, f)| n == &d.name && f == &d.file)
                            })
                    });
                    if still_offered {
                        engine.install(source, applier, progress, now)?
                    } else {
                        engine
                            .abandon("target no longer offered unchanged by signed metadata", now)?
                    }
                }
                _ => match decision.choices.iter().find(|c| c.component == engine.name) {
                    Some(choice) => {
                        engine.begin(choice, now)?;
                        engine.install(source, applier, progress, now)?
                    }
                    None => UpdateOutcome::UpToDate,
                },
            };
            outcomes.push((engine.name.clone(), outcome));
        }
        Ok(outcomes)
    }

    pub fn component_mut(&mut self, name: &str) -> Option<&mut ComponentEngine<'a>> {
        self.components.iter_mut().find(|c| c.name == name)
    }
}
