//! The `vrs` command: one binary for every operation of the Vaccination Record System.
//!
//! Exit codes: 0 success, 2 bad input (arguments, files, values), 1 anything else.

mod commands;
mod context;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "vrs", version, about = "Vaccination Record System")]
struct Cli {
    /// Database URL: sqlite://PATH or postgres://USER@HOST:PORT/DB
    #[arg(
        long,
        global = true,
        env = "VRS_DATABASE_URL",
        default_value = "sqlite://vrs-data/vrs.db"
    )]
    database: String,

    /// Master key file (64 hex characters, mode 0600). VRS_MASTER_KEY, when set, is used instead.
    #[arg(
        long,
        global = true,
        env = "VRS_KEY_FILE",
        default_value = "vrs-data/master.key"
    )]
    key_file: PathBuf,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create the master key (if absent), the database and its schema. Safe to run again.
    Init(commands::init::Args),
    /// List the municipality master list (全国地方公共団体コード).
    Municipalities(commands::municipalities::Args),
    /// Generate synthetic data for demos, tests and benchmarks.
    #[command(subcommand)]
    Gen(commands::gen::Gen),
    /// Import data from files.
    #[command(subcommand)]
    Import(commands::import::Import),
    /// Issue accounts from the command line (the first operator, service accounts).
    #[command(subcommand)]
    Accounts(commands::accounts::Accounts),
    /// Register machine clients (OAuth 2.0 client credentials with private_key_jwt).
    #[command(subcommand)]
    Clients(commands::clients::Clients),
    /// Export data to files.
    #[command(subcommand)]
    Export(commands::export::Export),
    /// Check the audit log.
    #[command(subcommand)]
    Audit(commands::audit::Audit),
    /// Check stored records against the data-quality rules.
    #[command(subcommand)]
    Check(commands::check::Check),
    /// Publish and list the terms (確認事項) municipalities agree to.
    #[command(subcommand)]
    Terms(commands::governance::Terms),
    /// Stop or resume a function in an emergency (緊急時の措置), or list their states.
    #[command(subcommand)]
    Function(commands::governance::Functions),
    /// Recompute statistics from the records.
    #[command(subcommand)]
    Statistics(commands::statistics::Statistics),
    /// Back up a municipality's area or the whole deployment (encrypted, online).
    Backup(commands::backup::BackupArgs),
    /// Restore a backup into this or another database.
    Restore(commands::backup::RestoreArgs),
    /// Export or import the key escrow (the key vault's backup keys); rotate a certificate
    /// issuer's signing key.
    #[command(subcommand)]
    Keys(commands::keys::Keys),
    /// Destroy a municipality's area on its consent (crypto-shredding).
    #[command(subcommand)]
    Area(commands::backup::Area),
    /// Verify a certificate's code.
    #[command(subcommand)]
    Cert(commands::cert::Cert),
    /// Test stand-ins for demos: My Number card data signed by a test card issuer.
    #[command(subcommand)]
    Dev(commands::dev::Dev),
    /// Run the server.
    Serve(commands::serve::Args),
    /// A demonstration on embedded SQLite: demo municipalities, targets and accounts, then serve.
    Demo(commands::demo::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Logs go to standard error; `VRS_LOG_FORMAT=json` gives one JSON object per line for log
    // collectors. No log line carries personal data: identifiers are masked at their type.
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("VRS_LOG").unwrap_or_else(|_| "warn".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var("VRS_LOG_FORMAT").is_ok_and(|f| f == "json") {
        logs.json().init();
    } else {
        logs.init();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let context = context::Context {
        database: cli.database,
        key_file: cli.key_file,
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Init(args) => commands::init::run(&context, &args).await,
            Command::Municipalities(args) => commands::municipalities::run(&args),
            Command::Gen(gen) => commands::gen::run(&gen),
            Command::Import(import) => commands::import::run(&context, &import).await,
            Command::Accounts(accounts) => commands::accounts::run(&context, &accounts).await,
            Command::Clients(clients) => commands::clients::run(&context, &clients).await,
            Command::Export(export) => commands::export::run(&context, &export).await,
            Command::Audit(audit) => commands::audit::run(&context, &audit).await,
            Command::Check(check) => commands::check::run(&context, &check).await,
            Command::Terms(terms) => commands::governance::run_terms(&context, &terms).await,
            Command::Function(f) => commands::governance::run_functions(&context, &f).await,
            Command::Statistics(s) => commands::statistics::run(&context, &s).await,
            Command::Backup(args) => commands::backup::run_backup(&context, &args).await,
            Command::Restore(args) => commands::backup::run_restore(&context, &args).await,
            Command::Keys(keys) => commands::keys::run_keys(&context, &keys).await,
            Command::Area(area) => commands::backup::run_area(&context, &area).await,
            Command::Cert(c) => commands::cert::run(&c),
            Command::Dev(d) => commands::dev::run(&d),
            Command::Serve(args) => commands::serve::run(&context, &args).await,
            Command::Demo(args) => commands::demo::run(&args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
