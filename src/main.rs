//! Thin entry point: parse arguments, run, map errors to one line on stderr and exit code 2.

use std::process::ExitCode;

fn main() -> ExitCode {
    claimwatch::panic_guard::install_quiet_hook();
    match claimwatch::cli::run() {
        Ok(code) => code,
        Err(err) => {
            // `{:#}` prints the whole context chain on one line: "file.wav: unsupported format: ...".
            eprintln!("claimwatch: error: {err:#}");
            ExitCode::from(2)
        }
    }
}
