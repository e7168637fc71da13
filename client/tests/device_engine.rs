//! The device engine end to end on a simulated device (files backend, simulated bootloader)
//! against a real HTTP server on 127.0.0.1: update, reboot, confirm; resume after a cut
//! connection; automatic fallback; rollback; refusal of a signed older image; delta; a bad
//! image; a slot that refuses writes or syncs; a journal that cannot record a checkpoint; the
//! offline report queue; the block backend with U-Boot and GRUB commands.

mod device_support;

use std::fs;

use chrono::{DateTime, TimeZone, Utc};
use device_support::*;
use tufota_client::device::boot::{simulated_boot, BootOutcome, SlotId};
use tufota_client::device::engine::{
    ConfirmOutcome, Device, EngineError, RollbackOutcome, UpdateOutcome,
};
use tufota_client::device::install::{InstallError, NoDelta};
use tufota_client::device::journal::{Journal, UpdateState};
use tufota_client::device::progress::Quiet;
use tufota_client::device::report::{checkin_headers, HttpReportSink, ReportQueue};
use tufota_client::device::{DeviceConfig, NoHook};
use tufota_client::metadata::TargetFile;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
}

struct Fixture {
    _dir: tempfile::TempDir,
    server: Server,
    dev: SimDevice,
    config: DeviceConfig,
    factory: Vec<u8>,
    v2: Vec<u8>,
    targets: Vec<(String, TargetFile)>,
}

fn fixture(checkpoint: u64) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start();
    let factory = image(1, 300_000);
    let mut v2 = factory.clone();
    v2[200_000..].copy_from_slice(&image(2, 100_000));
    v2.extend(image(3, 50_000));
    let dev = sim_device(dir.path(), &server.url, &factory, checkpoint);
    server.put("/targets/system-2.0.0.img", v2.clone());
    let key = test_key();
    let entries = vec![(
        "system-2.0.0.img".to_owned(),
        target_file(&v2, full_custom("2.0.0", 3)),
    )];
    let targets = verified_targets(&key, &signed_targets(&key, &entries));
    let config = DeviceConfig::load(&dev.config_path).unwrap();
    Fixture {
        _dir: dir,
        server,
        dev,
        config,
        factory,
        v2,
        targets,
    }
}

fn source(f: &Fixture) -> HttpSource {
    HttpSource::new(&format!("{}/targets", f.server.url))
}

fn journal(f: &Fixture) -> Journal {
    Journal::load(&f.config.component_state_dir("system"))
        .unwrap()
        .unwrap()
}

#[test]
fn update_reboot_confirm_reports_success_only_after_confirm() {
    let f = fixture(64 * 1024);
    let src = source(&f);
    {
        let mut device = Device::open(&f.config, &NoHook, now()).unwrap();
        let out = device
            .update(&f.targets, &src, &NoDelta, &mut Quiet, now())
            .unwrap();
        assert_eq!(
            out,
            vec![(
                "system".to_owned(),
                UpdateOutcome::Armed {
                    version: "2.0.0".into(),
                    slot: SlotId::B,
                    delta: false
                }
            )]
        );
    }
    assert_eq!(fs::read(f.dev.slots_dir.join("slot-b.img")).unwrap(), f.v2);
    assert_eq!(
        fs::read(f.dev.slots_dir.join("slot-a.img")).unwrap(),
        f.factory
    );
    assert!(matches!(journal(&f).update, UpdateState::PendingBoot(_)));
    let queue = ReportQueue::new(&f.config.report_queue_dir());
    assert!(
        queue.pending().unwrap().is_empty(),
        "no report before confirm"
    );

    // Confirm refuses before the reboot into the new slot.
    {
        let mut device = Device::open(&f.config, &NoHook, now()).unwrap();
        let err = device
            .component_mut("system")
            .unwrap()
            .confirm(now())
            .unwrap_err();
        assert!(
            matches!(err, EngineError::NotBootedIntoNewSlot { .. }),
            "{err}"
        );
    }
    assert_eq!(
        simulated_boot(&f.dev.slots_dir, &NoHook).unwrap(),
        BootOutcome::Trial {
            slot: SlotId::B,
            tries_left: 0
        }
    );
    let later = now() + chrono::Duration::seconds(90);
    {
        let mut device = Device::open(&f.config, &NoHook, later).unwrap();
        let c = device.component_mut("system").unwrap();
        assert_eq!(
            c.confirm(later).unwrap(),
            ConfirmOutcome::Confirmed {
                version: "2.0.0".into(),
                slot: SlotId::B
            }
        );
        assert_eq!(c.confirm(later).unwrap(), ConfirmOutcome::NothingPending);
        let status = c.status().unwrap();
        assert_eq!(
            (status.version.as_str(), status.security_floor),
            ("2.0.0", 3)
        );
        assert_eq!(status.active_slot, SlotId::B);
    }
    // Later boots stay on B.
    assert_eq!(
        simulated_boot(&f.dev.slots_dir, &NoHook).unwrap(),
        BootOutcome::Active { slot: SlotId::B }
    );
    // Nothing newer: up to date, and the same version is not reinstalled.
    {
        let mut device = Device::open(&f.config, &NoHook, later).unwrap();
        let out = device
            .update(&f.targets, &src, &NoDelta, &mut Quiet, later)
            .unwrap();
        assert_eq!(out[0].1, UpdateOutcome::UpToDate);
    }
    // The success report is queued, then delivered; the server saw it with its fields.
    assert_eq!(queue.pending().unwrap().len(), 1);
    let sink = HttpReportSink::new(
        f.config.report_url.as_deref().unwrap(),
        std::time::Duration::from_secs(10),
    );
    let flushed = queue.flush(&sink, &NoHook).unwrap();
    assert_eq!((flushed.sent, flushed.queued), (1, 0));
    let reports = f.server.state.lock().unwrap().reports.clone();
    assert_eq!(reports.len(), 1);
    let r = &reports[0];
    assert_eq!(r["result"], "success");
    assert_eq!(r["device_id"], "sim-0001");
    assert_eq!(r["model"], "sim-1");
    assert_eq!(
        (r["from_version"].as_str(), r["to_version"].as_str()),
        (Some("1.0.0"), Some("2.0.0"))
    );
    assert_eq!(r["duration_secs"], 90);
}

#[test]
fn an_interrupted_download_resumes_with_a_range_request() {
    let f = fixture(32 * 1024);
    let src = source(&f);
    f.server.state.lock().unwrap().cut_next_get_after = Some(200_000);
    {
        let mut device = Device::open(&f.config, &NoHook, now()).unwrap();
        let err = device
            .update(&f.targets, &src, &NoDelta, &mut Quiet, now())
            .unwrap_err();
        assert!(
            matches!(err, EngineError::Install(InstallError::Fetch { .. })),
            "{err}"
        );
    }
    let durable = match journal(&f).update {
        UpdateState::Downloading(d) => d.durable_bytes,
        other => panic!("{other:?}"),
    };
    assert!(durable > 0 && durable <= 200_000, "{durable}");
    // The slot being written is no longer listed as holding a verified image.
    assert!(!journal(&f).slots.contains_key(&SlotId::B));
    {
        let mut device = Device::open(&f.config, &NoHook, now()).unwrap();
        let out = device
            .update(&f.targets, &src, &NoDelta, &mut Quiet, now())
            .unwrap();
        assert!(matches!(out[0].1, UpdateOutcome::Armed { .. }));
    }
    assert_eq!(fs::read(f.dev.slots_dir.join("slot-b.img")).unwrap(), f.v2);
    let gets = f.server.state.lock().unwrap().gets.clone();
    assert_eq!(gets.len(), 2);
    assert_eq!(gets[0].1, None);
    assert_eq!(gets[1].1, Some(format!("bytes={durable}-")));
}

#[test]
fn an_unconfirmed_slot_falls_back_and_is_reported_as_a_rollback() {
    let f = fixture(64 * 1024);
    let src = source(&f);
    Device::open(&f.config, &NoHook, now())
        .unwrap()
        .update(&f.targets, &src, &NoDelta, &mut Quiet, now())
        .unwrap();
    assert!(matches!(
        simulated_boot(&f.dev.slots_dir, &NoHook).unwrap(),
        BootOutcome::Trial {
            slot: SlotId::B,
            ..
        }
    ));
    // The new image never confirms; the next boot falls back.
    assert_eq!(
        simulated_boot(&f.dev.slots_dir, &NoHook).unwrap(),
        BootOutcome::FellBack {
            failed: SlotId::B,
            slot: SlotId::A
        }
    );
    let mut device = Device::open(&f.config, &NoHook, now()).unwrap();
    let j = journal(&f);
    assert!(
        matches!(&j.update, UpdateState::RolledBack(r) if r.reason.contains("not confirmed")),
        "{:?}",
        j.update
    );
    assert_eq!(j.refused_targets, vec!["system-2.0.0.img".to_owned()]);
    assert_eq!(j.security_floor, 1, "floor rises only at confirm");
    let queue = ReportQueue::new(&f.config.report_queue_dir());
    let files = queue.pending().unwrap();
    assert_eq!(files.len(), 1);
    let report = queue.read(&files[0]).unwrap();
    assert_eq!(serde_json::to_value(report.result).unwrap(), "rolled_back");
    // The image that did not boot is not installed again.
    let out = device
        .update(&f.targets, &src, &NoDelta, &mut Quiet, now())
        .unwrap();
    assert_eq!(out[0].1, UpdateOutcome::UpToDate);
    let decision = device.check(&f.targets, &NoDelta, now()).unwrap();
    assert_eq!(
        decision.skipped[0].reason.to_string(),
        "failed to boot or was rolled back on this device before"
    );
}

#[test]
fn rollback_after_confirm_returns_to_the_previous_slot_within_the_floor() {
    let f = fixture(64 * 1024);
    let src = source(&f);
    Device::open(&f.config, &NoHook, now())
        .unwrap()
        .update(&f.targets, &src, &NoDelta, &mut Quiet, now())
        .unwrap();
    simulated_boot(&f.dev.slots_dir, &NoHook).unwrap();
    {
        let mut device = Device::open(&f.config, &NoHook, now()).unwrap();
        device
            .component_mut("system")
            .unwrap()
            .confirm(now())
            .unwrap();
        // The factory image has security_version 1, below the new floor 3: refused.
        let err = device
            .component_mut("system")
            .unwrap()
            .rollback(now())
            .unwrap_err();
        assert!(err.to_string().contains("below the floor 3"), "{err}");
    }
    // With an equal security_version the rollback is allowed.
    let mut j = journal(&f);
    j.slots.get_mut(&SlotId::A).unwrap().security_version = 3;
    j.save(&f.config.component_state_dir("system"), &NoHook)
        .unwrap();
    {
        let mut device = Device::open(&f.config, &NoHook, now()).unwrap();
        assert_eq!(
            device
                .component_mut("system")
                .unwrap()
                .rollback(now())
                .unwrap(),
            RollbackOutcome::RolledBack { slot: SlotId::A }
        );
    }
    assert_eq!(
        simulated_boot(&f.dev.slots_dir, &NoHook).unwrap(),
        BootOutcome::Active { slot: SlotId::A }
    );
    assert!(matches!(journal(&f).update, UpdateState::RolledBack(_)));
}

#[test]
fn rollback_before_confirm_drops_the_trial() {
    let f = fixture(64 * 1024);
    let src = source(&f);
    let mut device = Device::open(&f.config, &NoHook, now()).unwrap();
    device
        .update(&f.targets, &src, &NoDelta, &mut Quiet, now())
        .unwrap();
    assert_eq!(
        device
            .component_mut("system")
            .unwrap()
            .rollback(now())
            .unwrap(),
        RollbackOutcome::RolledBack { slot: SlotId::A }
    );
    assert_eq!(
        simulated_boot(&f.dev.slots_dir, &NoHook).unwrap(),
        BootOutcome::Active { slot: SlotId::A }
    );
}

#[test]
fn a_properly_signed_older_image_is_refused_and_nothing_is_written() {
    let f = fixture(64 * 1024);
    let key = test_key();
    let old = image(9, 1000);
    f.server.put("/targets/system-0.9.img", old.clone());
    // The server signs (with the key the device trusts) an older version, and a newer
    // version number carrying a security_version below the floor after one update.
    let entries = vec![
        (
            "system-0.9.img".to_owned(),
            target_file(&old, full_custom("0.9", 5)),
        ),
        (
            "system-1.0.0.img".to_owned(),
            target_file(&f.factory, full_custom("1.0.0", 5)),
        ),
    ];
    let targets = verified_targets(&key, &signed_targets(&key, &entries));
    let mut device = Device::open(&f.config, &NoHook, now()).unwrap();
    let decision = device.check(&targets, &NoDelta, now()).unwrap();
    assert!(decision.choices.is_empty());
    assert_eq!(decision.skipped.len(), 2);
    let out = device
        .update(&targets, &source(&f), &NoDelta, &mut Quiet, now())
        .unwrap();
    assert_eq!(out[0].1, UpdateOutcome::UpToDate);
    assert!(!f.dev.slots_dir.join("slot-b.img").exists());
    assert!(f.server.state.lock().unwrap().gets.is_empty());
}

#[test]
fn a_slot_that_refuses_writes_fails_with_the_disks_error_and_the_next_run_completes() {
    // The inactive slot is a device that takes no data: every write fails with ENOSPC.
    failing_slot_records_nothing_durable_and_the_next_run_completes(
        "/dev/full",
        std::io::ErrorKind::StorageFull,
    );
}

#[test]
fn a_slot_that_cannot_sync_records_nothing_durable_and_the_next_run_completes() {
    // The inactive slot takes every write but cannot be synced: fdatasync on /dev/null fails
    // with EINVAL, as a failing disk's would with EIO. Data written but never made durable
    // must not count as durable.
    failing_slot_records_nothing_durable_and_the_next_run_completes(
        "/dev/null",
        std::io::ErrorKind::InvalidInput,
    );
}

/// Makes the inactive slot the device `failing` (a symlink in the files backend), runs an
/// update, and checks that it fails with the slot's own error, that nothing was recorded as
/// durable, that the active slot is untouched, and that once the storage is back the next run
/// starts over and writes the whole image.
fn failing_slot_records_nothing_durable_and_the_next_run_completes(
    failing: &str,
    kind: std::io::ErrorKind,
) {
    // Small checkpoints: writes and syncs alternate all through the image.
    let f = fixture(32 * 1024);
    let slot_b = f.dev.slots_dir.join("slot-b.img");
    std::os::unix::fs::symlink(failing, &slot_b).unwrap();
    {
        let mut device = Device::open(&f.config, &NoHook, now()).unwrap();
        let err = device
            .update(&f.targets, &source(&f), &NoDelta, &mut Quiet, now())
            .unwrap_err();
        // The writer's own error, not that a writer stopped.
        match &err {
            EngineError::Install(InstallError::SlotIo { slot, source }) => {
                assert_eq!(*slot, SlotId::B);
                assert_eq!(source.kind(), kind, "{err}");
            }
            other => panic!("{other}"),
        }
    }
    match journal(&f).update {
        UpdateState::Downloading(d) => assert_eq!(d.durable_bytes, 0),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        fs::read(f.dev.slots_dir.join("slot-a.img")).unwrap(),
        f.factory
    );
    fs::remove_file(&slot_b).unwrap();
    let mut device = Device::open(&f.config, &NoHook, now()).unwrap();
    let out = device
        .update(&f.targets, &source(&f), &NoDelta, &mut Quiet, now())
        .unwrap();
    assert!(matches!(out[0].1, UpdateOutcome::Armed { .. }));
    assert_eq!(fs::read(&slot_b).unwrap(), f.v2);
    let gets = f.server.state.lock().unwrap().gets.clone();
    assert_eq!(gets.last().map(|g| g.1.clone()), Some(None), "{gets:?}");
}

/// At the first slot sync, puts a plain file where the component's state directory was, so
/// that the journal cannot record the checkpoint.
struct StateDirGoneAtFirstSync {
    state_dir: std::path::PathBuf,
    done: std::sync::atomic::AtomicBool,
}

impl tufota_client::device::StepHook for StateDirGoneAtFirstSync {
    fn reached(&self, step: &str) {
        if step == "install:slot-synced"
            && !self.done.swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            fs::rename(&self.state_dir, self.state_dir.with_extension("moved")).unwrap();
            fs::write(&self.state_dir, b"not a directory").unwrap();
        }
    }
}

#[test]
fn a_journal_that_cannot_record_a_checkpoint_stops_the_download_and_the_next_run_completes() {
    let f = fixture(32 * 1024);
    let state_dir = f.config.component_state_dir("system");
    let hook = StateDirGoneAtFirstSync {
        state_dir: state_dir.clone(),
        done: Default::default(),
    };
    {
        let mut device = Device::open(&f.config, &hook, now()).unwrap();
        let err = device
            .update(&f.targets, &source(&f), &NoDelta, &mut Quiet, now())
            .unwrap_err();
        // The journal's own error, as any failed journal write gives, not that the slot
        // writer stopped nor a network failure.
        match &err {
            EngineError::Journal(_) => assert!(err.to_string().contains("durably"), "{err}"),
            other => panic!("{other}"),
        }
    }
    assert!(hook.done.load(std::sync::atomic::Ordering::SeqCst));
    // The active slot is untouched; with the state directory back, the next run completes.
    assert_eq!(
        fs::read(f.dev.slots_dir.join("slot-a.img")).unwrap(),
        f.factory
    );
    fs::remove_file(&state_dir).unwrap();
    fs::rename(state_dir.with_extension("moved"), &state_dir).unwrap();
    let mut device = Device::open(&f.config, &NoHook, now()).unwrap();
    let out = device
        .update(&f.targets, &source(&f), &NoDelta, &mut Quiet, now())
        .unwrap();
    assert!(matches!(out[0].1, UpdateOutcome::Armed { .. }));
    assert_eq!(fs::read(f.dev.slots_dir.join("slot-b.img")).unwrap(), f.v2);
}

#[test]
fn a_delta_is_applied_on_the_fly_against_the_active_slot() {
    let f = fixture(64 * 1024);
    let key = test_key();
    let patch = make_test_delta(&f.factory, &f.v2);
    f.server
        .put("/targets/system-1.0.0-2.0.0.delta", patch.clone());
    let entries = vec![
        (
            "system-2.0.0.img".to_owned(),
            target_file(&f.v2, full_custom("2.0.0", 3)),
        ),
        (
            "system-1.0.0-2.0.0.delta".to_owned(),
            target_file(
                &patch,
                delta_custom("2.0.0", 3, &sha256_hex(&f.factory), "system-2.0.0.img"),
            ),
        ),
    ];
    let targets = verified_targets(&key, &signed_targets(&key, &entries));
    let mut device = Device::open(&f.config, &NoHook, now()).unwrap();
    let out = device
        .update(&targets, &source(&f), &TestDelta, &mut Quiet, now())
        .unwrap();
    assert_eq!(
        out[0].1,
        UpdateOutcome::Armed {
            version: "2.0.0".into(),
            slot: SlotId::B,
            delta: true
        }
    );
    assert_eq!(fs::read(f.dev.slots_dir.join("slot-b.img")).unwrap(), f.v2);
    let gets = f.server.state.lock().unwrap().gets.clone();
    assert_eq!(
        gets,
        vec![("/targets/system-1.0.0-2.0.0.delta".to_owned(), None)]
    );
    assert!(patch.len() < f.v2.len());
}

#[test]
fn a_delta_whose_result_does_not_match_the_signed_full_image_fails_and_is_not_armed() {
    let f = fixture(64 * 1024);
    let key = test_key();
    let mut wrong = f.v2.clone();
    wrong[299_999] ^= 1;
    let patch = make_test_delta(&f.factory, &wrong);
    f.server.put("/targets/d", patch.clone());
    let entries = vec![
        (
            "system-2.0.0.img".to_owned(),
            target_file(&f.v2, full_custom("2.0.0", 3)),
        ),
        (
            "d".to_owned(),
            target_file(
                &patch,
                delta_custom("2.0.0", 3, &sha256_hex(&f.factory), "system-2.0.0.img"),
            ),
        ),
    ];
    let targets = verified_targets(&key, &signed_targets(&key, &entries));
    let mut device = Device::open(&f.config, &NoHook, now()).unwrap();
    let err = device
        .update(&targets, &source(&f), &TestDelta, &mut Quiet, now())
        .unwrap_err();
    assert!(
        matches!(err, EngineError::Install(InstallError::Hash { .. })),
        "{err}"
    );
    let j = journal(&f);
    assert!(matches!(j.update, UpdateState::Failed(_)));
    assert!(!j.slots.contains_key(&SlotId::B));
    assert_eq!(
        simulated_boot(&f.dev.slots_dir, &NoHook).unwrap(),
        BootOutcome::Active { slot: SlotId::A }
    );
    let queue = ReportQueue::new(&f.config.report_queue_dir());
    let report = queue.read(&queue.pending().unwrap()[0]).unwrap();
    assert!(report.errors[0].contains("sha256"), "{:?}", report.errors);
}

#[test]
fn a_mirror_serving_other_bytes_is_refused() {
    let f = fixture(64 * 1024);
    let mut tampered = f.v2.clone();
    tampered[10] ^= 0xff;
    f.server.put("/targets/system-2.0.0.img", tampered);
    let mut device = Device::open(&f.config, &NoHook, now()).unwrap();
    let err = device
        .update(&f.targets, &source(&f), &NoDelta, &mut Quiet, now())
        .unwrap_err();
    assert!(
        err.to_string().contains("system-2.0.0.img refused: sha256"),
        "{err}"
    );
    assert!(matches!(journal(&f).update, UpdateState::Failed(_)));
    // A longer body than signed is refused too.
    let mut longer = f.v2.clone();
    longer.push(0);
    f.server.put("/targets/system-2.0.0.img", longer);
    let err = device
        .update(&f.targets, &source(&f), &NoDelta, &mut Quiet, now())
        .unwrap_err();
    assert!(err.to_string().contains("source sent more bytes"), "{err}");
}

#[test]
fn reports_stay_queued_while_the_server_refuses_them() {
    let f = fixture(64 * 1024);
    let src = source(&f);
    let mut device = Device::open(&f.config, &NoHook, now()).unwrap();
    device
        .update(&f.targets, &src, &NoDelta, &mut Quiet, now())
        .unwrap();
    device
        .component_mut("system")
        .unwrap()
        .rollback(now())
        .unwrap();
    let queue = ReportQueue::new(&f.config.report_queue_dir());
    let sink = HttpReportSink::new(
        f.config.report_url.as_deref().unwrap(),
        std::time::Duration::from_secs(10),
    );
    f.server.state.lock().unwrap().refuse_reports = true;
    let out = queue.flush(&sink, &NoHook).unwrap();
    assert_eq!((out.sent, out.queued), (0, 1));
    let offline = HttpReportSink::new(
        "http://127.0.0.1:1/reports",
        std::time::Duration::from_secs(5),
    );
    assert_eq!(queue.flush(&offline, &NoHook).unwrap().queued, 1);
    f.server.state.lock().unwrap().refuse_reports = false;
    assert_eq!(queue.flush(&sink, &NoHook).unwrap().sent, 1);
    let reports = f.server.state.lock().unwrap().reports.clone();
    assert_eq!(reports[0]["result"], "rolled_back");
    assert_eq!(reports[0]["phase"], "pending_boot");
}

#[test]
fn checkin_headers_name_model_versions_and_region() {
    let f = fixture(64 * 1024);
    let device = Device::open(&f.config, &NoHook, now()).unwrap();
    let headers = checkin_headers(
        &f.config.model,
        f.config.region.as_deref(),
        &device.versions().unwrap(),
    );
    assert_eq!(
        headers,
        vec![
            ("X-Tufota-Device-Model".to_owned(), "sim-1".to_owned()),
            (
                "X-Tufota-Current-Version".to_owned(),
                "system=1.0.0".to_owned()
            ),
            ("X-Tufota-Region".to_owned(), "lab".to_owned()),
        ]
    );
}

/// Block devices with bootloader commands: fake `fw_printenv`/`fw_setenv` and
/// `grub-editenv` scripts keep their environment in a file, the "partitions" are files
/// larger than the image, and the running slot comes from a kernel command line file.
fn block_backend_round_trip(boot_toml: &str, tools: &[(&str, &str)]) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let server = Server::start();
    let factory = image(1, 100_000);
    let v2 = image(2, 120_000);
    server.put("/targets/system-2.0.0.img", v2.clone());
    let mut part_a = factory.clone();
    part_a.resize(256 * 1024, 0);
    fs::write(root.join("part-a"), &part_a).unwrap();
    fs::write(root.join("part-b"), vec![0u8; 256 * 1024]).unwrap();
    fs::write(root.join("cmdline"), "console=ttyS0 tufota.slot=a quiet\n").unwrap();
    for (name, script) in tools {
        let path = root.join(name);
        fs::write(
            &path,
            script.replace("ENVFILE", &root.join("env").display().to_string()),
        )
        .unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }
    fs::write(root.join("env"), "").unwrap();
    let config = format!(
        r#"device_id = "blk-1"
model = "sim-1"
metadata_dir = "{r}/metadata"
state_dir = "{r}/state"
[mirrors]
metadata = "x"
targets = "x"
[components.system]
version = "1.0.0"
security_version = 1
image_sha256 = "{sha}"
image_length = {len}
[components.system.slots]
backend = "block"
a = "{r}/part-a"
b = "{r}/part-b"
cmdline = "{r}/cmdline"
boot = {boot}
"#,
        r = root.display(),
        sha = sha256_hex(&factory),
        len = factory.len(),
        boot = boot_toml.replace("ROOT", &root.display().to_string()),
    );
    let config = DeviceConfig::parse(&config, std::path::Path::new("blk.toml")).unwrap();
    let key = test_key();
    let entries = vec![(
        "system-2.0.0.img".to_owned(),
        target_file(&v2, full_custom("2.0.0", 2)),
    )];
    let targets = verified_targets(&key, &signed_targets(&key, &entries));
    let src = HttpSource::new(&format!("{}/targets", server.url));
    let mut device = Device::open(&config, &NoHook, now()).unwrap();
    let out = device
        .update(&targets, &src, &NoDelta, &mut Quiet, now())
        .unwrap();
    assert!(matches!(
        out[0].1,
        UpdateOutcome::Armed {
            slot: SlotId::B,
            ..
        }
    ));
    let part_b = fs::read(root.join("part-b")).unwrap();
    assert_eq!(part_b.len(), 256 * 1024, "a partition is not truncated");
    assert_eq!(&part_b[..v2.len()], &v2[..]);
    let env = fs::read_to_string(root.join("env")).unwrap();
    assert!(
        env.contains("tufota_try=b") && env.contains("tufota_tries_left=1"),
        "{env}"
    );
    // "Reboot" into b: the bootloader script would put the slot on the command line.
    fs::write(root.join("cmdline"), "console=ttyS0 tufota.slot=b quiet\n").unwrap();
    drop(device);
    let mut device = Device::open(&config, &NoHook, now()).unwrap();
    device
        .component_mut("system")
        .unwrap()
        .confirm(now())
        .unwrap();
    let env = fs::read_to_string(root.join("env")).unwrap();
    assert!(env.contains("tufota_active=b"), "{env}");
    assert!(!env.contains("tufota_try=b"), "{env}");
}

#[test]
fn block_backend_with_uboot_commands() {
    // fw_printenv prints name=value lines; fw_setenv -s FILE reads "name value" lines (an
    // empty value deletes), as U-Boot's tools and libubootenv do.
    let printenv = "#!/bin/sh\ncat ENVFILE\n";
    let setenv = r#"#!/bin/sh
[ "$1" = "-s" ] && [ -f "$2" ] || exit 2
while read -r name value; do
  grep -v "^$name=" ENVFILE > ENVFILE.new; mv ENVFILE.new ENVFILE
  [ -n "$value" ] && echo "$name=$value" >> ENVFILE
done < "$2"
exit 0
"#;
    block_backend_round_trip(
        r#"{ kind = "uboot", printenv = "ROOT/fw_printenv", setenv = "ROOT/fw_setenv" }"#,
        &[("fw_printenv", printenv), ("fw_setenv", setenv)],
    );
}

#[test]
fn block_backend_with_grub_editenv() {
    let editenv = r#"#!/bin/sh
file="$1"; shift; cmd="$1"; shift
case "$file" in */grubenv) ;; *) exit 3 ;; esac
case "$cmd" in
  list) cat ENVFILE ;;
  set) for kv in "$@"; do name="${kv%%=*}"; grep -v "^$name=" ENVFILE > ENVFILE.new; mv ENVFILE.new ENVFILE; echo "$kv" >> ENVFILE; done ;;
  *) exit 2 ;;
esac
"#;
    let dir_marker = "ROOT/grubenv";
    block_backend_round_trip(
        &format!(r#"{{ kind = "grub", editenv = "ROOT/grub-editenv", grubenv = "{dir_marker}" }}"#),
        &[("grub-editenv", editenv)],
    );
}

#[test]
fn a_tufota_delta_patch_is_applied_from_the_active_slot() {
    use tufota_client::device::{TufotaDelta, TUFOTA_DELTA_FORMAT};
    let f = fixture(64 * 1024);
    let key = test_key();
    let patch =
        tufota_delta::generate(&f.factory, &f.v2, &tufota_delta::GenerateOptions::default())
            .unwrap();
    f.server.put("/targets/system-2.0.0.tfd", patch.clone());
    let mut delta = delta_custom("2.0.0", 3, &sha256_hex(&f.factory), "system-2.0.0.img");
    delta["delta"]["format"] = serde_json::json!(TUFOTA_DELTA_FORMAT);
    let entries = vec![
        (
            "system-2.0.0.img".to_owned(),
            target_file(&f.v2, full_custom("2.0.0", 3)),
        ),
        ("system-2.0.0.tfd".to_owned(), target_file(&patch, delta)),
    ];
    let targets = verified_targets(&key, &signed_targets(&key, &entries));
    let mut device = Device::open(&f.config, &NoHook, now()).unwrap();
    // Without delta support the full image would be chosen; with it, the patch.
    assert!(device.check(&targets, &NoDelta, now()).unwrap().choices[0]
        .delta
        .is_none());
    let out = device
        .update(&targets, &source(&f), &TufotaDelta, &mut Quiet, now())
        .unwrap();
    assert!(
        matches!(out[0].1, UpdateOutcome::Armed { delta: true, .. }),
        "{out:?}"
    );
    assert_eq!(fs::read(f.dev.slots_dir.join("slot-b.img")).unwrap(), f.v2);
    let gets = f.server.state.lock().unwrap().gets.clone();
    assert_eq!(gets, vec![("/targets/system-2.0.0.tfd".to_owned(), None)]);
    assert!(patch.len() < f.v2.len() / 2, "patch {} bytes", patch.len());
}
