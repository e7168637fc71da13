//! SECURITY.md's "Defences in place" table must not rot: every test it cites exists, and
//! every attack test in `conformance-tests/tests/attacks.rs` is cited.
//!
//! The test column cites backticked items: `path/to/file.rs` (the file, all of it),
//! `path/to/file.rs::test_name`, or `::test_name` (a test in the file cited last). Anything
//! else in backticks there is refused, so a row cannot hide a test behind a shorthand.

use std::collections::BTreeSet;
use std::fs;

use conformance_tests::workspace_root;

/// The backticked items of the last cell of every data row of the table under `## Defences
/// in place`, row by row.
fn cited(security_md: &str) -> Vec<Vec<String>> {
    let section = security_md
        .split("\n## ")
        .find(|s| s.starts_with("Defences in place"))
        .expect("SECURITY.md has a \"Defences in place\" section");
    let rows: Vec<&str> = section
        .lines()
        .filter(|l| l.starts_with('|'))
        .skip(2) // header and separator
        .collect();
    assert!(!rows.is_empty(), "no table rows under Defences in place");
    rows.iter()
        .map(|row| {
            let cells: Vec<&str> = row.trim_end_matches('|').split('|').collect();
            let test_cell = cells.last().expect("a table row has cells");
            test_cell
                .split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect()
        })
        .collect()
}

/// Whether `source` defines `fn name` (followed by `(`, as a test function is).
fn defines(source: &str, name: &str) -> bool {
    source.contains(&format!("fn {name}("))
}

#[test]
fn every_security_table_row_names_an_existing_test() {
    let root = workspace_root();
    let text = fs::read_to_string(root.join("SECURITY.md")).expect("SECURITY.md");
    let mut problems = Vec::new();
    let mut cited_tests = BTreeSet::new();
    for (row, items) in cited(&text).iter().enumerate() {
        if items.is_empty() {
            problems.push(format!("row {} names no test", row + 1));
        }
        let mut file: Option<String> = None;
        for item in items {
            let (path, name) = match item.split_once("::") {
                Some(("", name)) => match &file {
                    Some(path) => (path.clone(), Some(name)),
                    None => {
                        problems.push(format!("`{item}` in row {} follows no file", row + 1));
                        continue;
                    }
                },
                Some((path, name)) => (path.to_string(), Some(name)),
                None if item.ends_with(".rs") => (item.clone(), None),
                None => {
                    problems.push(format!(
                        "`{item}` in row {} is neither a file nor file::test",
                        row + 1
                    ));
                    continue;
                }
            };
            let Ok(source) = fs::read_to_string(root.join(&path)) else {
                problems.push(format!("{path} (row {}) does not exist", row + 1));
                continue;
            };
            if let Some(name) = name {
                if !defines(&source, name) {
                    problems.push(format!("{path} has no fn {name} (row {})", row + 1));
                }
                cited_tests.insert(format!("{path}::{name}"));
            }
            file = Some(path);
        }
    }

    let attacks_path = "conformance-tests/tests/attacks.rs";
    let attacks = fs::read_to_string(root.join(attacks_path)).expect("attacks.rs");
    let mut attack_tests = 0;
    for line in attacks.lines() {
        let Some(rest) = line.strip_prefix("fn attack_") else {
            continue;
        };
        let name = format!("attack_{}", rest.split('(').next().unwrap_or(""));
        attack_tests += 1;
        if !cited_tests.contains(&format!("{attacks_path}::{name}")) {
            problems.push(format!("{attacks_path}::{name} is in no SECURITY.md row"));
        }
    }
    assert_eq!(
        attack_tests, 16,
        "issue #7's 15 attacks, and a role shared by two delegators (from tuf-conformance)"
    );
    assert!(
        problems.is_empty(),
        "SECURITY.md table:\n{}",
        problems.join("\n")
    );
}
