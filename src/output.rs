//! Writing results: atomically (temp file + rename), only inside the output directory, never
//! through a symbolic link, and never over a file tierplan did not write unless forced.
//!
//! Ownership is recorded in [`OWNED_MARKER`]: one line per file tierplan wrote, with a hash of
//! what it wrote. A file whose content no longer matches (edited by hand, or someone else's
//! file of the same name) is not tierplan's to overwrite.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// The file in the output directory that lists what tierplan wrote there.
pub const OWNED_MARKER: &str = ".tierplan-owned";

/// Temp files start with this; a run killed outright (SIGKILL) may leave one behind, and the
/// next run in that directory removes it.
const TEMP_PREFIX: &str = ".tierplan-tmp-";

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("{path}: cannot write: {source}\n  fix: check that the output directory is writable")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: is a symbolic link; tierplan does not write through links\n  fix: {fix}")]
    Symlink { path: PathBuf, fix: &'static str },
    #[error("{path}: exists and is not a directory\n  fix: pass a directory to --out")]
    NotADirectory { path: PathBuf },
    #[error(
        "{path}: exists and was not written by tierplan (or was changed since)\n  fix: move it away, or pass --force to overwrite it"
    )]
    NotOwned { path: PathBuf },
}

/// Serialises writes with the interrupt handler: while it is held no output file is half
/// written, so a handler that takes it before exiting leaves only whole files.
static WRITING: Mutex<()> = Mutex::new(());

/// Blocks until no write is in progress and keeps writes from starting; see [`WRITING`].
pub fn hold_writes() -> MutexGuard<'static, ()> {
    WRITING.lock().unwrap_or_else(|e| e.into_inner())
}

/// An output directory checked for writing.
#[derive(Debug, Clone)]
pub struct OutDir {
    dir: PathBuf,
    force: bool,
}

impl OutDir {
    /// Checks `dir`: it may not exist yet (it is created on the first write), but it may not be
    /// a symbolic link nor anything other than a directory. `force` allows overwriting files
    /// tierplan does not own, and replacing symbolic links (never writing through them).
    pub fn new(dir: &Path, force: bool) -> Result<OutDir, OutputError> {
        match fs::symlink_metadata(dir) {
            Ok(m) if m.file_type().is_symlink() => Err(OutputError::Symlink {
                path: dir.to_path_buf(),
                fix: "pass the directory the link points to, so that it is plain where files go",
            }),
            Ok(m) if !m.is_dir() => Err(OutputError::NotADirectory {
                path: dir.to_path_buf(),
            }),
            Ok(_) => Ok(OutDir {
                dir: dir.to_path_buf(),
                force,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(OutDir {
                dir: dir.to_path_buf(),
                force,
            }),
            Err(source) => Err(OutputError::Io {
                path: dir.to_path_buf(),
                source,
            }),
        }
    }

    /// Fails when writing `name` would overwrite a file tierplan does not own. Run before long
    /// work so that the user learns of it at once; [`OutDir::write`] checks again.
    pub fn check(&self, name: &str) -> Result<(), OutputError> {
        let owned = self.read_marker();
        self.check_one(&owned, name, None)
    }

    /// Writes each `(name, bytes)` into the directory, each atomically: readers see the old
    /// file or the new one, never a part. Either every file is checked writable before the
    /// first is replaced, or nothing is written.
    pub fn write(&self, files: &[(&str, &[u8])]) -> Result<Vec<PathBuf>, OutputError> {
        let _writing = hold_writes();
        fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        // Re-checked now that it exists: it could have been swapped for a link meanwhile.
        OutDir::new(&self.dir, self.force)?;
        self.remove_stale_temps();
        let mut owned = self.read_marker();
        for (name, bytes) in files {
            self.check_one(&owned, name, Some(bytes))?;
        }
        let mut written = Vec::new();
        for (name, bytes) in files {
            written.push(self.replace(name, bytes)?);
            owned.insert(name.to_string(), hash(bytes));
        }
        let marker: String = std::iter::once(
            "# Files tierplan wrote here; it overwrites only these (while unchanged).\n"
                .to_string(),
        )
        .chain(owned.iter().map(|(name, h)| format!("{h:016x}  {name}\n")))
        .collect();
        self.replace(OWNED_MARKER, marker.as_bytes())?;
        // Makes the renames durable, not only atomic.
        if let Ok(d) = File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok(written)
    }

    fn check_one(
        &self,
        owned: &BTreeMap<String, u64>,
        name: &str,
        new: Option<&[u8]>,
    ) -> Result<(), OutputError> {
        // Names are tierplan's own constants; anything else would escape the directory.
        assert!(
            is_plain_name(name),
            "output names are plain file names: {name:?}"
        );
        let path = self.dir.join(name);
        let meta = match fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(source) => return Err(OutputError::Io { path, source }),
        };
        if self.force {
            return Ok(());
        }
        if meta.file_type().is_symlink() {
            return Err(OutputError::Symlink {
                path,
                fix: "remove the link, or pass --force to replace the link itself (its target is never written)",
            });
        }
        if !meta.is_file() {
            return Err(OutputError::NotOwned { path });
        }
        let current = hash_file(&path).map_err(io(&path))?;
        if owned.get(name) == Some(&current) || new.is_some_and(|b| hash(b) == current) {
            Ok(())
        } else {
            Err(OutputError::NotOwned { path })
        }
    }

    /// Writes a new temp file (never opening an existing path, so never following a planted
    /// link) and renames it over `name` (which replaces a link rather than following it).
    fn replace(&self, name: &str, bytes: &[u8]) -> Result<PathBuf, OutputError> {
        let target = self.dir.join(name);
        let tmp = self
            .dir
            .join(format!("{TEMP_PREFIX}{}-{name}", std::process::id()));
        let result = (|| {
            let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
            f.write_all(bytes)?;
            f.sync_all()?;
            fs::rename(&tmp, &target)
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result.map_err(io(&target))?;
        Ok(target)
    }

    /// Name → hash of the content tierplan wrote. A missing, linked or garbled marker owns
    /// nothing, which errs on the side of refusing.
    fn read_marker(&self) -> BTreeMap<String, u64> {
        let path = self.dir.join(OWNED_MARKER);
        let is_file = fs::symlink_metadata(&path).is_ok_and(|m| m.is_file());
        let text = if is_file {
            fs::read_to_string(&path).unwrap_or_default()
        } else {
            String::new()
        };
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (h, name) = l.split_once("  ")?;
                let h = u64::from_str_radix(h, 16).ok()?;
                is_plain_name(name).then(|| (name.to_string(), h))
            })
            .collect()
    }

    fn remove_stale_temps(&self) {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            // Unlinking a link leaves its target alone, so links go too.
            let stale = entry
                .file_name()
                .to_str()
                .is_some_and(|n| n.starts_with(TEMP_PREFIX))
                && entry.file_type().is_ok_and(|t| !t.is_dir());
            if stale {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0'])
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> OutputError {
    let path = path.to_path_buf();
    move |source| OutputError::Io { path, source }
}

/// FNV-1a: enough to tell whether a file still holds what tierplan wrote (not a defence
/// against someone who can write the directory; they could edit the marker too).
fn hash(bytes: &[u8]) -> u64 {
    let mut h = Fnv::default();
    h.update(bytes);
    h.0
}

fn hash_file(path: &Path) -> std::io::Result<u64> {
    let mut f = File::open(path)?;
    let mut h = Fnv::default();
    let mut buf = [0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(h.0);
        }
        h.update(&buf[..n]);
    }
}

struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn writes_and_then_owns_its_files() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("out");
        let out = OutDir::new(&dir, false).unwrap();
        out.write(&[("plan.json", b"one")]).unwrap();
        out.write(&[("plan.json", b"two")]).unwrap();
        assert_eq!(fs::read(dir.join("plan.json")).unwrap(), b"two");
        assert_eq!(files(&dir), [OWNED_MARKER, "plan.json"]);
    }

    #[test]
    fn refuses_a_file_it_did_not_write_or_that_was_edited() {
        let tmp = tempfile::tempdir().unwrap();
        let out = OutDir::new(tmp.path(), false).unwrap();
        fs::write(tmp.path().join("plan.json"), b"mine").unwrap();
        assert!(matches!(
            out.write(&[("plan.json", b"new")]),
            Err(OutputError::NotOwned { .. })
        ));
        assert!(matches!(
            out.check("plan.json"),
            Err(OutputError::NotOwned { .. })
        ));
        assert_eq!(fs::read(tmp.path().join("plan.json")).unwrap(), b"mine");
        // The same bytes are no loss to overwrite.
        out.write(&[("plan.json", b"mine")]).unwrap();
        fs::write(tmp.path().join("plan.json"), b"edited by hand").unwrap();
        assert!(out.write(&[("plan.json", b"new")]).is_err());
        OutDir::new(tmp.path(), true)
            .unwrap()
            .write(&[("plan.json", b"new")])
            .unwrap();
        assert_eq!(fs::read(tmp.path().join("plan.json")).unwrap(), b"new");
    }

    #[test]
    fn checks_every_file_before_replacing_any() {
        let tmp = tempfile::tempdir().unwrap();
        let out = OutDir::new(tmp.path(), false).unwrap();
        fs::write(tmp.path().join("b.json"), b"theirs").unwrap();
        assert!(out.write(&[("a.json", b"a"), ("b.json", b"b")]).is_err());
        assert_eq!(files(tmp.path()), ["b.json"]);
    }

    #[cfg(unix)]
    #[test]
    fn never_writes_through_a_symlink() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside.txt");
        fs::write(&outside, b"precious").unwrap();
        let dir = tmp.path().join("out");
        fs::create_dir(&dir).unwrap();
        std::os::unix::fs::symlink(&outside, dir.join("plan.json")).unwrap();
        let out = OutDir::new(&dir, false).unwrap();
        // A link planted where the temp file goes is not opened.
        let planted = dir.join(format!("{TEMP_PREFIX}{}-other.json", std::process::id()));
        std::os::unix::fs::symlink(&outside, &planted).unwrap();
        assert!(out.replace("other.json", b"y").is_err());
        assert_eq!(fs::read(&outside).unwrap(), b"precious");
        assert!(matches!(
            out.write(&[("plan.json", b"x")]),
            Err(OutputError::Symlink { .. })
        ));
        OutDir::new(&dir, true)
            .unwrap()
            .write(&[("plan.json", b"x"), ("other.json", b"y")])
            .unwrap();
        assert_eq!(fs::read(&outside).unwrap(), b"precious");
        assert!(!fs::symlink_metadata(dir.join("plan.json"))
            .unwrap()
            .file_type()
            .is_symlink());
        // The out directory itself may not be a link.
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        assert!(matches!(
            OutDir::new(&link, true),
            Err(OutputError::Symlink { .. })
        ));
    }

    #[test]
    fn removes_stale_temp_files() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(
            tmp.path().join(format!("{TEMP_PREFIX}1-plan.json")),
            b"half",
        )
        .unwrap();
        OutDir::new(tmp.path(), false)
            .unwrap()
            .write(&[("plan.json", b"x")])
            .unwrap();
        assert_eq!(files(tmp.path()), [OWNED_MARKER, "plan.json"]);
    }

    #[test]
    fn refuses_a_file_as_out_dir() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("f");
        fs::write(&file, b"").unwrap();
        assert!(matches!(
            OutDir::new(&file, true),
            Err(OutputError::NotADirectory { .. })
        ));
    }
}
