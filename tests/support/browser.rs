//! What the browser tests need: Debian's chromium and the npm packages of tests/browser
//! (playwright-core, axe-core), set up by scripts/browser.sh when missing, and the web
//! app's build (scripts/web.sh). A test skips, saying why, only when chromium cannot be
//! installed here.

use crate::repo_root;
use std::path::PathBuf;

/// Chromium and the folder of the browser scripts.
pub struct Browser {
    pub chromium: String,
    pub scripts: PathBuf,
}

impl Browser {
    /// `None` (after printing why) when chromium cannot be installed.
    pub async fn find() -> Option<Self> {
        let scripts = repo_root().join("tests/browser");
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let stamp = scripts.join("node_modules/.package-lock.sha256");
        let lock = std::fs::read(scripts.join("package-lock.json")).expect("tests/browser/package-lock.json");
        let installed = std::fs::read_to_string(&stamp).unwrap_or_default();
        let want = {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(&lock))
        };
        if !std::path::Path::new(&chromium).exists() || installed.trim() != want {
            run_script("scripts/browser.sh", "set up the npm packages").await;
        }
        if !std::path::Path::new(&chromium).exists() {
            eprintln!("skipping: chromium is not installed and scripts/browser.sh could not install it (apt-get)");
            return None;
        }
        if !repo_root().join("web/dist/index.html").exists() {
            run_script("scripts/web.sh", "build the web app").await;
        }
        Some(Self { chromium, scripts })
    }

    /// `node <script>` in tests/browser with chromium and `env`; its stdout piped.
    pub fn run(&self, script: &str, env: &[(&str, String)]) -> tokio::process::Child {
        let mut command = tokio::process::Command::new("node");
        command
            .arg(self.scripts.join(script))
            .current_dir(&self.scripts)
            .env("CHROMIUM", &self.chromium)
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in env {
            command.env(k, v);
        }
        command.spawn().expect("node could not be started")
    }
}

/// Runs one of the project's scripts; panics, saying what it could not do, when it fails.
async fn run_script(script: &str, what: &str) {
    let status = tokio::process::Command::new("bash")
        .arg(repo_root().join(script))
        .status()
        .await
        .unwrap_or_else(|e| panic!("{script} could not be run: {e}"));
    assert!(status.success(), "{script} could not {what}");
}
