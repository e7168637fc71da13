//! Any bytes as a staged document, read the way repo-tool reads `staged/root.json` and
//! `staged/<role>.json` from disk: refused with a typed error or accepted, never a panic.
//! What is accepted must be what repo-tool would itself write: target and delegated role
//! names it allows (publish joins them to paths), and a document that reads back unchanged
//! after repo-tool writes it out again (the next command reads that file).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use repo_tool::editor::parse_draft;
use repo_tool::root_ceremony::parse_staged_root;
use repo_tool::target_name::{validate_role_name, validate_target_name};
use tufota_client::metadata::{custom::TargetCustom, PublicKey, Signed};
use tufota_client::trust::roles_for_target;

fuzz_target!(|data: &[u8]| {
    let root_path = Path::new("staged/root.json");
    if let Ok(root) = parse_staged_root(root_path, data) {
        // What `root merge` and `root publish` do with it: every key parsed, every
        // signature checked against the canonical bytes, each role's threshold counted.
        for sig in &root.signatures {
            if let Some(key) = root.signed().keys.get(&sig.keyid) {
                if let Ok(public) = PublicKey::from_key(key) {
                    let _ = public.verify(&sig.keyid, root.canonical_bytes(), &sig.sig);
                }
            }
        }
        for (name, role) in &root.signed().roles {
            let _ = root.verify_threshold(name, &root.signed().keys, &role.keyids, role.threshold);
        }
        // `root merge` writes it back with to_bytes; the next command must read the same root.
        let again = parse_staged_root(root_path, &root.to_bytes())
            .expect("a staged root repo-tool wrote back must read again");
        assert_eq!(again.signed(), root.signed());
        assert_eq!(again.signatures, root.signatures);
    }

    let draft_path = Path::new("staged/targets.json");
    if let Ok(draft) = parse_draft("targets", draft_path, data) {
        for (name, file) in &draft.targets {
            assert!(
                validate_target_name(name).is_ok(),
                "accepted target {name:?}"
            );
            let _ = TargetCustom::of(file);
            if let Some(delegations) = &draft.delegations {
                // Which role `add` files the target under (TargetsEditor::owner_of).
                let _ = roles_for_target(delegations, name);
            }
        }
        if let Some(roles) = draft.delegations.as_ref().and_then(|d| d.roles.as_ref()) {
            for role in roles {
                assert!(
                    validate_role_name(&role.name).is_ok(),
                    "accepted role {:?}",
                    role.name
                );
            }
        }
        // TargetsEditor::save writes a draft as Signed::new(doc).to_bytes().
        if let Ok(signed) = Signed::new(draft.clone()) {
            let again = parse_draft("targets", draft_path, &signed.to_bytes())
                .expect("a draft repo-tool wrote back must read again");
            assert_eq!(again, draft);
        }
    }
});
