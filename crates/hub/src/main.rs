//! `lifeboat-hub`: the group's central sync hub (PostgreSQL), or a stand-alone practice relay
//! (SQLite). See README.md, "Running the hub".

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use lifeboat_hub::api::Hub;
use lifeboat_hub::error::{HubError, HubResult};
use lifeboat_hub::server;
use lifeboat_hub::store::postgres::PgStore;
use lifeboat_hub::store::sqlite::SqliteStore;
use lifeboat_hub::store::Store;
use lifeboat_hub::tls::TlsIdentity;
use uuid::Uuid;

#[derive(Parser)]
#[command(name = "lifeboat-hub", version, about = "Lifeboat's sync hub for a group of practices")]
struct Cli {
    #[command(flatten)]
    store: StoreArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct StoreArgs {
    /// PostgreSQL address of the hub's database; the role must be NOSUPERUSER NOBYPASSRLS
    #[arg(long, global = true, env = "DATABASE_URL", value_name = "URL", conflicts_with = "sqlite")]
    database_url: Option<String>,
    /// Run as a stand-alone relay on this SQLite file instead (encrypted; its key is kept in FILE.key)
    #[arg(long, global = true, value_name = "FILE")]
    sqlite: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the sync API over TLS
    Serve(ServeArgs),
    /// Manage the group's practices
    #[command(subcommand)]
    Practice(PracticeCommand),
    /// Make a one-time code that enrols one device of a practice (valid for --hours)
    EnrolCode {
        #[arg(long)]
        practice: Uuid,
        #[arg(long, default_value_t = 24)]
        hours: i64,
        /// The certificate `serve` uses (to print the full pairing code with its fingerprint)
        #[arg(long)]
        tls_cert: Option<PathBuf>,
        /// Folder of the self-signed certificate `serve` made
        #[arg(long, default_value = "lifeboat-hub-tls")]
        tls_dir: PathBuf,
    },
    /// Manage enrolled devices
    #[command(subcommand)]
    Device(DeviceCommand),
    /// Start a new epoch after restoring the database from a backup: every device pulls again from
    /// the start and pushes what the backup missed
    NewEpoch,
    /// Print the OpenAPI description of the HTTP API
    Openapi,
    /// Store the changes of a bundle file carried from a practice (the passphrase is read from
    /// LIFEBOAT_BUNDLE_PASSPHRASE); changes already here are skipped
    BundleImport {
        file: PathBuf,
        /// The practice the bundle is for (it must say the same)
        #[arg(long)]
        practice: Uuid,
    },
}

#[derive(Args)]
struct ServeArgs {
    /// Address and port to listen on
    #[arg(long, default_value = "0.0.0.0:8443")]
    listen: SocketAddr,
    /// PEM certificate (with --tls-key); without them a self-signed certificate is made and kept in --tls-dir
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Folder for the self-signed certificate
    #[arg(long, default_value = "lifeboat-hub-tls")]
    tls_dir: PathBuf,
}

#[derive(Subcommand)]
enum PracticeCommand {
    /// Add a practice (use the id the practice's PCs show under Sync, so its records and its hub
    /// tenant have one id; a new id otherwise)
    Add {
        #[arg(long)]
        name: String,
        #[arg(long)]
        id: Option<Uuid>,
    },
    List,
}

#[derive(Subcommand)]
enum DeviceCommand {
    List {
        #[arg(long)]
        practice: Option<Uuid>,
    },
    /// Revoke a device: its credential stops working at once
    Revoke { id: Uuid },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("lifeboat-hub: could not start: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lifeboat-hub: {e}");
            ExitCode::from(match e {
                HubError::BadRequest(_) | HubError::NotFound(_) => 4,
                _ => 1,
            })
        }
    }
}

/// The relay's SQLCipher key, kept beside its file (made on first use).
fn sqlite_key(path: &Path) -> HubResult<String> {
    let key_path = PathBuf::from(format!("{}.key", path.display()));
    match std::fs::read_to_string(&key_path) {
        Ok(k) => Ok(k.trim().to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = lifeboat_hub::store::new_secret(32);
            std::fs::write(&key_path, &key)
                .map_err(|e| HubError::Store(format!("could not write {}: {e}", key_path.display())))?;
            Ok(key)
        }
        Err(e) => Err(HubError::Store(format!("could not read {}: {e}", key_path.display()))),
    }
}

async fn open(args: &StoreArgs) -> HubResult<Store> {
    match (&args.database_url, &args.sqlite) {
        (Some(url), _) => Ok(Store::Postgres(PgStore::connect(url).await?)),
        (None, Some(path)) => Ok(Store::Sqlite(SqliteStore::open(path, Some(&sqlite_key(path)?))?)),
        (None, None) => Err(HubError::BadRequest("give --database-url (or DATABASE_URL) or --sqlite".into())),
    }
}

async fn run(cli: Cli) -> HubResult<()> {
    if let Command::Openapi = cli.command {
        println!("{}", lifeboat_hub::api::openapi_json());
        return Ok(());
    }
    let store = open(&cli.store).await?;
    match cli.command {
        Command::Serve(a) => {
            let tls = match (&a.tls_cert, &a.tls_key) {
                (Some(c), Some(k)) => TlsIdentity::load(c, k)?,
                _ => TlsIdentity::load_or_create(&a.tls_dir)?,
            };
            let hub = Hub::new(store).await?;
            let running = server::start(hub, &tls, a.listen).await?;
            println!("lifeboat-hub: serving on https://{}", running.address);
            println!("certificate SHA-256: {}", running.fingerprint);
            let _ = tokio::signal::ctrl_c().await;
            println!("lifeboat-hub: stopping");
            running.stop().await;
        }
        Command::Practice(PracticeCommand::Add { name, id }) => {
            let p = store.add_practice(id.unwrap_or_else(Uuid::now_v7), &name).await?;
            println!("{}  {}", p.id, p.name);
        }
        Command::Practice(PracticeCommand::List) => {
            for p in store.practices().await? {
                println!("{}  {}", p.id, p.name);
            }
        }
        Command::EnrolCode { practice, hours, tls_cert, tls_dir } => {
            let code = store.new_enrol_code(practice, hours).await?;
            let cert = tls_cert.unwrap_or_else(|| tls_dir.join("tls-cert.pem"));
            let prefix = std::fs::read_to_string(&cert).ok().and_then(|pem| {
                let identity = TlsIdentity { cert_pem: pem, key_pem: String::new() };
                lifeboat_protocol::pairing::fingerprint_prefix(&identity.fingerprint().ok()?)
            });
            match prefix {
                Some(prefix) => {
                    let pairing = lifeboat_protocol::pairing::PairingCode {
                        url: String::new(),
                        fingerprint_prefix: prefix,
                        enrol_code: code,
                    };
                    println!("pairing code (works once, for {hours} hours): {}", pairing.code());
                }
                None => {
                    println!("one-time code: {code}");
                    eprintln!(
                        "(no certificate at {}: give --tls-cert or --tls-dir to print the full pairing code)",
                        cert.display()
                    );
                }
            }
        }
        Command::Device(DeviceCommand::List { practice }) => {
            for d in store.devices(practice).await? {
                let state = match d.revoked_at {
                    Some(t) => format!("revoked {}", t.format("%Y-%m-%d %H:%M")),
                    None => d
                        .last_seen
                        .map(|t| format!("seen {}", t.format("%Y-%m-%d %H:%M")))
                        .unwrap_or_else(|| "never seen".into()),
                };
                println!("{}  {}  {}  {}", d.id, d.practice_id, d.name, state);
            }
        }
        Command::Device(DeviceCommand::Revoke { id }) => {
            store.revoke(id).await?;
            println!("device {id} revoked");
        }
        Command::NewEpoch => {
            let epoch = store.new_epoch().await?;
            println!("new epoch {epoch}: devices will pull again from the start");
        }
        Command::BundleImport { file, practice } => {
            let passphrase = std::env::var("LIFEBOAT_BUNDLE_PASSPHRASE").map_err(|_| {
                HubError::BadRequest("set LIFEBOAT_BUNDLE_PASSPHRASE to the bundle's passphrase".into())
            })?;
            let reader = std::fs::File::open(&file)
                .map_err(|e| HubError::BadRequest(format!("could not open {}: {e}", file.display())))?;
            let (practice, stored, duplicates) =
                lifeboat_hub::bundle::import(&store, practice, &mut std::io::BufReader::new(reader), &passphrase)
                    .await?;
            println!("{}: {stored} changes stored, {duplicates} already here", practice.name);
        }
        Command::Openapi => {}
    }
    Ok(())
}
