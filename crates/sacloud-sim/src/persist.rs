//! The state file: JSON, written atomically (temporary file in the same directory, fsync, rename)
//! so a crash mid-write leaves either the old or the new state, never a torn file.

use crate::error::SimError;
use crate::store::{STATE_VERSION, State};
use std::io::Write;
use std::path::Path;

fn err(path: &Path, message: impl Into<String>) -> SimError {
    SimError::StateFile {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// Load a state file; `Ok(None)` if it does not exist yet.
pub fn load(path: &Path) -> Result<Option<State>, SimError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(err(path, e.to_string())),
    };
    let st: State = serde_json::from_str(&text)
        .map_err(|e| err(path, format!("not a simulator state: {e}")))?;
    if st.version != STATE_VERSION {
        return Err(err(
            path,
            format!(
                "state version {} is not supported (want {STATE_VERSION})",
                st.version
            ),
        ));
    }
    Ok(Some(st))
}

/// Write the state atomically.
pub fn save(path: &Path, st: &State) -> Result<(), SimError> {
    let bytes = serde_json::to_vec_pretty(st).map_err(|e| err(path, e.to_string()))?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "state".into());
    let tmp = dir.join(format!(".{name}.tmp.{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(path, e.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_missing_and_garbage() {
        let dir = std::env::temp_dir().join(format!("sacloud-sim-persist-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.json");
        assert!(load(&path).unwrap().is_none());
        let mut st = State::default();
        st.alloc_id();
        save(&path, &st).unwrap();
        assert_eq!(load(&path).unwrap(), Some(st));
        std::fs::write(&path, "{not json").unwrap();
        assert!(matches!(load(&path), Err(SimError::StateFile { .. })));
        let leftovers = std::fs::read_dir(&dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .contains(".tmp.")
            })
            .count();
        assert_eq!(leftovers, 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
