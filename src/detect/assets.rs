//! Where the detector's files are when nobody says: the rule packs and the Japanese dictionary,
//! looked up from $CLAIMWATCH_RULES / $CLAIMWATCH_DICT, the working folder, the executable's
//! folders or the source tree. Paths in, paths out; nothing is opened here.

use std::path::{Path, PathBuf};

/// Finds `rel` under $CLAIMWATCH_* (`env`), the working folder, the executable's folders, or the
/// source tree, in that order.
fn locate(env: &str, rel: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(env) {
        return PathBuf::from(p);
    }
    // Relative to the working folder first, so messages name `rules/x.toml`, not a long path.
    let mut roots: Vec<PathBuf> = vec![PathBuf::new()];
    if let Ok(exe) = std::env::current_exe() {
        roots.extend(exe.ancestors().skip(1).map(Path::to_path_buf));
    }
    roots.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    roots
        .iter()
        .map(|r| r.join(rel))
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from(rel))
}

/// The rules folder `load_default` uses.
pub fn default_rules_dir() -> PathBuf {
    locate("CLAIMWATCH_RULES", "rules")
}

/// The dictionary folder `load_default` uses.
pub fn default_dict_dir() -> PathBuf {
    locate("CLAIMWATCH_DICT", "models/ipadic")
}
