//! What the command-line tests share: a deployment in a temporary directory and the binary.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

pub fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/targets")
        .join(name)
}

pub struct Deployment {
    pub dir: tempfile::TempDir,
}

impl Deployment {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_vrs"));
        c.current_dir(self.dir.path())
            .env_remove("VRS_DATABASE_URL")
            .env_remove("VRS_KEY_FILE")
            .env_remove("VRS_MASTER_KEY")
            .env("VRS_LOG", "info");
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().unwrap()
    }

    pub fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
