//! The device configuration file (TOML). It holds no secrets: a device trusts only the root
//! metadata in its metadata directory (DESIGN.md "Device side"). Everything the engine needs
//! to know about the hardware — where the slots are and how the bootloader is told what to
//! boot — is here, so that the same binary serves a simulated device and a real one.
//!
//! ```toml
//! device_id = "dev-0001"
//! model = "zte-x100"
//! region = "eu-west"            # optional, sent in the check-in header
//! metadata_dir = "/var/lib/tufota/metadata"
//! state_dir = "/var/lib/tufota/state"
//! report_url = "https://updates.example.com/reports"   # optional
//!
//! [mirrors]
//! metadata = "https://updates.example.com/metadata/"
//! targets = "https://updates.example.com/targets/"
//!
//! [limits]                      # all optional
//! max_target_bytes = 8589934592
//! checkpoint_bytes = 16777216   # journal the durable download offset this often
//! boot_tries = 1                # "try once"
//!
//! [components.system]
//! version = "1.2.2"             # what the factory installed, until the journal knows better
//! security_version = 7
//! [components.system.slots]
//! backend = "files"             # a directory with slot-a.img, slot-b.img, bootenv.json
//! dir = "/var/lib/tufota/slots/system"
//!
//! [components.rootfs.slots]
//! backend = "block"
//! a = "/dev/mmcblk0p2"
//! b = "/dev/mmcblk0p3"
//! boot = { kind = "uboot" }     # or { kind = "grub", grubenv = "/boot/grub/grubenv" }
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

/// Configuration files are small; anything bigger is not one.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config {path} is larger than {MAX_CONFIG_BYTES} bytes")]
    TooLarge { path: PathBuf },
    #[error("config {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceConfig {
    pub device_id: String,
    pub model: String,
    #[serde(default)]
    pub region: Option<String>,
    pub metadata_dir: PathBuf,
    pub state_dir: PathBuf,
    #[serde(default)]
    pub report_url: Option<String>,
    pub mirrors: Mirrors,
    #[serde(default)]
    pub limits: Limits,
    pub components: BTreeMap<String, ComponentConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mirrors {
    pub metadata: String,
    pub targets: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// No target larger than this is downloaded, whatever signed metadata says.
    pub max_target_bytes: u64,
    /// How often (in bytes written) the slot is synced and the durable offset journaled,
    /// which bounds the work a power cut can throw away.
    pub checkpoint_bytes: u64,
    /// Boots the new slot gets before the bootloader falls back.
    pub boot_tries: u32,
    /// Seconds a network request may take.
    pub http_timeout_secs: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_target_bytes: 16 << 30,
            checkpoint_bytes: 16 << 20,
            boot_tries: 1,
            http_timeout_secs: 60,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentConfig {
    /// Version of the factory image; the journal's records take over after the first update.
    pub version: String,
    pub security_version: u64,
    /// sha256 and length of the factory image, when known: they let a block-device slot
    /// (whose partition is larger than its image) be the base of a delta from the first
    /// update on. The files backend measures its factory image itself.
    #[serde(default)]
    pub image_sha256: Option<String>,
    #[serde(default)]
    pub image_length: Option<u64>,
    pub slots: SlotsConfig,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "backend", rename_all = "lowercase", deny_unknown_fields)]
pub enum SlotsConfig {
    /// A directory holding `slot-a.img`, `slot-b.img` and `bootenv.json`, booted by the
    /// simulated bootloader (`tufota-client boot`).
    Files { dir: PathBuf },
    /// Two block devices (or partitions) and a bootloader environment reached by commands.
    Block {
        a: PathBuf,
        b: PathBuf,
        boot: BootCommandConfig,
        /// Where the running slot is read from: `/proc/cmdline`, a `KEY=a|b` word in it.
        #[serde(default = "default_cmdline")]
        cmdline: PathBuf,
        #[serde(default = "default_cmdline_key")]
        cmdline_key: String,
    },
}

fn default_cmdline() -> PathBuf {
    PathBuf::from("/proc/cmdline")
}
fn default_cmdline_key() -> String {
    "tufota.slot".into()
}

/// How the bootloader environment is read and written on a real device.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum BootCommandConfig {
    /// U-Boot: `fw_printenv` prints `name=value` lines; `fw_setenv -s FILE` applies a script of
    /// `name value` lines in one environment write (atomic with a redundant environment).
    Uboot {
        #[serde(default = "default_fw_printenv")]
        printenv: PathBuf,
        #[serde(default = "default_fw_setenv")]
        setenv: PathBuf,
    },
    /// GRUB: `grub-editenv FILE list` and `grub-editenv FILE set k=v ...` (one block rewrite).
    Grub {
        #[serde(default = "default_grub_editenv")]
        editenv: PathBuf,
        grubenv: PathBuf,
    },
}

fn default_fw_printenv() -> PathBuf {
    PathBuf::from("fw_printenv")
}
fn default_fw_setenv() -> PathBuf {
    PathBuf::from("fw_setenv")
}
fn default_grub_editenv() -> PathBuf {
    PathBuf::from("grub-editenv")
}

impl DeviceConfig {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        use std::io::Read;
        let file = std::fs::File::open(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut text = String::new();
        file.take(MAX_CONFIG_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(|source| ConfigError::Read {
                path: path.to_owned(),
                source,
            })?;
        if text.len() as u64 > MAX_CONFIG_BYTES {
            return Err(ConfigError::TooLarge {
                path: path.to_owned(),
            });
        }
        Self::parse(&text, path)
    }

    /// Parses and checks a configuration; `path` only names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let config: DeviceConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            message: e.message().to_owned(),
        })?;
        let invalid = |message: String| ConfigError::Invalid {
            path: path.to_owned(),
            message,
        };
        if config.device_id.is_empty() {
            return Err(invalid("device_id is empty".into()));
        }
        if config.model.is_empty() {
            return Err(invalid("model is empty".into()));
        }
        if config.components.is_empty() {
            return Err(invalid("no [components.*] configured".into()));
        }
        for (name, component) in &config.components {
            // Component names become directory names under state_dir.
            let safe = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !safe {
                return Err(invalid(format!(
                    "component name {name:?} is not [A-Za-z0-9_-]+"
                )));
            }
            if super::policy::Version::parse(&component.version).is_none() {
                return Err(invalid(format!(
                    "components.{name}.version {:?} is not a dotted numeric version",
                    component.version
                )));
            }
        }
        if config.limits.boot_tries == 0 {
            return Err(invalid("limits.boot_tries must be at least 1".into()));
        }
        if config.limits.checkpoint_bytes == 0 {
            return Err(invalid("limits.checkpoint_bytes must be at least 1".into()));
        }
        Ok(config)
    }

    pub fn component_state_dir(&self, component: &str) -> PathBuf {
        self.state_dir.join("components").join(component)
    }

    pub fn report_queue_dir(&self) -> PathBuf {
        self.state_dir.join("reports")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
device_id = "dev-0001"
model = "zte-x100"
region = "eu-west"
metadata_dir = "/var/lib/tufota/metadata"
state_dir = "/var/lib/tufota/state"
report_url = "https://updates.example.com/reports"

[mirrors]
metadata = "https://updates.example.com/metadata/"
targets = "https://updates.example.com/targets/"

[limits]
checkpoint_bytes = 4096

[components.system]
version = "1.2.2"
security_version = 7
[components.system.slots]
backend = "files"
dir = "/var/lib/tufota/slots/system"

[components.rootfs]
version = "3.0"
security_version = 1
[components.rootfs.slots]
backend = "block"
a = "/dev/mmcblk0p2"
b = "/dev/mmcblk0p3"
boot = { kind = "grub", grubenv = "/boot/grub/grubenv" }
"#;

    #[test]
    fn parses_the_documented_example() {
        let c = DeviceConfig::parse(EXAMPLE, Path::new("x.toml")).unwrap();
        assert_eq!(c.region.as_deref(), Some("eu-west"));
        assert_eq!(c.limits.checkpoint_bytes, 4096);
        assert_eq!(c.limits.boot_tries, 1);
        let rootfs = &c.components["rootfs"];
        match &rootfs.slots {
            SlotsConfig::Block { boot, cmdline, .. } => {
                assert_eq!(cmdline, Path::new("/proc/cmdline"));
                assert!(
                    matches!(boot, BootCommandConfig::Grub { editenv, .. } if editenv == Path::new("grub-editenv"))
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refuses_bad_configs() {
        for (bad, what) in [
            (
                EXAMPLE.replace("model = \"zte-x100\"", "model = \"\""),
                "model",
            ),
            (
                EXAMPLE.replace("[components.system]", "[components.\"../x\"]"),
                "component name",
            ),
            (
                EXAMPLE.replace("version = \"1.2.2\"", "version = \"1.2.x\""),
                "version",
            ),
            (
                EXAMPLE.replace("checkpoint_bytes = 4096", "checkpoint_bytes = 0"),
                "checkpoint",
            ),
            (
                EXAMPLE.replace("backend = \"files\"", "backend = \"floppy\""),
                "backend",
            ),
            (EXAMPLE.replace("region =", "regio ="), "unknown field"),
        ] {
            let err = DeviceConfig::parse(&bad, Path::new("x.toml")).unwrap_err();
            let line = err.to_string();
            assert!(line.starts_with("config x.toml: "), "{what}: {line}");
        }
    }
}
