//! The check-in header: the `tufota-client` device commands against a signed repository on a
//! real HTTP server (127.0.0.1) that records every request's headers. Every metadata request
//! of `check` and `update` names the device model, the running version of each component and
//! the region; target downloads and the conformance commands send none of it; a configured
//! value cannot add a header line.

mod device_support;

use conformance_tests::repo::TestRepo;
use device_support::{
    assert_exit, device_json, image, init_device, list_image, run_client, run_device, serve_repo,
    sim_device_for, Request, Server, SimDevice,
};
use serde_json::json;

const IMAGE: &str = "images/router-x/system-2.0.0.img";

struct Fleet {
    _tmp: tempfile::TempDir,
    repo: TestRepo,
    server: Server,
    device: SimDevice,
}

/// A repository listing a 2.0.0 system image for `router-x`, served, and a device of
/// `model` (a TOML string) in `region` whose trusted root is installed.
fn fleet(model: &str, region: Option<&str>) -> Fleet {
    let tmp = tempfile::tempdir().unwrap();
    let mut repo = TestRepo::new(&tmp.path().join("repo"));
    list_image(
        &mut repo,
        "targets",
        IMAGE,
        &image(2, 150_000),
        json!({"device_model": ["router-x"], "component": "system", "version": "2.0.0",
               "type": "full", "security_version": 2}),
    );
    repo.targets.get_mut("targets").unwrap().version += 1;
    repo.publish();
    let server = Server::start();
    serve_repo(&server, &repo);
    let device_root = tmp.path().join("device");
    let device = sim_device_for(
        &device_root,
        &server.url,
        &image(1, 100_000),
        64 * 1024,
        model,
        region,
    );
    init_device(&device, &repo);
    Fleet {
        _tmp: tmp,
        repo,
        server,
        device,
    }
}

fn metadata_requests(requests: &[Request]) -> Vec<&Request> {
    let metadata: Vec<&Request> = requests
        .iter()
        .filter(|r| r.path.starts_with("/metadata/"))
        .collect();
    // Root N+1 (not found) and timestamp at the least; snapshot and targets too unless the
    // stored copies are current.
    assert!(metadata.len() >= 2, "{requests:#?}");
    metadata
}

fn tufota_headers(request: &Request) -> Vec<&(String, String)> {
    request
        .headers
        .iter()
        .filter(|(name, _)| name.starts_with("x-tufota"))
        .collect()
}

/// Every metadata request carries each check-in field exactly once, with these values.
fn assert_checkin(requests: &[Request], model: &str, versions: &str, region: Option<&str>) {
    for r in metadata_requests(requests) {
        assert_eq!(r.header("X-Tufota-Device-Model"), Some(model), "{r:#?}");
        assert_eq!(
            r.header("X-Tufota-Current-Version"),
            Some(versions),
            "{r:#?}"
        );
        match region {
            Some(region) => assert_eq!(r.header("X-Tufota-Region"), Some(region), "{r:#?}"),
            None => assert!(r.header_values("X-Tufota-Region").is_empty(), "{r:#?}"),
        }
    }
}

fn take_requests(server: &Server) -> Vec<Request> {
    std::mem::take(&mut server.state.lock().unwrap().requests)
}

#[test]
fn check_and_update_send_model_running_version_and_region_on_every_metadata_request() {
    let f = fleet("router-x", Some("eu-west"));

    let check = device_json(&f.device, &["check"]);
    assert_eq!(check["choices"][0]["name"], IMAGE);
    assert_checkin(
        &take_requests(&f.server),
        "router-x",
        "system=1.0.0",
        Some("eu-west"),
    );

    let out = run_device(&f.device, &["update"]);
    assert_exit(&out, 0);
    let update_requests = take_requests(&f.server);
    assert_checkin(
        &update_requests,
        "router-x",
        "system=1.0.0",
        Some("eu-west"),
    );
    // Target downloads carry no check-in: they may come from a CDN that is no fleet server.
    let target_gets: Vec<&Request> = update_requests
        .iter()
        .filter(|r| r.path.starts_with("/targets/"))
        .collect();
    assert!(!target_gets.is_empty(), "{update_requests:#?}");
    for r in target_gets {
        assert!(tufota_headers(r).is_empty(), "{r:#?}");
    }

    // After the new image booted and was confirmed, the header names the version running.
    let boot = device_json(&f.device, &["boot"]);
    assert_eq!(boot[0][1]["boot"], "trial");
    let confirmed = device_json(&f.device, &["confirm"]);
    assert_eq!(confirmed[0][1]["outcome"], "confirmed");
    take_requests(&f.server);
    let check = device_json(&f.device, &["check"]);
    assert_eq!(check["choices"], json!([]));
    assert_checkin(
        &take_requests(&f.server),
        "router-x",
        "system=2.0.0",
        Some("eu-west"),
    );
}

#[test]
fn a_device_without_a_region_sends_no_region_field() {
    let f = fleet("router-x", None);
    let out = run_device(&f.device, &["update"]);
    assert_exit(&out, 0);
    assert!(String::from_utf8_lossy(&out.stdout).contains("2.0.0 written to slot b"));
    assert_checkin(&take_requests(&f.server), "router-x", "system=1.0.0", None);
}

#[test]
fn a_configured_value_cannot_add_a_header_line() {
    // The TOML escape puts a real CR LF into the model.
    let f = fleet(r"router-x\r\nX-Injected: 1", Some("eu west,1"));
    let check = device_json(&f.device, &["check"]);
    // Not this device's model any more, so nothing is chosen; the requests still went out.
    assert_eq!(check["choices"], json!([]));
    let requests = take_requests(&f.server);
    assert_checkin(
        &requests,
        "router-x%0D%0AX-Injected%3A%201",
        "system=1.0.0",
        Some("eu%20west%2C1"),
    );
    for r in &requests {
        assert!(r.header_values("X-Injected").is_empty(), "{r:#?}");
    }
}

#[test]
fn the_conformance_commands_send_no_checkin_header() {
    let f = fleet("router-x", Some("eu-west"));
    let meta = f.device.root.join("conformance-metadata");
    let root_file = f.device.root.join("conformance-root.json");
    std::fs::write(&root_file, f.repo.initial_root()).unwrap();
    let meta_s = meta.to_str().unwrap();
    assert_exit(
        &run_client(&[
            "--metadata-dir",
            meta_s,
            "init",
            root_file.to_str().unwrap(),
        ]),
        0,
    );
    let metadata_url = format!("{}/metadata", f.server.url);
    let targets_url = format!("{}/targets", f.server.url);
    let target_dir = f.device.root.join("downloads");
    assert_exit(
        &run_client(&[
            "--metadata-dir",
            meta_s,
            "--metadata-url",
            &metadata_url,
            "refresh",
        ]),
        0,
    );
    assert_exit(
        &run_client(&[
            "--metadata-dir",
            meta_s,
            "--metadata-url",
            &metadata_url,
            "--target-base-url",
            &targets_url,
            "--target-dir",
            target_dir.to_str().unwrap(),
            "--target-name",
            IMAGE,
            "download",
        ]),
        0,
    );
    let requests = take_requests(&f.server);
    metadata_requests(&requests);
    assert!(requests.iter().any(|r| r.path.starts_with("/targets/")));
    for r in &requests {
        assert!(tufota_headers(r).is_empty(), "{r:#?}");
    }
}
