//! Writing results: atomically (temp file + rename), only inside the output directory, never
//! through a symbolic link, and never over a file tierplan did not write unless forced.
//!
//! Ownership is recorded in [`OWNED_MARKER`]: one line per file tierplan wrote, with a hash of
//! what it wrote. A file whose content no longer matches (edited by hand, or someone else's
//! file of the same name) is not tierplan's to overwrite, nor to remove.
//!
//! Names are relative paths of plain components separated by `/` (`manifests/nodes/taint.sh`);
//! subdirectories are created as real directories, and a link in their place is refused like
//! a link in a file's place.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

/// The file in the output directory that lists what tierplan wrote there.
pub const OWNED_MARKER: &str = ".tierplan-owned";

/// Temp files start with this; a run killed outright (SIGKILL) may leave one behind, and the
/// next run in that directory removes it.
const TEMP_PREFIX: &str = ".tierplan-tmp-";

/// Threads writing temp files at once. They are synced together afterwards
/// ([`OutDir::sync_temps`]), so a write costs CPU rather than a wait on the disk, and threads
/// beyond the cores only contend for the directory's lock: with 32 of them, 20,000 files
/// spent more time spinning in ext4's inode allocation than writing.
const WRITERS: usize = 2;

/// Why the output directory could not be written. Each message is whole, cause and fix
/// included, so no error here has a `source()`: a reporter that prints the chain (anyhow's
/// `{:#}`) would otherwise print the cause twice.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// Reading or writing `path` failed.
    #[error("{path}: cannot write: {error}\n  fix: check that the output directory is writable")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        error: std::io::Error,
    },
    #[error("{path}: is a symbolic link; tierplan does not write through links\n  fix: {fix}")]
    /// `path` is a symbolic link.
    Symlink {
        /// The link.
        path: PathBuf,
        /// How to fix it.
        fix: &'static str,
    },
    #[error("{path}: exists and is not a directory\n  fix: pass a directory to --out")]
    /// `path` exists and is not a directory.
    NotADirectory {
        /// The path.
        path: PathBuf,
    },
    #[error(
        "{path}: exists and was not written by tierplan (or was changed since)\n  fix: move it away, or pass --force to overwrite it"
    )]
    /// `path` exists and is not tierplan's to overwrite.
    NotOwned {
        /// The file.
        path: PathBuf,
    },
}

/// What [`OutDir::write_replacing`] did.
#[derive(Debug, Default)]
pub struct Written {
    /// Every file given, in the order given: each now holds what was given (files that
    /// already did are not rewritten).
    pub written: Vec<PathBuf>,
    /// Files of an earlier run that this run no longer produces, removed.
    pub removed: Vec<PathBuf>,
    /// Files of an earlier run that this run no longer produces, left in place because they
    /// were changed since tierplan wrote them (no longer tierplan's).
    pub kept: Vec<PathBuf>,
}

/// Serialises writes with the interrupt handler: while it is held no output file is half
/// written, so a handler that takes it before exiting leaves only whole files.
static WRITING: Mutex<()> = Mutex::new(());

/// Blocks until no write is in progress and keeps writes from starting; see `WRITING`.
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
            Err(error) => Err(OutputError::Io {
                path: dir.to_path_buf(),
                error,
            }),
        }
    }

    /// Where `name` is (or would be) written.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
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
        Ok(self.write_replacing(files, None)?.written)
    }

    /// As [`OutDir::write`]; in addition, when `stale_under` is a directory name, files under
    /// it that an earlier run wrote and `files` no longer has are removed, when unchanged
    /// since (so that no outdated manifest is left beside current ones), and kept otherwise.
    pub fn write_replacing(
        &self,
        files: &[(&str, &[u8])],
        stale_under: Option<&str>,
    ) -> Result<Written, OutputError> {
        let _writing = hold_writes();
        fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        // Re-checked now that it exists: it could have been swapped for a link meanwhile.
        OutDir::new(&self.dir, self.force)?;
        let mut owned = self.read_marker();
        for (name, bytes) in files {
            self.check_one(&owned, name, Some(bytes))?;
        }
        let mut done = Written::default();
        let mut dirs: Vec<PathBuf> = vec![self.dir.clone()];
        for (name, _) in files {
            let parent = self.make_parents(name)?;
            if !dirs.contains(&parent) {
                self.remove_stale_temps(&parent);
                dirs.push(parent);
            }
        }
        // A file that already holds exactly these bytes is left as it is: a re-plan rewrites
        // only what changed. Its parents are real directories by now, so the path reaches it
        // without links.
        let changed: Vec<(&str, &[u8])> = files
            .iter()
            .filter(|(name, bytes)| !self.holds(name, bytes))
            .copied()
            .collect();
        // Every changed file is written beside its target and synced first, then renamed over
        // it: a failed write replaces nothing, and a crash leaves old files or whole new ones.
        let temps = self.write_temps(&changed)?;
        self.sync_temps(&temps)?;
        for (i, ((name, _), tmp)) in changed.iter().zip(&temps).enumerate() {
            if let Err(e) = self.rename_temp(tmp, name) {
                for t in &temps[i + 1..] {
                    let _ = fs::remove_file(t);
                }
                return Err(e);
            }
        }
        for (name, bytes) in files {
            done.written.push(self.dir.join(name));
            owned.insert(name.to_string(), hash(bytes));
        }
        self.remove_stale_temps(&self.dir);
        if let Some(under) = stale_under {
            let prefix = format!("{under}/");
            let produced: BTreeSet<&str> = files.iter().map(|(f, _)| *f).collect();
            let stale: Vec<String> = owned
                .keys()
                .filter(|n| n.starts_with(&prefix) && !produced.contains(n.as_str()))
                .cloned()
                .collect();
            for name in stale {
                let h = owned.remove(&name).expect("listed from the marker");
                let path = self.dir.join(&name);
                match self.owned_file_hash(&name) {
                    Some(current) if current == h => {
                        fs::remove_file(&path).map_err(io(&path))?;
                        done.removed.push(path);
                    }
                    Some(_) => done.kept.push(path),
                    None => {}
                }
            }
            self.remove_empty_dirs(under);
        }
        let marker: String = std::iter::once(
            "# Files tierplan wrote here; it overwrites only these (while unchanged).\n"
                .to_string(),
        )
        .chain(owned.iter().map(|(name, h)| format!("{h:016x}  {name}\n")))
        .collect();
        self.replace(OWNED_MARKER, marker.as_bytes())?;
        // Makes the renames durable, not only atomic.
        for d in dirs {
            if let Ok(d) = File::open(d) {
                let _ = d.sync_all();
            }
        }
        Ok(done)
    }

    /// The hash of `name` when it is a regular file reached without links; `None` otherwise
    /// (gone, a link, or in a directory that is a link), which leaves it alone.
    fn owned_file_hash(&self, name: &str) -> Option<u64> {
        let mut path = self.dir.clone();
        for part in name.split('/') {
            path.push(part);
            if fs::symlink_metadata(&path).ok()?.file_type().is_symlink() {
                return None;
            }
        }
        fs::symlink_metadata(&path)
            .ok()?
            .is_file()
            .then(|| hash_file(&path).ok())
            .flatten()
    }

    /// Removes directories under `under` (and `under` itself) left empty by stale removal.
    fn remove_empty_dirs(&self, under: &str) {
        fn prune(dir: &Path) {
            let Ok(entries) = fs::read_dir(dir) else {
                return;
            };
            for entry in entries.flatten() {
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    prune(&entry.path());
                }
            }
            // Fails, as it should, unless the directory is empty.
            let _ = fs::remove_dir(dir);
        }
        let top = self.dir.join(under);
        if fs::symlink_metadata(&top).is_ok_and(|m| m.is_dir()) {
            prune(&top);
        }
    }

    /// The directories a name's file goes in, each checked to be a directory and not a link.
    fn check_parents(&self, name: &str) -> Result<(), OutputError> {
        let mut path = self.dir.clone();
        let parts: Vec<&str> = name.split('/').collect();
        for part in &parts[..parts.len() - 1] {
            path.push(part);
            match fs::symlink_metadata(&path) {
                Ok(m) if m.file_type().is_symlink() && !self.force => {
                    return Err(OutputError::Symlink {
                        path,
                        fix: "remove the link, or pass --force to replace the link itself (its target is never written)",
                    })
                }
                Ok(m) if m.file_type().is_symlink() || m.is_dir() => {}
                Ok(_) => return Err(OutputError::NotADirectory { path }),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
                Err(error) => return Err(OutputError::Io { path, error }),
            }
        }
        Ok(())
    }

    /// Creates the directories `name` goes in (replacing a link only under `force`, after
    /// [`OutDir::check_parents`]) and returns the innermost.
    fn make_parents(&self, name: &str) -> Result<PathBuf, OutputError> {
        self.check_parents(name)?;
        let mut path = self.dir.clone();
        let parts: Vec<&str> = name.split('/').collect();
        for part in &parts[..parts.len() - 1] {
            path.push(part);
            match fs::symlink_metadata(&path) {
                // Unlinking a link leaves its target alone.
                Ok(m) if m.file_type().is_symlink() => {
                    fs::remove_file(&path).map_err(io(&path))?;
                    fs::create_dir(&path).map_err(io(&path))?;
                }
                Ok(_) => {}
                Err(_) => fs::create_dir(&path).map_err(io(&path))?,
            }
        }
        Ok(path)
    }

    fn check_one(
        &self,
        owned: &BTreeMap<String, u64>,
        name: &str,
        new: Option<&[u8]>,
    ) -> Result<(), OutputError> {
        // Names are tierplan's own (checked by emit); anything else would escape the directory.
        assert!(
            is_relative_name(name),
            "output names are relative paths of plain names: {name:?}"
        );
        self.check_parents(name)?;
        let path = self.dir.join(name);
        let meta = match fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(error) => return Err(OutputError::Io { path, error }),
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
        let tmp = self.write_temp(name, bytes, true)?;
        self.rename_temp(&tmp, name)
    }

    /// Whether `name` is a regular file (not a link) holding exactly `bytes`.
    fn holds(&self, name: &str, bytes: &[u8]) -> bool {
        let path = self.dir.join(name);
        fs::symlink_metadata(&path).is_ok_and(|m| m.is_file() && m.len() == bytes.len() as u64)
            && fs::read(&path).is_ok_and(|current| current == bytes)
    }

    /// The temp file of `name`, written, and synced when `sync`; `Err` leaves none.
    fn write_temp(&self, name: &str, bytes: &[u8], sync: bool) -> Result<PathBuf, OutputError> {
        let (parent, file) = match name.rsplit_once('/') {
            Some((dir, file)) => (self.dir.join(dir), file),
            None => (self.dir.clone(), name),
        };
        let tmp = parent.join(format!("{TEMP_PREFIX}{}-{file}", std::process::id()));
        let result = (|| {
            let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
            f.write_all(bytes)?;
            if sync {
                f.sync_all()?;
            }
            Ok(())
        })();
        match result {
            Ok(()) => Ok(tmp),
            Err(error) => {
                let _ = fs::remove_file(&tmp);
                Err(OutputError::Io {
                    path: self.dir.join(name),
                    error,
                })
            }
        }
    }

    /// Renames a temp file of [`OutDir::write_temp`] over `name`; `Err` removes it.
    fn rename_temp(&self, tmp: &Path, name: &str) -> Result<PathBuf, OutputError> {
        let target = self.dir.join(name);
        if let Err(error) = fs::rename(tmp, &target) {
            let _ = fs::remove_file(tmp);
            return Err(OutputError::Io {
                path: target,
                error,
            });
        }
        Ok(target)
    }

    /// Makes the temp files of [`OutDir::write_temps`] durable; `Err` removes them all.
    fn sync_temps(&self, temps: &[PathBuf]) -> Result<(), OutputError> {
        if temps.is_empty() {
            return Ok(());
        }
        sync_files(&self.dir, temps).map_err(|error| {
            for t in temps {
                let _ = fs::remove_file(t);
            }
            OutputError::Io {
                path: self.dir.clone(),
                error,
            }
        })
    }

    /// The temp files of `files`, in their order, written (not synced) by [`WRITERS`]
    /// threads; on the first error, in `files`' order, none is left.
    fn write_temps(&self, files: &[(&str, &[u8])]) -> Result<Vec<PathBuf>, OutputError> {
        let next = AtomicUsize::new(0);
        let mut results: Vec<(usize, Result<PathBuf, OutputError>)> = std::thread::scope(|s| {
            let writers: Vec<_> = (0..WRITERS.min(files.len()))
                .map(|_| {
                    s.spawn(|| {
                        let mut mine = Vec::new();
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some((name, bytes)) = files.get(i) else {
                                return mine;
                            };
                            mine.push((i, self.write_temp(name, bytes, false)));
                        }
                    })
                })
                .collect();
            writers
                .into_iter()
                .flat_map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        });
        results.sort_by_key(|(i, _)| *i);
        let mut temps = Vec::with_capacity(files.len());
        let mut failed = None;
        for (_, r) in results {
            match r {
                Ok(tmp) => temps.push(tmp),
                Err(e) => {
                    failed.get_or_insert(e);
                }
            }
        }
        match failed {
            None => Ok(temps),
            Some(e) => {
                for t in &temps {
                    let _ = fs::remove_file(t);
                }
                Err(e)
            }
        }
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
                is_relative_name(name).then(|| (name.to_string(), h))
            })
            .collect()
    }

    fn remove_stale_temps(&self, dir: &Path) {
        let Ok(entries) = fs::read_dir(dir) else {
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

/// Makes `files`, all under `dir`, durable. On Linux with one `syncfs` of `dir`'s file
/// system: a single journal commit for all of them, where an `fsync` per file costs one
/// commit each (the 20,000 files of a large plan took from 2 s to over 15 s that way,
/// varying with the disk).
#[cfg(target_os = "linux")]
fn sync_files(dir: &Path, _files: &[PathBuf]) -> std::io::Result<()> {
    Ok(rustix::fs::syncfs(File::open(dir)?)?)
}

/// Makes `files` durable, one by one (write access: Windows flushes only through it).
#[cfg(not(target_os = "linux"))]
fn sync_files(_dir: &Path, files: &[PathBuf]) -> std::io::Result<()> {
    files
        .iter()
        .try_for_each(|f| OpenOptions::new().write(true).open(f)?.sync_all())
}

fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0'])
}

/// Plain names joined by `/`: relative, and never leaving the directory.
fn is_relative_name(name: &str) -> bool {
    name.split('/').all(is_plain_name)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> OutputError {
    let path = path.to_path_buf();
    move |error| OutputError::Io { path, error }
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

    #[test]
    fn an_io_error_prints_its_cause_once_in_the_full_chain() {
        let e = OutputError::Io {
            path: "out/plan.json".into(),
            error: std::io::Error::new(std::io::ErrorKind::PermissionDenied, "disk says no"),
        };
        let chain = crate::testing::chain(&e);
        assert_eq!(chain.matches("disk says no").count(), 1, "{chain}");
        assert!(chain.starts_with("out/plan.json: cannot write: disk says no\n"));
    }

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

    #[cfg(unix)]
    #[test]
    fn a_rewrite_replaces_only_the_files_whose_bytes_change() {
        use std::os::unix::fs::MetadataExt;
        let tmp = tempfile::tempdir().unwrap();
        let out = OutDir::new(tmp.path(), false).unwrap();
        let inode = |name: &str| fs::metadata(tmp.path().join(name)).unwrap().ino();
        out.write(&[("same.yaml", b"s"), ("m/changed.yaml", b"one")])
            .unwrap();
        let (same, changed) = (inode("same.yaml"), inode("m/changed.yaml"));
        let done = out
            .write(&[("same.yaml", b"s"), ("m/changed.yaml", b"two")])
            .unwrap();
        assert_eq!(
            done.len(),
            2,
            "both are reported, as both hold what was given"
        );
        assert_eq!(
            inode("same.yaml"),
            same,
            "identical bytes are left in place"
        );
        assert_ne!(
            inode("m/changed.yaml"),
            changed,
            "new bytes go in by rename"
        );
        assert_eq!(fs::read(tmp.path().join("m/changed.yaml")).unwrap(), b"two");
        assert_eq!(files(tmp.path()), [OWNED_MARKER, "m", "same.yaml"]);
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
    fn writes_into_subdirectories_and_owns_them() {
        let tmp = tempfile::tempdir().unwrap();
        let out = OutDir::new(tmp.path(), false).unwrap();
        out.write(&[
            ("plan.json", b"p"),
            ("m/w/a.yaml", b"a"),
            ("m/b.yaml", b"b"),
        ])
        .unwrap();
        assert_eq!(fs::read(tmp.path().join("m/w/a.yaml")).unwrap(), b"a");
        out.write(&[("m/w/a.yaml", b"a2")]).unwrap();
        assert_eq!(fs::read(tmp.path().join("m/w/a.yaml")).unwrap(), b"a2");
        assert_eq!(files(&tmp.path().join("m/w")), ["a.yaml"]);
        fs::write(tmp.path().join("m/theirs.yaml"), b"t").unwrap();
        assert!(matches!(
            out.write(&[("m/theirs.yaml", b"x")]),
            Err(OutputError::NotOwned { .. })
        ));
    }

    #[test]
    fn refuses_a_file_where_a_directory_goes() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("m"), b"file").unwrap();
        let out = OutDir::new(tmp.path(), true).unwrap();
        assert!(matches!(
            out.write(&[("m/a.yaml", b"a")]),
            Err(OutputError::NotADirectory { .. })
        ));
        assert_eq!(fs::read(tmp.path().join("m")).unwrap(), b"file");
    }

    #[cfg(unix)]
    #[test]
    fn never_writes_through_a_linked_subdirectory() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tmp.path().join("outside");
        fs::create_dir(&outside).unwrap();
        let dir = tmp.path().join("out");
        fs::create_dir(&dir).unwrap();
        std::os::unix::fs::symlink(&outside, dir.join("m")).unwrap();
        assert!(matches!(
            OutDir::new(&dir, false)
                .unwrap()
                .write(&[("plan.json", b"p"), ("m/a.yaml", b"a")]),
            Err(OutputError::Symlink { .. })
        ));
        assert!(!dir.join("plan.json").exists());
        OutDir::new(&dir, true)
            .unwrap()
            .write(&[("m/a.yaml", b"a")])
            .unwrap();
        assert!(files(&outside).is_empty());
        assert!(fs::symlink_metadata(dir.join("m")).unwrap().is_dir());
    }

    #[test]
    fn removes_stale_files_it_owns_and_keeps_changed_ones() {
        let tmp = tempfile::tempdir().unwrap();
        let out = OutDir::new(tmp.path(), false).unwrap();
        out.write(&[
            ("plan.json", b"p"),
            ("m/a.yaml", b"a"),
            ("m/w/b.yaml", b"b"),
            ("m/w/c.yaml", b"c"),
        ])
        .unwrap();
        fs::write(tmp.path().join("m/w/c.yaml"), b"edited").unwrap();
        fs::write(tmp.path().join("m/mine.txt"), b"user's").unwrap();
        let done = out
            .write_replacing(&[("plan.json", b"p2"), ("m/a.yaml", b"a")], Some("m"))
            .unwrap();
        assert_eq!(done.removed, [tmp.path().join("m/w/b.yaml")]);
        assert_eq!(done.kept, [tmp.path().join("m/w/c.yaml")]);
        assert_eq!(files(&tmp.path().join("m")), ["a.yaml", "mine.txt", "w"]);
        assert_eq!(files(&tmp.path().join("m/w")), ["c.yaml"]);
        // Nothing produced under `m` any more: what is left is not tierplan's.
        let done = out
            .write_replacing(&[("plan.json", b"p3")], Some("m"))
            .unwrap();
        assert_eq!(done.removed, [tmp.path().join("m/a.yaml")]);
        assert_eq!(files(&tmp.path().join("m")), ["mine.txt", "w"]);
        assert!(out.write(&[("m/w/c.yaml", b"c")]).is_err());
    }

    #[test]
    #[should_panic(expected = "relative paths")]
    fn refuses_names_that_leave_the_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let _ = OutDir::new(tmp.path(), true)
            .unwrap()
            .write(&[("m/../../x", b"x")]);
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
