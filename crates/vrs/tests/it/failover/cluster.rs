//! A pg_auto_failover cluster on loopback ports: a monitor and two PostgreSQL nodes with
//! synchronous replication, each run as the `postgres` user.

use super::*;

/// A pg_auto_failover formation on loopback: a monitor and two data nodes in a temporary directory
/// owned by `postgres`, each `pg_autoctl` in its own process group. Dropping it kills every process
/// it started and removes the directory.
pub(super) struct Cluster {
    pub(super) dir: tempfile::TempDir,
    pub(super) bin: PathBuf,
    pub(super) monitor: u16,
    pub(super) nodes: [u16; 2],
    pub(super) keepers: Vec<Child>,
}

impl Cluster {
    pub(super) fn pg_autoctl(&self) -> Command {
        let root = self.dir.path();
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", "env"])
            .arg(format!("XDG_CONFIG_HOME={}", root.join("config").display()))
            .arg(format!("XDG_DATA_HOME={}", root.join("data").display()))
            .arg(format!("XDG_RUNTIME_DIR={}", root.join("run").display()))
            .arg(format!("PATH={}:/usr/bin:/bin", self.bin.display()))
            .arg("pg_autoctl")
            .current_dir(root);
        c
    }

    /// Starts `pg_autoctl create … --run` in its own process group, logging to `name.log`.
    pub(super) fn keeper(&mut self, name: &str, args: &[String]) {
        use std::os::unix::process::CommandExt;
        let log = std::fs::File::create(self.dir.path().join(format!("{name}.log"))).unwrap();
        let child = self
            .pg_autoctl()
            .args(args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .process_group(0)
            .spawn()
            .unwrap();
        self.keepers.push(child);
    }

    pub(super) fn pgdata(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `(name, port, reported state, assigned state)` of each data node, from the monitor.
    pub(super) fn states(&self) -> Vec<(String, u16, String, String)> {
        let out = self
            .pg_autoctl()
            .args(["show", "state", "--pgdata"])
            .arg(self.pgdata("monitor"))
            .stderr(Stdio::null())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|line| {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                let port = cells.get(2)?.rsplit(':').next()?.parse().ok()?;
                Some((
                    cells[0].to_owned(),
                    port,
                    cells.get(5)?.to_string(),
                    cells.get(6)?.to_string(),
                ))
            })
            .collect()
    }

    /// Waits until the monitor shows a node in `state` on port `port` (any port when `None`).
    pub(super) fn wait_for(&self, port: Option<u16>, states: &[&str], within: Duration) -> u16 {
        let deadline = Instant::now() + within;
        loop {
            let found = self
                .states()
                .into_iter()
                .find(|(_, p, reported, assigned)| {
                    port.is_none_or(|want| want == *p)
                        && reported == assigned
                        && states.contains(&reported.as_str())
                });
            if let Some((_, p, _, _)) = found {
                return p;
            }
            assert!(
                Instant::now() < deadline,
                "no node reached {states:?} within {within:?}: {:?}\n{}",
                self.states(),
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub(super) fn logs(&self) -> String {
        ["monitor", "node1", "node2"]
            .iter()
            .map(|n| {
                let text = std::fs::read_to_string(self.dir.path().join(format!("{n}.log")))
                    .unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(15).collect();
                format!(
                    "== {n}.log\n{}",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// A monitor, then the first node (it becomes the primary), then the second (its standby,
    /// synchronous); returns once the monitor shows `primary` and `secondary`.
    pub(super) fn start(bin: PathBuf) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("vrs-failover-")
            .tempdir()
            .unwrap();
        for sub in ["config", "data", "run"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
        }
        let owner = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(owner.success());
        let mut cluster = Cluster {
            dir,
            bin,
            monitor: free_port(),
            nodes: [free_port(), free_port()],
            keepers: Vec::new(),
        };
        let common = |pgdata: PathBuf, port: u16| -> Vec<String> {
            [
                "--pgdata",
                pgdata.to_str().unwrap(),
                "--pgport",
                &port.to_string(),
                "--hostname",
                "127.0.0.1",
                "--auth",
                "trust",
                "--no-ssl",
                "--run",
            ]
            .map(str::to_owned)
            .to_vec()
        };
        let started = Instant::now();
        let mut monitor = vec!["create".to_owned(), "monitor".to_owned()];
        monitor.extend(common(cluster.pgdata("monitor"), cluster.monitor));
        cluster.keeper("monitor", &monitor);
        let monitor_url = format!(
            "postgres://autoctl_node@127.0.0.1:{}/pg_auto_failover?sslmode=disable",
            cluster.monitor
        );
        let deadline = Instant::now() + Duration::from_secs(60);
        while psql(&monitor_url, "SELECT 1").is_none() {
            assert!(
                Instant::now() < deadline,
                "the monitor did not start\n{}",
                cluster.logs()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        for (i, name) in ["node1", "node2"].into_iter().enumerate() {
            let mut node = vec![
                "create".to_owned(),
                "postgres".to_owned(),
                "--name".to_owned(),
                name.to_owned(),
                "--dbname".to_owned(),
                "vrs".to_owned(),
                "--monitor".to_owned(),
                monitor_url.clone(),
            ];
            node.extend(common(cluster.pgdata(name), cluster.nodes[i]));
            cluster.keeper(name, &node);
            if i == 0 {
                cluster.wait_for(Some(cluster.nodes[0]), &["single"], Duration::from_secs(60));
            }
        }
        // The standby's base backup starts with a checkpoint on the primary, spread over minutes
        // by default; an immediate CHECKPOINT makes the one under way finish at once.
        let first = format!("postgres://postgres@127.0.0.1:{}/vrs", cluster.nodes[0]);
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let states = cluster.states();
            let formed = ["primary", "secondary"].iter().all(|want| {
                states
                    .iter()
                    .any(|(_, _, reported, assigned)| reported == want && assigned == want)
            });
            if formed {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the formation did not form: {states:?}\n{}",
                cluster.logs()
            );
            let _ = psql(&first, "CHECKPOINT");
            std::thread::sleep(Duration::from_millis(300));
        }
        eprintln!(
            "pg_auto_failover formation (monitor and two nodes, synchronous) formed in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        cluster
    }

    /// The multi-host URL of the formation's `vrs` database that `vrs` is given.
    pub(super) fn url(&self) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{},127.0.0.1:{}/vrs?target_session_attrs=read-write&connect_timeout=2",
            self.nodes[0], self.nodes[1]
        )
    }

    /// The port of the node that takes writes now, if one does.
    pub(super) fn primary(&self) -> Option<u16> {
        psql(&self.url(), "SELECT inet_server_port()")?.parse().ok()
    }

    pub(super) fn postmaster_pid(&self, port: u16) -> i64 {
        let name = if port == self.nodes[0] {
            "node1"
        } else {
            "node2"
        };
        let pid = std::fs::read_to_string(self.pgdata(name).join("postmaster.pid")).unwrap();
        pid.lines().next().unwrap().trim().parse().unwrap()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for keeper in &self.keepers {
            kill9(-i64::from(keeper.id()));
        }
        for name in ["monitor", "node1", "node2"] {
            if let Ok(pid) = std::fs::read_to_string(self.pgdata(name).join("postmaster.pid")) {
                if let Some(pid) = pid.lines().next().and_then(|p| p.trim().parse().ok()) {
                    kill9(pid);
                }
            }
        }
        for keeper in &mut self.keepers {
            let _ = keeper.wait();
        }
    }
}
