//! `hotline token create|list|revoke`: API tokens from the command line (the server stopped), each change audited.

use std::path::Path;

use anyhow::{Context, Result};
use clap::Subcommand;

use super::guard::shut_down_after;
use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it (only now: it is stored hashed).
    Create {
        /// operator, supervisor or admin.
        #[arg(long)]
        role: String,
        /// May see callers' personal data unmasked (reads are audited).
        #[arg(long)]
        pii: bool,
        /// Limit the token to one district (朝阳区, or a short form: 朝阳).
        #[arg(long)]
        district: Option<String>,
        /// A name for the token (whose it is); the role by default.
        #[arg(long)]
        name: Option<String>,
    },
    /// List tokens (never their secrets).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token for good.
    Revoke { id: uuid::Uuid },
}

/// `hotline token …`: opens the store only (no model to build).
pub fn token(config: &Config, data_dir: &Path, action: TokenCommand) -> Result<()> {
    let store = hotline_store::Store::open(data_dir, config.store.clone()).with_context(|| {
        format!(
            "opening the store in {} (a running `hotline serve` holds it: stop it, or use /api/v1/tokens with an admin token)",
            data_dir.display()
        )
    })?;
    shut_down_after(&store, |store| token_action(config, store, action))
}

fn token_action(config: &Config, store: &hotline_store::Store, action: TokenCommand) -> Result<()> {
    use crate::tokens::Actor;
    use hotline_store::{AuditLog, Issuer, TokenStore};
    let tokens = TokenStore::open(store)?;
    let audit = AuditLog::open(store)?;
    match action {
        TokenCommand::Create {
            role,
            pii,
            district,
            name,
        } => {
            let gazetteer_text =
                Config::read_or_builtin(&config.gazetteer.path, crate::builtin::GAZETTEER)?;
            let gazetteer =
                hotline_classifier::Gazetteer::from_toml_str("gazetteer", &gazetteer_text)?;
            let new = crate::tokens::new_token(&role, pii, district, name, &gazetteer)
                .map_err(|e| anyhow::anyhow!("--{}: {}", e.field.unwrap_or_default(), e.message))?;
            let (record, secret) =
                crate::tokens::create(&tokens, &audit, new, Actor::Local("command line"))?;
            eprintln!(
                "created {} token {} ({}{}); it is shown only now:",
                record.role,
                record.id,
                if record.pii {
                    "sees personal data"
                } else {
                    "personal data masked"
                },
                record
                    .district
                    .as_deref()
                    .map(|d| format!(", {d} only"))
                    .unwrap_or_default()
            );
            println!("{secret}");
        }
        TokenCommand::List { json } => {
            let list = tokens.list(Issuer::Local)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                println!(
                    "{:<36}  {:<20} {:<10} {:<4} {:<8} {:<16} status",
                    "id", "name", "role", "pii", "district", "created"
                );
                for t in &list {
                    println!(
                        "{:<36}  {:<20} {:<10} {:<4} {:<8} {:<16} {}",
                        t.id,
                        t.name,
                        t.role.as_str(),
                        if t.pii { "yes" } else { "no" },
                        t.district.as_deref().unwrap_or("all"),
                        t.created_at.format("%Y-%m-%d %H:%M"),
                        if t.revoked { "revoked" } else { "active" }
                    );
                }
            }
        }
        TokenCommand::Revoke { id } => {
            let record = crate::tokens::revoke(&tokens, &audit, id, Actor::Local("command line"))?
                .with_context(|| format!("no token {id}"))?;
            println!("revoked {} ({})", record.id, record.name);
        }
    }
    Ok(())
}
