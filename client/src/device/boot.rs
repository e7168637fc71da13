//! Boot control: which slot the bootloader boots, and the "try once" protocol that makes an
//! update safe against an image that does not boot.
//!
//! The environment has four variables, the same in every backend:
//! - `tufota_active`: the confirmed slot, booted whenever no trial is pending;
//! - `tufota_try`: a slot to try (empty when none);
//! - `tufota_tries_left`: boots left for that trial;
//! - `tufota_failed`: the slot of the last trial the bootloader gave up on.
//!
//! The bootloader (a U-Boot or GRUB script on a real device; [`simulated_boot`] here) does,
//! at each boot: if `tufota_try` is set and tries are left, decrement and boot it; if it is
//! set and no tries are left, move it to `tufota_failed`, clear it and boot `tufota_active`;
//! otherwise boot `tufota_active`. The decrement happens *before* the trial boots, so a
//! power cut or a hang in the new image always ends in the old one (the bootcount scheme of
//! U-Boot, Mender and RAUC). The client writes `tufota_active` only at confirm or rollback,
//! after the slot it names was verified.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::config::BootCommandConfig;
use super::durable::{read_bounded, write_atomic, StepHook};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SlotId {
    A,
    B,
}

impl SlotId {
    pub fn other(self) -> SlotId {
        match self {
            SlotId::A => SlotId::B,
            SlotId::B => SlotId::A,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SlotId::A => "a",
            SlotId::B => "b",
        }
    }

    pub fn parse(s: &str) -> Option<SlotId> {
        match s.trim() {
            "a" | "A" => Some(SlotId::A),
            "b" | "B" => Some(SlotId::B),
            _ => None,
        }
    }
}

impl fmt::Display for SlotId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The bootloader environment as the client sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BootEnv {
    pub active: SlotId,
    #[serde(default)]
    pub try_slot: Option<SlotId>,
    #[serde(default)]
    pub tries_left: u32,
    #[serde(default)]
    pub failed: Option<SlotId>,
}

impl BootEnv {
    /// A device fresh from the factory boots slot A.
    pub fn factory() -> BootEnv {
        BootEnv {
            active: SlotId::A,
            try_slot: None,
            tries_left: 0,
            failed: None,
        }
    }

    /// The slot the next boot will start.
    pub fn next_boot(&self) -> SlotId {
        match self.try_slot {
            Some(slot) if self.tries_left > 0 => slot,
            _ => self.active,
        }
    }

    fn to_vars(&self) -> Vec<(&'static str, String)> {
        vec![
            ("tufota_active", self.active.name().to_owned()),
            (
                "tufota_try",
                self.try_slot
                    .map(|s| s.name().to_owned())
                    .unwrap_or_default(),
            ),
            ("tufota_tries_left", self.tries_left.to_string()),
            (
                "tufota_failed",
                self.failed.map(|s| s.name().to_owned()).unwrap_or_default(),
            ),
        ]
    }

    /// Reads the variables; unset ones mean the factory state. A variable that is set but
    /// malformed is an error: guessing which slot to boot is how devices get bricked.
    fn from_vars(vars: &BTreeMap<String, String>) -> Result<BootEnv, String> {
        let slot = |name: &str| -> Result<Option<SlotId>, String> {
            match vars.get(name).map(|v| v.trim()) {
                None | Some("") => Ok(None),
                Some(v) => SlotId::parse(v)
                    .map(Some)
                    .ok_or_else(|| format!("{name}={v:?} is not a or b")),
            }
        };
        let tries_left = match vars.get("tufota_tries_left").map(|v| v.trim()) {
            None | Some("") => 0,
            Some(v) => v
                .parse()
                .map_err(|_| format!("tufota_tries_left={v:?} is not a number"))?,
        };
        Ok(BootEnv {
            active: slot("tufota_active")?.unwrap_or(SlotId::A),
            try_slot: slot("tufota_try")?,
            tries_left,
            failed: slot("tufota_failed")?,
        })
    }
}

#[derive(Debug, Error)]
pub enum BootError {
    #[error("boot environment {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("boot environment {what}: {message}")]
    Malformed { what: String, message: String },
    #[error("boot environment command {command} failed: {message}")]
    Command { command: String, message: String },
    #[error("cannot tell which slot is running: {message}")]
    BootedSlotUnknown { message: String },
    #[error(transparent)]
    Durable(#[from] super::durable::DurableWriteError),
}

/// Where the boot environment lives and how the running slot is found.
pub trait BootControl: Send + Sync {
    fn read_env(&self) -> Result<BootEnv, BootError>;
    /// Replaces the environment in one write.
    fn write_env(&self, env: &BootEnv, hook: &dyn StepHook) -> Result<(), BootError>;
    /// The slot the running system was booted from.
    fn booted_slot(&self) -> Result<SlotId, BootError>;
}

/// The files backend's environment: `bootenv.json` beside the slot images, plus the slot the
/// simulated bootloader last booted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct SimulatedEnvFile {
    #[serde(flatten)]
    env: BootEnv,
    booted: SlotId,
    boots: u64,
}

const MAX_ENV_BYTES: u64 = 64 * 1024;

/// Boot control of the files backend, driven by [`simulated_boot`].
pub struct SimulatedBootControl {
    path: PathBuf,
}

impl SimulatedBootControl {
    pub fn new(dir: &Path) -> Self {
        SimulatedBootControl {
            path: dir.join("bootenv.json"),
        }
    }

    fn read_file(&self) -> Result<SimulatedEnvFile, BootError> {
        let bytes = read_bounded(&self.path, MAX_ENV_BYTES).map_err(|source| BootError::Io {
            path: self.path.clone(),
            source,
        })?;
        match bytes {
            None => Ok(SimulatedEnvFile {
                env: BootEnv::factory(),
                booted: SlotId::A,
                boots: 0,
            }),
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| BootError::Malformed {
                what: self.path.display().to_string(),
                message: e.to_string(),
            }),
        }
    }

    fn write_file(&self, file: &SimulatedEnvFile, hook: &dyn StepHook) -> Result<(), BootError> {
        let bytes = serde_json::to_vec_pretty(file).map_err(|e| BootError::Malformed {
            what: self.path.display().to_string(),
            message: e.to_string(),
        })?;
        write_atomic(&self.path, &bytes, hook)?;
        Ok(())
    }
}

impl BootControl for SimulatedBootControl {
    fn read_env(&self) -> Result<BootEnv, BootError> {
        Ok(self.read_file()?.env)
    }

    fn write_env(&self, env: &BootEnv, hook: &dyn StepHook) -> Result<(), BootError> {
        let mut file = self.read_file()?;
        file.env = env.clone();
        self.write_file(&file, hook)
    }

    fn booted_slot(&self) -> Result<SlotId, BootError> {
        Ok(self.read_file()?.booted)
    }
}

/// What the simulated bootloader did at one boot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "boot")]
pub enum BootOutcome {
    /// Booted the confirmed slot.
    Active { slot: SlotId },
    /// Booted a trial slot; `tries_left` after this boot.
    Trial { slot: SlotId, tries_left: u32 },
    /// The trial slot ran out of tries; booted the confirmed slot instead.
    FellBack { failed: SlotId, slot: SlotId },
}

/// One boot of the simulated bootloader of a files-backend slot directory: the "try once,
/// then fall back" logic a U-Boot or GRUB script runs on a real device.
pub fn simulated_boot(dir: &Path, hook: &dyn StepHook) -> Result<BootOutcome, BootError> {
    let control = SimulatedBootControl::new(dir);
    let mut file = control.read_file()?;
    let outcome = match file.env.try_slot {
        Some(slot) if file.env.tries_left > 0 => {
            file.env.tries_left -= 1;
            BootOutcome::Trial {
                slot,
                tries_left: file.env.tries_left,
            }
        }
        Some(failed) => {
            file.env.try_slot = None;
            file.env.failed = Some(failed);
            BootOutcome::FellBack {
                failed,
                slot: file.env.active,
            }
        }
        None => BootOutcome::Active {
            slot: file.env.active,
        },
    };
    file.booted = match outcome {
        BootOutcome::Active { slot }
        | BootOutcome::Trial { slot, .. }
        | BootOutcome::FellBack { slot, .. } => slot,
    };
    file.boots = file.boots.saturating_add(1);
    control.write_file(&file, hook)?;
    Ok(outcome)
}

/// Boot control through the bootloader's own environment tools (U-Boot `fw_printenv` /
/// `fw_setenv`, GRUB `grub-editenv`); the running slot comes from the kernel command line,
/// where the bootloader script puts `tufota.slot=a|b`.
pub struct CommandBootControl {
    config: BootCommandConfig,
    cmdline: PathBuf,
    cmdline_key: String,
    /// Where the `fw_setenv` script file is staged (both U-Boot's own tools and
    /// libubootenv read `-s FILE`; not every version reads a script from stdin).
    scratch_dir: PathBuf,
}

impl CommandBootControl {
    pub fn new(
        config: BootCommandConfig,
        cmdline: PathBuf,
        cmdline_key: String,
        scratch_dir: PathBuf,
    ) -> Self {
        CommandBootControl {
            config,
            cmdline,
            cmdline_key,
            scratch_dir,
        }
    }

    fn run(&self, program: &Path, args: &[String]) -> Result<Vec<u8>, BootError> {
        let command = format!("{} {}", program.display(), args.join(" "));
        let fail = |message: String| BootError::Command {
            command: command.clone(),
            message,
        };
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| fail(e.to_string()))?;
        let output = child.wait_with_output().map_err(|e| fail(e.to_string()))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let last = stderr.lines().last().unwrap_or("").trim().to_owned();
            return Err(fail(format!("{}: {last}", output.status)));
        }
        if output.stdout.len() > MAX_ENV_BYTES as usize {
            return Err(fail(format!("printed more than {MAX_ENV_BYTES} bytes")));
        }
        Ok(output.stdout)
    }
}

fn parse_env_lines(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
        .collect()
}

impl BootControl for CommandBootControl {
    fn read_env(&self) -> Result<BootEnv, BootError> {
        let (what, out) = match &self.config {
            BootCommandConfig::Uboot { printenv, .. } => {
                (printenv.display().to_string(), self.run(printenv, &[])?)
            }
            BootCommandConfig::Grub { editenv, grubenv } => (
                editenv.display().to_string(),
                self.run(editenv, &[grubenv.display().to_string(), "list".into()])?,
            ),
        };
        let vars = parse_env_lines(&String::from_utf8_lossy(&out));
        BootEnv::from_vars(&vars).map_err(|message| BootError::Malformed { what, message })
    }

    fn write_env(&self, env: &BootEnv, hook: &dyn StepHook) -> Result<(), BootError> {
        let vars = env.to_vars();
        match &self.config {
            BootCommandConfig::Uboot { setenv, .. } => {
                // One script, one environment write: `name value` per line; an empty value
                // deletes the variable.
                let mut script = String::new();
                for (k, v) in &vars {
                    script.push_str(k);
                    if !v.is_empty() {
                        script.push(' ');
                        script.push_str(v);
                    }
                    script.push('\n');
                }
                let script_path = self.scratch_dir.join("fw_setenv.script");
                write_atomic(&script_path, script.as_bytes(), hook)?;
                self.run(setenv, &["-s".into(), script_path.display().to_string()])?;
            }
            BootCommandConfig::Grub { editenv, grubenv } => {
                let mut args = vec![grubenv.display().to_string(), "set".into()];
                args.extend(vars.iter().map(|(k, v)| format!("{k}={v}")));
                self.run(editenv, &args)?;
            }
        }
        hook.reached("bootenv:command-written");
        Ok(())
    }

    fn booted_slot(&self) -> Result<SlotId, BootError> {
        let bytes = read_bounded(&self.cmdline, MAX_ENV_BYTES).map_err(|source| BootError::Io {
            path: self.cmdline.clone(),
            source,
        })?;
        let text = String::from_utf8_lossy(&bytes.unwrap_or_default()).into_owned();
        let prefix = format!("{}=", self.cmdline_key);
        text.split_whitespace()
            .find_map(|word| word.strip_prefix(prefix.as_str()))
            .and_then(SlotId::parse)
            .ok_or_else(|| BootError::BootedSlotUnknown {
                message: format!("no {}=a|b on {}", self.cmdline_key, self.cmdline.display()),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::super::durable::NoHook;
    use super::*;

    #[test]
    fn try_once_then_fall_back() {
        let dir = tempfile::tempdir().unwrap();
        let control = SimulatedBootControl::new(dir.path());
        assert_eq!(
            simulated_boot(dir.path(), &NoHook).unwrap(),
            BootOutcome::Active { slot: SlotId::A }
        );
        let mut env = control.read_env().unwrap();
        env.try_slot = Some(SlotId::B);
        env.tries_left = 1;
        control.write_env(&env, &NoHook).unwrap();
        assert_eq!(
            simulated_boot(dir.path(), &NoHook).unwrap(),
            BootOutcome::Trial {
                slot: SlotId::B,
                tries_left: 0
            }
        );
        assert_eq!(control.booted_slot().unwrap(), SlotId::B);
        assert_eq!(
            simulated_boot(dir.path(), &NoHook).unwrap(),
            BootOutcome::FellBack {
                failed: SlotId::B,
                slot: SlotId::A
            }
        );
        let env = control.read_env().unwrap();
        assert_eq!((env.try_slot, env.failed), (None, Some(SlotId::B)));
        assert_eq!(control.booted_slot().unwrap(), SlotId::A);
    }

    #[test]
    fn env_vars_round_trip_and_refuse_garbage() {
        let env = BootEnv {
            active: SlotId::B,
            try_slot: Some(SlotId::A),
            tries_left: 2,
            failed: None,
        };
        let vars: BTreeMap<String, String> = env
            .to_vars()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        assert_eq!(BootEnv::from_vars(&vars).unwrap(), env);
        let mut bad = vars.clone();
        bad.insert("tufota_active".into(), "c".into());
        assert!(BootEnv::from_vars(&bad).is_err());
        assert_eq!(
            BootEnv::from_vars(&BTreeMap::new()).unwrap(),
            BootEnv::factory()
        );
    }
}
