//! Shared fixtures of the authsession tests.
