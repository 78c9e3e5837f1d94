//! `hotline serve` (the HTTP API and the dashboard) and `hotline demo` (the demo tickets and tokens).

use std::path::Path;

use anyhow::Result;

use super::guard::with_state;
use crate::app::AppState;
use crate::config::Config;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (overrides server.listen).
    #[arg(long)]
    listen: Option<String>,
    /// Fill an empty store with the demo tickets and print three new demo
    /// tokens (admin with personal data, supervisor, operator).
    #[arg(long)]
    demo: bool,
}

/// `hotline serve`: serves until Ctrl-C or SIGTERM (the server stops the
/// store itself; the guard covers the paths that never reach it, such as an
/// address that cannot be bound).
pub fn serve(config: Config, data_dir: &Path, args: ServeArgs) -> Result<()> {
    let listen = args.listen.unwrap_or_else(|| config.server.listen.clone());
    with_state(config, data_dir, |state| {
        if args.demo {
            load_demo(state)?;
            let tokens = crate::demo::tokens(state)?;
            print_demo_tokens(&tokens, &listen);
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        runtime.block_on(crate::server::serve(state.clone(), &listen))
    })
}

/// `hotline demo`: the demo tickets into an empty store, nothing served.
pub fn demo(config: Config, data_dir: &Path) -> Result<()> {
    with_state(config, data_dir, load_demo)
}

/// Loads the demo tickets when the store is empty, saying what it did.
fn load_demo(state: &AppState) -> Result<()> {
    use crate::demo::Outcome;
    match crate::demo::populate(state)? {
        Outcome::Loaded { created, skipped } => eprintln!(
            "demo: {created} tickets generated (12 months to 2024-12-31){}",
            if skipped > 0 {
                format!(", {skipped} already there")
            } else {
                String::new()
            }
        ),
        Outcome::AlreadyLoaded { tickets } => {
            eprintln!("demo: the store already holds the demo ({tickets} tickets)")
        }
        Outcome::NotEmpty { tickets } => eprintln!(
            "demo: the store in {} already holds {tickets} other tickets; no demo tickets added (use --data-dir with an empty directory)",
            state.store.dir().display()
        ),
    }
    Ok(())
}

fn print_demo_tokens(tokens: &[(hotline_store::TokenRecord, String)], listen: &str) {
    eprintln!("demo tokens (shown once; every start with --demo revokes the previous ones):");
    for (record, secret) in tokens {
        let pii = if record.pii {
            "sees personal data"
        } else {
            "personal data masked"
        };
        eprintln!("  {:<11} {:<21} {secret}", record.role.as_str(), pii);
    }
    let host = listen.replace("0.0.0.0", "127.0.0.1");
    let admin = tokens
        .iter()
        .find(|(r, _)| r.role == hotline_store::Role::Admin)
        .map_or("hl_…", |(_, s)| s.as_str());
    eprintln!("sign in: open http://{host}/ and paste a token, or");
    eprintln!("  curl -H 'Authorization: Bearer {admin}' http://{host}/api/v1/me");
}
