//! TEMPORARY STUB of the state store (the state branch replaces this file).
use super::State;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("stub")]
    Stub,
}

pub struct StateStore {
    pub dir: PathBuf,
}

impl StateStore {
    pub fn open(dir: &std::path::Path) -> Result<StateStore, StateError> {
        Ok(StateStore { dir: dir.to_path_buf() })
    }
    pub fn load(&self) -> Result<State, StateError> {
        todo!()
    }
    pub fn save(&self, _state: &mut State) -> Result<(), StateError> {
        todo!()
    }
}
