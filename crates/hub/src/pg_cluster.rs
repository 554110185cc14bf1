//! A throwaway PostgreSQL cluster for tests and benchmarks (platform code: Linux/Unix, the way
//! Debian's `postgresql` package installs it; see shared/RECIPES.md). `scripts/setup --test` installs
//! PostgreSQL; a missing installation is an error here, never a silent skip.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A running cluster in a temporary folder, stopped when dropped.
pub struct PgCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
    as_postgres: bool,
}

fn newest_bin() -> Result<PathBuf, String> {
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .map_err(|e| format!("PostgreSQL is not installed ({}: {e}); run scripts/setup --test", root.display()))?
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin)| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).ok_or_else(|| "no PostgreSQL server binaries under /usr/lib/postgresql".into())
}

impl PgCluster {
    pub fn start() -> Result<PgCluster, String> {
        let bin = newest_bin()?;
        let dir = tempfile::Builder::new().prefix("lifeboat-pg").tempdir().map_err(|e| e.to_string())?;
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
        // initdb refuses to run as root: run the server as the `postgres` user then.
        let as_postgres = Command::new("id").arg("-u").output().map(|o| o.stdout == b"0\n").unwrap_or(false);
        let cluster = PgCluster { dir, bin, port, as_postgres };
        if as_postgres {
            cluster.run("chown", &["-R", "postgres:postgres", &cluster.path()], false)?;
        }
        let data = format!("{}/data", cluster.path());
        cluster.run(&cluster.tool("initdb"), &["-D", &data, "-A", "trust", "-U", "lifeboat", "-E", "UTF8"], true)?;
        let options = format!("-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off", cluster.path());
        let log = format!("{}/log", cluster.path());
        cluster.run(&cluster.tool("pg_ctl"), &["-D", &data, "-o", &options, "-l", &log, "-w", "start"], true)?;
        Ok(cluster)
    }

    fn path(&self) -> String {
        self.dir.path().display().to_string()
    }

    fn tool(&self, name: &str) -> String {
        self.bin.join(name).display().to_string()
    }

    fn run(&self, program: &str, args: &[&str], as_owner: bool) -> Result<(), String> {
        let output = if as_owner && self.as_postgres {
            Command::new("runuser").args(["-u", "postgres", "--", program]).args(args).output()
        } else {
            Command::new(program).args(args).output()
        }
        .map_err(|e| format!("could not run {program}: {e}"))?;
        if !output.status.success() {
            return Err(format!("{program} failed: {}", String::from_utf8_lossy(&output.stderr)));
        }
        Ok(())
    }

    /// The superuser's address (for setting up; a hub must never connect as it).
    pub fn superuser_url(&self, database: &str) -> String {
        format!("postgres://lifeboat@127.0.0.1:{}/{database}", self.port)
    }

    /// Makes a database owned by a new role that is NOSUPERUSER NOBYPASSRLS, as a group's IT would for
    /// the hub; returns the address to connect as that role.
    pub fn hub_database(&self, name: &str) -> Result<String, String> {
        let psql = self.tool("psql");
        let role = format!("CREATE ROLE {name} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE");
        let database = format!("CREATE DATABASE {name} OWNER {name}");
        let output = Command::new(&psql)
            .args(["-v", "ON_ERROR_STOP=1", "-d", &self.superuser_url("postgres"), "-c", &role, "-c", &database])
            .output()
            .map_err(|e| format!("could not run psql: {e}"))?;
        if !output.status.success() {
            return Err(format!("psql failed: {}", String::from_utf8_lossy(&output.stderr)));
        }
        Ok(format!("postgres://{name}@127.0.0.1:{}/{name}", self.port))
    }
}

impl PgCluster {
    /// A backup of `database` (custom format), as a nightly job would take.
    pub fn dump(&self, database: &str, file: &Path) -> Result<(), String> {
        let out = file.display().to_string();
        self.run(&self.tool("pg_dump"), &["-Fc", "-f", &out, "-d", &self.superuser_url(database)], false)
    }

    /// Replaces `database` (owned by the role of the same name) by the backup in `file`.
    pub fn restore(&self, database: &str, file: &Path) -> Result<(), String> {
        let psql = self.tool("psql");
        let drop = format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)");
        let create = format!("CREATE DATABASE {database} OWNER {database}");
        self.run(
            &psql,
            &["-v", "ON_ERROR_STOP=1", "-d", &self.superuser_url("postgres"), "-c", &drop, "-c", &create],
            false,
        )?;
        let input = file.display().to_string();
        self.run(&self.tool("pg_restore"), &["-d", &self.superuser_url(database), &input], false)
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let data = format!("{}/data", self.path());
        let _ = self.run(&self.tool("pg_ctl"), &["-D", &data, "-m", "immediate", "stop"], true);
    }
}
