//! One module per subcommand; each parses nothing itself (clap does) and calls the layers below.

pub mod accounts;
pub mod audit;
pub mod backup;
pub mod cert;
pub mod check;
pub mod clients;
pub mod demo;
pub mod dev;
pub mod export;
pub mod gen;
pub mod governance;
pub mod import;
pub mod init;
pub mod keys;
pub mod municipalities;
pub mod serve;
pub mod statistics;
