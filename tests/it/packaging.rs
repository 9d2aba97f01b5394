//! What ships: the Debian package built by cargo-deb, installed into this
//! machine with dpkg, its configuration checked by the installed binary, and
//! purged again without a trace; and the Nix files, which parse (nixpkgs is
//! not reachable here, so they are not built or evaluated).

use std::path::Path;
use std::process::Command;

use crate::common::*;

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");
/// The binary the test suite was built with, which the package then holds.
const BIN: &str = env!("CARGO_BIN_EXE_domain-os");

/// Runs a command as root (directly, or through `sudo -n`).
fn as_root(program: &str, args: &[&str]) -> (bool, String, String) {
    // SAFETY: geteuid only reads the process's credentials.
    if unsafe { libc::geteuid() } == 0 {
        tool(program, args)
    } else {
        let mut all = vec!["-n", program];
        all.extend_from_slice(args);
        tool("sudo", &all)
    }
}

#[test]
fn the_debian_package_installs_checks_its_configuration_and_purges_cleanly() {
    let out = tempfile::tempdir().unwrap();
    // The package of the binary under test, laid out where cargo-deb looks for a
    // release build: building one here would double the suite's build time.
    let target = out.path().join("target");
    std::fs::create_dir_all(target.join("release")).unwrap();
    std::fs::copy(BIN, target.join("release/domain-os")).unwrap();
    let status = Command::new("cargo")
        .args(["deb", "--no-build", "--no-strip", "--fast", "--output"])
        .arg(out.path())
        .env("CARGO_TARGET_DIR", &target)
        .current_dir(MANIFEST_DIR)
        .status()
        .expect("cargo-deb (cargo install cargo-deb) must be installed");
    assert!(status.success(), "cargo deb failed");
    let deb =
        std::fs::read_dir(out.path()).unwrap().map(|e| e.unwrap().path()).find(|p| p.extension().is_some_and(|e| e == "deb")).unwrap();
    let deb = deb.to_str().unwrap();

    let (ok, contents, err) = tool("dpkg-deb", &["--contents", deb]);
    assert!(ok, "{err}");
    for path in [
        "./usr/bin/domain-os",
        "./lib/systemd/system/domain-os.service",
        "./lib/systemd/system/domain-os.socket",
        "./etc/domain-os/domain-os.toml",
    ] {
        assert!(contents.contains(path), "{path} not in the package:\n{contents}");
    }
    let (ok, conffiles, err) = tool("dpkg-deb", &["--info", deb, "conffiles"]);
    assert!(ok && conffiles.trim() == "/etc/domain-os/domain-os.toml", "{conffiles}{err}");

    let (ok, out_text, err) = as_root("dpkg", &["-i", deb]);
    assert!(ok, "dpkg -i: {out_text}{err}");
    let (ok, files, err) = tool("dpkg", &["-L", "domain-os"]);
    assert!(ok, "{err}");
    let installed: Vec<&str> = files.lines().filter(|f| Path::new(f).is_file()).collect();
    let (ok, effective, err) = tool("/usr/bin/domain-os", &["--config", "/etc/domain-os/domain-os.toml", "check-config"]);
    let purged = as_root("dpkg", &["-P", "domain-os"]);
    assert!(ok, "check-config of the installed configuration: {err}");
    assert!(err.contains("configuration is valid"));
    assert!(effective.contains("data_dir = \"/var/lib/domain-os\""), "{effective}");
    assert!(purged.0, "dpkg -P: {}{}", purged.1, purged.2);
    assert!(installed.len() >= 5, "{installed:?}");
    let left: Vec<&&str> = installed.iter().filter(|f| Path::new(f).exists()).collect();
    assert!(left.is_empty(), "left behind after purge: {left:?}");
}

#[test]
fn the_nix_package_module_and_vm_test_parse() {
    let dir = Path::new(MANIFEST_DIR).join("nix");
    let mut files: Vec<_> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|e| e == "nix")).collect();
    files.sort();
    let names: Vec<_> = files.iter().map(|f| f.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["default.nix", "module.nix", "package.nix", "test.nix"]);
    for file in &files {
        let (ok, _, err) = tool("nix-instantiate", &["--parse", file.to_str().unwrap()]);
        assert!(ok, "{}: {err}", file.display());
    }
    // The module's hardening is the shipped unit's, but for the one capability it keeps.
    let module = std::fs::read_to_string(dir.join("module.nix")).unwrap();
    let unit = std::fs::read_to_string(Path::new(MANIFEST_DIR).join("systemd/domain-os.service")).unwrap();
    for line in unit.lines().filter(|l| l.starts_with("Protect") || l.starts_with("Restrict") || l.starts_with("Private")) {
        let key = line.split('=').next().unwrap();
        if key != "PrivateUsers" {
            assert!(module.contains(&format!("{key} = ")), "the module lacks {key}");
        }
    }
}
