//! The pod's virtual filesystem: an in-memory tree private to the pod plus shared [`Volume`]s
//! mounted at path prefixes (longest prefix wins), so a volume can outlive the pod.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Why a filesystem operation failed; `Display` is the libc wording tools print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FsError {
    #[error("No such file or directory")]
    NotFound,
    #[error("Not a directory")]
    NotADirectory,
    #[error("Is a directory")]
    IsADirectory,
    #[error("Directory not empty")]
    NotEmpty,
    #[error("File exists")]
    Exists,
    #[error("Resource busy")]
    Busy,
}

enum Node {
    Dir,
    File(Vec<u8>),
}

/// Paths relative to the volume root, without leading `/` ("" is the root, always a directory).
#[derive(Default)]
struct Tree {
    nodes: BTreeMap<String, Node>,
}

fn parent_of(rel: &str) -> &str {
    rel.rfind('/').map_or("", |i| rel.split_at(i).0)
}

impl Tree {
    fn is_dir(&self, rel: &str) -> bool {
        rel.is_empty() || matches!(self.nodes.get(rel), Some(Node::Dir))
    }

    fn exists(&self, rel: &str) -> bool {
        rel.is_empty() || self.nodes.contains_key(rel)
    }

    fn check_parent(&self, rel: &str) -> Result<(), FsError> {
        let parent = parent_of(rel);
        match self.nodes.get(parent) {
            _ if parent.is_empty() => Ok(()),
            Some(Node::Dir) => Ok(()),
            Some(Node::File(_)) => Err(FsError::NotADirectory),
            None => Err(FsError::NotFound),
        }
    }

    fn mkdir_p(&mut self, rel: &str) -> Result<(), FsError> {
        let ends = rel.match_indices('/').map(|(i, _)| i).chain([rel.len()]);
        for end in ends.filter(|&e| e > 0) {
            let prefix = rel.split_at(end).0;
            match self.nodes.get(prefix) {
                Some(Node::File(_)) => return Err(FsError::NotADirectory),
                Some(Node::Dir) => {}
                None => {
                    self.nodes.insert(prefix.to_string(), Node::Dir);
                }
            }
        }
        Ok(())
    }

    fn mkdir(&mut self, rel: &str) -> Result<(), FsError> {
        if self.exists(rel) {
            return Err(FsError::Exists);
        }
        self.check_parent(rel)?;
        self.nodes.insert(rel.to_string(), Node::Dir);
        Ok(())
    }

    fn read(&self, rel: &str) -> Result<Vec<u8>, FsError> {
        match self.nodes.get(rel) {
            Some(Node::File(data)) => Ok(data.clone()),
            _ if self.is_dir(rel) => Err(FsError::IsADirectory),
            _ => self.check_parent(rel).and(Err(FsError::NotFound)),
        }
    }

    /// Writes a file whose parent must exist; `append` keeps the old content.
    fn write(&mut self, rel: &str, data: &[u8], append: bool) -> Result<(), FsError> {
        if self.is_dir(rel) {
            return Err(FsError::IsADirectory);
        }
        self.check_parent(rel)?;
        match self.nodes.get_mut(rel) {
            Some(Node::File(old)) if append => old.extend_from_slice(data),
            _ => {
                self.nodes.insert(rel.to_string(), Node::File(data.to_vec()));
            }
        }
        Ok(())
    }

    /// Removes `rel` and everything under it.
    fn remove_tree(&mut self, rel: &str) -> Result<(), FsError> {
        if rel.is_empty() {
            self.nodes.clear();
            return Err(FsError::Busy);
        }
        if self.nodes.remove(rel).is_none() {
            return Err(FsError::NotFound);
        }
        let prefix = format!("{rel}/");
        let doomed: Vec<String> = self
            .nodes
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| k.clone())
            .collect();
        for key in doomed {
            self.nodes.remove(&key);
        }
        Ok(())
    }

    fn children(&self, rel: &str) -> Option<Vec<String>> {
        if !self.is_dir(rel) {
            return None;
        }
        let prefix = if rel.is_empty() { String::new() } else { format!("{rel}/") };
        let names = self.nodes.range(prefix.clone()..).take_while(|(k, _)| k.starts_with(&prefix));
        Some(
            names
                .filter_map(|(k, _)| k.strip_prefix(&prefix))
                .filter(|n| !n.contains('/'))
                .map(String::from)
                .collect(),
        )
    }
}

/// A shared directory tree that can outlive a pod (the relayer's persistent volume).
#[derive(Clone, Default)]
pub struct Volume {
    tree: Arc<Mutex<Tree>>,
}

impl Volume {
    pub fn new() -> Self {
        Self::default()
    }

    /// A filesystem view with this volume as `/` (handy to inspect or seed a volume).
    pub fn fs(&self) -> Fs {
        Fs::new(self.clone(), Vec::new())
    }

    fn lock(&self) -> MutexGuard<'_, Tree> {
        self.tree.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Normalizes a path to absolute form (`.`/`..`/`//` resolved; relative means from `/`).
pub fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Resolves `path` against the working directory `cwd`.
pub fn join(cwd: &str, path: &str) -> String {
    if path.starts_with('/') { normalize(path) } else { normalize(&format!("{cwd}/{path}")) }
}

/// A pod's filesystem: its own tree plus mounted volumes. Paths are absolute (a relative
/// path counts from `/`). Cheap to clone; clones share the files.
#[derive(Clone)]
pub struct Fs {
    root: Volume,
    /// Mount points (normalized), longest first.
    mounts: Arc<Vec<(String, Volume)>>,
}

impl Fs {
    /// A filesystem with `root` as `/` and `mounts` attached (mount points are created).
    pub fn new(root: Volume, mounts: Vec<(String, Volume)>) -> Self {
        let mut mounts: Vec<(String, Volume)> = mounts.into_iter().map(|(p, v)| (normalize(&p), v)).collect();
        mounts.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        let fs = Self { root, mounts: Arc::new(mounts) };
        fs.make_mount_points();
        fs
    }

    /// Each mount point must exist as a directory in whatever contains it.
    fn make_mount_points(&self) {
        for (point, _) in self.mounts.iter().rev() {
            let Some((parent, name)) = point.rsplit_once('/').filter(|(_, n)| !n.is_empty()) else {
                continue;
            };
            let parent = if parent.is_empty() { "/" } else { parent };
            let _ = self.mkdir_p(parent);
            let (vol, rel) = self.resolve(parent);
            let rel = if rel.is_empty() { name.to_string() } else { format!("{rel}/{name}") };
            let _ = vol.lock().mkdir_p(&rel);
        }
    }

    /// The volume holding `path` and the path inside it.
    fn resolve(&self, path: &str) -> (&Volume, String) {
        let path = normalize(path);
        for (point, vol) in self.mounts.iter() {
            if point == "/" {
                return (vol, path.trim_start_matches('/').to_string());
            }
            if let Some(rest) = path.strip_prefix(point.as_str())
                && (rest.is_empty() || rest.starts_with('/'))
            {
                return (vol, rest.trim_start_matches('/').to_string());
            }
        }
        (&self.root, path.trim_start_matches('/').to_string())
    }

    pub fn read_file(&self, path: &str) -> Option<Vec<u8>> {
        self.read(path).ok()
    }

    /// Reads a file, saying why not.
    pub fn read(&self, path: &str) -> Result<Vec<u8>, FsError> {
        let (vol, rel) = self.resolve(path);
        vol.lock().read(&rel)
    }

    /// Creates or replaces a file, creating missing parent directories. Failures (a
    /// directory in the way) are only traced; use [`try_write_file`](Self::try_write_file)
    /// to see them.
    pub fn write_file(&self, path: &str, bytes: impl AsRef<[u8]>) {
        if let Err(e) = self.try_write_file(path, bytes) {
            tracing::warn!(path, error = %e, "pod fs: write_file failed");
        }
    }

    /// [`write_file`](Self::write_file) with the error.
    pub fn try_write_file(&self, path: &str, bytes: impl AsRef<[u8]>) -> Result<(), FsError> {
        let path = normalize(path);
        self.mkdir_p(&normalize(&format!("{path}/..")))?;
        let (vol, rel) = self.resolve(&path);
        vol.lock().write(&rel, bytes.as_ref(), false)
    }

    /// Appends to a file (created if missing); its directory must exist, like `>>`.
    pub fn append_file(&self, path: &str, bytes: &[u8]) -> Result<(), FsError> {
        let (vol, rel) = self.resolve(path);
        vol.lock().write(&rel, bytes, true)
    }

    /// Opens for writing the way a shell redirection does: the directory must exist;
    /// `truncate` empties the file, otherwise it is only created if missing.
    pub fn create(&self, path: &str, truncate: bool) -> Result<(), FsError> {
        let (vol, rel) = self.resolve(path);
        vol.lock().write(&rel, b"", !truncate)
    }

    pub fn exists(&self, path: &str) -> bool {
        let (vol, rel) = self.resolve(path);
        vol.lock().exists(&rel)
    }

    pub fn is_dir(&self, path: &str) -> bool {
        let (vol, rel) = self.resolve(path);
        vol.lock().is_dir(&rel)
    }

    pub fn is_file(&self, path: &str) -> bool {
        self.exists(path) && !self.is_dir(path)
    }

    /// Creates a directory and its missing parents (`mkdir -p`).
    pub fn mkdir_p(&self, path: &str) -> Result<(), FsError> {
        let path = normalize(path);
        // Walk down so each level lands in the volume that owns it.
        let mut at = String::new();
        for part in path.split('/').filter(|p| !p.is_empty()) {
            at = format!("{at}/{part}");
            let (vol, rel) = self.resolve(&at);
            vol.lock().mkdir_p(&rel)?;
        }
        Ok(())
    }

    /// Creates one directory whose parent exists (`mkdir`).
    pub fn mkdir(&self, path: &str) -> Result<(), FsError> {
        let (vol, rel) = self.resolve(path);
        vol.lock().mkdir(&rel)
    }

    /// Removes a file or a whole directory tree (`rm -rf` on one path). A mount point
    /// itself can't be removed: its contents are, and the result is [`FsError::Busy`].
    pub fn remove(&self, path: &str) -> Result<(), FsError> {
        let path = normalize(path);
        let under = |p: &str| path == "/" || p == path || p.starts_with(&format!("{path}/"));
        let busy = self.mounts.iter().filter(|(p, _)| under(p)).count() > 0;
        for (_, vol) in self.mounts.iter().filter(|(p, _)| under(p)) {
            let _ = vol.lock().remove_tree("");
        }
        let (vol, rel) = self.resolve(&path);
        let removed = vol.lock().remove_tree(&rel);
        if busy {
            // Mount points reappear: they are still mounted.
            self.make_mount_points();
            return Err(FsError::Busy);
        }
        removed
    }

    /// Removes an empty directory (`rmdir`).
    pub fn rmdir(&self, path: &str) -> Result<(), FsError> {
        match self.list_dir(path) {
            None if self.exists(path) => Err(FsError::NotADirectory),
            None => Err(FsError::NotFound),
            Some(names) if !names.is_empty() => Err(FsError::NotEmpty),
            Some(_) => self.remove(path),
        }
    }

    /// Names in a directory, sorted; `None` if it isn't one.
    pub fn list_dir(&self, path: &str) -> Option<Vec<String>> {
        let (vol, rel) = self.resolve(path);
        vol.lock().children(&rel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_paths() {
        assert_eq!(normalize("a//b/./c/../d/"), "/a/b/d");
        assert_eq!(normalize("/../.."), "/");
        assert_eq!(join("/tmp", "x"), "/tmp/x");
        assert_eq!(join("/tmp", "/x"), "/x");
    }

    #[test]
    fn files_and_dirs() {
        let fs = Volume::new().fs();
        fs.write_file("/a/b/c.txt", b"hi");
        assert_eq!(fs.read_file("/a/b/c.txt").as_deref(), Some(&b"hi"[..]));
        assert!(fs.is_dir("/a/b"));
        assert_eq!(fs.list_dir("/a"), Some(vec!["b".to_string()]));
        assert_eq!(fs.read("/a"), Err(FsError::IsADirectory));
        assert_eq!(fs.create("/nope/x", true), Err(FsError::NotFound));
        assert_eq!(fs.create("/a/b/c.txt/x", true), Err(FsError::NotADirectory));
        fs.append_file("/a/b/c.txt", b"!").unwrap();
        assert_eq!(fs.read_file("/a/b/c.txt").as_deref(), Some(&b"hi!"[..]));
        assert_eq!(fs.rmdir("/a"), Err(FsError::NotEmpty));
        fs.remove("/a").unwrap();
        assert!(!fs.exists("/a/b/c.txt"));
        assert_eq!(fs.list_dir("/"), Some(vec![]));
    }

    #[test]
    fn sibling_names_do_not_leak_into_listing() {
        let fs = Volume::new().fs();
        fs.write_file("/d/x", b"");
        fs.write_file("/d.txt", b"");
        fs.write_file("/d/sub/y", b"");
        assert_eq!(fs.list_dir("/d"), Some(vec!["sub".to_string(), "x".to_string()]));
    }

    #[test]
    fn mounts_resolve_by_longest_prefix() {
        let (data, inner) = (Volume::new(), Volume::new());
        let fs =
            Fs::new(Volume::new(), vec![("/data".into(), data.clone()), ("/data/in/".into(), inner.clone())]);
        fs.write_file("/data/f", b"1");
        fs.write_file("/data/in/g", b"2");
        assert_eq!(data.fs().read_file("/f").as_deref(), Some(&b"1"[..]));
        assert_eq!(inner.fs().read_file("/g").as_deref(), Some(&b"2"[..]));
        assert!(fs.is_dir("/data/in"));
        assert_eq!(fs.remove("/data"), Err(FsError::Busy));
        assert!(fs.is_dir("/data/in") && !fs.exists("/data/f") && !fs.exists("/data/in/g"));
    }
}
