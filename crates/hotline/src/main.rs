//! The `hotline` binary: the allocator, logging, and `cli::run` on the parsed arguments.

use clap::Parser;

// Segmenting and indexing allocate many small strings; mimalloc spends far
// less time on them than glibc's allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    // HOTLINE_LOG chooses the levels, but no other crate logs below DEBUG:
    // at TRACE, sled dumps the batches it applies and the HTTP stack the
    // requests it reads, callers' phones and tokens among them. Ours never
    // log text at any level.
    let ours_or_debug = tracing_subscriber::filter::filter_fn(|meta| {
        meta.target().starts_with("hotline") || *meta.level() <= tracing::Level::DEBUG
    });
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(
                    tracing_subscriber::EnvFilter::try_from_env("HOTLINE_LOG")
                        .unwrap_or_else(|_| "warn".into()),
                )
                .with_filter(ours_or_debug),
        )
        .init();
    quiet_on_closed_pipe();
    match hotline::cli::run(hotline::cli::Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `hotline search … | head` closes the pipe early; `println!` then panics.
/// A command-line tool should stop quietly as a shell expects (status 141,
/// as for SIGPIPE), not print a backtrace. Every other panic reports as usual.
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}
