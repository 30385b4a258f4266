//! A private PostgreSQL server for one test: its own data directory, port and settings (TLS,
//! `pg_hba.conf` rules), started with the machine's PostgreSQL binaries and stopped when dropped.
//! For the tests that need a server configured unlike the shared one.
//!
//! The binaries are looked up under `/usr/lib/postgresql/*/bin` (Debian's layout) or on `PATH`.
//! PostgreSQL refuses to run as root, so under root the server runs as the `postgres` user.
//! Where no binaries are found the caller skips with a message, except under CI.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A running private server.
pub struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    owner: Option<u32>,
    pub port: u16,
    _dir: tempfile::TempDir,
}

/// Files to place in the data directory before the server starts (mode 0600, owned by the
/// server's user): e.g. `server.crt` and `server.key`.
pub struct DataFile<'a> {
    pub name: &'a str,
    pub contents: &'a [u8],
}

impl Cluster {
    /// Starts a server with `settings` appended to `postgresql.conf` and `hba` as the whole of
    /// `pg_hba.conf`. `None` when the machine has no PostgreSQL binaries and CI does not require
    /// them.
    pub fn start(settings: &str, hba: &str, files: &[DataFile<'_>]) -> Option<Self> {
        let Some(bin) = binaries() else {
            assert!(
                !super::postgres_required(),
                "PostgreSQL's server binaries (initdb, pg_ctl) are required here (CI) but not found"
            );
            eprintln!("no PostgreSQL server binaries (initdb, pg_ctl); skipping");
            return None;
        };
        let dir = tempfile::tempdir().expect("a temporary directory");
        let owner = running_as_root().then(postgres_uid);
        let data = dir.path().join("data");
        if let Some(uid) = owner {
            std::os::unix::fs::chown(dir.path(), Some(uid), None).expect("chown the directory");
        }
        let mut cluster = Cluster {
            bin,
            data,
            owner,
            port: 0,
            _dir: dir,
        };
        cluster.run(
            "initdb",
            &[
                "-D",
                &cluster.data.display().to_string(),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        for file in files {
            let path = cluster.data.join(file.name);
            std::fs::write(&path, file.contents).expect("write a data file");
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .expect("chmod a data file");
            if let Some(uid) = cluster.owner {
                std::os::unix::fs::chown(&path, Some(uid), None).expect("chown a data file");
            }
        }
        cluster.port = free_port();
        let conf = format!(
            "\nlisten_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\n\
             fsync = off\n{settings}\n",
            cluster.port,
            cluster.data.display()
        );
        append(&cluster.data.join("postgresql.conf"), &conf);
        std::fs::write(cluster.data.join("pg_hba.conf"), hba).expect("write pg_hba.conf");
        let log = cluster.data.join("server.log").display().to_string();
        let data = cluster.data.display().to_string();
        cluster.run(
            "pg_ctl",
            &["-D", &data, "-l", &log, "-w", "-t", "30", "start"],
        );
        Some(cluster)
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres` followed by `query` (`?…`, or empty).
    pub fn url(&self, query: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres{query}",
            self.port
        )
    }

    /// `program` of the server's binaries, run as the server's user.
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        let mut command = match self.owner {
            Some(_) => {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(&path);
                c
            }
            None => Command::new(&path),
        };
        command.current_dir("/");
        command
    }

    fn run(&self, program: &str, args: &[&str]) {
        let out = self
            .command(program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
        assert!(
            out.status.success(),
            "{program} failed: {}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.data.join("server.log")).unwrap_or_default()
        );
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data.display().to_string();
        let _ = self
            .command("pg_ctl")
            .args(["-D", &data, "-m", "immediate", "stop"])
            .output();
    }
}

fn binaries() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|bin| bin.join("initdb").exists() && bin.join("pg_ctl").exists())
        .collect();
    versions.sort();
    if let Some(newest) = versions.pop() {
        return Some(newest);
    }
    let on_path = std::env::var_os("PATH")?;
    std::env::split_paths(&on_path).find(|dir| dir.join("initdb").exists())
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn postgres_uid() -> u32 {
    let out = Command::new("id")
        .args(["-u", "postgres"])
        .output()
        .expect("run id -u postgres");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a postgres user to run the server as (PostgreSQL refuses root)")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .expect("open postgresql.conf");
    file.write_all(text.as_bytes())
        .expect("append to postgresql.conf");
}
