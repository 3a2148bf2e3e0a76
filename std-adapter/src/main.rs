//! The `authsession` command.

fn main() {}
