//! The README's async examples are the example programs, verbatim: the
//! README is not compiled, `std-adapter/examples/` is (and run by
//! `cargo test`'s build of them).

const README: &str = include_str!("../../README.md");

/// The first `rust` code block after `heading` in the README.
fn block_after(heading: &str) -> &'static str {
    let (_, section) = README
        .split_once(heading)
        .unwrap_or_else(|| panic!("the README has no {heading:?}"));
    let (_, block) = section
        .split_once("```rust,ignore\n")
        .unwrap_or_else(|| panic!("no code block after {heading:?}"));
    block.split_once("```").map_or(block, |(block, _)| block)
}

#[test]
fn the_readmes_async_client_example_is_the_example_program() {
    assert_eq!(
        block_after("### Async: tokio and reqwest"),
        include_str!("../../std-adapter/examples/async_client.rs")
    );
}

#[test]
fn the_readmes_middleware_example_is_the_example_program() {
    assert_eq!(
        block_after("### A reqwest middleware"),
        include_str!("../../std-adapter/examples/middleware.rs")
    );
}
