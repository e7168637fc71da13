//! `repo-tool key generate|show`.

use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};
use repo_tool::atomic::write_atomic_mode;
use repo_tool::keys::{public_key_json, LoadedKey};
use repo_tool::{RepoError, Result};
use tufota_client::metadata::{KeyType, PrivateKey, Signer};

use super::print_report;

#[derive(Clone, Copy, ValueEnum)]
pub enum KeyKind {
    Ed25519,
    Ecdsa,
}

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Generate a private key (PKCS#8 PEM, mode 0600) and print its key id.
    Generate {
        #[arg(long = "type", value_enum, default_value = "ed25519")]
        key_type: KeyKind,
        /// Where to write the private key; refused if it exists.
        out: PathBuf,
        /// Also write the public key (TUF key JSON) here, for offline use.
        #[arg(long)]
        public: Option<PathBuf>,
    },
    /// Show a key's id and its public key in TUF form (`--json` writes a public key file).
    Show {
        /// A private key, public key file, or cmd:PUBLIC_KEY_FILE:PROGRAM….
        key: String,
    },
}

pub fn run(command: KeyCommand, json: bool) -> Result<()> {
    match command {
        KeyCommand::Generate {
            key_type,
            out,
            public,
        } => {
            if out.exists() {
                return Err(RepoError::Usage(format!(
                    "{}: exists; not overwriting a key",
                    out.display()
                )));
            }
            let kind = match key_type {
                KeyKind::Ed25519 => KeyType::Ed25519,
                KeyKind::Ecdsa => KeyType::Ecdsa,
            };
            let (key, pem) = PrivateKey::generate(kind).map_err(|source| RepoError::Key {
                file: out.display().to_string(),
                source,
            })?;
            write_atomic_mode(&out, pem.as_bytes(), 0o600)?;
            let pub_json = public_key_json(key.key(), key.keyid());
            if let Some(p) = &public {
                let mut bytes = serde_json::to_vec_pretty(&pub_json).unwrap_or_default();
                bytes.push(b'\n');
                write_atomic_mode(p, &bytes, 0o644)?;
            }
            let report = serde_json::json!({
                "keyid": key.keyid(),
                "private_key": out,
                "public_key": public,
                "key": pub_json,
            });
            print_report(json, &report, || key.keyid().to_string());
            Ok(())
        }
        KeyCommand::Show { key } => {
            let k = LoadedKey::load(&key)?;
            let pub_json = public_key_json(&k.public, &k.keyid);
            if json {
                print_report(true, &pub_json, String::new);
            } else {
                println!("keyid:  {}", k.keyid);
                println!("kind:   {}", k.kind_name());
                println!(
                    "public: {}",
                    serde_json::to_string_pretty(&k.public).unwrap_or_default()
                );
            }
            Ok(())
        }
    }
}
