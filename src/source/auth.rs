//! Credentials for fetching: ssh-agent then the usual key files for ssh, the git credential
//! helper for https.

use git2::{Config, Cred, CredentialType, Error, RemoteCallbacks};
use std::path::PathBuf;

/// Callbacks that offer each kind of credential once, so a rejected one is not retried forever
/// (libgit2 calls back after every failed attempt).
pub(crate) fn callbacks<'a>() -> RemoteCallbacks<'a> {
    let mut tried_agent = false;
    let mut keys = key_files().into_iter();
    let mut tried_helper = false;
    let mut callbacks = RemoteCallbacks::new();
    callbacks.credentials(move |url, username, allowed| {
        let user = username.unwrap_or("git");
        if allowed.contains(CredentialType::USERNAME) {
            return Cred::username(user);
        }
        if allowed.contains(CredentialType::SSH_KEY) {
            if !tried_agent {
                tried_agent = true;
                if let Ok(cred) = Cred::ssh_key_from_agent(user) {
                    return Ok(cred);
                }
            }
            for key in keys.by_ref() {
                if let Ok(cred) = Cred::ssh_key(user, None, &key, None) {
                    return Ok(cred);
                }
            }
        }
        if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) && !tried_helper {
            tried_helper = true;
            let config = Config::open_default()?;
            return Cred::credential_helper(&config, url, username);
        }
        Err(Error::from_str(
            "no credentials left to try (ssh-agent, ~/.ssh/id_ed25519, ~/.ssh/id_rsa, git credential helper)",
        ))
    });
    callbacks
}

/// The private keys tried after the agent, in ssh's own order of preference.
fn key_files() -> Vec<PathBuf> {
    let Some(home) = std::env::home_dir() else {
        return Vec::new();
    };
    ["id_ed25519", "id_rsa"]
        .iter()
        .map(|name| home.join(".ssh").join(name))
        .filter(|path| path.is_file())
        .collect()
}
