//! Power-loss torture: the client is killed with SIGKILL after each durable step of update,
//! confirm and rollback — every journal write, boot-environment write, report write, slot
//! checkpoint and slot chunk — then started again. After every kill:
//! - exactly one confirmed slot (the boot environment's `active`) holds a complete image
//!   whose sha256 and length match signed metadata (or the factory image), and so does a
//!   slot armed for a trial boot;
//! - the journal parses and agrees with the boot environment;
//! - the trusted metadata is byte-for-byte intact;
//!
//! and the restarted command, followed by the rest of the scenario, completes the update
//! (or the rollback) exactly as an uninterrupted run does.
//!
//! The child is this same test binary, re-executed into `child_process_entry` with the
//! command and the kill point in its environment: the step hook that kills lives here, in
//! the test, and the device binary has no such code path.

mod device_support;

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, TimeZone, Utc};
use device_support::*;
use tufota_client::device::boot::{simulated_boot, BootControl, SimulatedBootControl, SlotId};
use tufota_client::device::engine::Device;
use tufota_client::device::install::TargetSource;
use tufota_client::device::journal::{Journal, UpdateState};
use tufota_client::device::progress::Quiet;
use tufota_client::device::{DeviceConfig, NoHook, StepHook};
use tufota_client::metadata::{Key, Signed, TargetFile, Targets};

const READ_SIZE: usize = 8 * 1024;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
}

/// Kills this process with SIGKILL when the N-th step is reached.
struct KillAt {
    at: u64,
    seen: AtomicU64,
}

impl StepHook for KillAt {
    fn reached(&self, _step: &str) {
        let n = self.seen.fetch_add(1, Ordering::SeqCst) + 1;
        if n == self.at {
            let _ = Command::new("kill")
                .args(["-KILL", &std::process::id().to_string()])
                .status();
            loop {
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
        }
    }
}

/// Reads in fixed pieces, so the steps of a download are the same in every run.
struct FixedReads<R>(R);

impl<R: Read> Read for FixedReads<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let want = buf.len().min(READ_SIZE);
        let mut filled = 0;
        while filled < want {
            match self.0.read(&mut buf[filled..want])? {
                0 => break,
                n => filled += n,
            }
        }
        Ok(filled)
    }
}

struct FixedSource(HttpSource);

impl TargetSource for FixedSource {
    fn open(
        &self,
        name: &str,
        file: &TargetFile,
        offset: u64,
    ) -> Result<Box<dyn Read + Send + '_>, String> {
        Ok(Box::new(FixedReads(self.0.open(name, file, offset)?)))
    }
}

/// The device side of the child: targets come from the signed metadata in the metadata
/// directory, checked against the trusted key there.
fn trusted_targets(config: &DeviceConfig) -> Vec<(String, TargetFile)> {
    let key: Key = serde_json::from_slice(
        &std::fs::read(config.metadata_dir.join("trusted-key.json")).unwrap(),
    )
    .unwrap();
    let keyid = std::fs::read_to_string(config.metadata_dir.join("trusted-keyid")).unwrap();
    let bytes = std::fs::read(config.metadata_dir.join("targets.json")).unwrap();
    let doc = Signed::<Targets>::from_bytes("targets", &bytes).unwrap();
    doc.verify_threshold(
        "targets",
        &BTreeMap::from([(keyid.clone(), key)]),
        &[keyid],
        1,
    )
    .unwrap();
    doc.signed()
        .targets
        .iter()
        .map(|(n, f)| (n.clone(), f.clone()))
        .collect()
}

fn run_command(config: &DeviceConfig, command: &str, hook: &dyn StepHook) {
    let mut device = Device::open(config, hook, now()).unwrap();
    match command {
        "update" => {
            let targets = trusted_targets(config);
            let url = config.mirrors.targets.trim_end_matches('/').to_owned();
            let source = FixedSource(HttpSource::new(&url));
            device
                .update(&targets, &source, &TestDelta, &mut Quiet, now())
                .unwrap();
        }
        "confirm" => {
            device
                .component_mut("system")
                .unwrap()
                .confirm(now())
                .unwrap();
        }
        "rollback" => {
            device
                .component_mut("system")
                .unwrap()
                .rollback(now())
                .unwrap();
        }
        "recover" => {}
        other => panic!("unknown command {other}"),
    }
}

/// The child process, when re-executed by `power_cut_at_every_step`. Run directly (no
/// child environment), it checks that the counting hook sees the steps of a whole update.
#[test]
fn child_process_entry() {
    if let (Ok(config), Ok(command), Ok(at)) = (
        std::env::var("TUFOTA_PL_CONFIG"),
        std::env::var("TUFOTA_PL_COMMAND"),
        std::env::var("TUFOTA_PL_KILL_AT"),
    ) {
        let config = DeviceConfig::load(Path::new(&config)).unwrap();
        let hook = KillAt {
            at: at.parse().unwrap(),
            seen: AtomicU64::new(0),
        };
        run_command(&config, &command, &hook);
        println!("steps={}", hook.seen.load(Ordering::SeqCst));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start();
    let s = Scenario::full();
    let config = s.install(dir.path(), &server);
    let hook = KillAt {
        at: 0,
        seen: AtomicU64::new(0),
    };
    run_command(&config, "update", &hook);
    let update_steps = hook.seen.load(Ordering::SeqCst);
    // Journal, chunk, checkpoint and boot-environment steps all reach the hook.
    assert!(
        update_steps as usize > s.v2.len() / READ_SIZE + 20,
        "{update_steps}"
    );
    simulated_boot(&config.components["system"].slots_dir(), &NoHook).unwrap();
    run_command(&config, "confirm", &hook);
    assert!(matches!(journal(&config).update, UpdateState::Confirmed(_)));
}

trait SlotsDir {
    fn slots_dir(&self) -> PathBuf;
}

impl SlotsDir for tufota_client::device::config::ComponentConfig {
    fn slots_dir(&self) -> PathBuf {
        match &self.slots {
            tufota_client::device::config::SlotsConfig::Files { dir } => dir.clone(),
            other => panic!("{other:?}"),
        }
    }
}

fn journal(config: &DeviceConfig) -> Journal {
    Journal::load(&config.component_state_dir("system"))
        .unwrap()
        .unwrap()
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Step {
    /// A client command, killed at each of its steps in turn.
    Client(&'static str),
    /// The simulated bootloader (not a kill target: it is not the client).
    Boot,
}

/// How a scenario must end.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum End {
    ConfirmedOn(SlotId),
    RolledBackTo(SlotId),
}

struct Scenario {
    name: &'static str,
    factory: Vec<u8>,
    v2: Vec<u8>,
    security_version: u64,
    use_delta: bool,
    steps: Vec<Step>,
    end: End,
    /// Reports queued at the end (a rollback after confirm has a success and a rollback).
    reports: usize,
}

impl Scenario {
    fn full() -> Scenario {
        let factory = image(11, 40_000);
        let mut v2 = image(12, 72_000);
        v2[..10_000].copy_from_slice(&factory[..10_000]);
        Scenario {
            name: "full update, boot, confirm",
            factory,
            v2,
            security_version: 2,
            use_delta: false,
            steps: vec![Step::Client("update"), Step::Boot, Step::Client("confirm")],
            end: End::ConfirmedOn(SlotId::B),
            reports: 1,
        }
    }

    /// Writes the device, the signed metadata and the images; returns the config.
    fn install(&self, root: &Path, server: &Server) -> DeviceConfig {
        let dev = sim_device(root, &server.url, &self.factory, 16 * 1024);
        let key = test_key();
        let mut entries = vec![(
            "system-2.0.0.img".to_owned(),
            target_file(&self.v2, full_custom("2.0.0", self.security_version)),
        )];
        server.put("/targets/system-2.0.0.img", self.v2.clone());
        if self.use_delta {
            let patch = make_test_delta(&self.factory, &self.v2);
            entries.push((
                "system.delta".to_owned(),
                target_file(
                    &patch,
                    delta_custom(
                        "2.0.0",
                        self.security_version,
                        &sha256_hex(&self.factory),
                        "system-2.0.0.img",
                    ),
                ),
            ));
            server.put("/targets/system.delta", patch);
        }
        let metadata = root.join("metadata");
        std::fs::create_dir_all(&metadata).unwrap();
        use tufota_client::metadata::Signer;
        std::fs::write(
            metadata.join("targets.json"),
            signed_targets(&key, &entries),
        )
        .unwrap();
        std::fs::write(
            metadata.join("trusted-key.json"),
            serde_json::to_vec(key.key()).unwrap(),
        )
        .unwrap();
        std::fs::write(metadata.join("trusted-keyid"), key.keyid()).unwrap();
        DeviceConfig::load(&dev.config_path).unwrap()
    }
}

fn child(config_path: &Path, command: &str, kill_at: u64) -> (std::process::ExitStatus, String) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "child_process_entry",
            "--exact",
            "--nocapture",
            "--test-threads=1",
            "-q",
        ])
        .env("TUFOTA_PL_CONFIG", config_path)
        .env("TUFOTA_PL_COMMAND", command)
        .env("TUFOTA_PL_KILL_AT", kill_at.to_string())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status, format!("{stdout}{stderr}"))
}

fn steps_of(output: &str) -> u64 {
    output
        .lines()
        .find_map(|l| l.strip_prefix("steps="))
        .unwrap_or_else(|| panic!("no step count in {output}"))
        .trim()
        .parse()
        .unwrap()
}

fn run_step(config_path: &Path, config: &DeviceConfig, step: Step) -> u64 {
    match step {
        Step::Client(command) => {
            let (status, output) = child(config_path, command, 0);
            assert!(status.success(), "{command}: {output}");
            steps_of(&output)
        }
        Step::Boot => {
            simulated_boot(&config.components["system"].slots_dir(), &NoHook).unwrap();
            0
        }
    }
}

fn sha_file(path: &Path) -> Option<(String, u64)> {
    std::fs::read(path)
        .ok()
        .map(|b| (sha256_hex(&b), b.len() as u64))
}

/// The invariants that must hold after any power cut.
fn check_invariants(
    config: &DeviceConfig,
    signed: &[(String, u64)],
    metadata: &BTreeMap<PathBuf, Vec<u8>>,
    context: &str,
) {
    let slots_dir = config.components["system"].slots_dir();
    let journal = Journal::load(&config.component_state_dir("system"))
        .unwrap_or_else(|e| panic!("{context}: journal unreadable: {e}"));
    let env = SimulatedBootControl::new(&slots_dir)
        .read_env()
        .unwrap_or_else(|e| panic!("{context}: boot env unreadable: {e}"));
    let complete = |slot: SlotId| {
        let on_disk = sha_file(&slots_dir.join(format!("slot-{slot}.img")));
        on_disk.as_ref().is_some_and(|d| signed.contains(d))
            && journal.as_ref().is_none_or(|j| {
                j.slots.get(&slot).is_some_and(|img| {
                    Some((
                        img.sha256.clone().unwrap_or_default(),
                        img.length.unwrap_or(0),
                    )) == on_disk
                })
            })
    };
    assert!(
        complete(env.active),
        "{context}: confirmed slot {} is not a complete signed image",
        env.active
    );
    if let Some(trial) = env.try_slot.filter(|_| env.tries_left > 0) {
        assert!(
            complete(trial),
            "{context}: trial slot {trial} is not a complete signed image"
        );
    }
    if let Some(j) = &journal {
        if let Some(plan) = j.update.plan() {
            let before_verified = matches!(
                j.update,
                UpdateState::Decided(_) | UpdateState::Downloading(_) | UpdateState::Written(_)
            );
            if before_verified {
                assert!(
                    !j.slots.contains_key(&plan.to_slot),
                    "{context}: slot being written listed as verified"
                );
                assert_ne!(
                    env.try_slot,
                    Some(plan.to_slot),
                    "{context}: slot being written is armed"
                );
                assert_ne!(
                    env.active, plan.to_slot,
                    "{context}: slot being written is confirmed"
                );
            }
        }
    }
    for (path, bytes) in metadata {
        assert_eq!(
            &std::fs::read(path).unwrap(),
            bytes,
            "{context}: trusted metadata {} changed",
            path.display()
        );
    }
}

fn check_end(config: &DeviceConfig, s: &Scenario, context: &str) {
    let slots_dir = config.components["system"].slots_dir();
    let env = SimulatedBootControl::new(&slots_dir).read_env().unwrap();
    let j = journal(config);
    match s.end {
        End::ConfirmedOn(slot) => {
            assert!(
                matches!(j.update, UpdateState::Confirmed(_)),
                "{context}: ends {:?}",
                j.update
            );
            assert_eq!((env.active, env.try_slot), (slot, None), "{context}");
            assert_eq!(
                std::fs::read(slots_dir.join(format!("slot-{slot}.img"))).unwrap(),
                s.v2,
                "{context}"
            );
            assert_eq!(j.security_floor, s.security_version, "{context}");
        }
        End::RolledBackTo(slot) => {
            assert!(
                matches!(j.update, UpdateState::RolledBack(_)),
                "{context}: ends {:?}",
                j.update
            );
            assert_eq!(env.next_boot(), slot, "{context}");
            assert_eq!(
                std::fs::read(slots_dir.join(format!("slot-{slot}.img"))).unwrap(),
                s.factory,
                "{context}"
            );
        }
    }
    // One report per outcome, never duplicated by a restart.
    let reports = std::fs::read_dir(config.report_queue_dir())
        .unwrap()
        .count();
    assert_eq!(reports, s.reports, "{context}: {reports} reports queued");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

/// Runs one scenario: a clean run to count each command's steps, then a kill at every step
/// of every client command, each followed by a restart and the rest of the scenario.
fn torture(s: &Scenario, server: &Server) -> u64 {
    let base = tempfile::tempdir().unwrap();
    let root = base.path().join("device");
    let config = s.install(&root, server);
    let config_path = root.join("device.toml");
    let metadata: BTreeMap<PathBuf, Vec<u8>> = std::fs::read_dir(&config.metadata_dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    let signed = vec![
        (sha256_hex(&s.factory), s.factory.len() as u64),
        (sha256_hex(&s.v2), s.v2.len() as u64),
    ];
    // Snapshots of the device before each step, and the step counts of a clean run.
    let mut snapshots = Vec::new();
    let mut counts = Vec::new();
    for (i, step) in s.steps.iter().enumerate() {
        let snap = base.path().join(format!("before-{i}"));
        copy_dir(&root, &snap);
        snapshots.push(snap);
        counts.push(run_step(&config_path, &config, *step));
    }
    check_end(&config, s, &format!("{}: clean run", s.name));

    let mut kills = 0;
    for (i, step) in s.steps.iter().enumerate() {
        let Step::Client(command) = step else {
            continue;
        };
        for at in 1..=counts[i] {
            let context = format!("{}: {command} killed at step {at}/{}", s.name, counts[i]);
            std::fs::remove_dir_all(&root).unwrap();
            copy_dir(&snapshots[i], &root);
            let (status, output) = child(&config_path, command, at);
            assert_eq!(status.signal(), Some(9), "{context}: not killed: {output}");
            kills += 1;
            check_invariants(&config, &signed, &metadata, &context);
            // Restart the command, then the rest of the scenario.
            for later in &s.steps[i..] {
                run_step(&config_path, &config, *later);
                check_invariants(
                    &config,
                    &signed,
                    &metadata,
                    &format!("{context}, after restart"),
                );
            }
            check_end(&config, s, &context);
        }
    }
    kills
}

#[test]
fn power_cut_at_every_step_of_update_confirm_and_rollback() {
    let server = Server::start();
    let full = Scenario::full();
    let delta = Scenario {
        name: "delta update, boot, confirm",
        use_delta: true,
        ..Scenario::full()
    };
    let rollback_after_confirm = Scenario {
        name: "update, boot, confirm, rollback, boot",
        security_version: 1,
        steps: vec![
            Step::Client("update"),
            Step::Boot,
            Step::Client("confirm"),
            Step::Client("rollback"),
            Step::Boot,
        ],
        end: End::RolledBackTo(SlotId::A),
        reports: 2,
        ..Scenario::full()
    };
    let rollback_before_confirm = Scenario {
        name: "update, rollback",
        steps: vec![Step::Client("update"), Step::Client("rollback")],
        end: End::RolledBackTo(SlotId::A),
        ..Scenario::full()
    };
    let fallback = Scenario {
        name: "update, boot, boot (no confirm), recover",
        steps: vec![
            Step::Client("update"),
            Step::Boot,
            Step::Boot,
            Step::Client("recover"),
        ],
        end: End::RolledBackTo(SlotId::A),
        ..Scenario::full()
    };
    let mut total = 0;
    for s in [
        full,
        delta,
        rollback_after_confirm,
        rollback_before_confirm,
        fallback,
    ] {
        let kills = torture(&s, &server);
        eprintln!("{}: {kills} power cuts", s.name);
        total += kills;
    }
    assert!(total >= 200, "only {total} kill points");
}

#[test]
fn an_update_killed_mid_download_resumes_where_it_stopped() {
    let server = Server::start();
    let s = Scenario::full();
    let dir = tempfile::tempdir().unwrap();
    let config = s.install(dir.path(), &server);
    let config_path = dir.path().join("device.toml");
    let (_, output) = child(&config_path, "update", 0);
    let total = steps_of(&output);
    // Kill late in the download: past at least one checkpoint.
    let _ = std::fs::remove_dir_all(config.state_dir.clone());
    let _ = std::fs::remove_file(config.components["system"].slots_dir().join("slot-b.img"));
    let _ = std::fs::remove_file(config.components["system"].slots_dir().join("bootenv.json"));
    server.state.lock().unwrap().gets.clear();
    let (status, _) = child(&config_path, "update", total - 30);
    assert_eq!(status.signal(), Some(9));
    let durable = match journal(&config).update {
        UpdateState::Downloading(d) => d.durable_bytes,
        other => panic!("killed at {} of {total}: {other:?}", total - 30),
    };
    assert!(durable > 0);
    let (status, _) = child(&config_path, "update", 0);
    assert!(status.success());
    let gets = server.state.lock().unwrap().gets.clone();
    assert_eq!(gets.last().unwrap().1, Some(format!("bytes={durable}-")));
    assert!(matches!(
        journal(&config).update,
        UpdateState::PendingBoot(_)
    ));
}
