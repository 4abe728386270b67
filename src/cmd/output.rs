//! Output helpers: colour only on a terminal and never with `NO_COLOR`, and the `-o` flag.

use crate::plan::render::Style;
use std::io::IsTerminal;

/// The style for stdout.
pub fn stdout_style() -> Style {
    Style {
        color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    }
}

/// `-o` formats of plan.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlanFormat {
    /// Terraform's text, for people.
    #[default]
    Text,
    /// The versioned plan JSON, for machines.
    Json,
}

/// Prints to stdout, ignoring a closed pipe (`rekon plan | head` is not an error).
pub fn print(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}
