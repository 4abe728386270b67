//! `rekon create token`: a token of a ServiceAccount, as `kubectl create token` prints one.

use super::{Global, exit, parse_duration};
use crate::manifest::ObjectId;
use crate::manifest::types::Kind;
use crate::runtime::podspec::token::{MIN_SECONDS, TokenIssuer, TokenRequest, mint};
use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use std::time::Duration;

/// `rekon create`'s arguments.
#[derive(Args, Debug)]
pub struct CreateArgs {
    /// What to create.
    #[command(subcommand)]
    pub what: CreateCommand,
}

/// What `rekon create` makes.
#[derive(Subcommand, Debug)]
pub enum CreateCommand {
    /// Print a token of a ServiceAccount, signed with the state's key.
    Token(TokenArgs),
}

/// `rekon create token`'s arguments.
#[derive(Args, Debug)]
pub struct TokenArgs {
    /// The ServiceAccount.
    pub service_account: String,
    /// Namespace.
    #[arg(short = 'n', long, default_value = "default")]
    pub namespace: String,
    /// An audience of the token (repeatable); the issuer when none is given.
    #[arg(long)]
    pub audience: Vec<String>,
    /// How long the token is valid (at least 10m).
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    pub duration: Duration,
}

/// Runs `rekon create`.
pub fn run(global: &Global, args: &CreateArgs) -> Result<i32> {
    let CreateCommand::Token(t) = &args.what;
    let state = super::get::read_state(global)?;
    let id = ObjectId::new(Kind::ServiceAccount, Some(&t.namespace), &t.service_account);
    if t.service_account != "default" && !state.objects.contains_key(&id) {
        bail!(
            "failed to create token: serviceaccounts {:?} not found",
            t.service_account
        );
    }
    let seconds = t.duration.as_secs() as i64;
    if seconds < MIN_SECONDS {
        bail!(
            "failed to create token: spec.expirationSeconds: Invalid value: {seconds}: may not specify a duration less than 10 minutes"
        );
    }
    let credentials = crate::apply::tokens::Credentials::load_or_create(&global.state_dir)
        .map_err(|e| anyhow::anyhow!("failed to create token: {e}"))?;
    let issuer = TokenIssuer {
        key: credentials.key_base64(),
        kid: credentials.kid.clone(),
        service_account: t.service_account.clone(),
        service_account_uid: crate::apply::config::account_uid(&t.namespace, &t.service_account),
        node_uid: String::new(),
    };
    let token = mint(
        &issuer,
        &TokenRequest {
            namespace: &t.namespace,
            audiences: t.audience.clone(),
            expiration_seconds: seconds,
            pod: None,
            now: crate::time::now(),
        },
    )
    .map_err(|e| anyhow::anyhow!("failed to create token: {e}"))?;
    super::output::print(&format!("{token}\n"));
    Ok(exit::OK)
}
