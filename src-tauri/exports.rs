//! Printed and exported files: where they go (a folder the practice chooses, else Lifeboat in the
//! user's documents folder), whether that folder is synced to a cloud drive (printouts carry clients'
//! names and addresses), files readable by the user alone, and how long they stay (the practice sets
//! the days; older files Lifeboat wrote are deleted, never anything else).

use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime};

use lifeboat_core::Store;
use serde::Serialize;

/// How long printed and exported files stay unless the practice says otherwise.
pub const DEFAULT_KEEP_DAYS: u32 = 30;
/// The longest a practice may keep them (0 keeps them until someone deletes them).
pub const MOST_KEEP_DAYS: u32 = 3650;

/// How the names of the files Lifeboat writes begin; only these are ever deleted.
const OURS: &[&str] =
    &["day-list-", "label-", "prescription-", "receipt-", "continuity-pack-", "lab-", "lifeboat-", "handover-"];
/// Never deleted by age: the signed final export is the outage's record of what went back to the PMS.
const KEPT: &[&str] = &["lifeboat-final-export-"];

/// What the practice sees of its exports folder.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ExportsSettings {
    pub folder: String,
    /// The folder was chosen by the practice (else it is the standard one).
    pub chosen: bool,
    /// The cloud service the folder seems to be synced to, if any.
    pub cloud: Option<String>,
    /// Days files stay; 0: until someone deletes them.
    pub keep_days: u32,
}

/// Where printed and exported files go: `fixed` (set by the environment, for tests), else a
/// `Lifeboat` folder in the folder chosen for this PC (so that the sweep never looks among the
/// practice's own files), else `standard`.
pub fn folder(store: &Store, standard: &Path, fixed: bool) -> PathBuf {
    if fixed {
        return standard.to_path_buf();
    }
    match chosen_folder(store) {
        Some(chosen) => inside(&chosen),
        None => standard.to_path_buf(),
    }
}

/// The `Lifeboat` folder in `chosen` (or `chosen` itself when it is one).
pub fn inside(chosen: &Path) -> PathBuf {
    if chosen.file_name().is_some_and(|n| n.eq_ignore_ascii_case("Lifeboat")) {
        chosen.to_path_buf()
    } else {
        chosen.join("Lifeboat")
    }
}

/// The folder chosen for this PC, if one was.
pub fn chosen_folder(store: &Store) -> Option<PathBuf> {
    // "-" is the standard folder (a setting is never empty).
    store.local_setting("exports_folder").ok().flatten().filter(|s| !s.is_empty() && s != "-").map(PathBuf::from)
}

pub fn keep_days(store: &Store) -> u32 {
    store
        .local_setting("exports_keep_days")
        .ok()
        .flatten()
        .and_then(|s| s.parse().ok())
        .filter(|d| *d <= MOST_KEEP_DAYS)
        .unwrap_or(DEFAULT_KEEP_DAYS)
}

/// The cloud drive a folder is synced to, judged by the folders the usual clients make (OneDrive,
/// Dropbox, Google Drive, iCloud, Box, Nextcloud, pCloud, and macOS's `CloudStorage`) anywhere in its
/// path, and by the OneDrive folders Windows names in its environment (a renamed OneDrive root).
pub fn cloud_service(path: &Path) -> Option<&'static str> {
    // Platform code: Windows sets these for OneDrive; elsewhere they are absent.
    let onedrive = ["OneDrive", "OneDriveCommercial", "OneDriveConsumer"]
        .iter()
        .filter_map(std::env::var_os)
        .map(PathBuf::from)
        .any(|root| !root.as_os_str().is_empty() && path.starts_with(&root));
    if onedrive {
        return Some("OneDrive");
    }
    named_cloud_service(path)
}

fn named_cloud_service(path: &Path) -> Option<&'static str> {
    const SERVICES: &[(&str, &str)] = &[
        ("onedrive", "OneDrive"),
        ("dropbox", "Dropbox"),
        ("google drive", "Google Drive"),
        ("googledrive", "Google Drive"),
        ("my drive", "Google Drive"),
        ("icloud drive", "iCloud"),
        ("iclouddrive", "iCloud"),
        ("mobile documents", "iCloud"),
        ("box", "Box"),
        ("box sync", "Box"),
        ("nextcloud", "Nextcloud"),
        ("pcloud drive", "pCloud"),
    ];
    path.components().find_map(|c| match c {
        Component::Normal(name) => {
            let name = name.to_string_lossy().to_lowercase();
            if name == "cloudstorage" {
                return Some("a cloud drive");
            }
            // "OneDrive - Practice Group Ltd" (OneDrive for Business), "Dropbox (Harbour Vets)" (a
            // Dropbox team), "OneDrive-Personal" (macOS): the name, and the name cut at those marks.
            let cut = |mark: &str| name.split(mark).next().unwrap_or("").trim().to_string();
            let candidates = [name.clone(), cut("("), cut(" - "), cut("-"), cut(" ")];
            SERVICES.iter().find(|(folder, _)| candidates.iter().any(|c| c == folder)).map(|(_, service)| *service)
        }
        _ => None,
    })
}

/// Writes a file readable and writable by the user alone from the moment it exists.
/// Platform code: on Unix it is created with mode 0600 (and an older file of that name is set so);
/// on Windows a file in the user's own folders is already theirs alone, and nothing is changed.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    make_private(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Makes a file Lifeboat wrote readable and writable by the user alone (see `write_private`).
pub fn make_private(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn is_ours(name: &str) -> bool {
    let rejects = name.ends_with(".csv") && name.contains("-rejected-20");
    (OURS.iter().any(|p| name.starts_with(p)) && !KEPT.iter().any(|p| name.starts_with(p))) || rejects
}

/// Deletes the files Lifeboat wrote in `dir` (and its `Drill` folder) that are older than
/// `keep_days` at `now`; 0 keeps everything. Returns how many were deleted.
pub fn sweep(dir: &Path, keep_days: u32, now: SystemTime) -> usize {
    if keep_days == 0 {
        return 0;
    }
    let Some(cutoff) = now.checked_sub(Duration::from_secs(u64::from(keep_days) * 24 * 3600)) else {
        return 0;
    };
    let mut deleted = 0;
    for folder in [dir.to_path_buf(), dir.join("Drill")] {
        let Ok(entries) = std::fs::read_dir(&folder) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            let Ok(meta) = entry.metadata() else { continue };
            if !meta.is_file() || !is_ours(&name) {
                continue;
            }
            if meta.modified().is_ok_and(|m| m < cutoff) && std::fs::remove_file(entry.path()).is_ok() {
                deleted += 1;
            }
        }
    }
    deleted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_folders_are_recognised_and_ordinary_ones_are_not() {
        let cases = [
            ("C:\\Users\\jo\\OneDrive\\Documents\\Lifeboat", Some("OneDrive")),
            ("C:\\Users\\jo\\OneDrive - Harbour Vets Ltd\\Lifeboat", Some("OneDrive")),
            ("/home/jo/Dropbox/Lifeboat", Some("Dropbox")),
            ("G:\\My Drive\\Lifeboat", Some("Google Drive")),
            ("/Users/jo/Library/Mobile Documents/com~apple~CloudDocs/Lifeboat", Some("iCloud")),
            ("/home/jo/Documents/Lifeboat", None),
            ("C:\\Users\\jo\\Documents\\Lifeboat", None),
            ("/home/jo/Documents/Dropboxes of old", None),
            ("/home/jo/Dropbox (Harbour Vets)/Lifeboat", Some("Dropbox")),
            ("/Users/jo/Library/CloudStorage/OneDrive-Personal/Lifeboat", Some("a cloud drive")),
            ("/home/jo/Documents/my notes", None),
        ];
        for (path, service) in cases {
            // Windows paths are read as one name on Linux: split them as Windows would.
            let path: PathBuf = path.split(['\\', '/']).collect();
            assert_eq!(cloud_service(&path), service, "{}", path.display());
        }
    }

    #[test]
    fn old_files_lifeboat_wrote_are_swept_and_nothing_else() {
        let dir = tempfile::TempDir::new().unwrap();
        std::fs::create_dir_all(dir.path().join("Drill")).unwrap();
        let now = SystemTime::now();
        let write = |name: &str, days_old: u64| {
            let path = dir.path().join(name);
            std::fs::write(&path, b"x").unwrap();
            let file = std::fs::File::options().write(true).open(&path).unwrap();
            file.set_modified(now - Duration::from_secs(days_old * 24 * 3600)).unwrap();
            path
        };
        let old = [
            write("day-list-2026-11-01.pdf", 40),
            write("receipt-4a2fff6b.pdf", 31),
            write("lifeboat-clients-2026.csv", 45),
            write("clients-rejected-2026-10-01-101500.csv", 45),
            write("Drill/label-1234.pdf", 40),
        ];
        let kept = [
            write("receipt-new.pdf", 2),
            write("lifeboat-final-export-2026.json", 400),
            write("my own notes.pdf", 400),
            write("claim-rejected-by-insurer.pdf", 400),
            write("Drill/notes.txt", 400),
        ];
        assert_eq!(sweep(dir.path(), 0, now), 0, "0 keeps everything");
        assert_eq!(sweep(dir.path(), 30, now), old.len());
        assert!(old.iter().all(|p| !p.exists()));
        assert!(kept.iter().all(|p| p.exists()), "only old files Lifeboat wrote go; the final export stays");
    }

    #[test]
    fn a_chosen_folder_gets_a_lifeboat_folder_of_its_own() {
        let base: PathBuf = ["home", "jo", "Documents"].iter().collect();
        assert_eq!(inside(&base), base.join("Lifeboat"));
        assert_eq!(inside(&base.join("Lifeboat")), base.join("Lifeboat"), "not Lifeboat/Lifeboat");
    }

    #[cfg(unix)]
    #[test]
    fn files_written_are_for_the_user_alone() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::TempDir::new().unwrap();
        let path = crate::save_export(dir.path(), "receipt-1.pdf", b"%PDF").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
