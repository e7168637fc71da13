//! Images listed by delegated targets roles (TUF spec §5.7.2), end to end: the
//! `tufota-client` device commands against a signed repository on a real HTTP server
//! (127.0.0.1) whose top-level targets delegates image paths to other roles. A device
//! installs an image only as the role a lookup of its name trusts: through the delegation
//! whose `paths` cover it, and not past a terminating delegation.

mod device_support;

use conformance_tests::repo::TestRepo;
use device_support::{
    assert_exit, device_json, image, init_device, list_image, run_device, serve_repo,
    sim_device_for, slot_bytes, Server, SimDevice,
};
use serde_json::{json, Value};

const V2: &str = "images/router-x/system-2.0.0.img";
const V15: &str = "images/router-x/system-1.5.0.img";

fn custom(version: &str) -> Value {
    json!({"device_model": ["router-x"], "component": "system", "version": version,
           "type": "full", "security_version": 2})
}

struct Fleet {
    _tmp: tempfile::TempDir,
    server: Server,
    device: SimDevice,
    factory: Vec<u8>,
}

/// Publishes `repo` after `build` shaped its delegations, serves it, and makes a `router-x`
/// device trusting its root.
fn fleet(build: impl FnOnce(&mut TestRepo)) -> Fleet {
    let tmp = tempfile::tempdir().unwrap();
    let mut repo = TestRepo::new(&tmp.path().join("repo"));
    build(&mut repo);
    repo.targets.get_mut("targets").unwrap().version += 1;
    repo.publish();
    let server = Server::start();
    serve_repo(&server, &repo);
    let factory = image(1, 100_000);
    let device = sim_device_for(
        &tmp.path().join("device"),
        &server.url,
        &factory,
        32 * 1024,
        "router-x",
        Some("eu-west"),
    );
    init_device(&device, &repo);
    Fleet {
        _tmp: tmp,
        server,
        device,
        factory,
    }
}

impl Fleet {
    fn requested(&self, path: &str) -> bool {
        self.server.requests().iter().any(|r| r.path == path)
    }

    /// Update, reboot into the trial slot, confirm: the new image is running from slot b.
    fn update_boot_confirm(&self, version: &str) {
        let out = run_device(&self.device, &["update"]);
        assert_exit(&out, 0);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains(&format!("system: {version} written to slot b")),
            "{stdout}"
        );
        let boot = device_json(&self.device, &["boot"]);
        assert_eq!(boot[0][1]["boot"], "trial");
        assert_eq!(boot[0][1]["slot"], "b");
        let confirmed = device_json(&self.device, &["confirm"]);
        assert_eq!(confirmed[0][1]["outcome"], "confirmed");
        let status = device_json(&self.device, &["status"]);
        let c = &status["components"][0];
        assert_eq!(c["version"], version);
        assert_eq!(c["state"], "confirmed");
        assert_eq!(
            (c["active_slot"].as_str(), c["booted_slot"].as_str()),
            (Some("b"), Some("b"))
        );
    }

    /// `check` chooses nothing and `update` installs nothing: slot a still boots the factory
    /// image and slot b was never written.
    fn assert_nothing_installed(&self) {
        let check = device_json(&self.device, &["check"]);
        assert_eq!(check["choices"], json!([]), "{check:#}");
        let out = run_device(&self.device, &["update"]);
        assert_exit(&out, 0);
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("system: up to date"),
            "{out:?}"
        );
        assert_eq!(slot_bytes(&self.device, "b"), None);
        assert_eq!(slot_bytes(&self.device, "a"), Some(self.factory.clone()));
        let boot = device_json(&self.device, &["boot"]);
        assert_eq!(boot[0][1]["boot"], "active");
        assert_eq!(boot[0][1]["slot"], "a");
        assert!(!self
            .server
            .requests()
            .iter()
            .any(|r| r.path.starts_with("/targets/")));
    }
}

#[test]
fn an_image_listed_two_delegations_down_is_installed_booted_and_confirmed() {
    let v2 = image(2, 150_000);
    let f = fleet(|repo| {
        // targets -> fleet (every model's images) -> router-x (its own, terminating).
        repo.delegate("targets", "fleet", &["images/*/*"], false);
        repo.delegate("fleet", "router-x", &["images/router-x/*"], true);
        list_image(repo, "router-x", V2, &v2, custom("2.0.0"));
    });
    let check = device_json(&f.device, &["check"]);
    assert_eq!(check["choices"][0]["name"], V2, "{check:#}");
    f.update_boot_confirm("2.0.0");
    assert_eq!(slot_bytes(&f.device, "b"), Some(v2));
    // Both delegated roles were fetched, and the image under its hash-prefixed name.
    assert!(f.requested("/metadata/1.fleet.json"));
    assert!(f.requested("/metadata/1.router-x.json"));
    assert!(f
        .server
        .requests()
        .iter()
        .any(|r| r.path.starts_with("/targets/images/router-x/")
            && r.path.ends_with(".system-2.0.0.img")));
}

#[test]
fn an_image_listed_by_a_role_whose_paths_do_not_cover_it_is_not_installed() {
    let f = fleet(|repo| {
        // router-y is trusted for router-y's images only, but lists one for router-x.
        repo.delegate("targets", "router-y", &["images/router-y/*"], false);
        list_image(repo, "router-y", V2, &image(2, 150_000), custom("2.0.0"));
    });
    f.assert_nothing_installed();
    // The device read the role, and still did not take the image from it.
    assert!(f.requested("/metadata/1.router-y.json"));
}

#[test]
fn a_terminating_delegation_hides_images_listed_by_later_roles() {
    let v15 = image(15, 120_000);
    let f = fleet(|repo| {
        // router-x-stable is the last word on router-x images: router-x-canary, delegated
        // the same paths after it, is never consulted for them.
        repo.delegate("targets", "router-x-stable", &["images/router-x/*"], true);
        repo.delegate("targets", "router-x-canary", &["images/router-x/*"], false);
        list_image(repo, "router-x-stable", V15, &v15, custom("1.5.0"));
        list_image(
            repo,
            "router-x-canary",
            V2,
            &image(2, 150_000),
            custom("2.0.0"),
        );
    });
    let check = device_json(&f.device, &["check"]);
    assert_eq!(check["choices"][0]["name"], V15, "{check:#}");
    // 2.0.0 is newer, so it would win were it offered: it is not even among the targets.
    let skipped = check["skipped"].as_array().unwrap();
    assert!(skipped.iter().all(|s| s["target"] != V2), "{check:#}");
    f.update_boot_confirm("1.5.0");
    assert_eq!(slot_bytes(&f.device, "b"), Some(v15));
    assert!(!f
        .server
        .requests()
        .iter()
        .any(|r| r.path.ends_with(".system-2.0.0.img")));
}
